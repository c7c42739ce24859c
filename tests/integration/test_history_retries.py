"""History never stops quietly: a background step that failed past its retries, or
whose task was lost too often, is queued again by the minutely recovery once its
backoff has passed, until the history is complete; a failure a retry cannot mend
stops it and says why. ``GET /v1/properties`` says which, and when it retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ga4sync.queue import STALLED_MAX_ATTEMPTS, ProcrastinateQueue, priority, recover_stalled_tasks
from ga4sync.sync.continuation import HISTORY_BACKOFF_S, Continuation
from ga4sync.sync.fair_order import Lane
from tests.history import BACKFILL_DAYS, REPORTS, history_runtime, running_worker
from tests.waiting import eventually


@pytest.fixture
async def backfill_runtime(settings, database_url, clock):
    async with history_runtime(settings, database_url, clock) as runtime:
        yield runtime


async def coverage_of(runtime, user) -> dict:
    (prop,) = await runtime.sync.list_properties(user_id=user)
    assert "history_failures" not in prop  # shown in the coverage only
    return prop["coverage"]


async def history_failures(pool, property_id: str):
    return await pool.fetchrow(
        "select history_failures, history_error, history_retry_at from ga4_properties"
        " where property_id = $1",
        property_id,
    )


async def steps_waiting(pool) -> list:
    return await pool.fetch(
        "select args, priority from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.continue_property' and status in ('todo', 'doing')"
    )


async def test_a_failed_history_step_resumes_after_its_backoff_until_complete(
    backfill_runtime, connect_user, pool, fake, clock
):
    runtime = backfill_runtime
    user = await connect_user({"5201": "UTC"}, cardinality=2)
    # The daily run's recent days pass (a request a report); then GA4 fails every
    # history request, past the client's retries (and the 500s do not spend the
    # hour's server-error quota, which would defer the history instead).
    fake.quota_limits = {**fake.quota_limits, "serverErrorsPerProjectPerHour": 10_000}
    fake.fail_next("5201", 500, times=1000, after=len(REPORTS))
    async with running_worker(runtime):

        async def retrying():
            coverage = await coverage_of(runtime, user)
            return coverage if coverage["state"] == "retrying" else None

        failed_at = clock.now
        coverage = await eventually(retrying, "the failed history to say it retries")
        assert coverage["failures"] == 1
        assert "still failing after 4 attempts: 500 INTERNAL" in coverage["error"]
        assert coverage["resumes_at"] == failed_at + timedelta(seconds=HISTORY_BACKOFF_S[0])
        assert 0 < coverage["days_missing"] <= BACKFILL_DAYS - 4
        assert await steps_waiting(pool) == []  # nothing queued it: the recovery will

        # GA4 answers again; the recovery queues nothing before the backoff has passed.
        fake.clear_failures("5201")
        assert await runtime.upkeep.resume_failed_history() == 0
        clock.now = failed_at + timedelta(seconds=HISTORY_BACKOFF_S[0] + 1)
        # The minutely recovery task, as the worker runs it.
        await runtime.queue_app.tasks["ga4sync.recover"].defer_async(timestamp=0)

        async def done():
            coverage = await coverage_of(runtime, user)
            return coverage if coverage["state"] == "done" else None

        coverage = await eventually(done, "the history to be read after the retry", timeout_s=60)
    assert coverage["days_missing"] == 0 and coverage["failures"] == 0
    assert coverage["error"] is None
    record = await history_failures(pool, "5201")
    assert tuple(record) == (0, None, None)


async def test_a_history_step_lost_too_often_is_picked_up_by_the_recovery(
    backfill_runtime, connect_user, pool, clock
):
    runtime = backfill_runtime
    user = await connect_user({"5202": "UTC"}, cardinality=2)
    ref = await pool.fetchval("select id from ga4_properties where property_id = '5202'")
    await ProcrastinateQueue(runtime.queue_app).enqueue_continuation(ref, recent=False)
    # Its workers died (or the database restarted under them) three times.
    await pool.execute(
        "update ga4sync_queue.procrastinate_jobs"
        " set status = 'doing', attempts = $1, worker_id = null"
        " where task_name = 'ga4sync.continue_property'",
        STALLED_MAX_ATTEMPTS,
    )
    assert await recover_stalled_tasks(runtime.queue_app, 0, runtime.sync) == 1
    assert (
        await pool.fetchval(
            "select status from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.continue_property'"
        )
        == "failed"
    )

    lost_at = clock.now
    coverage = await coverage_of(runtime, user)
    assert coverage["state"] == "retrying" and coverage["failures"] == 1
    assert "the worker running it died 3 times" in coverage["error"]
    assert coverage["resumes_at"] == lost_at + timedelta(seconds=HISTORY_BACKOFF_S[0])

    assert await runtime.upkeep.resume_failed_history() == 0  # not before its backoff
    clock.now = lost_at + timedelta(seconds=HISTORY_BACKOFF_S[0])
    assert await runtime.upkeep.resume_failed_history() == 1
    (step,) = await steps_waiting(pool)
    assert step["args"] == {"property_ref": ref, "recent": False}
    assert step["priority"] == priority(Lane.HISTORY, 0)
    # Queued once however often the recovery runs while it waits or runs.
    assert await runtime.upkeep.resume_failed_history() == 0
    assert (await coverage_of(runtime, user))["state"] == "running"

    async with running_worker(runtime):

        async def done():
            coverage = await coverage_of(runtime, user)
            return coverage if coverage["state"] == "done" else None

        await eventually(done, "the history to be read", timeout_s=60)
    assert tuple(await history_failures(pool, "5202")) == (0, None, None)


async def test_a_refusal_no_retry_can_mend_stops_the_history_and_says_why(
    backfill_runtime, connect_user, pool, fake, clock
):
    runtime = backfill_runtime
    user = await connect_user({"5203": "UTC"}, cardinality=2)
    # The history's first request is refused for good (400 INVALID_ARGUMENT).
    fake.fail_next("5203", 400, after=len(REPORTS))
    async with running_worker(runtime):

        async def stopped():
            coverage = await coverage_of(runtime, user)
            return coverage if coverage["state"] == "stopped" else None

        coverage = await eventually(stopped, "the history to stop")
    assert coverage["failures"] == 1 and coverage["resumes_at"] is None
    assert "400 INVALID_ARGUMENT" in coverage["error"]
    # It is not retried, however long one waits.
    clock.now += timedelta(days=2)
    assert await runtime.upkeep.resume_failed_history() == 0


async def test_the_backoff_grows_with_the_failures_in_a_row_up_to_four_hours(
    pool, connect_user, clock, recording_queue
):
    await connect_user({"5204": "UTC"})
    ref = await pool.fetchval("select id from ga4_properties where property_id = '5204'")
    continuation = Continuation(pool, recording_queue, now=clock)
    waits = []
    for _ in range(7):
        await continuation.failed(ref, "GA4 kept failing")
        record = await history_failures(pool, "5204")
        waits.append((record["history_retry_at"] - clock.now).total_seconds())
    assert waits == [60, 300, 1800, 7200, 14400, 14400, 14400]
    assert record["history_failures"] == 7
    await continuation.failed(ref, "needs re-auth", permanent=True)
    record = await history_failures(pool, "5204")
    assert tuple(record) == (8, "needs re-auth", None)
