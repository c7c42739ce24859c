"""Ingestion: GA4 reports of every connected property into Postgres.

``ingest_ga4_for_all_accounts`` syncs many properties, a bounded number at a
time; ``sync_property`` syncs one and never raises for a Google-side failure:
it records the outcome (success, failed, needs_reauth, quota_deferred) so one
property failing never fails the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import asyncpg

from ga4sync.clock import Clock, utcnow
from ga4sync.crypto import TokenCipher
from ga4sync.errors import (
    Ga4SyncError,
    GrantRevoked,
    MissingCredentials,
    QuotaExhausted,
)
from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.client import ClientLimits, Ga4Client
from ga4sync.ga4.wire import ReportPage
from ga4sync.oauth import OAuthClient
from ga4sync.outage import is_database_unavailable
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.properties import (
    PropertyToSync,
    list_properties_to_sync,
    record_property_outcome,
)
from ga4sync.store.property_runs import (
    close_interrupted_runs,
    finish_property_run,
    start_property_run,
)
from ga4sync.store.report_rows import upsert_report_rows
from ga4sync.sync.alerts import Alerts, alerts_from_settings
from ga4sync.sync.summary import IngestSummary, PropertyResult
from ga4sync.sync.tokens import UserTokens

logger = logging.getLogger(__name__)

OnPropertyDone = Callable[[PropertyResult], Awaitable[None]]


@dataclass(frozen=True)
class Ingestion:
    """What ingestion needs, opened once per process (or per CLI run) and shared."""

    pool: asyncpg.Pool
    client: Ga4Client
    tokens: UserTokens
    settings: Settings
    now: Clock = utcnow
    alerts: Alerts | None = None


def check_ingestion_settings(settings: Settings) -> tuple[TokenCipher, tuple[str, str]]:
    """What syncing needs from the environment, checked: the token cipher and the
    OAuth client. Raises ``ConfigError`` naming the setting; processes call it
    before they start anything."""
    return TokenCipher(settings.require_encryption_key()), settings.require_google_client()


@asynccontextmanager
async def open_ingestion(
    pool: asyncpg.Pool, settings: Settings, *, now: Clock = utcnow
) -> AsyncIterator[Ingestion]:
    """An ``Ingestion`` with its own HTTP session, closed on exit."""
    cipher, (client_id, client_secret) = check_ingestion_settings(settings)
    oauth = OAuthClient(
        token_uri=settings.google_token_uri,
        client_id=client_id,
        client_secret=client_secret,
        timeout_s=settings.google_timeout_s,
    )
    limits = ClientLimits.from_settings(settings)
    connector = aiohttp.TCPConnector(limit=settings.ga4_max_concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Ingestion(
            pool=pool,
            client=Ga4Client(session, settings.ga4_api_base_url, limits, now=now),
            tokens=UserTokens(pool, cipher, oauth, now),
            settings=settings,
            now=now,
            alerts=alerts_from_settings(settings),
        )


def report_window(time_zone: str, now: datetime, since_days: int) -> tuple[date, date]:
    """``(start_date, end_date)``: the last ``since_days`` days plus today, in ``time_zone``."""
    today = now.astimezone(ZoneInfo(time_zone)).date()
    return today - timedelta(days=since_days), today


async def ingest_ga4_for_all_accounts(
    ingestion: Ingestion,
    since_days: int = 2,
    scope: str | uuid.UUID = "all",
    *,
    property_id: str | None = None,
    job_id: uuid.UUID | None = None,
    reports: Sequence[ReportSpec] = BUILTIN_REPORTS,
    on_property_done: OnPropertyDone | None = None,
) -> IngestSummary:
    """Sync every enabled property (of one user when ``scope`` is a user id).

    Returns the summary; failures of single properties are in it, not raised.
    """
    started = time.monotonic()
    user_id = None if scope == "all" else uuid.UUID(str(scope))
    properties = await list_properties_to_sync(
        ingestion.pool, user_id=user_id, property_id=property_id
    )
    slots = asyncio.Semaphore(ingestion.settings.sync_property_concurrency)

    async def one(prop: PropertyToSync) -> PropertyResult:
        async with slots:
            result = await sync_property(
                ingestion, prop, since_days=since_days, job_id=job_id, reports=reports
            )
        if on_property_done is not None:
            await on_property_done(result)
        return result

    results = await asyncio.gather(*(one(prop) for prop in properties))
    summary = IngestSummary(results=list(results), duration_s=time.monotonic() - started)
    logger.info(summary.message(), extra={"action": "ingest_done"})
    return summary


async def sync_property(
    ingestion: Ingestion,
    prop: PropertyToSync,
    *,
    since_days: int = 2,
    job_id: uuid.UUID | None = None,
    reports: Sequence[ReportSpec] = BUILTIN_REPORTS,
) -> PropertyResult:
    """Sync one property's reports and record the run; Google failures become its outcome."""
    started = time.monotonic()
    result = PropertyResult(property_ref=prop.id, property_id=prop.property_id)
    pool = ingestion.pool
    try:
        start_date, end_date = report_window(prop.time_zone, ingestion.now(), since_days)
    except (ZoneInfoNotFoundError, ValueError):
        start_date = end_date = ingestion.now().date()
        result.status, result.error = "failed", f"unknown time zone {prop.time_zone!r}"
    await close_interrupted_runs(pool, prop.id)
    run_id = await start_property_run(pool, prop.id, job_id, start_date, end_date)
    try:
        if result.error is None:
            await _fetch_and_store(ingestion, prop, reports, start_date, end_date, result)
            result.status = "success"
    except GrantRevoked as exc:
        result.status, result.error = "needs_reauth", str(exc)
    except QuotaExhausted as exc:
        result.status, result.error = "quota_deferred", str(exc)
        result.retry_after_s = exc.retry_after_s
    except Ga4SyncError as exc:
        result.status, result.error = "failed", str(exc)
    except asyncio.CancelledError:
        result.status, result.error = "failed", "interrupted before it finished"
        await asyncio.shield(_finish(ingestion, run_id, result, started))
        raise
    except Exception as exc:
        if is_database_unavailable(exc):
            # Not this property's fault, and nothing can be recorded now: the task
            # is retried once the database is back (its run is closed as interrupted).
            raise
        # An unexpected bug in one property must not stop the others; keep the trace.
        logger.exception(
            "property %s sync crashed", prop.property_id, extra={"action": "sync_property_crash"}
        )
        result.status, result.error = "failed", f"internal error: {exc!r}"
    await _finish(ingestion, run_id, result, started)
    return result


