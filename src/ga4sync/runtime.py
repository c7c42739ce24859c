"""Process wiring: the pool, the queue app and the sync service, and the worker loop.

The worker outlives its database: when procrastinate's worker stops because
Postgres went away (a restart, a failover), ``run_worker`` waits for the
``DatabaseWatch`` to see it back, hands the stopped worker's tasks to the
recovery and starts a new worker. Only cancellation (SIGTERM, Ctrl-C) or a
failure that is not a lost database ends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

import asyncpg
import procrastinate
from procrastinate.worker import Worker

from ga4sync.clock import Clock, utcnow
from ga4sync.db import open_pool
from ga4sync.outage import DatabaseWatch, is_database_unavailable
from ga4sync.queue import ProcrastinateQueue, Services, create_queue_app, recover_stalled_tasks
from ga4sync.settings import Settings
from ga4sync.store.app_settings import SettingsCache
from ga4sync.sync import schedule
from ga4sync.sync.alerts import alerts_from_settings
from ga4sync.sync.ingest import open_ingestion
from ga4sync.sync.jobs import SyncService
from ga4sync.sync.realtime import RealtimePoller, open_realtime
from ga4sync.sync.upkeep import Upkeep

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    pool: asyncpg.Pool
    queue_app: procrastinate.App
    sync: SyncService
    upkeep: Upkeep
    settings: Settings
    watch: DatabaseWatch
    now: Clock = utcnow


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    database_url: str,
    *,
    now: Clock = utcnow,
    periodic: bool = True,
) -> AsyncIterator[Runtime]:
    """Everything a web or worker process shares, opened in order and closed in reverse.

    ``periodic=False`` runs workers without the cron ticks (tests drive the clock).
    """
    # Tasks hold a connection only while they write: one each is plenty.
    pool_size = max(10, settings.worker_concurrency)
    async with open_pool(database_url, max_size=pool_size) as pool:
        # /meta is read far more often than a sync finishes: cache it, and let
        # Postgres say when it changed (on the watch's connection, re-listened
        # after every reconnect).
        cache = SettingsCache(pool)
        watch = DatabaseWatch(database_url, on_connect=cache.listen)
        await watch.start()
        app = create_queue_app(database_url, periodic=periodic, realtime=bool(settings.realtime))
        try:
            async with app.open_async():
                queue = ProcrastinateQueue(app)
                sync = SyncService(
                    pool,
                    queue,
                    settings,
                    now=now,
                    settings_cache=cache,
                    alerts=alerts_from_settings(settings),
                )
                upkeep = Upkeep(pool, queue, settings, now=now)
                yield Runtime(
                    pool=pool,
                    queue_app=app,
                    sync=sync,
                    upkeep=upkeep,
                    settings=settings,
                    watch=watch,
                    now=now,
                )
        finally:
            await watch.close()


# A worker that keeps stopping while the database answers waits longer each time.
RESTART_DELAY_S = (1.0, 60.0)
STEADY_RUN_S = 60.0  # a worker that ran this long resets the delay
# Past a heartbeat that was fresh at start becoming late: a beat's write may take a moment.
TAKEOVER_MARGIN_S = 0.5


async def run_worker(runtime: Runtime) -> None:
    """Run jobs until cancelled (SIGTERM, Ctrl-C): running tasks get
    ``WORKER_SHUTDOWN_TIMEOUT_S`` to finish, then are aborted and retried later.

    A worker stopped by a lost database is started again once it is back.
    """
    settings = runtime.settings
    app = runtime.queue_app
    loop = asyncio.get_running_loop()
    app.perform_import_paths()  # type: ignore[no-untyped-call]
    async with (
        open_ingestion(runtime.pool, settings, now=runtime.now) as ingestion,
        open_realtime(runtime.pool, settings, ingestion.tokens, now=runtime.now) as poller,
    ):
        realtime: RealtimePoller | None = poller if settings.realtime else None
        services = Services(
            sync=runtime.sync,
            upkeep=runtime.upkeep,
            ingestion=ingestion,
            settings=settings,
            realtime=realtime,
        )
        stopped_worker_id: int | None = None
        restart_delay_s = RESTART_DELAY_S[0]
        first = True
        while True:
            await runtime.watch.until_up()
            started_at = loop.time()
            outages_before = runtime.watch.outages
            worker: Worker | None = None
            try:
                if stopped_worker_id is not None:
                    # Its tasks ended with it (procrastinate waits for or aborts them
                    # before it stops): unregistering it hands what it left 'doing'
                    # to the recovery below at once, without waiting for its
                    # heartbeat to go stale.
                    await app.job_manager.unregister_worker(stopped_worker_id)
                    stopped_worker_id = None
                await _prepare(runtime, announce=first)
                first = False
                worker = Worker(
                    app=app,
                    concurrency=settings.worker_concurrency,
                    additional_context={"services": services},
                    install_signal_handlers=False,
                    shutdown_graceful_timeout=settings.worker_shutdown_timeout_s,
                    update_heartbeat_interval=settings.worker_heartbeat_s,
                    stalled_worker_timeout=settings.stalled_after_s,
                    delete_jobs="successful",
                )
                # A worker killed just before this one started still looked alive
                # then: once its heartbeat is late enough, this one takes over.
                takeover = asyncio.create_task(_take_over_late(runtime), name="takeover")
                try:
                    await worker.run()  # type: ignore[no-untyped-call]
                finally:
                    takeover.cancel()
                reason: BaseException | None = None
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                reason = exc
            finally:
                if worker is not None and worker.worker_id is not None:
                    stopped_worker_id = worker.worker_id  # it could not unregister itself
            # procrastinate's worker only stops by itself when one of its side tasks
            # (heartbeat, listener, scheduler) failed: mostly, the database went away.
            if reason is not None:
                runtime.watch.report(reason)
            if runtime.watch.outages != outages_before or not await runtime.watch.check():
                continue  # back to waiting for the database
            if loop.time() - started_at >= STEADY_RUN_S:
                restart_delay_s = RESTART_DELAY_S[0]
            logger.warning(
                "worker stopped with the database reachable: restarting in %.0f s",
                restart_delay_s,
                extra={"action": "worker_restart"},
            )
            await asyncio.sleep(restart_delay_s)
            restart_delay_s = min(restart_delay_s * 2, RESTART_DELAY_S[1])


async def _take_over_late(runtime: Runtime) -> None:
    """Once a heartbeat fresh at this worker's start would be late, take over the
    tasks of workers whose heartbeat did stop (a worker killed just before a new one
    started, as on a crash and restart). Live workers' heartbeats are never late."""
    await asyncio.sleep(runtime.settings.takeover_after_s + TAKEOVER_MARGIN_S)
    try:
        await recover_stalled_tasks(
            runtime.queue_app, runtime.settings.takeover_after_s, runtime.sync
        )
    except Exception as exc:
        if is_database_unavailable(exc):
            return  # the worker stops and starts again, and recovers then
        # The every-minute recovery still takes them over, once STALLED_AFTER_S passes.
        logger.exception("taking over a dead worker's tasks failed", extra={"action": "takeover"})


async def _prepare(runtime: Runtime, *, announce: bool) -> None:
    """What a starting worker does first: take over what a dead worker left doing
    (one whose heartbeat is ``Settings.takeover_after_s`` late), and catch up
    today's daily run if its time has come and no worker was up to start it."""
    settings = runtime.settings
    await recover_stalled_tasks(runtime.queue_app, settings.takeover_after_s, runtime.sync)
    await runtime.sync.ensure_daily_due()
    if not announce:
        return
    zone = ZoneInfo(settings.sync_timezone)
    next_at = schedule.next_run_at(runtime.now(), zone, settings.sync_daily_at)
    logger.info(
        "scheduler armed: daily sync at %s %s, next %s (%s UTC)",
        settings.sync_daily_at.strftime("%H:%M"),
        zone.key,
        next_at.isoformat(),
        next_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        extra={"action": "scheduler_armed"},
    )
