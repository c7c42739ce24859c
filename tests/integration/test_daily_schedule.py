"""The daily run between local midnight and SYNC_DAILY_AT, on a fresh database: a
starting worker, the periodic tick and the backup trigger all leave it alone (no run
of the day before minutes ahead of today's), and today's starts at 00:15 local; a run
missed at 00:15 is caught up later the same day. Los Angeles, on an ordinary summer
day and on both DST change days."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ga4sync.runtime import run_worker
from ga4sync.sync.jobs import StartedJob

from ..webtools import CRON

LA = ZoneInfo("America/Los_Angeles")
DAYS = [date(2026, 6, 14), date(2026, 3, 8), date(2026, 11, 1)]
DAY_IDS = ["ordinary", "spring-forward", "fall-back"]
# Minutes before today's run, and the day before had none.
WINDOW = [time(0, 0), time(0, 5), time(0, 10), time(0, 14, 40)]


def local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, LA)


async def daily_jobs(pool) -> list[tuple[date, str]]:
    rows = await pool.fetch("select run_date, lock_key from ga4_sync_jobs order by created_at")
    return [(r["run_date"], r["lock_key"]) for r in rows]


@asynccontextmanager
async def started_worker(runtime) -> AsyncIterator[asyncio.Task[None]]:
    """A real worker in this loop, returned once it has done its start-up work (its
    catch-up of the daily run included) and is taking tasks."""
    before = await runtime.pool.fetchval("select count(*) from ga4sync_queue.procrastinate_workers")
    task = asyncio.create_task(run_worker(runtime))
    deadline = asyncio.get_running_loop().time() + 20
    while (
        await runtime.pool.fetchval("select count(*) from ga4sync_queue.procrastinate_workers")
        <= before
    ):
        assert not task.done(), task.exception()
        assert asyncio.get_running_loop().time() < deadline, "the worker never started"
        await asyncio.sleep(0.02)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)


async def run_tick(runtime, at: datetime) -> None:
    """Have the worker run ``ga4sync.daily_tick`` for ``at`` and wait until it is done."""
    tick = runtime.queue_app.tasks["ga4sync.daily_tick"]
    job_id = await tick.defer_async(timestamp=int(at.timestamp()))
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        status = await runtime.pool.fetchval(
            "select status from ga4sync_queue.procrastinate_jobs where id = $1", job_id
        )
        if status is None or status == "succeeded":  # successful tasks are deleted
            return
        assert status in ("todo", "doing"), status
        assert asyncio.get_running_loop().time() < deadline, "the tick never ran"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
async def test_worker_start_and_ticks_before_0015_start_nothing_then_0015_starts_today(
    pool, runtime, clock, day
):
    clock.now = local(day, time(0, 14, 40)).astimezone(UTC)
    async with started_worker(runtime):
        assert await daily_jobs(pool) == []  # the starting worker caught up nothing
        for at in WINDOW:
            await run_tick(runtime, local(day, at))
        assert await daily_jobs(pool) == []
        meta = await runtime.sync.get_meta()
        assert meta.next_scheduled_at == local(day, time(0, 15))
        await run_tick(runtime, local(day, time(0, 15)))
        await run_tick(runtime, local(day, time(0, 20)))
    assert await daily_jobs(pool) == [(day, f"ga4_daily:{day.isoformat()}")]


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
async def test_a_worker_starting_later_the_same_day_catches_up_its_run(pool, runtime, clock, day):
    clock.now = local(day, time(9, 30)).astimezone(UTC)
    async with started_worker(runtime):
        assert await daily_jobs(pool) == [(day, f"ga4_daily:{day.isoformat()}")]
        await run_tick(runtime, local(day, time(9, 35)))
    assert len(await daily_jobs(pool)) == 1


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
async def test_backup_trigger_before_0015_answers_not_due_yet_and_starts_nothing(
    client, pool, clock, day
):
    cron = {"X-CRON-TOKEN": CRON}
    for at in WINDOW:
        clock.now = local(day, at).astimezone(UTC)
        response = await client.get("/v1/sync/ga4/daily", headers=cron)
        assert response.status == 200
        assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 0
        body = await response.json()
        assert body == {
            "status": "not-due-yet",
            "run_date": day.isoformat(),
            "next_scheduled_at": local(day, time(0, 15)).isoformat(),
        }
        meta = await (await client.get("/v1/sync/ga4/meta")).json()
        assert meta["next_scheduled_at"] == body["next_scheduled_at"]
        probe = await client.head("/v1/sync/ga4/daily", headers=cron)
        assert probe.status == 200 and await probe.read() == b""
    assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 0
    clock.now = local(day, time(0, 15)).astimezone(UTC)
    started = await client.get("/v1/sync/ga4/daily", headers=cron)
    assert started.status == 202
    assert (await started.json())["run_date"] == day.isoformat()
    again = await client.post("/v1/sync/ga4/daily", headers=cron)
    assert again.status == 200 and (await again.json())["status"] == "already-running"
    assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 1


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
async def test_backup_trigger_later_the_same_day_catches_up_the_missed_run(
    client, pool, clock, day
):
    clock.now = local(day, time(13, 0)).astimezone(UTC)
    started = await client.get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": CRON})
    assert started.status == 202
    assert (await started.json())["run_date"] == day.isoformat()
    assert await daily_jobs(pool) == [(day, f"ga4_daily:{day.isoformat()}")]


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
async def test_service_in_the_window_starts_nothing_and_names_todays_run(
    service, pool, recording_queue, day
):
    for at in WINDOW:
        result = await service.ensure_daily_due(local(day, at))
        assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 0
        assert recording_queue.runs == []
        assert not isinstance(result, StartedJob)
        assert result.run_date == day
        assert result.due_at == local(day, time(0, 15))
        assert result.due_at.utcoffset() == local(day, time(0, 15)).utcoffset()
    started = await service.ensure_daily_due(local(day, time(0, 15)))
    assert isinstance(started, StartedJob) and started.created
    assert started.job.run_date == day
