"""Recovery: work whose worker died, or whose queue entry was lost, never leaves a job running."""

from __future__ import annotations

import uuid

from ga4sync.queue import STALLED_MAX_ATTEMPTS, ProcrastinateQueue, recover_stalled_tasks


async def _running_job_with_one_property(runtime, connect_user):
    user = await connect_user({"6601": "UTC"})
    started = await runtime.sync.start_job(user, "all")
    await runtime.sync.run_job(started.job.id)  # fans out one sync_property task
    return started.job.id


async def test_a_task_lost_too_often_fails_its_property_and_the_job_finishes(
    pool, runtime, connect_user
):
    job_id = await _running_job_with_one_property(runtime, connect_user)
    # The task was taken by workers that died, STALLED_MAX_ATTEMPTS times.
    await pool.execute(
        "update ga4sync_queue.procrastinate_jobs"
        " set status = 'doing', attempts = $1, worker_id = null"
        " where task_name = 'ga4sync.sync_property'",
        STALLED_MAX_ATTEMPTS,
    )
    assert await recover_stalled_tasks(runtime.queue_app, 0.5, runtime.sync) == 1
    job = await runtime.sync.get_job(job_id)
    assert job.status == "failed"
    assert "the worker running it died 3 times" in job.message
    assert (
        await pool.fetchval(
            "select status from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.sync_property'"
        )
        == "failed"
    )


async def test_a_stalled_task_with_attempts_left_is_queued_again(pool, runtime, connect_user):
    job_id = await _running_job_with_one_property(runtime, connect_user)
    await pool.execute(
        "update ga4sync_queue.procrastinate_jobs set status = 'doing', worker_id = null"
        " where task_name = 'ga4sync.sync_property'"
    )
    assert await recover_stalled_tasks(runtime.queue_app, 0.5, runtime.sync) == 1
    assert (
        await pool.fetchval(
            "select status from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.sync_property'"
        )
        == "todo"
    )
    assert (await runtime.sync.get_job(job_id)).status == "running"


async def test_lost_queue_entries_are_recreated(pool, runtime, connect_user):
    job_id = await _running_job_with_one_property(runtime, connect_user)
    await pool.execute(
        "delete from ga4sync_queue.procrastinate_jobs where task_name = 'ga4sync.sync_property'"
    )
    assert await runtime.upkeep.requeue_orphaned_properties(running_for_s=0) == 1
    args = await pool.fetchval(
        "select args from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.sync_property'"
    )
    assert args["job_id"] == str(job_id)
    # Queued again only once, however often recovery runs.
    assert await runtime.upkeep.requeue_orphaned_properties(running_for_s=0) == 0


async def test_a_lost_run_job_entry_is_recreated(pool, runtime):
    started = await runtime.sync.start_job(uuid.uuid4(), "all")
    await pool.execute("delete from ga4sync_queue.procrastinate_jobs")
    assert await runtime.upkeep.requeue_waiting_jobs(older_than_s=0) == 1
    assert (
        await pool.fetchval(
            "select count(*) from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.run_job'"
        )
        == 1
    )
    assert (await runtime.sync.get_job(started.job.id)).status == "pending"


async def test_a_dead_workers_task_with_a_queued_twin_ends_and_frees_its_lock(
    pool, runtime, connect_user
):
    # A worker died mid-history; since then the next run queued the same step
    # again (same queueing lock), which waits for the dead one's lock.
    await connect_user({"6602": "UTC"})
    ref = await pool.fetchval("select id from ga4_properties where property_id = '6602'")
    queue = ProcrastinateQueue(runtime.queue_app)
    await queue.enqueue_continuation(ref, recent=False)
    await pool.execute(
        "update ga4sync_queue.procrastinate_jobs set status = 'doing', worker_id = null"
        " where task_name = 'ga4sync.continue_property'"
    )
    await queue.enqueue_continuation(ref, recent=False)

    assert await recover_stalled_tasks(runtime.queue_app, 0, runtime.sync) == 1
    rows = await pool.fetch(
        "select status from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.continue_property' order by id"
    )
    assert [r["status"] for r in rows] == ["aborted", "todo"]
    # Recovering again finds nothing stuck, and fails nothing.
    assert await recover_stalled_tasks(runtime.queue_app, 0, runtime.sync) == 0


async def test_a_task_another_recovery_took_is_skipped(pool, runtime, connect_user):
    await _running_job_with_one_property(runtime, connect_user)
    await pool.execute(
        "update ga4sync_queue.procrastinate_jobs set status = 'doing', worker_id = null"
        " where task_name = 'ga4sync.sync_property'"
    )
    stalled = await runtime.queue_app.job_manager.get_stalled_jobs(seconds_since_heartbeat=0)
    await runtime.queue_app.job_manager.retry_job(next(iter(stalled)))  # the other recovery
    # Ours read the same task as stalled a moment earlier.
    manager = runtime.queue_app.job_manager

    async def stale_listing(**kwargs):
        return stalled

    manager.get_stalled_jobs = stale_listing
    assert await recover_stalled_tasks(runtime.queue_app, 0, runtime.sync) == 1
    status = await pool.fetchval(
        "select status from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.sync_property'"
    )
    assert status == "todo"