async def _finish(
    ingestion: Ingestion, run_id: int, result: PropertyResult, started: float
) -> None:
    pool = ingestion.pool
    result.duration_ms = int((time.monotonic() - started) * 1000)
    await finish_property_run(
        pool,
        run_id,
        status=result.status,
        duration_ms=result.duration_ms,
        rows_fetched=result.rows_fetched,
        rows_inserted=result.rows_inserted,
        rows_updated=result.rows_updated,
        rows_unchanged=result.rows_unchanged,
        tokens_consumed=result.tokens_consumed,
        quota=result.quota,
        data_quality=result.data_quality,
        error=result.error,
    )
    outcome = await record_property_outcome(
        pool,
        result.property_ref,
        result.status,
        result.error,
        time_zone=result.time_zone,
        currency_code=result.currency_code,
    )
    if outcome is not None and ingestion.alerts is not None:
        name = outcome.display_name or "property"
        await ingestion.alerts.streak_changed(
            f"{name} ({outcome.property_id})",
            outcome.failures_before,
            outcome.failures_after,
            result.error,
        )
    logger.info(
        "property %s: %s, %d rows fetched, %d written",
        result.property_id,
        result.status,
        result.rows_fetched,
        result.rows_written,
        extra={"action": "sync_property"},
    )


