"""History in the background, for tests that run a real worker in the test's
event loop: the settings they share and the worker itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from ga4sync.runtime import Runtime, open_runtime, run_worker
from ga4sync.settings import Settings

BACKFILL_DAYS = 60
REPORTS = ("daily_totals", "traffic_sources", "pages")


@contextlib.asynccontextmanager
async def history_runtime(settings: Settings, database_url: str, clock) -> AsyncIterator[Runtime]:
    """A runtime reading BACKFILL_DAYS of history in 30-day chunks, the last four days
    re-read by every sync, with a worker heartbeat fast enough for the tests."""
    tuned = replace(
        settings,
        worker_heartbeat_s=0.5,
        stalled_after_s=2.0,
        sync_lookback_days=3,
        sync_backfill_days=BACKFILL_DAYS,
        sync_backfill_chunk_days=30,
    )
    async with open_runtime(tuned, database_url, now=clock, periodic=False) as runtime:
        yield runtime


@contextlib.asynccontextmanager
async def running_worker(runtime: Runtime) -> AsyncIterator[asyncio.Task[None]]:
    """A real worker in this event loop, stopped on leaving."""
    task = asyncio.create_task(run_worker(runtime))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
