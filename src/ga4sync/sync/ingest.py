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
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg

from ga4sync.clock import Clock, utcnow
from ga4sync.crypto import TokenCipher
from ga4sync.errors import (
    Ga4RequestError,
    Ga4SyncError,
    GrantRevoked,
    MissingCredentials,
    PropertyAccessDenied,
    QuotaExhausted,
    ReportsRefused,
)
from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.client import ClientLimits, Ga4Client
from ga4sync.ga4.concurrency import Gate
from ga4sync.oauth import OAuthClient
from ga4sync.outage import is_database_unavailable
from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.access import drop_property_access
from ga4sync.store.coverage import get_coverage_reads
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
from ga4sync.sync.alerts import Alerts, alerts_from_settings
from ga4sync.sync.plan import (
    RECENT,
    Chunk,
    PlanSettings,
    load_zone,
    local_today,
    plan_sync,
    resync_chunks,
    target_start,
)
from ga4sync.sync.reads import ChunkRead, ReportProgress, TokenSource, read_chunk
from ga4sync.sync.summary import IngestSummary, PropertyResult
from ga4sync.sync.tokens import UserTokens

logger = logging.getLogger(__name__)

# Chunks of a property in progress beyond its requests in flight: a chunk whose
# answer is being parsed and stored holds no request, and the next chunk's request
# flies meanwhile (each chunk in progress holds at most two pages).
CHUNKS_BEYOND_REQUESTS = 1

OnPropertyDone = Callable[[PropertyResult], Awaitable[None]]
# Failures that trying again cannot mend (see ``PropertyResult.permanent``).
PERMANENT_FAILURES: tuple[type[Ga4SyncError], ...] = (
    MissingCredentials,
    Ga4RequestError,  # PropertyAccessDenied too: 400 INVALID_ARGUMENT, 403, ...
    ReportsRefused,
)


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


def plan_settings(settings: Settings, lookback_days: int | None = None) -> PlanSettings:
    """The planner's settings: ``SYNC_LOOKBACK_DAYS`` (or a run's own lookback),
    ``SYNC_BACKFILL_DAYS``, ``SYNC_BACKFILL_CHUNK_DAYS``."""
    return PlanSettings(
        lookback_days=settings.sync_lookback_days if lookback_days is None else lookback_days,
        backfill_days=settings.sync_backfill_days,
        backfill_chunk_days=settings.sync_backfill_chunk_days,
    )


def report_plan_settings(
    settings: PlanSettings, reports: Sequence[ReportSpec]
) -> dict[str, PlanSettings]:
    """Per report (by key), ``settings`` with the report's own lookback and backfill."""
    return {
        spec.key: settings.for_report(spec.lookback_days, spec.backfill_days) for spec in reports
    }


def report_lookback(settings: Settings, spec: ReportSpec) -> int:
    """The lookback a report's reads are made under, recorded with its coverage: its
    own, or ``SYNC_LOOKBACK_DAYS`` (not a run's one-off lookback, which must not
    settle dates for the runs after it)."""
    return settings.sync_lookback_days if spec.lookback_days is None else spec.lookback_days


