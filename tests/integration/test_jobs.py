"""Sync jobs through the service: manual and daily starts, fan-out, counting in, finishing."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ga4sync.store.app_settings import LAST_SUCCESS, get_app_setting
from ga4sync.sync.jobs import DailyRunActive, JobNotFound, StartedJob

from ..reporting import count_rows
from .test_ingest import expected_rows

LA = ZoneInfo("America/Los_Angeles")


async def test_repeat_click_returns_the_active_run(service, recording_queue):
    user = uuid.uuid4()
    first = await service.start_job(user, scope=str(user))
    second = await service.start_job(user, scope=str(user))
    assert first.created and not second.created
    assert second.job.id == first.job.id
    assert recording_queue.runs == [first.job.id]
    other = await service.start_job(uuid.uuid4(), scope="all")
    assert other.created and other.job.id != first.job.id


async def test_concurrent_clicks_create_one_run(service):
    user = uuid.uuid4()
    started = await asyncio.gather(*(service.start_job(user, scope="all") for _ in range(10)))
    assert len({s.job.id for s in started}) == 1
    assert sum(s.created for s in started) == 1


async def test_manual_run_during_daily_run_is_refused_with_the_daily_id(service):
    daily = await service.ensure_daily(date(2026, 11, 20))
    with pytest.raises(DailyRunActive) as refused:
        await service.start_job(uuid.uuid4(), scope="all")
    assert refused.value.job.id == daily.job.id
    assert "daily sync is running" in str(refused.value)


async def test_one_daily_run_per_date_however_many_callers_race(pool, settings, clock):
    from ga4sync.sync.jobs import SyncService

    from ..conftest import RecordingQueue

    queues = [RecordingQueue() for _ in range(3)]
    services = [SyncService(pool, q, settings, now=clock) for q in queues]
    results = await asyncio.gather(
        *(s.ensure_daily(date(2026, 11, 20)) for s in services for _ in range(10))
    )
    assert len({r.job.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert sum(len(q.runs) for q in queues) == 1
    assert await pool.fetchval("select count(*) from ga4_sync_jobs where kind = 'daily'") == 1


def _ticks(start: datetime, end: datetime, step_s: int = 300):
    at = start
    while at < end:
        yield at
        at += timedelta(seconds=step_s)


@pytest.mark.parametrize(
    ("first_day", "days"),
    [(date(2026, 3, 7), 3), (date(2026, 10, 31), 3), (date(2026, 6, 14), 2)],
    ids=["spring-forward", "fall-back", "ordinary"],
)
async def test_daily_tick_fires_at_local_0015_once_per_date(service, first_day, days):
    start = datetime.combine(first_day, datetime.min.time(), LA).astimezone(UTC)
    end = datetime.combine(first_day + timedelta(days=days), datetime.min.time(), LA)
    fired: dict[date, datetime] = {}
    for tick in _ticks(start, end.astimezone(UTC)):
        result = await service.ensure_daily_due(tick)
        if isinstance(result, StartedJob) and result.created:
            fired[result.job.run_date] = tick
    # The first ticks (00:00-00:10 local) start nothing, not even the day before's
    # run; every run starts exactly at its own 00:15 local, whatever the UTC offset.
    expected_days = [first_day + timedelta(days=n) for n in range(days)]
    for day in expected_days:
        assert fired[day].astimezone(LA).replace(tzinfo=None) == datetime.combine(
            day, datetime.min.time()
        ).replace(minute=15)
    assert set(fired) == set(expected_days)
    assert all(at.time() != datetime.min.time().replace(minute=15) for at in fired.values())


async def test_missed_run_is_caught_up_later_the_same_local_day(service, recording_queue):
    # Nothing ran at 00:15; a worker starts at 10:00 local.
    late = datetime(2026, 11, 20, 10, 0, tzinfo=LA)
    result = await service.ensure_daily_due(late)
    assert result.created and result.job.run_date == date(2026, 11, 20)
    again = await service.ensure_daily_due(late + timedelta(hours=5))
    assert not again.created and again.job.id == result.job.id
    assert recording_queue.runs == [result.job.id]


async def test_unknown_job_is_not_found(service):
    with pytest.raises(JobNotFound):
        await service.get_job(uuid.uuid4())


async def test_meta_before_any_run(service, clock):
    meta = await service.get_meta()
    assert meta.last_sync_at is None
    assert meta.timezone == "America/Los_Angeles"
    # FIXED_NOW is 2026-11-20 22:00 in Los Angeles: next run at 00:15 on the 21st
    assert meta.next_scheduled_at == datetime(2026, 11, 21, 0, 15, tzinfo=LA)


@pytest.mark.smoke
async def test_manual_run_through_a_real_worker(pool, connect_user, runtime, worker):
    from ..conftest import wait_for_job

    user = await connect_user({"1101": "America/Los_Angeles", "1102": "Asia/Tokyo"})
    started = await runtime.sync.start_job(user, scope=str(user))
    job = await wait_for_job(runtime.sync, started.job.id)
    assert job.status == "success", job.message
    assert (job.properties_done, job.properties_total, job.properties_failed) == (2, 2, 0)
    assert job.rows_written == job.rows_fetched == 2 * expected_rows(4)
    assert re.match(r"Synced 2/2 properties in \d+\.\ds: ", job.message), job.message
    assert job.started_at <= job.finished_at and job.last_sync_at is not None
    last = await get_app_setting(pool, LAST_SUCCESS)
    assert last["job_id"] == str(job.id)
    meta = await runtime.sync.get_meta()
    assert meta.last_sync_at == job.last_sync_at
    runs = await pool.fetchval("select count(*) from ga4_property_runs where job_id = $1", job.id)
    assert runs == 2


async def test_one_failing_property_does_not_fail_the_job(fake, connect_user, runtime, worker):
    from ..conftest import wait_for_job

    user = await connect_user({"1201": "UTC", "1202": "UTC"})
    fake.fail_next("1201", status=403, times=1)
    job = await wait_for_job(runtime.sync, (await runtime.sync.start_job(user, "all")).job.id)
    assert job.status == "success"
    assert (job.properties_done, job.properties_failed) == (2, 1)
    assert "1201: failed" in job.message


async def test_a_run_where_nothing_could_sync_fails(pool, fake, connect_user, runtime, worker):
    from ..conftest import wait_for_job

    synced = await connect_user({"1300": "UTC"})
    earlier = await wait_for_job(
        runtime.sync, (await runtime.sync.start_job(synced, str(synced))).job.id
    )
    assert earlier.status == "success" and earlier.last_sync_at is not None
    assert (await get_app_setting(pool, LAST_SUCCESS))["job_id"] == str(earlier.id)

    user = await connect_user({"1301": "UTC"})
    fake.revoke_refresh_token(f"rt-{user.hex[:8]}")
    job = await wait_for_job(runtime.sync, (await runtime.sync.start_job(user, str(user))).job.id)
    assert job.status == "failed"
    assert "needs_reauth" in job.message
    assert job.last_sync_at is None
    # The failed run leaves the last success where it was.
    last = await get_app_setting(pool, LAST_SUCCESS)
    assert last["job_id"] == str(earlier.id)
    assert datetime.fromisoformat(last["at"]) == earlier.last_sync_at
    assert (await runtime.sync.get_meta()).last_sync_at == earlier.last_sync_at


async def test_no_properties_finishes_at_once(runtime, worker):
    from ..conftest import wait_for_job

    job = await wait_for_job(
        runtime.sync, (await runtime.sync.start_job(uuid.uuid4(), "all")).job.id
    )
    assert job.status == "success" and job.message == "No enabled GA4 properties to sync."


async def test_a_unit_counted_twice_counts_once(
    pool, connect_user, service, recording_queue, ingestion_for
):
    user = await connect_user({"1401": "UTC"})
    started = await service.start_job(user, "all")
    await service.run_job(started.job.id)
    ref = await pool.fetchval("select id from ga4_properties where property_id = '1401'")
    async with ingestion_for() as ingestion:
        await service.sync_job_property(ingestion, started.job.id, ref)
        await service.sync_job_property(ingestion, started.job.id, ref)  # a retried task
    job = await service.get_job(started.job.id)
    assert job.status == "success"
    assert (job.properties_done, job.properties_total) == (1, 1)
    assert job.rows_written == expected_rows(4)
    assert await pool.fetchval("select count(*) from ga4_property_runs") == 1
    # A retried fan-out of a finished job neither reopens it nor queues anything.
    assert recording_queue.properties == [(started.job.id, [ref])]
    await service.run_job(started.job.id)
    assert recording_queue.properties == [(started.job.id, [ref])]
    assert await service.get_job(started.job.id) == job


async def test_a_retried_fan_out_counts_each_property_once(
    pool, connect_user, service, recording_queue, ingestion_for
):
    user = await connect_user({"1501": "UTC", "1502": "UTC"})
    started = await service.start_job(user, "all")
    job_id = started.job.id
    await service.run_job(job_id)
    await service.run_job(job_id)  # the fan-out task ran twice before any unit
    refs = [r["id"] for r in await pool.fetch("select id from ga4_properties order by id")]
    # Planned once; the retry queues the same units again (still pending), no new ones.
    assert recording_queue.properties == [(job_id, refs), (job_id, refs)]
    planned = await pool.fetch(
        "select property_ref, status from ga4_sync_job_properties where job_id = $1"
        " order by property_ref",
        job_id,
    )
    assert [(r["property_ref"], r["status"]) for r in planned] == [(ref, "pending") for ref in refs]
    job = await service.get_job(job_id)
    assert (job.status, job.properties_total, job.properties_done) == ("running", 2, 0)

    async with ingestion_for() as ingestion:
        for _, queued in recording_queue.properties:  # every queued unit runs
            for ref in queued:
                await service.sync_job_property(ingestion, job_id, ref)
    job = await service.get_job(job_id)
    assert job.status == "success"
    assert (job.properties_total, job.properties_done, job.properties_failed) == (2, 2, 0)
    assert job.rows_fetched == job.rows_written == 2 * expected_rows(4)
    runs = await pool.fetch(
        "select property_ref, count(*) as n from ga4_property_runs where job_id = $1"
        " group by property_ref order by property_ref",
        job_id,
    )
    assert [(r["property_ref"], r["n"]) for r in runs] == [(ref, 1) for ref in refs]
    assert await count_rows(pool) == 2 * expected_rows(4)


async def test_a_starting_worker_catches_up_the_missed_daily_run(pool, worker):
    # The clock says 2026-11-20 22:00 in Los Angeles and no run happened at 00:15.
    rows = await pool.fetch("select run_date, status, lock_key from ga4_sync_jobs")
    assert [(r["run_date"], r["status"], r["lock_key"]) for r in rows] == [
        (date(2026, 11, 20), "success", "ga4_daily:2026-11-20")
    ]


async def test_a_daily_tick_run_by_the_worker_starts_the_run_of_its_local_date(
    pool, runtime, worker
):
    from ..conftest import wait_for_job

    tick = runtime.queue_app.tasks["ga4sync.daily_tick"]
    # 2026-11-22 08:15 UTC is 00:15 PST on the 22nd; 00:15 UTC that day is still the 21st.
    ticks = (datetime(2026, 11, 22, 0, 15, tzinfo=UTC), datetime(2026, 11, 22, 8, 15, tzinfo=UTC))
    for expected_jobs, at in enumerate(ticks, start=2):
        await tick.defer_async(timestamp=int(at.timestamp()))
        deadline = asyncio.get_running_loop().time() + 20
        while await pool.fetchval("select count(*) from ga4_sync_jobs") < expected_jobs:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
    dates = await pool.fetch("select id, run_date from ga4_sync_jobs order by run_date")
    assert [r["run_date"] for r in dates] == [
        date(2026, 11, 20),
        date(2026, 11, 21),
        date(2026, 11, 22),
    ]
    for row in dates:
        assert (await wait_for_job(runtime.sync, row["id"])).status == "success"


def test_the_schedule_is_registered_with_procrastinate(settings):
    from ga4sync.queue import create_queue_app

    app = create_queue_app(settings.database_url)
    crons = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert crons == {
        "ga4sync.daily_tick": "*/5 * * * *",
        "ga4sync.recover": "* * * * *",
        "ga4sync.cleanup": "40 3 * * *",
    }
    assert (
        create_queue_app(settings.database_url, periodic=False).periodic_registry.periodic_tasks
        == {}
    )
