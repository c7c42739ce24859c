"""The job queue on procrastinate: thin tasks over the sync service.

Tasks take JSON-scalar arguments (ids), unpack the worker's ``Services`` from
their context and call the service layer. Every task is idempotent: the service
counts a property into its job once, however often a task runs.

* ``ga4sync.run_job`` fixes a job's properties and fans out one task each;
* ``ga4sync.sync_property`` syncs one property of a job; its ``lock`` makes two
  jobs' units for the same property run one after the other, never at once;
* ``ga4sync.daily_tick`` (every 5 minutes) starts the daily run once its local
  time has come (procrastinate's cron is UTC-only, so the local-time rule is
  ours) and queues ``ga4sync.sync_due_property`` for hourly / 6-hourly
  properties that are due;
* ``ga4sync.continue_property`` picks up what a property's sync left: the next
  stretch of history (queued at once, or when the quota reserve returns) or a
  sync its quota deferred (queued for when the quota returns);
* ``ga4sync.recover`` (every minute) retries tasks of workers whose heartbeat
  stopped, re-queues jobs whose queue entry was lost, and queues the history of
  properties whose last step failed or was lost once its backoff has passed;
* ``ga4sync.cleanup`` (daily) deletes history past ``RETENTION_DAYS``;
* ``ga4sync.realtime_tick`` (every minute, scheduled only when ``[[realtime]]``
  definitions are configured) polls GA4's realtime reports that are due.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import asyncpg
import procrastinate
import psycopg
from procrastinate import JobContext, RetryStrategy
from procrastinate.exceptions import (
    AlreadyEnqueued,
    ConnectorException,
    JobAborted,
    UniqueViolation,
)

from ga4sync.outage import DATABASE_UNAVAILABLE
from ga4sync.queries import query
from ga4sync.settings import Settings
from ga4sync.sync.fair_order import Lane
from ga4sync.sync.ingest import Ingestion
from ga4sync.sync.jobs import SyncService
from ga4sync.sync.realtime import RealtimePoller
from ga4sync.sync.upkeep import Upkeep

logger = logging.getLogger(__name__)

# Failures worth another try: the database or network blinked, or the worker
# was stopped mid-task (a task cancelled by a shutdown is retried, not lost).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *DATABASE_UNAVAILABLE,
    TimeoutError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    JobAborted,
)
# CancelledError is a BaseException; procrastinate checks it with isinstance all the same.
_RETRIED = cast(set[type[Exception]], {*TRANSIENT_ERRORS, asyncio.CancelledError})
RUN_JOB_RETRY = RetryStrategy(max_attempts=5, exponential_wait=2, retry_exceptions=_RETRIED)
SYNC_PROPERTY_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2, retry_exceptions=_RETRIED)
# Every 5 minutes hits 00:15 local in every time zone (all UTC offsets are
# multiples of 15 minutes); the tick itself decides whether a run is due.
DAILY_TICK_CRON = "*/5 * * * *"
RECOVER_CRON = "* * * * *"
REALTIME_CRON = "* * * * *"
CLEANUP_CRON = "40 3 * * *"
STALLED_MAX_ATTEMPTS = 3  # a task that kills its worker this often is failed, not retried
# The fair order (ga4sync.sync.fair_order) as procrastinate priorities: higher is
# taken first, equal ones by arrival. Job-control tasks (fan-out, ticks, recovery)
# keep procrastinate's default 0, above every lane. A lane is a head start, not
# a wall: each lane below interactive counts LANE_HEAD_START ranks more than the
# one above it, so a unit of any lane waits behind a bounded number of others
# however much a tenant keeps queueing in the lanes above.
LANE_HEAD_START = 50
LANE_TOP = {
    lane: -1 - n * LANE_HEAD_START
    for n, lane in enumerate((Lane.INTERACTIVE, Lane.SCHEDULED, Lane.RESUME, Lane.HISTORY))
}
MAX_RANK = 1_000_000  # far beyond any tenant's count of properties
# Priorities a waiting unit gains each minute (age_waiting_tasks): a unit of
# rank r in lane l is at the top after (r + 50 l) / 10 minutes at the most.
AGE_STEP = 10


def priority(lane: Lane, rank: int) -> int:
    """procrastinate's priority of a unit of work of ``lane`` and ``rank``."""
    return LANE_TOP[lane] - min(max(rank, 0), MAX_RANK)


@dataclass(frozen=True)
class Services:
    """What tasks need, built once per worker process."""

    sync: SyncService
    upkeep: Upkeep
    ingestion: Ingestion
    settings: Settings
    # None: no [[realtime]] definitions, nothing to poll
    realtime: RealtimePoller | None = None


