"""Realtime polling by a worker: the minutely tick polls each [[realtime]] definition
every ``every_minutes`` for the properties whose realtime is on, keeps the latest
snapshot (or ``history_minutes`` of them) equal to GA4's answer, spends only GA4's
realtime quota, waits while that quota is low, and stops polling a property whose
realtime is turned off.

The worker is a real procrastinate worker in this process; its minutely tick is
queued by the test at each minute, as procrastinate's periodic scheduler queues it
(with the minute's timestamp), while the clock moves a minute at a time."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from ga4sync.reports.realtime import MinuteRange, RealtimeSpec
from ga4sync.runtime import open_runtime, run_worker
from ga4sync.store.report_tables import ensure_report_tables
from ga4sync.web.app import create_app
from tests.waiting import eventually
from tests.webtools import SECRET, bearer

NOW = RealtimeSpec("active_users", (), ("activeUsers",))
BY_DEVICE = RealtimeSpec(
    "by_device", ("deviceCategory",), ("activeUsers", "eventCount"), history_minutes=2
)
SLOW = RealtimeSpec("by_country", ("country",), ("screenPageViews",), every_minutes=2)
REALTIME = (NOW, BY_DEVICE, SLOW)


@pytest.fixture
async def realtime_runtime(settings, database_url, clock, fake):
    tuned = replace(settings, worker_heartbeat_s=0.5, stalled_after_s=2.0, realtime=REALTIME)
    fake.realtime_clock = lambda: clock.now.timestamp()
    async with open_runtime(tuned, database_url, now=clock, periodic=False) as runtime:
        async with runtime.pool.acquire() as conn:
            await ensure_report_tables(conn, tuned.reports, realtime=REALTIME)
        yield runtime


@pytest.fixture
async def realtime_worker(realtime_runtime):
    runtime = realtime_runtime
    task = asyncio.create_task(run_worker(runtime))

    async def daily_done():
        assert not task.done(), task.exception()
        return await runtime.pool.fetchval(
            "select count(*) from ga4_sync_jobs where kind = 'daily'"
            " and status not in ('pending', 'running')"
        )

    # the worker's catch-up daily run, over no property yet
    await eventually(daily_done, "the catch-up daily run")
    yield task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)


async def tick(runtime, clock, at: datetime) -> None:
    """The minute ``at`` comes: the worker runs its realtime tick, as procrastinate's
    periodic scheduler queues it, and the test waits for it to end."""
    clock.now = at + timedelta(seconds=2)  # the polls ask GA4 two seconds into the minute
    app = runtime.queue_app
    job_id = await app.configure_task("ga4sync.realtime_tick").defer_async(
        timestamp=int(at.timestamp())
    )

    async def finished():
        jobs = await app.job_manager.list_jobs_async(id=job_id)
        assert not jobs or jobs[0].status != "failed", "the realtime tick failed"
        return not jobs  # a successful task is deleted

    await eventually(finished, "the realtime tick")


async def turn_on(pool, property_id: str) -> None:
    await pool.execute(
        "update ga4_property_access a set realtime = true from ga4_properties p"
        " where p.id = a.property_ref and p.property_id = $1",
        property_id,
    )


def last_answer(fake, property_id: str, spec: RealtimeSpec) -> dict:
    """The fake's last answer to the definition's request for the property, as sent."""
    dims = list(spec.dimensions)
    for pid, answer in reversed(fake.realtime_answers):
        names = [h["name"] for h in answer.get("dimensionHeaders", [])]
        metrics = [h["name"] for h in answer.get("metricHeaders", [])]
        if pid == property_id and names == dims and metrics == list(spec.metrics):
            return answer
    raise AssertionError(f"no realtime answer of {spec.name} for {property_id}")


def answer_rows(answer: dict) -> list[tuple]:
    return sorted(
        tuple(v["value"] for v in row.get("dimensionValues", []))
        + tuple(float(v["value"]) for v in row["metricValues"])
        for row in answer.get("rows", [])
    )


async def stored_rows(pool, spec: RealtimeSpec, property_id: str) -> list[tuple]:
    columns = ", ".join(c.name for c in spec.columns)
    rows = await pool.fetch(
        f"select {columns} from {spec.relation} where property_id = $1", property_id
    )
    dims = len(spec.dimensions)
    return sorted(tuple(r[:dims]) + tuple(float(v) for v in r[dims:]) for r in rows)


async def test_polled_every_minute_it_keeps_the_latest_snapshot_equal_to_ga4_s_answer(
    realtime_runtime, realtime_worker, connect_user, fake, clock, pool
):
    runtime = realtime_runtime
    await connect_user({"7101": "UTC", "7102": "UTC"}, cardinality=3)
    await turn_on(pool, "7101")  # 7102's realtime stays off (the default)
    start = clock.now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    core_requests = len(fake.report_requests)

    captured = []
    for minute in range(4):
        at = start + timedelta(minutes=minute)
        await tick(runtime, clock, at)
        captured.append(clock.now)
        # the latest snapshot only, exactly GA4's answer
        assert await stored_rows(pool, NOW, "7101") == answer_rows(last_answer(fake, "7101", NOW))
        times = await pool.fetch(
            "select distinct captured_at from ga4_realtime_active_users order by 1"
        )
        assert [t["captured_at"] for t in times] == [clock.now]
        # history_minutes = 2: the last two snapshots
        kept = await pool.fetch(
            "select captured_at, count(*) from ga4_realtime_by_device group by 1 order by 1"
        )
        assert [k["captured_at"] for k in kept] == captured[-2:]
        newest = await pool.fetch(
            "select device_category, active_users, event_count from ga4_realtime_by_device"
            " where captured_at = $1",
            clock.now,
        )
        assert sorted(
            (r["device_category"], float(r["active_users"]), float(r["event_count"]))
            for r in newest
        ) == answer_rows(last_answer(fake, "7101", BY_DEVICE))

    requests = [(pid, body) for pid, body in fake.realtime_requests]
    assert {pid for pid, _ in requests} == {"7101"}  # 7102's realtime is off
    asked = [[m["name"] for m in body["metrics"]] for _, body in requests]
    assert asked.count(["activeUsers"]) == 4
    assert asked.count(["activeUsers", "eventCount"]) == 4
    assert asked.count(["screenPageViews"]) == 2  # every_minutes = 2
    # Only realtime quota was spent: not one core request, no core figure moved.
    assert len(fake.report_requests) == core_requests == 0
    assert fake.quota_used == {}
    assert fake.realtime_quota_used == {"7101": 10}
    assert await pool.fetchval("select count(*) from ga4_property_runs") == 0
    quota = await pool.fetchval(
        "select quota from ga4_realtime_quota q join ga4_properties p on p.id = q.property_ref"
        " where p.property_id = '7101'"
    )
    assert quota["tokensPerDay"]["remaining"] == 200_000 - 10


async def test_turning_realtime_off_stops_polling_the_property(
    realtime_runtime, realtime_worker, connect_user, fake, clock, pool, aiohttp_client
):
    runtime = realtime_runtime
    user = await connect_user({"7201": "UTC", "7202": "UTC"}, cardinality=2)
    web = replace(runtime.settings, supabase_jwt_secret=SECRET)
    api = await aiohttp_client(create_app(web, runtime=runtime))
    for property_id in ("7201", "7202"):
        answer = await api.patch(
            f"/v1/properties/{property_id}", json={"realtime": True}, headers=bearer(user)
        )
        assert answer.status == 200
        assert (await answer.json())["realtime"] is True
    start = clock.now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    await tick(runtime, clock, start)
    assert {pid for pid, _ in fake.realtime_requests} == {"7201", "7202"}

    answer = await api.patch("/v1/properties/7201", json={"realtime": False}, headers=bearer(user))
    body = await answer.json()
    assert (body["realtime"], body["effective_realtime"]) == (False, False)
    # its snapshot goes with it: a figure nobody refreshes would only grow stale
    assert (
        await pool.fetchval(
            "select count(*) from ga4_realtime_by_device where property_id = '7201'"
        )
        == 0
    )
    asked = len(fake.realtime_requests)
    for minute in (1, 2):
        await tick(runtime, clock, start + timedelta(minutes=minute))
    later = fake.realtime_requests[asked:]
    assert later and {pid for pid, _ in later} == {"7202"}
    listed = await api.get("/v1/properties", headers=bearer(user))
    by_id = {p["property_id"]: p for p in (await listed.json())["properties"]}
    assert by_id["7201"]["realtime_now"] is None
    assert by_id["7202"]["realtime_now"]["captured_at"] is not None


async def test_a_realtime_bucket_running_low_pauses_the_property_s_polls_until_it_returns(
    realtime_runtime, realtime_worker, connect_user, fake, clock, pool
):
    runtime = realtime_runtime
    await connect_user({"7301": "UTC", "7302": "UTC"}, cardinality=2)
    await turn_on(pool, "7301")
    await turn_on(pool, "7302")
    # 7301's realtime hour has 4,002 tokens: the polls leave 4,001, 4,000, then 3,999,
    # less than a tenth of a standard hour's 40,000 (GA4_REALTIME_QUOTA_RESERVE)
    fake.set_realtime_quota_limits("7301", {"tokensPerHour": 4_002})
    start = clock.now.replace(minute=10, second=0, microsecond=0)
    await tick(runtime, clock, start)
    polled = [pid for pid, _ in fake.realtime_requests]
    assert polled.count("7301") == 3
    paused = await pool.fetchrow(
        "select paused_until, paused_reason from ga4_realtime_quota q"
        " join ga4_properties p on p.id = q.property_ref where p.property_id = '7301'"
    )
    assert paused["paused_until"] == start.replace(minute=0) + timedelta(hours=1)
    assert "tokensPerHour" in paused["paused_reason"]

    asked = len(fake.realtime_requests)
    await tick(runtime, clock, start + timedelta(minutes=1))
    assert {pid for pid, _ in fake.realtime_requests[asked:]} == {"7302"}
    error = await pool.fetchval(
        "select r.error from ga4_realtime_polls r join ga4_properties p on p.id = r.property_ref"
        " where p.property_id = '7301' and r.definition = 'active_users'"
    )
    assert "waiting for GA4's realtime quota" in error
    assert fake.quota_used == {}  # the core quota: never touched

    # the hour returns, and so do the polls
    fake.refill_realtime_quota("7301")
    asked = len(fake.realtime_requests)
    await tick(runtime, clock, start.replace(minute=0) + timedelta(hours=1))
    assert "7301" in {pid for pid, _ in fake.realtime_requests[asked:]}


async def test_a_spent_realtime_quota_refusal_waits_for_its_day(
    realtime_runtime, realtime_worker, connect_user, fake, clock, pool
):
    runtime = realtime_runtime
    await connect_user({"7401": "UTC"}, cardinality=2)
    await turn_on(pool, "7401")
    fake.fail_next_realtime("7401", 429, quota="daily")
    start = clock.now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    await tick(runtime, clock, start)
    assert len(fake.realtime_requests) == 1  # the rest of the tick waits too
    paused_until = await pool.fetchval("select paused_until from ga4_realtime_quota")
    assert paused_until > clock.now + timedelta(hours=1)  # Pacific midnight
    for minute in (1, 2):
        await tick(runtime, clock, start + timedelta(minutes=minute))
    assert len(fake.realtime_requests) == 1


async def test_a_range_further_back_than_the_property_reaches_is_not_asked(
    realtime_runtime, connect_user, fake, clock, pool
):
    hour = RealtimeSpec(
        "last_hour", (), ("activeUsers",), minute_ranges=(MinuteRange(59, 0, "hour"),)
    )
    settings = replace(realtime_runtime.settings, realtime=(hour,))
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, settings.reports, realtime=(hour,))
    await connect_user({"7501": "UTC"}, cardinality=2)
    await connect_user({"7502": "UTC"}, cardinality=2, analytics_360=True)
    await pool.execute(
        "update ga4_properties set service_level = 'GOOGLE_ANALYTICS_360'"
        " where property_id = '7502'"
    )
    await turn_on(pool, "7501")
    await turn_on(pool, "7502")
    async with open_runtime(settings, settings.database_url, now=clock, periodic=False) as rt:
        task = asyncio.create_task(run_worker(rt))
        try:
            await tick(rt, clock, clock.now.replace(second=0, microsecond=0))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
    assert [pid for pid, _ in fake.realtime_requests] == ["7502"]
    error = await pool.fetchval(
        "select r.error from ga4_realtime_polls r join ga4_properties p on p.id = r.property_ref"
        " where p.property_id = '7501'"
    )
    assert "reach 59 minutes back; this property's realtime reaches 29" in error


def test_the_tick_is_scheduled_every_minute_only_with_realtime_definitions(settings):
    from ga4sync.queue import create_queue_app

    def crons(**options):
        app = create_queue_app(settings.database_url, **options)
        return {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}

    assert crons(realtime=True)["ga4sync.realtime_tick"] == "* * * * *"
    assert "ga4sync.realtime_tick" not in crons()
    assert crons(periodic=False, realtime=True) == {}