async def ingest_ga4_for_all_accounts(
    ingestion: Ingestion,
    since_days: int | None = None,
    scope: str | uuid.UUID = "all",
    *,
    property_id: str | None = None,
    job_id: uuid.UUID | None = None,
    reports: Sequence[ReportSpec] | None = None,
    on_property_done: OnPropertyDone | None = None,
    history_chunks: int | None = None,
) -> IngestSummary:
    """Sync every enabled property (of one user when ``scope`` is a user id).

    ``since_days`` is the lookback (``SYNC_LOOKBACK_DAYS`` when None) of the
    reports without one of their own: dates read when younger than that are
    read again. ``history_chunks`` bounds the
    history read per property (None: all of it). Returns the summary; failures
    of single properties are in it, not raised.
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
                ingestion,
                prop,
                lookback_days=since_days,
                job_id=job_id,
                reports=reports,
                history_chunks=history_chunks,
            )
        if on_property_done is not None:
            await on_property_done(result)
        return result

    results = await asyncio.gather(*(one(prop) for prop in properties))
    summary = IngestSummary(results=list(results), duration_s=time.monotonic() - started)
    logger.info(summary.message(), extra={"action": "ingest_done"})
    return summary


@dataclass(frozen=True)
class Resync:
    """Dates read again whatever their coverage says: of the reports named
    ``reports`` (None: every report of the property), ``start .. end``."""

    reports: Sequence[str] | None
    start: date
    end: date


async def sync_property(
    ingestion: Ingestion,
    prop: PropertyToSync,
    *,
    lookback_days: int | None = None,
    job_id: uuid.UUID | None = None,
    reports: Sequence[ReportSpec] | None = None,
    history_chunks: int | None = None,
    recent: bool = True,
    history_budget_s: float | None = None,
    resync: Resync | None = None,
) -> PropertyResult:
    """Sync one property and record the run; Google failures become its outcome.

    Reads what the plan says: every report's recent, unsettled days first
    (unless ``recent`` is False), then history newest first: at most
    ``history_chunks`` chunks (None: all), none started after
    ``history_budget_s``, and none that would eat into the quota reserve
    (``GA4_QUOTA_RESERVE``; the result then says when the quota returns). The
    result says how many days of history are left. ``lookback_days`` is the
    run's lookback for the reports without one of their own; each report reads
    as far back as its own backfill, or ``SYNC_BACKFILL_DAYS``.
    """
    started = time.monotonic()
    result = PropertyResult(property_ref=prop.id, property_id=prop.property_id)
    reports = [
        spec
        for spec in (ingestion.settings.reports if reports is None else reports)
        if spec.applies_to(prop.property_id)
        and (resync is None or resync.reports is None or spec.name in resync.reports)
    ]
    pool = ingestion.pool
    settings = plan_settings(ingestion.settings, lookback_days)
    own = report_plan_settings(settings, reports)
    now = ingestion.now()
    chunks: list[Chunk] = []
    try:
        zone = load_zone(prop.time_zone)
        today = local_today(now, zone)
        since = min(target_start(today, s) for s in [settings, *own.values()])
        coverage, lookbacks = await get_coverage_reads(pool, prop.id, since)
        by_report = {spec.key: coverage.get(spec.key, {}) for spec in reports}
        chunks = plan_sync(
            time_zone=prop.time_zone,
            now=now,
            coverage=by_report,
            settings=settings,
            grains={spec.key: spec.grain for spec in reports},
            report_settings=own,
            read_lookbacks=lookbacks,
        )
        if resync is not None:
            # The named dates, read in this run whatever their coverage says.
            chunks = [
                chunk
                for spec in reports
                for chunk in resync_chunks(
                    spec.key,
                    spec.grain,
                    resync.start,
                    resync.end,
                    today,
                    settings.backfill_chunk_days,
                )
            ]
    except ValueError:
        result.status, result.error = "failed", f"unknown time zone {prop.time_zone!r}"
        result.permanent = True
    fresh = [c for c in chunks if c.kind == RECENT] if recent else []
    history = [c for c in chunks if c.kind != RECENT]
    chosen = fresh + (history if history_chunks is None else history[:history_chunks])
    deadline = None if history_budget_s is None else time.monotonic() + history_budget_s
    start_date = min((c.start_date for c in chosen), default=now.date())
    end_date = max((c.end_date for c in chosen), default=now.date())
    part = "recent" if recent else "history"
    await close_interrupted_runs(pool, prop.id, part)
    run_id = await start_property_run(pool, prop.id, job_id, start_date, end_date, part)
    read: set[Chunk] = set()
    try:
        if result.error is None:
            await _fetch_and_store(ingestion, prop, reports, chosen, run_id, result, read, deadline)
            result.status = "success"
    except GrantRevoked as exc:
        result.status, result.error = "needs_reauth", str(exc)
        result.permanent = True
    except QuotaExhausted as exc:
        # The sync resumes by itself then (see sync/continuation.py): say when.
        zone = ZoneInfo(ingestion.settings.sync_timezone)
        resume_at = (ingestion.now() + timedelta(seconds=exc.retry_after_s)).astimezone(zone)
        result.status = "quota_deferred"
        result.error = f"{exc}; deferred until {resume_at:%H:%M} ({zone.key})"
        result.retry_after_s = exc.retry_after_s
    except Ga4SyncError as exc:
        result.status, result.error = "failed", str(exc)
        # No grant, no access, or a request GA4 refuses for good (4xx): a person must
        # act. Google unavailable (5xx, network, after every retry) may pass.
        result.permanent = isinstance(exc, PERMANENT_FAILURES)
    except asyncio.CancelledError:
        result.status, result.error = "failed", "interrupted before it finished"
        await asyncio.shield(_finish(ingestion, run_id, result, started, part))
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
    # Distinct dates, whichever reports still need them.
    result.history_days_left = len(
        {c.start_date + timedelta(days=n) for c in history if c not in read for n in range(c.days)}
    )
    await _finish(ingestion, run_id, result, started, part)
    return result


async def _finish(
    ingestion: Ingestion, run_id: int, result: PropertyResult, started: float, part: str
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
        rows_deleted=result.rows_deleted,
        tokens_consumed=result.tokens_consumed,
        quota=result.quota,
        data_quality=result.data_quality,
        error=result.error,
    )
    if part != "recent":
        # History steps show in the runs and the coverage; the property's status,
        # its failure streak and alerts follow the syncs of its recent days.
        _log_result(result, part)
        return
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
    _log_result(result)


def _log_result(result: PropertyResult, part: str = "recent") -> None:
    logger.info(
        "property %s (%s): %s, %d rows fetched, %d written, %d deleted",
        result.property_id,
        part,
        result.status,
        result.rows_fetched,
        result.rows_written,
        result.rows_deleted,
        extra={"action": "sync_property"},
    )


async def _fetch_and_store(
    ingestion: Ingestion,
    prop: PropertyToSync,
    reports: Sequence[ReportSpec],
    chunks: Sequence[Chunk],
    run_id: int,
    result: PropertyResult,
    read: set[Chunk],
    deadline: float | None = None,
) -> None:
    """Read ``chunks`` in order, as many at once as the property may have requests
    in flight (what GA4 allows it, under ``GA4_PROPERTY_CONCURRENCY``); each
    complete chunk is added to ``read``. A history chunk is not started after
    ``deadline`` (monotonic), nor when the quota reserve is reached."""
    if not prop.has_credentials:
        raise MissingCredentials("no user with access to it has connected a Google account")
    if not prop.grant_users:
        raise GrantRevoked("every Google connection with access to it needs re-auth")
    concurrency = ingestion.client.property_concurrency(prop.property_id)
    concurrency.set_service_level(prop.service_level)
    specs = {spec.key: spec for spec in reports}
    progress = {spec.key: ReportProgress() for spec in reports}
    numbers = {chunk: index for index, chunk in enumerate(chunks)}
    reserve = ingestion.settings.ga4_quota_reserve
    spent_per_chunk: list[int] = []
    refused: dict[str, str] = {}  # report key -> why GA4 refused it
    spent: list[QuotaExhausted] = []  # a quota GA4 said is spent: no chunk starts after

    def history_waits(chunk: Chunk) -> bool:
        """Whether this history chunk must wait: time is up, or the quota reserve."""
        if chunk.kind == RECENT:
            return False
        if result.history_paused is not None:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return True
        # Expect a chunk to cost what the chunks before it cost on average.
        expected = max(1, sum(spent_per_chunk) // max(1, len(spent_per_chunk)))
        reached = quota_policy.reserve_reached(
            ingestion.client.last_quota(prop.property_id),
            expected_cost=expected,
            reserve=reserve,
            now=ingestion.now(),
        )
        if reached is not None:
            result.history_paused = reached
            logger.info(
                "property %s: history paused, %s has %d tokens left (reserve %d); back in %.0f s",
                prop.property_id,
                reached.name,
                reached.remaining,
                reached.reserve,
                reached.retry_after_s,
                extra={"action": "history_paused"},
            )
            return True
        return False

    # One read of the property, with the grant of one user who can access it: a
    # revoked grant marks that user needs_reauth, a grant GA4 refuses the property
    # (403) loses that user their access to it, and the next user's grant reads
    # what is left. Any other 403 (about the token or the project, not the user's
    # access) leaves the access as it is, and the next grant is tried too.
    revoked: GrantRevoked | None = None
    denied: PropertyAccessDenied | None = None
    grant_refused: Ga4RequestError | None = None
    try:
        for user_id in prop.grant_users:
            result.user_id = user_id

            async def token(force_refresh: bool, user_id: uuid.UUID = user_id) -> str:
                return await ingestion.tokens.get(user_id, force_refresh=force_refresh)

            slots = concurrency.follower(beyond=CHUNKS_BEYOND_REQUESTS)

            async def one(chunk: Chunk, token: TokenSource = token, slots: Gate = slots) -> None:
                async with slots:  # FIFO: chunks start in the plan's order
                    if chunk.report in refused or spent or history_waits(chunk):
                        return
                    tokens_before = result.tokens_consumed
                    job = ChunkRead(
                        property_ref=prop.id,
                        property_id=prop.property_id,
                        spec=specs[chunk.report],
                        chunk=chunk,
                        run_id=run_id,
                        read_no=numbers[chunk],
                        lookback_days=report_lookback(ingestion.settings, specs[chunk.report]),
                    )
                    try:
                        complete = await read_chunk(
                            ingestion, job, token, result, progress[chunk.report]
                        )
                    except BaseException as exc:
                        quota = _quota_spent(exc)
                        if quota is not None:
                            # Raised once the chunks GA4 answered before are
                            # stored: cancelling them would waste their tokens.
                            spent.append(quota)
                            return
                        refusal = _refusal(exc)
                        if refusal is None:
                            raise
                        # GA4 refuses this report's request (incompatible fields, a
                        # field the property lacks): the other reports go on.
                        refused.setdefault(chunk.report, str(refusal))
                        return
                    if complete:
                        read.add(chunk)
                    spent_per_chunk.append(result.tokens_consumed - tokens_before)

            try:
                async with asyncio.TaskGroup() as group:
                    for chunk in chunks:
                        if chunk not in read:
                            group.create_task(one(chunk))
            except BaseExceptionGroup as failures:
                # The first failure names the outcome; the other chunks were cancelled.
                first = _first_error(failures)
                if isinstance(first, PropertyAccessDenied):
                    await drop_property_access(
                        ingestion.pool,
                        user_id,
                        prop.id,
                        f"Google refused your account access to this property: {first}",
                    )
                    logger.warning(
                        "property %s: GA4 refused the grant of user %s (403), who loses"
                        " access to it; trying the next user's",
                        prop.property_id,
                        user_id,
                        extra={"action": "property_access_denied"},
                    )
                    denied = first
                    continue
                if isinstance(first, Ga4RequestError) and first.http_status == 403:
                    logger.warning(
                        "property %s: GA4 refused the grant of user %s (%s); trying the next"
                        " user's",
                        prop.property_id,
                        user_id,
                        first,
                        extra={"action": "grant_refused"},
                    )
                    grant_refused = first
                    continue
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
            if spent:
                raise spent[0]
            if refused:
                raise ReportsRefused(
                    "; ".join(f"report {specs[key].name}: {why}" for key, why in refused.items())
                )
            return
    finally:
        for key, report_progress in progress.items():
            if report_progress.chunks:
                quality = result.data_quality[specs[key].name] = report_progress.as_dict()
                if key in refused:
                    quality["failed"] = refused[key]
    if revoked is not None:
        raise GrantRevoked(f"every Google connection with access to it needs re-auth ({revoked})")
    if grant_refused is not None:
        raise Ga4RequestError(
            f"GA4 refused every grant with access to it: {grant_refused}",
            http_status=grant_refused.http_status,
            google_status=grant_refused.google_status,
        )
    assert denied is not None
    raise PropertyAccessDenied(
        f"no user with access can read it any more, each lost access: {denied}",
        http_status=denied.http_status,
        google_status=denied.google_status,
    )


def _quota_spent(exc: BaseException) -> QuotaExhausted | None:
    """The quota GA4 said is spent, if that is what stopped a chunk."""
    if isinstance(exc, BaseExceptionGroup):
        exc = _first_error(exc)
    return exc if isinstance(exc, QuotaExhausted) else None


def _refusal(exc: BaseException) -> Ga4RequestError | None:
    """The 400 with which GA4 refused a request, if that is what ``exc`` is."""
    if isinstance(exc, BaseExceptionGroup):
        exc = _first_error(exc)
    if isinstance(exc, Ga4RequestError) and exc.http_status == 400:
        return exc
    return None


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first