def _services(context: JobContext) -> Services:
    services = context.additional_context["services"]
    assert isinstance(services, Services)
    return services


def _last_attempt(context: JobContext, strategy: RetryStrategy) -> bool:
    assert context.job is not None and strategy.max_attempts is not None
    return context.job.attempts + 1 >= strategy.max_attempts


async def run_job(context: JobContext, job_id: str) -> None:
    services = _services(context)
    try:
        await services.sync.run_job(uuid.UUID(job_id))
    except Exception as exc:
        if _last_attempt(context, RUN_JOB_RETRY) or not isinstance(exc, TRANSIENT_ERRORS):
            await services.sync.fail_job(uuid.UUID(job_id), f"the sync could not start: {exc}")
        raise


async def sync_property(context: JobContext, job_id: str, property_ref: int) -> None:
    services = _services(context)
    try:
        await services.sync.sync_job_property(services.ingestion, uuid.UUID(job_id), property_ref)
    except Exception as exc:
        if _last_attempt(context, SYNC_PROPERTY_RETRY) or not isinstance(exc, TRANSIENT_ERRORS):
            # No retry is coming: count the property as failed so the job can finish.
            await services.sync.abandon_property(
                uuid.UUID(job_id), property_ref, f"the sync task gave up: {exc!r}"
            )
        raise


async def daily_tick(context: JobContext, timestamp: int) -> None:
    services = _services(context)
    at = datetime.fromtimestamp(timestamp, UTC)
    await services.sync.ensure_daily_due(at)
    await services.upkeep.schedule_due_properties(at)


async def sync_due_property(context: JobContext, property_ref: int) -> None:
    services = _services(context)
    await services.upkeep.sync_due_property(services.ingestion, property_ref)


async def continue_property(context: JobContext, property_ref: int, recent: bool) -> None:
    services = _services(context)
    try:
        await services.upkeep.continue_property(services.ingestion, property_ref, recent=recent)
    except Exception as exc:
        if _last_attempt(context, SYNC_PROPERTY_RETRY) or not isinstance(exc, TRANSIENT_ERRORS):
            # No retry is coming: the recovery queues the history again after its backoff.
            await _history_gave_up(services, property_ref, f"the history step gave up: {exc!r}")
        raise


async def _history_gave_up(services: Services, property_ref: int, reason: str) -> None:
    try:
        await services.sync.history_step_lost(property_ref, reason)
    except Exception:
        # The database is gone too: the step is failed with nothing recorded, and
        # the property's next sync starts its history again.
        logger.exception(
            "could not record the end of property %s's history step",
            property_ref,
            extra={"action": "history_failed"},
        )


async def realtime_tick(context: JobContext, timestamp: int) -> None:
    services = _services(context)
    if services.realtime is not None:
        await services.realtime.tick(datetime.fromtimestamp(timestamp, UTC))


async def recover(context: JobContext, timestamp: int) -> None:
    services = _services(context)
    assert context.app is not None
    await recover_stalled_tasks(context.app, services.settings.stalled_after_s, services.sync)
    await age_waiting_tasks(context.app)
    await services.upkeep.requeue_waiting_jobs()
    await services.upkeep.requeue_orphaned_properties()
    await services.upkeep.resume_failed_history()


