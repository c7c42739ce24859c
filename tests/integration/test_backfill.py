"""History in the background, through a real worker: a job reads the recent days,
the backfill follows step by step until every date is covered, and it waits for
the quota when reading on would eat into what daily syncs need."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ga4sync.queue import priority
from ga4sync.sync.fair_order import Lane
from tests.conftest import real_now_past_the_daily_run
from tests.history import BACKFILL_DAYS, REPORTS, history_runtime, running_worker
from tests.waiting import eventually

from ..reporting import ALL_ROWS


@pytest.fixture
async def backfill_runtime(settings, database_url, clock):
    async with history_runtime(settings, database_url, clock) as runtime:
        yield runtime


async def _covered(pool, report: str) -> list[date]:
    rows = await pool.fetch(
        "select c.date from ga4_coverage c join ga4_report_definitions d on d.key = c.report"
        " where d.name = $1 order by c.date",
        report,
    )
    return [r["date"] for r in rows]


async def _daily_done(pool):
    """The daily run that a starting worker catches up, once it has finished."""
    return await pool.fetchrow(
        "select status, message from ga4_sync_jobs"
        " where kind = 'daily' and status not in ('pending', 'running')"
    )


async def test_a_manual_run_reads_the_recent_days_and_history_follows_until_covered(
    backfill_runtime, connect_user, pool, fake
):
    runtime = backfill_runtime
    await connect_user({"5101": "UTC"}, cardinality=2)
    async with running_worker(runtime):
        job = await eventually(lambda: _daily_done(pool), "the daily run")
        assert job["status"] == "success", job["message"]
        assert "History goes on in the background: 56 days to read." in job["message"]

        today = date(2026, 11, 21)
        expected = [today - timedelta(days=n) for n in range(BACKFILL_DAYS, -1, -1)]

        async def all_covered():
            return all([await _covered(pool, r) == expected for r in REPORTS])

        await eventually(all_covered, "every date of every report to be covered", timeout_s=60)

        async def queue_empty():
            return not await pool.fetchval(
                "select count(*) from ga4sync_queue.procrastinate_jobs"
                " where task_name = 'ga4sync.continue_property' and status in ('todo', 'doing')"
            )

        await eventually(queue_empty, "the backfill to stop queueing steps")
    # The recent days were read by the job, history by background steps, each once.
    runs = await pool.fetch("select part, status, start_date, end_date from ga4_property_runs")
    assert {r["status"] for r in runs} == {"success"}
    recent = [r for r in runs if r["part"] == "recent"]
    assert [(r["start_date"], r["end_date"]) for r in recent] == [
        (today - timedelta(days=4), today)
    ]
    history_requests = [
        (
            tuple(d["name"] for d in body["dimensions"]),
            body["dateRanges"][0]["startDate"],
            body["dateRanges"][0]["endDate"],
        )
        for _, body in fake.report_requests
        if body["dateRanges"][0]["startDate"] < str(today - timedelta(days=4))
    ]
    # Two chunks of history (30 + 26 days) per report, each asked for once.
    assert len(history_requests) == len(set(history_requests)) == 2 * len(REPORTS)
    days = await pool.fetchval(f"select count(distinct date) from {ALL_ROWS} r")
    assert days == BACKFILL_DAYS + 1


async def test_history_waits_for_the_quota_when_reading_on_would_eat_the_reserve(
    backfill_runtime, connect_user, pool, fake, clock
):
    runtime = backfill_runtime
    # A clock half past an hour ahead of the real one: the step waits in the queue
    # (procrastinate compares scheduled_at with the database's clock) until the
    # quota's next hour, and no real hour turns between deciding and checking.
    clock.now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0) + timedelta(hours=2)
    fake.set_today(None)
    fake.quota_limits = {**fake.quota_limits, "tokensPerHour": 200}
    await connect_user({"5102": "UTC"}, cardinality=2)
    async with running_worker(runtime):
        job = await eventually(lambda: _daily_done(pool), "the daily run")
        assert job["status"] == "success", job["message"]

        async def waiting_step():
            return await pool.fetchrow(
                "select scheduled_at, priority from ga4sync_queue.procrastinate_jobs"
                " where task_name = 'ga4sync.continue_property' and status = 'todo'"
                " and scheduled_at > now()"
            )

        step = await eventually(waiting_step, "a history step scheduled for the quota's return")
        next_hour = clock.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        assert abs((step["scheduled_at"] - next_hour).total_seconds()) < 90
        assert step["priority"] == priority(Lane.HISTORY, 0)
        # Nothing of the history was read: only the recent days are covered.
        covered = await _covered(pool, "pages")
        today = clock.now.date()
        assert covered == [today - timedelta(days=n) for n in range(4, -1, -1)]

        # The hour turns and the quota returns: the waiting step runs and finishes.
        fake.quota_limits = {**fake.quota_limits, "tokensPerHour": 40_000}
        clock.now = next_hour + timedelta(minutes=1)
        await pool.execute(
            "update ga4sync_queue.procrastinate_jobs set scheduled_at = now()"
            " where task_name = 'ga4sync.continue_property' and status = 'todo'"
        )

        async def history_done():
            return len(await _covered(pool, "pages")) == BACKFILL_DAYS + 1

        await eventually(history_done, "the history to be read after the quota returned")


async def test_history_cut_by_an_exhausted_quota_waits_for_it_not_for_the_next_sync(
    backfill_runtime, connect_user, pool, fake, clock
):
    runtime = backfill_runtime
    # A real clock: the deferred sync waits in the queue until midnight Pacific.
    clock.now = real_now_past_the_daily_run()
    fake.set_today(clock.now.date())
    user = await connect_user({"5105": "UTC"}, cardinality=2)
    # The daily run's recent days pass (a request a report); the history's first
    # request finds the day's tokens spent.
    fake.fail_next("5105", 429, quota="daily", after=len(REPORTS))
    async with running_worker(runtime):
        job = await eventually(lambda: _daily_done(pool), "the daily run")
        assert job["status"] == "success", job["message"]

        async def waiting():
            coverage = (await runtime.sync.list_properties(user_id=user))[0]["coverage"]
            return coverage if coverage["state"] == "waiting_for_quota" else None

        progress = await eventually(waiting, "the history to wait for the quota")
    # It goes on when the daily quota returns, with the sync the quota deferred.
    pacific = ZoneInfo("America/Los_Angeles")
    midnight = datetime.combine(
        clock.now.astimezone(pacific).date() + timedelta(days=1), time(), pacific
    )
    assert abs((progress["resumes_at"] - midnight).total_seconds()) < 90
    assert 0 < progress["days_missing"] <= BACKFILL_DAYS - 4
    resume = await pool.fetchrow(
        "select args, scheduled_at from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.continue_property' and status = 'todo'"
    )
    assert resume["args"]["recent"] is True
    assert resume["scheduled_at"] == progress["resumes_at"]


async def test_properties_say_how_far_their_history_is_read(
    backfill_runtime, connect_user, pool, clock
):
    runtime = backfill_runtime
    user = await connect_user({"5103": "UTC"}, cardinality=2)
    before = await runtime.sync.list_properties(user_id=user)
    assert before[0]["coverage"]["state"] == "pending"
    assert before[0]["coverage"]["days_missing"] == BACKFILL_DAYS - 4
    assert before[0]["coverage"]["backfill_percent"] == 0.0
    async with running_worker(runtime):
        await eventually(lambda: _daily_done(pool), "the daily run")

        async def done():
            rows = await runtime.sync.list_properties(user_id=user)
            return rows[0]["coverage"] if rows[0]["coverage"]["state"] == "done" else None

        progress = await eventually(done, "the history to be read", timeout_s=60)
    assert progress["days_missing"] == 0 and progress["backfill_percent"] == 100.0
    today = date(2026, 11, 21)
    assert progress["oldest_settled"] == today - timedelta(days=BACKFILL_DAYS)
    assert progress["newest_settled"] == today - timedelta(days=4)


async def test_metrics_export_the_days_of_history_still_missing(
    backfill_runtime, connect_user, aiohttp_client
):
    from prometheus_client.parser import text_string_to_metric_families

    from ga4sync.web.app import create_app

    await connect_user({"5104": "UTC"}, cardinality=2)
    client = await aiohttp_client(create_app(backfill_runtime.settings, runtime=backfill_runtime))
    text = await (await client.get("/metrics")).text()
    samples = {
        (sample.name, tuple(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("ga4sync_history_days_missing", (("property_id", "5104"),))] == 56
    assert samples[("ga4sync_backfill_percent", (("property_id", "5104"),))] == 0
