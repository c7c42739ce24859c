"""Realtime polling: GA4's ``runRealtimeReport`` into ``ga4_realtime_<name>``.

The worker's minutely tick (``ga4sync.realtime_tick``, only while a worker runs)
claims the polls that are due: each ``[[realtime]]`` definition, every
``every_minutes``, for each property whose realtime some user with access has
turned on. Each poll asks GA4 once and replaces the property's snapshot in one
transaction. A poll that fails waits for its next turn: nothing here retries.

Realtime spends GA4's realtime quota, a category of its own: the core quota the
syncs need is never touched, and the realtime figures are kept apart from it
(``ga4_realtime_quota``, never the core client's last ``propertyQuota`` the
history reserve reads). When a realtime token bucket has less than
``GA4_REALTIME_QUOTA_RESERVE`` of its size left, or a 429 says a realtime quota
is spent, the property's polls wait until that hour or Pacific day returns.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from ga4sync.clock import Clock, utcnow
from ga4sync.errors import (
    Ga4RequestError,
    Ga4SyncError,
    GoogleUnavailable,
    GrantRevoked,
    MissingCredentials,
)
from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.realtime import (
    RealtimeAnswer,
    RealtimeClient,
    RealtimeRefused,
    build_realtime_request,
    judge_refusal,
    realtime_pause,
)
from ga4sync.ga4.realtime_fields import max_minutes_ago
from ga4sync.reports.realtime import RealtimeSpec
from ga4sync.settings import Settings
from ga4sync.store.realtime import (
    PollState,
    RealtimeProperty,
    claim_realtime_polls,
    forget_unpolled,
    get_realtime_quota,
    list_realtime_properties,
    realtime_overview,
    record_realtime_problem,
    save_realtime_quota,
    snapshot_rows,
    snapshot_totals,
    store_snapshot,
)
from ga4sync.store.report_tables import PropertyGone
from ga4sync.sync.tokens import UserTokens

logger = logging.getLogger(__name__)

# A tick polls at most this long: polls not started by then wait for the next one.
TICK_BUDGET_S = 45.0
# Polls of one tick in flight at once, over every property.
POLLS_AT_ONCE = 8
# A request GA4 refuses for good (400: a field the property lacks...) is asked
# again this much later, not every minute.
REFUSED_RETRY = timedelta(hours=1)


@dataclass
class TickResult:
    claimed: int = 0
    polled: int = 0
    skipped: int = 0
    failed: int = 0
    rows: int = 0
    tokens: int = 0


class RealtimePoller:
    """Polls the realtime definitions for the properties whose realtime is on."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: RealtimeClient,
        tokens: UserTokens,
        settings: Settings,
        *,
        now: Clock = utcnow,
    ) -> None:
        self._pool = pool
        self._client = client
        self._tokens = tokens
        self._settings = settings
        self._now = now

    async def tick(self, at: datetime) -> TickResult:
        """Poll what is due at ``at`` (the tick's minute)."""
        result = TickResult()
        specs = self._settings.realtime
        if not specs:
            return result
        # Turned off, or access gone: a snapshot nobody polls would only grow stale.
        await forget_unpolled(self._pool)
        properties = await list_realtime_properties(self._pool)
        wanted = [
            (prop.id, spec.name, spec.every_minutes)
            for prop in properties
            for spec in specs
            if spec.applies_to(prop.property_id)
        ]
        claimed = await claim_realtime_polls(self._pool, at, wanted)
        result.claimed = len(claimed)
        if not claimed:
            return result
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TICK_BUDGET_S
        slots = asyncio.Semaphore(POLLS_AT_ONCE)

        async def one(prop: RealtimeProperty, due: list[RealtimeSpec]) -> None:
            async with slots:
                if loop.time() >= deadline:
                    result.skipped += len(due)
                    return
                try:
                    await self._poll_property(prop, due, at, result)
                except Exception as exc:
                    if not isinstance(exc, Ga4SyncError):
                        raise
                    # One property failing never stops the others.
                    logger.warning(
                        "realtime of property %s: %s",
                        prop.property_id,
                        exc,
                        extra={"action": "realtime_failed"},
                    )
                    result.failed += len(due)

        async with asyncio.TaskGroup() as group:
            for prop in properties:
                due = [spec for spec in specs if (prop.id, spec.name) in claimed]
                if due:
                    group.create_task(one(prop, due))
        logger.info(
            "realtime: %d polls due, %d stored (%d rows, %d realtime tokens), %d skipped,"
            " %d failed",
            result.claimed,
            result.polled,
            result.rows,
            result.tokens,
            result.skipped,
            result.failed,
            extra={"action": "realtime_tick"},
        )
        return result

    async def _poll_property(
        self,
        prop: RealtimeProperty,
        specs: Sequence[RealtimeSpec],
        at: datetime,
        result: TickResult,
    ) -> None:
        pool = self._pool
        quota = await get_realtime_quota(pool, prop.id)
        now = self._now()
        if quota is not None and quota.paused_until is not None and quota.paused_until > now:
            why = (
                f"waiting for GA4's realtime quota until {quota.paused_until.isoformat()}:"
                f" {quota.paused_reason}"
            )
            for spec in specs:
                await record_realtime_problem(pool, prop.id, spec.name, why, now)
            result.skipped += len(specs)
            return
        if not prop.grant_users:
            why = (
                "every Google connection with access to it needs re-auth"
                if prop.has_credentials
                else "no user with access to it has connected a Google account"
            )
            for spec in specs:
                await record_realtime_problem(pool, prop.id, spec.name, why, now)
            result.failed += len(specs)
            return
        snapshot = None
        if quota is not None and quota.seen_at is not None:
            snapshot = quota_policy.QuotaSnapshot(seen_at=quota.seen_at, remaining=quota.remaining)
        reach = max_minutes_ago(prop.service_level)
        for number, spec in enumerate(specs):
            rest = specs[number + 1 :]
            if spec.max_minutes_ago > reach:
                why = (
                    f"its minute_ranges reach {spec.max_minutes_ago} minutes back; this"
                    f" property's realtime reaches {reach} (Analytics 360 properties: 59)"
                )
                await record_realtime_problem(pool, prop.id, spec.name, why, self._now())
                result.skipped += 1
                continue
            captured_at = self._now()
            try:
                answer = await self._request(prop, spec)
            except RealtimeRefused as exc:
                now = self._now()
                exhausted = judge_refusal(exc.message, snapshot, now)
                if exhausted is None:
                    # Concurrent requests, or nothing says a quota is spent: next minute.
                    await record_realtime_problem(
                        pool, prop.id, spec.name, f"GA4 refused the poll: {exc.message}", now
                    )
                    result.failed += 1
                    continue
                until = now + timedelta(seconds=exhausted.retry_after_s)
                await save_realtime_quota(
                    pool, prop.id, None, None, paused_until=until, paused_reason=str(exhausted)
                )
                await self._skip_rest(prop, [spec, *rest], f"{exhausted}; polls wait until {until}")
                result.failed += 1
                result.skipped += len(rest)
                logger.warning(
                    "realtime of property %s: %s; polls wait until %s",
                    prop.property_id,
                    exhausted,
                    until.isoformat(),
                    extra={"action": "realtime_quota_spent"},
                )
                return
            except (GrantRevoked, MissingCredentials) as exc:
                await self._skip_rest(prop, [spec, *rest], str(exc))
                result.failed += 1 + len(rest)
                return
            except Ga4RequestError as exc:
                # Refused for good (a field the property lacks...): asked again hourly.
                now = self._now()
                await record_realtime_problem(
                    pool, prop.id, spec.name, str(exc), now, due_again=now + REFUSED_RETRY
                )
                result.failed += 1
                continue
            except GoogleUnavailable as exc:
                await record_realtime_problem(pool, prop.id, spec.name, str(exc), self._now())
                result.failed += 1
                continue
            pause = realtime_pause(
                {name: status.remaining for name, status in answer.quota.items()},
                captured_at,
                reserve=self._settings.ga4_realtime_quota_reserve,
            )
            await save_realtime_quota(
                pool,
                prop.id,
                answer.quota_json() if answer.quota else None,
                captured_at if answer.quota else None,
                paused_until=pause.until if pause else None,
                paused_reason=pause.reason if pause else None,
            )
            if answer.quota:
                snapshot = quota_policy.QuotaSnapshot(
                    seen_at=captured_at,
                    remaining={name: status.remaining for name, status in answer.quota.items()},
                )
            try:
                async with pool.acquire() as conn:
                    await store_snapshot(conn, spec, prop.id, captured_at, answer.rows)
            except PropertyGone:
                return  # deleted meanwhile: nothing left to poll
            result.polled += 1
            result.rows += len(answer.rows)
            result.tokens += answer.tokens_consumed
            if pause is not None:
                logger.info(
                    "realtime of property %s paused until %s: %s",
                    prop.property_id,
                    pause.until.isoformat(),
                    pause.reason,
                    extra={"action": "realtime_paused"},
                )
                await self._skip_rest(
                    prop, rest, f"waiting for GA4's realtime quota until {pause.until}"
                )
                result.skipped += len(rest)
                return

    async def _skip_rest(
        self, prop: RealtimeProperty, specs: Sequence[RealtimeSpec], why: str
    ) -> None:
        now = self._now()
        for spec in specs:
            await record_realtime_problem(self._pool, prop.id, spec.name, why, now)

    async def _request(self, prop: RealtimeProperty, spec: RealtimeSpec) -> RealtimeAnswer:
        """The definition's realtime report, with the first grant that can read the
        property (a revoked grant or a grant GA4 refuses it: the next user's)."""
        body = build_realtime_request(spec)
        refused: Ga4SyncError | None = None
        for user_id in prop.grant_users:

            async def token(force_refresh: bool, user_id: uuid.UUID = user_id) -> str:
                return await self._tokens.get(user_id, force_refresh=force_refresh)

            try:
                return await self._client.run(prop.property_id, body, token)
            except GrantRevoked as exc:
                refused = exc
            except Ga4RequestError as exc:
                if exc.http_status != 403:
                    raise
                refused = exc
        assert refused is not None
        raise refused


