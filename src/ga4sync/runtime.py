"""Process wiring: the pool, the queue app and the sync service, and the worker loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

import asyncpg
import procrastinate

from ga4sync.clock import Clock, utcnow
from ga4sync.db import connect, open_pool
from ga4sync.queue import ProcrastinateQueue, Services, create_queue_app, recover_stalled_tasks
from ga4sync.settings import Settings
from ga4sync.store.app_settings import SettingsCache
from ga4sync.sync import schedule
from ga4sync.sync.alerts import alerts_from_settings
from ga4sync.sync.ingest import open_ingestion
from ga4sync.sync.jobs import SyncService
from ga4sync.sync.upkeep import Upkeep

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    pool: asyncpg.Pool
    queue_app: procrastinate.App
    sync: SyncService
    upkeep: Upkeep
    settings: Settings
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
    pool_size = max(10, settings.worker_concurrency * 2)
    async with (
        open_pool(database_url, max_size=pool_size) as pool,
        connect(database_url) as listener,
    ):
        # /meta is read far more often than a sync finishes: cache it, and let
        # Postgres say when it changed.
        cache = SettingsCache(pool)
        await cache.listen(listener)
        app = create_queue_app(database_url, periodic=periodic)
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
                pool=pool, queue_app=app, sync=sync, upkeep=upkeep, settings=settings, now=now
            )


async def run_worker(runtime: Runtime, *, install_signal_handlers: bool = True) -> None:
    """Run jobs until stopped (SIGINT/SIGTERM): running tasks get
    ``WORKER_SHUTDOWN_TIMEOUT_S`` to finish, then are aborted and retried later."""
    settings = runtime.settings
    async with open_ingestion(runtime.pool, settings, now=runtime.now) as ingestion:
        services = Services(
            sync=runtime.sync, upkeep=runtime.upkeep, ingestion=ingestion, settings=settings
        )
        zone = ZoneInfo(settings.sync_timezone)
        # A worker starting after a crash takes over what the dead one left doing,
        # and catches up today's daily run if its time has come and no worker was up
        # to start it.
        await recover_stalled_tasks(runtime.queue_app, settings.stalled_after_s, runtime.sync)
        await runtime.sync.ensure_daily_due()
        next_at = schedule.next_run_at(runtime.now(), zone, settings.sync_daily_at)
        logger.info(
            "scheduler armed: daily sync at %s %s, next %s (%s UTC)",
            settings.sync_daily_at.strftime("%H:%M"),
            zone.key,
            next_at.isoformat(),
            next_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            extra={"action": "scheduler_armed"},
        )
        await runtime.queue_app.run_worker_async(
            concurrency=settings.worker_concurrency,
            additional_context={"services": services},
            install_signal_handlers=install_signal_handlers,
            shutdown_graceful_timeout=settings.worker_shutdown_timeout_s,
            update_heartbeat_interval=settings.worker_heartbeat_s,
            stalled_worker_timeout=settings.stalled_after_s,
            delete_jobs="successful",
        )