async def _fetch_and_store(
    ingestion: Ingestion,
    prop: PropertyToSync,
    reports: Sequence[ReportSpec],
    start_date: date,
    end_date: date,
    result: PropertyResult,
) -> None:
    if not prop.has_credentials:
        raise MissingCredentials("no user with access to it has connected a Google account")
    if not prop.grant_users:
        raise GrantRevoked("every Google connection with access to it needs re-auth")
    # One read of the property, with the grant of one user who can access it: a
    # revoked grant marks that user needs_reauth and the next user's grant is tried.
    revoked: GrantRevoked | None = None
    for user_id in prop.grant_users:
        result.user_id = user_id

        async def token(force_refresh: bool, user_id: uuid.UUID = user_id) -> str:
            return await ingestion.tokens.get(user_id, force_refresh=force_refresh)

        try:
            async with asyncio.TaskGroup() as group:
                for spec in reports:
                    group.create_task(
                        _sync_report(ingestion, prop, spec, start_date, end_date, token, result)
                    )
        except BaseExceptionGroup as failures:
            # The first failure names the outcome; the other reports were cancelled.
            first = _first_error(failures)
            if not isinstance(first, GrantRevoked):
                raise first from None
            logger.warning(
                "property %s: the grant of user %s was revoked; trying the next user's",
                prop.property_id,
                user_id,
                extra={"action": "grant_revoked"},
            )
            revoked = first
            continue
        return
    assert revoked is not None
    raise GrantRevoked(f"every Google connection with access to it needs re-auth ({revoked})")


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first


@dataclass
class _ReportProgress:
    pages: int = 0
    row_count: int = 0
    rows_fetched: int = 0
    duplicate_rows: int = 0

    def as_dict(self, flags: dict[str, object]) -> dict[str, object]:
        quality: dict[str, object] = {
            "pages": self.pages,
            "row_count": self.row_count,
            "rows_fetched": self.rows_fetched,
            **flags,
        }
        if self.rows_fetched < self.row_count:
            quality["incomplete"] = True
        if self.duplicate_rows:
            quality["duplicate_rows"] = self.duplicate_rows
        return quality


async def _sync_report(
    ingestion: Ingestion,
    prop: PropertyToSync,
    spec: ReportSpec,
    start_date: date,
    end_date: date,
    token: Callable[[bool], Awaitable[str]],
    result: PropertyResult,
) -> None:
    """Fetch pages and upsert them, the next page downloading while this one is stored."""
    pages: asyncio.Queue[ReportPage | None] = asyncio.Queue(maxsize=1)
    progress = _ReportProgress()
    flags: dict[str, object] = {}

    async def produce() -> None:
        read = 0
        async for page in ingestion.client.report_pages(
            prop.property_id, spec, start_date, end_date, token
        ):
            await pages.put(page)
            read += page.rows_read
            remaining = {name: status.remaining for name, status in page.quota.items()}
            spent = quota_policy.spent_quota(remaining)
            if spent and page.rows_read and read < page.row_count:
                raise quota_policy.quota_exhausted(
                    spent, "at zero with pages still to read", ingestion.now()
                )
        await pages.put(None)

    async def consume() -> None:
        while (page := await pages.get()) is not None:
            progress.pages += 1
            progress.row_count = page.row_count
            progress.rows_fetched += page.rows_read
            progress.duplicate_rows += page.rows_read - len(page.rows)
            flags.update(page.quality_flags())
            result.rows_fetched += page.rows_read
            result.tokens_consumed += page.tokens_consumed
            if page.quota:
                result.quota = {name: asdict(status) for name, status in page.quota.items()}
            result.time_zone = page.time_zone or result.time_zone
            result.currency_code = page.currency_code or result.currency_code
            async with ingestion.pool.acquire() as conn:
                counts = await upsert_report_rows(
                    conn,
                    prop.id,
                    spec.name,
                    page.dimension_names[1:],
                    page.metric_names,
                    page.rows,
                )
            result.rows_inserted += counts.inserted
            result.rows_updated += counts.updated
            result.rows_unchanged += counts.unchanged

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            group.create_task(consume())
    finally:
        result.data_quality[spec.name] = progress.as_dict(flags)
