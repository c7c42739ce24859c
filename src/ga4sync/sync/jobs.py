"""Sync jobs: start (manual or daily), fan out per property, count in, finish.

A job moves pending -> running -> success | failed. Running it fixes the list
of properties it covers and queues one unit of work per property; each unit is
counted into the job exactly once, and the unit that completes the count
finishes the job. Every step is idempotent, so a retried task (after a crash or
a lost worker) never double counts. The queue itself is behind ``JobQueue``:
this module knows nothing of procrastinate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import asyncpg

from ga4sync.clock import Clock, utcnow
from ga4sync.errors import Ga4SyncError
from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings
from ga4sync.store import jobs as job_store
from ga4sync.store.app_settings import LAST_SUCCESS, SettingsCache, put_app_setting
from ga4sync.store.fair_order import daily_share
from ga4sync.store.jobs import Job
from ga4sync.store.properties import (
    get_property_to_sync,
    list_properties_status,
)
from ga4sync.store.property_runs import list_property_runs
from ga4sync.sync import schedule
from ga4sync.sync.alerts import Alerts
from ga4sync.sync.chart import property_chart
from ga4sync.sync.continuation import Continuation
from ga4sync.sync.fair_order import Lane, fresh_by, manual_ranks, tenant_ranks
from ga4sync.sync.history_progress import read_history_progress
from ga4sync.sync.ingest import Ingestion, Resync, sync_property
from ga4sync.sync.job_views import seen_by_user, summary_of
from ga4sync.sync.plan import GA4_EARLIEST_DATE, load_zone, local_today
from ga4sync.sync.report_catalog import describe_reports
from ga4sync.sync.summary import PropertyResult

logger = logging.getLogger(__name__)


class JobQueue(Protocol):
    """Where jobs' work is queued (procrastinate in production)."""

    async def enqueue_run(self, job_id: uuid.UUID) -> None: ...

    async def enqueue_properties(
        self,
        job_id: uuid.UUID,
        property_refs: Sequence[int],
        *,
        lane: Lane = Lane.SCHEDULED,
        ranks: Sequence[int] | None = None,
    ) -> None: ...

    async def enqueue_due_property(self, property_ref: int, *, rank: int = 0) -> None: ...

    async def enqueue_continuation(
        self, property_ref: int, *, recent: bool, at: datetime | None = None, rank: int = 0
    ) -> None: ...

    async def promote_properties(self, job_id: uuid.UUID, property_refs: Sequence[int]) -> int: ...


def scope_user(scope: str) -> uuid.UUID | None:
    """The user whose properties a run's ``scope`` covers (None: "all", everyone's)."""
    return None if scope == "all" else uuid.UUID(scope)


class DailyRunActive(Ga4SyncError):
    """A manual run was asked for while the daily run is pending or running. The
    caller's own properties of it that still wait were moved to the front."""

    def __init__(
        self,
        job: Job,
        *,
        pending: int = 0,
        done: int = 0,
        fresh_by: datetime | None = None,
    ) -> None:
        if pending:
            text = (
                f"The daily sync is running right now; your {pending} remaining"
                f" propert{'y' if pending == 1 else 'ies'} moved to the front of it."
            )
        else:
            text = "The daily sync is running right now; your data will be fresh when it finishes."
        super().__init__(text)
        self.job = job
        self.pending = pending
        self.done = done
        self.fresh_by = fresh_by


class JobNotFound(Ga4SyncError):
    pass


class RunTargetNotFound(Ga4SyncError):
    """A manual run named a GA4 property its scope does not cover."""

    def __init__(self, property_id: str) -> None:
        super().__init__(f"No property {property_id}.")
        self.property_id = property_id