async def cleanup(context: JobContext, timestamp: int) -> None:
    services = _services(context)
    await services.upkeep.prune_history(datetime.fromtimestamp(timestamp, UTC))
    assert context.app is not None
    # Successful tasks are deleted as they finish; failed and aborted ones age out here.
    await context.app.job_manager.delete_old_jobs(
        nb_hours=services.settings.retention_days * 24,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


async def age_waiting_tasks(app: procrastinate.App) -> int:
    """One minute of waiting for every due unit of work: ``AGE_STEP`` priorities
    more. Returns how many units aged."""
    row = await app.connector.execute_query_one_async(
        query("age_waiting_tasks"), step=AGE_STEP, top=LANE_TOP[Lane.INTERACTIVE]
    )
    return int(row["aged"])


async def recover_stalled_tasks(
    app: procrastinate.App, stalled_after_s: float, sync: SyncService
) -> int:
    """Retry tasks left ``doing`` by workers whose heartbeat stopped; after
    ``STALLED_MAX_ATTEMPTS`` fail them, and their property or job with them."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s))
    for job in stalled:
        logger.warning(
            "task %s (%s) of a dead worker: %s",
            job.id,
            job.task_name,
            "retrying" if job.attempts < STALLED_MAX_ATTEMPTS else "failing",
            extra={"action": "recover_stalled"},
        )
        try:
            if job.attempts < STALLED_MAX_ATTEMPTS:
                await _retry_or_leave_to_twin(app, job)
            else:
                await app.job_manager.finish_job(
                    job, status=procrastinate.jobs.Status.FAILED, delete_job=False
                )
                await _give_up(job, sync)
        except ConnectorException as exc:
            if not isinstance(exc.__cause__, psycopg.errors.RaiseException):
                raise
            # procrastinate refused: the task is no longer 'doing', another
            # worker's recovery got to it first
    return len(stalled)


async def _retry_or_leave_to_twin(app: procrastinate.App, job: procrastinate.jobs.Job) -> None:
    try:
        await app.job_manager.retry_job(job)
    except UniqueViolation:
        # A task with the same queueing lock was queued since (the next daily
        # run's continuation of the same history, say): it does the same work
        # from the same coverage, so this one ends here. Left 'doing', it would
        # hold its lock, and the twin behind it, forever.
        logger.warning(
            "task %s (%s) of a dead worker: a queued twin takes over",
            job.id,
            job.task_name,
            extra={"action": "recover_stalled"},
        )
        await app.job_manager.finish_job(
            job, status=procrastinate.jobs.Status.ABORTED, delete_job=False
        )


async def _give_up(job: procrastinate.jobs.Job, sync: SyncService) -> None:
    reason = f"the worker running it died {job.attempts} times"
    args = job.task_kwargs
    if job.task_name == "ga4sync.sync_property":
        await sync.abandon_property(
            uuid.UUID(str(args["job_id"])), int(str(args["property_ref"])), reason
        )
    elif job.task_name == "ga4sync.run_job":
        await sync.fail_job(uuid.UUID(str(args["job_id"])), f"the sync could not start: {reason}")
    elif job.task_name == "ga4sync.continue_property":
        # History (or the resume it follows) stops here: the recovery queues it
        # again once its backoff has passed.
        await sync.history_step_lost(int(str(args["property_ref"])), reason)


# A fan-out this large refreshes the queue's statistics (analyze_queue in
# sql/queries/queue_tasks.sql); a smaller one cannot make a plan go wrong.
ANALYZE_AFTER_FAN_OUT = 100


class ProcrastinateQueue:
    """``JobQueue`` for the sync service, on a procrastinate app."""

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app

    async def enqueue_run(self, job_id: uuid.UUID) -> None:
        task = self._app.tasks["ga4sync.run_job"]
        try:
            await task.configure(queueing_lock=f"ga4sync.run_job:{job_id}").defer_async(
                job_id=str(job_id)
            )
        except AlreadyEnqueued:
            pass  # still queued from an earlier call

    async def enqueue_due_property(self, property_ref: int, *, rank: int = 0) -> None:
        task = self._app.tasks["ga4sync.sync_due_property"]
        try:
            await task.configure(
                lock=f"ga4sync.property:{property_ref}",
                queueing_lock=f"ga4sync.sync_due_property:{property_ref}",
                priority=priority(Lane.SCHEDULED, rank),
            ).defer_async(property_ref=property_ref)
        except AlreadyEnqueued:
            pass  # the last one has not even started: nothing piles up

    async def enqueue_continuation(
        self, property_ref: int, *, recent: bool, at: datetime | None = None, rank: int = 0
    ) -> None:
        task = self._app.tasks["ga4sync.continue_property"]
        part = "recent" if recent else "history"
        try:
            # History has a lock of its own: the property's recent days keep
            # syncing while it is read (runs of the two parts may overlap). A
            # resume shares the property's lock in a lane below every job's:
            # among tasks of one lock the higher priority goes first, so a daily
            # or manual sync never waits behind one scheduled for later.
            lock = (
                f"ga4sync.property:{property_ref}" if recent else f"ga4sync.history:{property_ref}"
            )
            await task.configure(
                lock=lock,
                queueing_lock=f"ga4sync.continue_property:{property_ref}:{part}",
                schedule_at=at,
                priority=priority(Lane.RESUME if recent else Lane.HISTORY, rank),
            ).defer_async(property_ref=property_ref, recent=recent)
        except AlreadyEnqueued:
            pass  # one is waiting already: it reads from coverage, whenever it runs

    async def enqueue_properties(
        self,
        job_id: uuid.UUID,
        property_refs: Sequence[int],
        *,
        lane: Lane = Lane.SCHEDULED,
        ranks: Sequence[int] | None = None,
    ) -> None:
        task = self._app.tasks["ga4sync.sync_property"]
        deferrers = [
            task.configure(
                lock=f"ga4sync.property:{ref}",
                queueing_lock=f"ga4sync.sync_property:{job_id}:{ref}",
                priority=priority(lane, rank),
            )
            for ref, rank in zip(property_refs, ranks or [0] * len(property_refs), strict=True)
        ]
        jobs = [
            deferrer.make_new_job(job_id=str(job_id), property_ref=ref)
            for deferrer, ref in zip(deferrers, property_refs, strict=True)
        ]
        try:
            await self._app.job_manager.batch_defer_jobs_async(jobs)
        except AlreadyEnqueued:
            # A retried fan-out: queue one by one, skipping those still queued.
            for deferrer, ref in zip(deferrers, property_refs, strict=True):
                try:
                    await deferrer.defer_async(job_id=str(job_id), property_ref=ref)
                except AlreadyEnqueued:
                    pass
        if len(jobs) >= ANALYZE_AFTER_FAN_OUT:
            await self._analyze()

    async def _analyze(self) -> None:
        try:
            await self._app.connector.execute_query_async(query("analyze_queue"))
        except psycopg.errors.InsufficientPrivilege:
            # Another role owns the queue (migrated by someone else): the
            # statistics come with autovacuum, later.
            logger.warning(
                "cannot analyze the queue's table: the database role does not own it",
                extra={"action": "analyze_queue"},
            )

    async def promote_properties(self, job_id: uuid.UUID, property_refs: Sequence[int]) -> int:
        """Move a job's waiting tasks of ``property_refs`` to the front of the
        interactive lane; return how many moved."""
        moved = await self._app.connector.execute_query_all_async(
            query("promote_job_tasks"),
            job_id=str(job_id),
            refs=list(property_refs),
            top=LANE_TOP[Lane.INTERACTIVE],
        )
        return len(moved)


# The queue's own schema, which Supabase's API roles cannot use (migration 0013).
QUEUE_SCHEMA = "ga4sync_queue"


async def use_queue_schema(conn: psycopg.AsyncConnection) -> None:
    """Point a new queue connection at the queue's schema: procrastinate's SQL
    names no schema. A plain SET, not a startup option: Supabase's pooler does
    not pass those on."""
    await conn.execute("select set_config('search_path', %s, false)", [QUEUE_SCHEMA])
    if not conn.autocommit:
        await conn.commit()


def create_queue_app(
    database_url: str, *, periodic: bool = True, realtime: bool = False
) -> procrastinate.App:
    """The procrastinate app on ``database_url`` with ga4sync's tasks (opened by the caller).

    ``periodic=False`` leaves the tick and recovery tasks unscheduled (they can still
    be queued by hand), for workers driven by an injected clock. ``realtime``: there
    are realtime definitions, and their minutely tick is scheduled too.
    """
    connector = procrastinate.PsycopgConnector(conninfo=database_url, configure=use_queue_schema)
    app = procrastinate.App(connector=connector)
    app.task(name="ga4sync.run_job", pass_context=True, retry=RUN_JOB_RETRY)(run_job)
    app.task(name="ga4sync.sync_property", pass_context=True, retry=SYNC_PROPERTY_RETRY)(
        sync_property
    )
    app.task(name="ga4sync.sync_due_property", pass_context=True, retry=SYNC_PROPERTY_RETRY)(
        sync_due_property
    )
    app.task(name="ga4sync.continue_property", pass_context=True, retry=SYNC_PROPERTY_RETRY)(
        continue_property
    )
    tick = app.task(
        name="ga4sync.daily_tick", pass_context=True, queueing_lock="ga4sync.daily_tick"
    )(daily_tick)
    sweep = app.task(name="ga4sync.recover", pass_context=True, queueing_lock="ga4sync.recover")(
        recover
    )
    prune = app.task(name="ga4sync.cleanup", pass_context=True, queueing_lock="ga4sync.cleanup")(
        cleanup
    )
    # One tick at a time (lock), and none piling up behind it (queueing_lock): a
    # tick that outlasts its minute lets the next one poll what is still due.
    poll = app.task(
        name="ga4sync.realtime_tick",
        pass_context=True,
        lock="ga4sync.realtime",
        queueing_lock="ga4sync.realtime_tick",
    )(realtime_tick)
    if periodic:
        app.periodic(cron=DAILY_TICK_CRON, periodic_id="daily")(tick)
        app.periodic(cron=RECOVER_CRON, periodic_id="recover")(sweep)
        app.periodic(cron=CLEANUP_CRON, periodic_id="cleanup")(prune)
        if realtime:
            app.periodic(cron=REALTIME_CRON, periodic_id="realtime")(poll)
    return app