@asynccontextmanager
async def open_realtime(
    pool: asyncpg.Pool, settings: Settings, tokens: UserTokens, *, now: Clock = utcnow
) -> AsyncIterator[RealtimePoller]:
    """A ``RealtimePoller`` with its own HTTP session, closed on exit."""
    connector = aiohttp.TCPConnector(limit=POLLS_AT_ONCE)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = RealtimeClient(
            session,
            settings.ga4_api_base_url,
            timeout_s=min(settings.ga4_request_timeout_s, 30.0),
            max_concurrency=POLLS_AT_ONCE,
        )
        yield RealtimePoller(pool, client, tokens, settings, now=now)


# -- what the API and the status page show ----------------------------------------------


@dataclass(frozen=True)
class ActiveUsersSource:
    """Where "active users now" is read: a definition with ``activeUsers``, its
    column, the minute range counted (of two) and the dimensions added up over."""

    spec: RealtimeSpec
    column: str
    minute_range: str | None
    summed_over: tuple[str, ...]


def active_users_source(specs: Sequence[RealtimeSpec]) -> ActiveUsersSource | None:
    """The definition "active users now" is read from: of those with ``activeUsers``,
    the one with the fewest dimensions (none: GA4's own count of the property's
    users, exact), then the fewest minute ranges; None when none has it."""
    candidates = [spec for spec in specs if "activeUsers" in spec.metrics]
    if not candidates:
        return None
    spec = min(candidates, key=lambda s: (len(s.dimensions), len(s.minute_ranges)))
    column = next(c.name for c in spec.columns if c.field == "activeUsers")
    minute_range = None
    if spec.split_by_range:
        first = spec.minute_ranges[0]
        minute_range = first.name if first.name is not None else "date_range_0"
    return ActiveUsersSource(spec, column, minute_range, spec.dimensions)