class RateLimited(Ga4SyncError):
    """Too many manual runs in the last hour."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"You can start {limit} syncs an hour; try again in {retry_after_s} seconds."
        )
        self.retry_after_s = retry_after_s


class ResyncRefused(Ga4SyncError):
    """A re-sync names a report the property does not sync, or dates it cannot read."""


class ReportNotSynced(ResyncRefused):
    """A re-sync names a report the property does not sync."""


# A re-sync reads at most ten years of one property at once.
MAX_RESYNC_DAYS = 3660


@dataclass(frozen=True)
class ResyncTarget:
    """What a re-sync reads again: one property, its definitions (None: every report
    it syncs), the dates ``start .. end``."""

    property_ref: int
    property_id: str
    time_zone: str
    report: str | None
    start: date
    end: date


def resync_reports(settings: Settings, target: ResyncTarget, now: datetime) -> list[ReportSpec]:
    """The definitions a re-sync of ``target`` reads again, or ``ResyncRefused`` for a
    report the property does not sync or dates it cannot read."""
    specs = [s for s in settings.reports if s.applies_to(target.property_id)]
    if target.report is not None:
        named = [s for s in specs if s.name == target.report]
        if not named:
            synced = ", ".join(sorted(s.name for s in specs)) or "none"
            raise ReportNotSynced(
                f"No report {target.report!r} syncs property {target.property_id}"
                f" (its reports: {synced})."
            )
        specs = named
    try:
        today = local_today(now, load_zone(target.time_zone))
    except ValueError:
        raise ResyncRefused(
            f"property {target.property_id} has the unknown time zone {target.time_zone!r}"
        ) from None
    if target.start > target.end:
        raise ResyncRefused("start_date must not be after end_date.")
    if target.end > today:
        raise ResyncRefused(
            f"end_date {target.end} is after the property's today ({today},"
            f" {target.time_zone}): GA4 has nothing to read there yet."
        )
    if target.start < GA4_EARLIEST_DATE:
        raise ResyncRefused(f"GA4 has no data before {GA4_EARLIEST_DATE}.")
    if (target.end - target.start).days >= MAX_RESYNC_DAYS:
        raise ResyncRefused(f"A re-sync reads at most {MAX_RESYNC_DAYS} days at once.")
    return specs


@dataclass(frozen=True)
class StartedJob:
    job: Job
    created: bool


@dataclass(frozen=True)
class NotDueYet:
    """Today's daily run is not due yet (local midnight to ``SYNC_DAILY_AT``): nothing
    was started. ``run_date`` is the local date whose run comes next, at ``due_at``."""

    run_date: date
    due_at: datetime


@dataclass(frozen=True)
class Meta:
    last_sync_at: datetime | None
    next_scheduled_at: datetime
    timezone: str


class SyncService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        queue: JobQueue,
        settings: Settings,
        *,
        now: Clock = utcnow,
        settings_cache: SettingsCache | None = None,
        alerts: Alerts | None = None,
    ) -> None:
        self._pool = pool
        self._alerts = alerts or Alerts(None, settings.alert_failure_threshold)
        self._app_settings = settings_cache or SettingsCache(pool, ttl_s=0.0)
        self._queue = queue
        self._settings = settings
        self._zone = ZoneInfo(settings.sync_timezone)
        self._daily_at: time = settings.sync_daily_at
        self._now = now
        self._continuation = Continuation(pool, queue, now=now)

    # -- starting ---------------------------------------------------------------

    async def start_job(
        self, requested_by: uuid.UUID, scope: str, *, property_id: str | None = None
    ) -> StartedJob:
        """Start a manual run (of ``scope``: "all" or a user id, optionally one GA4
        property), or return the same request's run that is still active.

        Raises ``RunTargetNotFound`` when ``property_id`` is not one of the scope's
        properties, ``DailyRunActive`` while a daily run is pending or running, and
        ``RateLimited`` past RUN_RATE_LIMIT new runs an hour for the requester.
        """
        if property_id is not None and not await job_store.run_target_exists(
            self._pool, scope_user(scope), property_id
        ):
            raise RunTargetNotFound(property_id)
        daily = await job_store.get_active_daily_job(self._pool)
        if daily is not None:
            raise await self._daily_run_active(daily, requested_by, scope, property_id)
        since_days = self._settings.sync_lookback_days
        async with self._pool.acquire() as conn, conn.transaction():
            # One request of this requester at a time from the check to the insert:
            # requests arriving together each count the runs made before them.
            await job_store.lock_manual_runs(conn, requested_by)
            existing = await job_store.get_active_manual_job(conn, requested_by, scope, property_id)
            if existing is not None:
                return StartedJob(existing, created=False)
            await self._check_rate(conn, requested_by)
            job = await job_store.create_manual_job(
                conn, scope, requested_by, since_days, property_id
            )
        # The lock covers every manual run of the requester, so the same target
        # cannot have been created in between.
        assert job is not None
        await self._queue.enqueue_run(job.id)
        logger.info(
            "manual sync %s requested by %s", job.id, requested_by, extra={"action": "job_created"}
        )
        return StartedJob(job, created=True)

    async def start_first_sync(
        self, user_id: uuid.UUID, property_refs: Sequence[int]
    ) -> Job | None:
        """The first sync of properties ``user_id`` just connected, as a run of its own
        (trigger "connection"): of ``property_refs``, those the user has enabled that
        were never synced and that no active run covers. Like a Sync now it reads the
        recent days in the user's lane of the queue, then the history follows in the
        background. It is neither refused during the daily run (the daily run, fixed
        before they were connected, does not cover them) nor counted against the
        Sync now rate limit. ``None`` when nothing is left to sync for the first time.
        """
        if not property_refs:
            return None
        job = await job_store.create_connection_job(
            self._pool, user_id, sorted(set(property_refs)), self._settings.sync_lookback_days
        )
        if job is None:
            return None
        await self._queue.enqueue_run(job.id)
        logger.info(
            "first sync %s of %d connected properties of %s",
            job.id,
            len(job.property_refs or ()),
            user_id,
            extra={"action": "job_created"},
        )
        return job

    async def start_resync(self, requested_by: uuid.UUID, scope: str, target: ResyncTarget) -> Job:
        """A re-sync: the target's dates read again whatever their coverage says, as a
        run of its own in the requester's lane of the queue (like a Sync now, and
        counted against RUN_RATE_LIMIT with them). Rows GA4 no longer returns are
        deleted, as after any complete read. It is not refused during the daily run:
        that run reads recent days, a re-sync names its own.

        Raises ``ResyncRefused`` for a report the property does not sync or dates
        it cannot read, ``RateLimited`` past RUN_RATE_LIMIT.
        """
        specs = resync_reports(self._settings, target, self._now())
        async with self._pool.acquire() as conn, conn.transaction():
            await job_store.lock_manual_runs(conn, requested_by)
            await self._check_rate(conn, requested_by)
            job = await job_store.create_resync_job(
                conn,
                scope,
                requested_by,
                target.property_ref,
                target.property_id,
                None if target.report is None else [spec.name for spec in specs],
                target.start,
                target.end,
                self._settings.sync_lookback_days,
            )
        await self._queue.enqueue_run(job.id)
        logger.info(
            "re-sync %s of property %s (%s .. %s) requested by %s",
            job.id,
            target.property_id,
            target.start,
            target.end,
            requested_by,
            extra={"action": "job_created"},
        )
        return job

    async def _daily_run_active(
        self, daily: Job, requested_by: uuid.UUID, scope: str, property_id: str | None
    ) -> DailyRunActive:
        """The refusal of a Sync now during the daily run, having moved the caller's
        waiting properties of it to the front (a run of everything moves nothing)."""
        user_id = scope_user(scope)
        share = await daily_share(self._pool, daily.id, user_id, property_id)
        if share.pending_refs and user_id is not None:
            moved = await self._queue.promote_properties(daily.id, share.pending_refs)
            logger.info(
                "daily sync %s: %d properties of %s moved to the front",
                daily.id,
                moved,
                requested_by,
                extra={"action": "daily_promoted"},
            )
        return DailyRunActive(
            daily,
            pending=len(share.pending_refs),
            done=share.done,
            fresh_by=fresh_by(share, self._now()),
        )

    async def _check_rate(self, conn: asyncpg.Connection, requested_by: uuid.UUID) -> None:
        limit = self._settings.run_rate_limit
        if limit <= 0:
            return
        window = timedelta(hours=1)
        runs, oldest = await job_store.manual_runs_since(
            conn, requested_by, datetime.now(UTC) - window
        )
        if runs >= limit and oldest is not None:
            retry_after = (oldest + window - datetime.now(UTC)).total_seconds()
            raise RateLimited(limit, max(1, int(retry_after) + 1))

    async def ensure_daily(self, run_date: date) -> StartedJob:
        """The daily run of ``run_date``: created and queued once, found afterwards."""
        lock_key = schedule.daily_lock_key(run_date)
        job = await job_store.create_daily_job(
            self._pool, lock_key, run_date, self._settings.sync_lookback_days
        )
        if job is None:
            existing = await job_store.get_job_by_lock_key(self._pool, lock_key)
            assert existing is not None
            return StartedJob(existing, created=False)
        logger.info(
            "daily sync %s for %s fires (%s %s)",
            job.id,
            run_date,
            self._daily_at.strftime("%H:%M"),
            self._zone.key,
            extra={"action": "daily_fired"},
        )
        await self._queue.enqueue_run(job.id)
        return StartedJob(job, created=True)

    async def ensure_daily_due(self, now: datetime | None = None) -> StartedJob | NotDueYet:
        """Today's daily run (local date at ``now``) once its time has come: started if
        no one started it yet, found otherwise. Before that time nothing starts, not
        even a run the day before missed: today's run, minutes away, re-reads those days.
        """
        at = now or self._now()
        run_date = schedule.due_run_date(at, self._zone, self._daily_at)
        if run_date is None:
            due_at = schedule.next_run_at(at, self._zone, self._daily_at)
            return NotDueYet(run_date=due_at.date(), due_at=due_at)
        return await self.ensure_daily(run_date)

    async def get_job(self, job_id: uuid.UUID) -> Job:
        job = await job_store.get_job(self._pool, job_id)
        if job is None:
            raise JobNotFound(f"no sync job {job_id}")
        if job.status == "success" and job.last_sync_at is not None:
            # A client that saw this success must not then read an older /meta, even
            # before the change notification reaches this process.
            cached = self._app_settings.peek(LAST_SUCCESS)
            if cached and datetime.fromisoformat(cached["at"]) < job.last_sync_at:
                self._app_settings.invalidate(LAST_SUCCESS)
        return job

    async def view_job(self, job_id: uuid.UUID, *, user_id: uuid.UUID | None) -> Job:
        """The job as ``user_id`` sees it (see ``ga4sync.sync.job_views``; None: an
        admin, the whole run). Raises ``JobNotFound`` for another user's manual run."""
        job = await self.get_job(job_id)
        if user_id is None:
            return job
        if job.kind != "daily" and job.requested_by != user_id:
            raise JobNotFound(f"no sync job {job_id}")
        return (await self._seen_by([job], user_id))[0]

    async def list_jobs(
        self, *, user_id: uuid.UUID | None, before: uuid.UUID | None = None, limit: int = 20
    ) -> list[Job]:
        """Jobs newest first, the page after job ``before``: ``user_id``'s manual runs
        and the daily runs as that user sees them, or everyone's whole (None)."""
        jobs = await job_store.list_jobs(self._pool, user_id=user_id, before=before, limit=limit)
        return jobs if user_id is None else await self._seen_by(jobs, user_id)

    async def _seen_by(self, jobs: list[Job], user_id: uuid.UUID) -> list[Job]:
        rows = await job_store.job_property_results(self._pool, [job.id for job in jobs], user_id)
        return [seen_by_user(job, rows[job.id]) for job in jobs]

    async def job_breakdown(
        self, job_ids: list[uuid.UUID], *, user_id: uuid.UUID | None
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Per job, each property's outcome (of those ``user_id`` can access; None:
        all): rows, tokens, duration, error, data quality."""
        return await job_store.jobs_property_breakdown(self._pool, job_ids, user_id)

    async def property_runs(
        self, property_ref: int, *, before: int | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """A property's sync runs, newest first."""
        return await list_property_runs(self._pool, property_ref, before=before, limit=limit)

    async def list_properties(
        self, *, user_id: uuid.UUID | None, viewer: uuid.UUID | None = None
    ) -> list[dict[str, Any]]:
        """Properties (those ``user_id`` can access, or all) with the outcome of their
        last sync and how far their history is read (``coverage``); ``enabled`` and
        ``sync_frequency`` are ``viewer``'s own where they have access, else the
        property's effective settings (``effective_*``: over every user with access)."""
        rows = await list_properties_status(self._pool, user_id, viewer)
        progress = await read_history_progress(
            self._pool, self._settings, [row["id"] for row in rows], self._now()
        )
        for row in rows:
            row["coverage"] = progress.of(
                row, [s for s in self._settings.reports if s.applies_to(row["property_id"])]
            )
            # Shown in the coverage (failures, error, resumes_at), not beside it.
            for name in ("history_failures", "history_error", "history_retry_at"):
                row.pop(name, None)
        return rows

    async def describe_reports(self, *, user_id: uuid.UUID | None) -> list[dict[str, Any]]:
        """The reports in use, with their state on the properties ``user_id`` can access."""
        return await describe_reports(self._pool, self._settings, user_id=user_id, now=self._now())

    async def property_chart(
        self, property_ref: int, *, user_id: uuid.UUID | None, days: int
    ) -> dict[str, Any] | None:
        """The last ``days`` days of the property's chart (see ``ga4sync.sync.chart``), if
        ``user_id`` can access it (None: an admin, every property)."""
        return await property_chart(
            self._pool,
            self._settings.reports,
            property_ref,
            user_id=user_id,
            now=self._now(),
            days=days,
        )

    async def get_meta(self) -> Meta:
        last = await self._app_settings.get(LAST_SUCCESS)
        return Meta(
            last_sync_at=datetime.fromisoformat(last["at"]) if last else None,
            next_scheduled_at=schedule.next_run_at(self._now(), self._zone, self._daily_at),
            timezone=self._zone.key,
        )

    # -- running (worker side) --------------------------------------------------

    async def run_job(self, job_id: uuid.UUID) -> None:
        """Mark running, fix the job's properties and queue one unit per property."""
        job = await job_store.mark_job_running(self._pool, job_id)
        if job is None:
            return  # finished already: a late retry
        user_id = scope_user(job.scope)
        # The daily run covers every property but those set to sync only on demand.
        total = await job_store.plan_job_properties(
            self._pool,
            job_id,
            user_id,
            include_manual=job.kind != "daily",
            property_filter=job.property_filter,
            property_refs=job.property_refs,
        )
        if total == 0:
            await self._finish(job_id)
            return
        pending = await job_store.pending_job_properties(self._pool, job_id)
        if pending:
            if job.kind == "manual" and job.requested_by is not None:
                lane = Lane.INTERACTIVE
                ranks = await manual_ranks(self._pool, job.requested_by, job_id, len(pending))
            else:
                lane = Lane.SCHEDULED
                ranks = await tenant_ranks(self._pool, pending)
            await self._queue.enqueue_properties(job_id, pending, lane=lane, ranks=ranks)
        logger.info(
            "sync %s: %d properties queued",
            job_id,
            len(pending),
            extra={"action": "job_fanned_out"},
        )

    async def sync_job_property(
        self, ingestion: Ingestion, job_id: uuid.UUID, property_ref: int
    ) -> None:
        """Sync one property of a job and count it in (no-op if counted already)."""
        if await job_store.job_property_status(self._pool, job_id, property_ref) != "pending":
            return
        job = await self.get_job(job_id)
        prop = await get_property_to_sync(self._pool, property_ref)
        if prop is None:
            result = PropertyResult(
                property_ref=property_ref,
                property_id="?",
                status="skipped",
                error="the property was disabled or removed",
            )
        else:
            resync = None
            if job.trigger == "resync":
                assert job.resync_start is not None and job.resync_end is not None
                resync = Resync(job.resync_reports, job.resync_start, job.resync_end)
            result = await sync_property(
                ingestion,
                prop,
                lookback_days=job.since_days,
                job_id=job_id,
                history_chunks=0,
                resync=resync,
            )
            await self._continuation.after(result, history=False)
        await self.complete_property(job_id, result)

    async def complete_property(self, job_id: uuid.UUID, result: PropertyResult) -> None:
        counted = await job_store.complete_job_property(
            self._pool,
            job_id,
            result.property_ref,
            status=result.status,
            rows_fetched=result.rows_fetched,
            rows_inserted=result.rows_inserted,
            rows_updated=result.rows_updated,
            rows_unchanged=result.rows_unchanged,
            tokens_consumed=result.tokens_consumed,
            duration_ms=result.duration_ms,
            error=result.error,
            rows_deleted=result.rows_deleted,
            history_days_left=result.history_days_left,
        )
        if counted is not None and counted[0] >= counted[1]:
            await self._finish(job_id)

    async def abandon_property(self, job_id: uuid.UUID, property_ref: int, reason: str) -> None:
        """Count a property whose task cannot run to the end as failed, so its job
        still finishes instead of waiting forever."""
        await self.complete_property(
            job_id,
            PropertyResult(
                property_ref=property_ref,
                property_id="",
                status="failed",
                error=reason,
            ),
        )

    async def history_step_lost(self, property_ref: int, reason: str) -> None:
        """A background step of the property's history will not run to its end (its
        task gave up or was lost too often): the recovery queues the next one once
        its backoff has passed."""
        await self._continuation.failed(property_ref, reason)

    async def fail_job(self, job_id: uuid.UUID, message: str) -> None:
        """Finish a job that cannot go on (its run task gave up)."""
        await job_store.finish_job(self._pool, job_id, "failed", message)

    async def _finish(self, job_id: uuid.UUID) -> None:
        job = await self.get_job(job_id)
        summary = summary_of(
            job, (await job_store.job_property_results(self._pool, [job_id]))[job_id]
        )
        # Some properties failing (a revoked grant, a quota) is reported in the
        # message; the run as a whole failed only when nothing could be synced.
        failed = summary.properties_total > 0 and summary.properties_succeeded == 0
        # A run that synced nothing (no property in its scope) succeeds, but it is
        # not a sync of the data: /meta, /healthz and /metrics must not call it one.
        synced = summary.properties_succeeded > 0
        daily_streak_before = (
            await job_store.daily_failure_streak(self._pool) if job.kind == "daily" else 0
        )
        # The job's outcome and the last success move together: nobody sees one
        # without the other.
        async with self._pool.acquire() as conn, conn.transaction():
            finished = await job_store.finish_job(
                conn, job_id, "failed" if failed else "success", summary.message(), synced=synced
            )
            if finished is not None and finished.status == "success" and synced:
                assert finished.last_sync_at is not None
                await put_app_setting(
                    conn,
                    LAST_SUCCESS,
                    {
                        "at": finished.last_sync_at.isoformat(),
                        "job_id": str(job_id),
                        "kind": finished.kind,
                    },
                )
        if finished is None:
            return  # another unit finished it
        if finished.kind == "daily":
            after = 0 if finished.status == "success" else daily_streak_before + 1
            await self._alerts.streak_changed(
                "the daily sync", daily_streak_before, after, finished.message
            )
        logger.info(
            "sync %s %s: %s",
            job_id,
            finished.status,
            summary.message(),
            extra={"action": "job_finished"},
        )
        # History only once every property of the run has its recent days: the
        # background steps never compete with the run users are waiting for.
        await self._continuation.after_all(summary.results, history=True)