def describe_realtime(spec: RealtimeSpec) -> dict[str, Any]:
    """A realtime definition as ``GET /v1/realtime`` lists it."""
    return {
        "name": spec.name,
        "relation": spec.relation,
        "dimensions": list(spec.dimensions),
        "metrics": list(spec.metrics),
        "every_minutes": spec.every_minutes,
        "history_minutes": spec.history_minutes,
        "minute_ranges": [r.as_json() for r in spec.minute_ranges],
        "properties": sorted(spec.properties) if spec.properties is not None else None,
        "columns": [
            {"name": "property_id", "field": None, "kind": "property", "type": "text"},
            {"name": "captured_at", "field": None, "kind": "snapshot", "type": "timestamptz"},
            *(
                {"name": c.name, "field": c.field, "kind": c.kind, "type": c.sql_type}
                for c in spec.columns
            ),
        ],
    }


@dataclass(frozen=True)
class Snapshot:
    captured_at: datetime | None  # the latest snapshot's (None: never polled)
    rows: list[str]  # each row as its JSON object's text, newest snapshot first


async def read_snapshot(
    pool: asyncpg.Pool, spec: RealtimeSpec, property_ref: int, property_id: str, *, history: bool
) -> Snapshot:
    """The property's latest snapshot of ``spec``, or (``history``) every one kept."""
    state = (await realtime_overview(pool, [property_ref], spec.name)).get(property_ref)
    captured_at = state.captured_at if state is not None else None
    rows = await snapshot_rows(
        pool, spec, property_ref, property_id, captured_at=captured_at, history=history
    )
    return Snapshot(captured_at, rows)


async def realtime_now(
    pool: asyncpg.Pool, specs: Sequence[RealtimeSpec], property_refs: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Per property: its latest realtime snapshot's active users (when a definition
    has ``activeUsers``), when it was captured, and whether polls wait or fail."""
    if not specs or not property_refs:
        return {}
    source = active_users_source(specs)
    spec = source.spec if source is not None else specs[0]
    overview: dict[int, PollState] = await realtime_overview(pool, property_refs, spec.name)
    totals: dict[int, float] = {}
    if source is not None:
        totals = await snapshot_totals(
            pool, spec, source.column, property_refs, minute_range=source.minute_range
        )
    found: dict[int, dict[str, Any]] = {}
    for ref in property_refs:
        state = overview.get(ref)
        total = totals.get(ref)
        found[ref] = {
            "relation": spec.relation,
            "active_users": None if total is None else round(total),
            "summed_over": list(source.summed_over) if source is not None else [],
            "minute_range": source.minute_range if source is not None else None,
            "captured_at": state.captured_at if state else None,
            "error": state.error if state else None,
            "error_at": state.error_at if state else None,
            "paused_until": state.paused_until if state else None,
        }
    return found
