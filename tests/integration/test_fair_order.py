"""The fair order of the queue, with a real worker taking one task at a time:
no tenant's backlog delays another's Sync now, a Sync now during the daily run
moves the caller's properties of it to the front, and bursts interleave."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from ga4sync.queue import (
    AGE_STEP,
    LANE_HEAD_START,
    ProcrastinateQueue,
    age_waiting_tasks,
    priority,
)
from ga4sync.runtime import Runtime, open_runtime, run_worker
from ga4sync.sync.fair_order import Lane
from ga4sync.sync.jobs import DailyRunActive

from ..waiting import eventually


@asynccontextmanager
async def one_task_at_a_time(settings, database_url, clock) -> AsyncIterator[Runtime]:
    """A runtime whose worker takes one task at a time, once its start-up (the
    day's catch-up daily run) is over."""
    async with open_runtime(
        replace(settings, worker_concurrency=1, worker_heartbeat_s=0.5),
        database_url,
        now=clock,
        periodic=False,
    ) as runtime:
        task = asyncio.create_task(run_worker(runtime))

        async def catch_up_done():
            return await runtime.pool.fetchval(
                "select count(*) from ga4_sync_jobs where kind = 'daily'"
                " and status not in ('pending', 'running')"
            )

        await eventually(catch_up_done, "the catch-up daily run ends", timeout_s=30)
        try:
            yield runtime
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)


async def finish_order(pool, job_ids) -> list[tuple[uuid.UUID, str]]:
    """(job, GA4 property) of the jobs' synced properties, in the order they finished."""
    rows = await pool.fetch(
        "select jp.job_id, p.property_id from ga4_sync_job_properties jp"
        " join ga4_properties p on p.id = jp.property_ref"
        " where jp.job_id = any($1::uuid[]) and jp.status <> 'pending'"
        " order by jp.finished_at, jp.property_ref",
        list(job_ids),
    )
    return [(r["job_id"], r["property_id"]) for r in rows]


async def test_a_sync_now_does_not_wait_for_another_users_backlog(
    settings, database_url, clock, fake, connect_user
):
    big = await connect_user({str(7_100_000 + n): "UTC" for n in range(100)}, cardinality=2)
    small = await connect_user({"7200001": "UTC"}, cardinality=2)
    fake.latency_s = 0.05
    async with one_task_at_a_time(settings, database_url, clock) as runtime:
        big_job = (await runtime.sync.start_job(big, str(big))).job
        await eventually(done_at_least(runtime.pool, big_job.id, 1), "big's first synced")
        small_job = (await runtime.sync.start_job(small, str(small))).job

        async def small_done():
            return not (await runtime.sync.get_job(small_job.id)).active

        await eventually(small_done, "small's run ends", timeout_s=60)
        assert (await runtime.sync.get_job(small_job.id)).status == "success"
        # Taken right after the task running when small clicked, not after big's 99 others.
        assert await done_count(runtime.pool, big_job.id) < 5


async def done_count(pool, job_id) -> int:
    return await pool.fetchval(
        "select count(*) from ga4_sync_job_properties where job_id = $1 and status <> 'pending'",
        job_id,
    )


def done_at_least(pool, job_id, count: int):
    async def condition() -> bool:
        return await done_count(pool, job_id) >= count

    return condition


async def test_sync_now_during_the_daily_run_moves_the_callers_properties_first(
    settings, database_url, clock, fake, connect_user
):
    await connect_user({str(7_300_000 + n): "UTC" for n in range(30)}, cardinality=2)
    small_properties = [str(7_400_000 + n) for n in range(8)]
    small = await connect_user(dict.fromkeys(small_properties, "UTC"), cardinality=2)
    fake.latency_s = 0.05
    async with one_task_at_a_time(settings, database_url, clock) as runtime:
        daily = (await runtime.sync.ensure_daily(clock.now.date().replace(day=25))).job
        # Under way: big's and small's first properties done, small's others interleaved
        # with big's (one round each) until small clicks.
        await eventually(done_at_least(runtime.pool, daily.id, 3), "the daily run is going")
        with pytest.raises(DailyRunActive) as refused:
            await runtime.sync.start_job(small, str(small))
        pending = refused.value.pending
        assert pending >= 5
        assert refused.value.pending + refused.value.done == len(small_properties)
        assert refused.value.fresh_by is not None and refused.value.fresh_by > clock.now
        done_at_click = await done_count(runtime.pool, daily.id)

        async def small_synced():
            order = await finish_order(runtime.pool, [daily.id])
            return all(p in [prop for _, prop in order] for p in small_properties)

        await eventually(small_synced, "small's properties synced", timeout_s=60)
        order = [prop for _, prop in await finish_order(runtime.pool, [daily.id])]
        # small's waiting properties follow at most the one task running at the click
        waiting = set(small_properties) - set(order[:done_at_click])
        assert len(waiting) == pending
        assert waiting <= set(order[done_at_click : done_at_click + pending + 1]), order


async def test_a_burst_of_clicks_takes_every_users_first_before_anyones_third(
    settings, database_url, clock, fake, connect_user
):
    users = [
        await connect_user({str(7_500_000 + 10 * u + n): "UTC" for n in range(4)}, cardinality=2)
        for u in range(5)
    ]
    fake.latency_s = 0.1
    async with one_task_at_a_time(settings, database_url, clock) as runtime:
        jobs = [(await runtime.sync.start_job(user, str(user))).job.id for user in users]

        async def all_done():
            return [(await runtime.sync.get_job(j)).active for j in jobs] == [False] * len(jobs)

        await eventually(all_done, "every run ends", timeout_s=60)
        order = [job for job, _ in await finish_order(runtime.pool, jobs)]
        position = {
            job: [i for i, j in enumerate(order) if j == job] for job in jobs
        }  # each job's tasks' places, in its own order
        last_first = max(places[0] for places in position.values())
        first_third = min(places[2] for places in position.values())
        assert last_first < first_third, order


class QueueOrder:
    """The queue as one worker taking one unit at a time, on the real queue's
    functions: which unit it takes next, finished at once."""

    def __init__(self, runtime) -> None:
        self.pool = runtime.pool
        self.queue = ProcrastinateQueue(runtime.queue_app)
        self.app = runtime.queue_app
        self.taken: list[int] = []  # property refs, in the order taken
        self._refs = iter(range(1, 10**6))

    async def click(self, lane: Lane, first_rank: int, count: int) -> list[int]:
        """A run of ``count`` fresh properties in ``lane``, ranked from ``first_rank``."""
        refs = [next(self._refs) for _ in range(count)]
        ranks = [first_rank + n for n in range(count)]
        await self.queue.enqueue_properties(uuid.uuid4(), refs, lane=lane, ranks=ranks)
        return refs

    async def continuation(self, *, recent: bool) -> int:
        ref = next(self._refs)
        await self.queue.enqueue_continuation(ref, recent=recent, rank=0)
        return ref

    async def due(self) -> int:
        ref = next(self._refs)
        await self.queue.enqueue_due_property(ref, rank=0)
        return ref

    async def take(self, *, finish: bool = True) -> int:
        row = await self.pool.fetchrow(
            "select id, (args ->> 'property_ref')::bigint as ref"
            " from ga4sync_queue.procrastinate_fetch_job_v2(null, null)"
        )
        assert row is not None and row["id"] is not None, "nothing to take"
        if finish:
            await self.pool.execute(
                "select ga4sync_queue.procrastinate_finish_job_v1($1, 'succeeded', true)",
                row["id"],
            )
        self.last_id = int(row["id"])
        ref = int(row["ref"])
        self.taken.append(ref)
        return ref

    def position(self, ref: int) -> int:
        return self.taken.index(ref) + 1


async def test_a_big_tenants_endless_clicks_delay_other_lanes_by_a_bounded_number_of_units(
    runtime,
):
    order = QueueOrder(runtime)
    await order.click(Lane.INTERACTIVE, 0, 300)  # big's Sync now of 300 properties
    daily = await order.due()  # small's scheduled sync
    resume = await order.continuation(recent=True)  # small's sync its quota deferred
    history = await order.continuation(recent=False)  # small's next history step
    big_waiting = 300
    for n in range(400):
        await order.take()
        big_waiting -= 1
        if n % 10 == 9:  # big clicks again and again: ten more, behind its own
            await order.click(Lane.INTERACTIVE, big_waiting, 10)
            big_waiting += 10

    # Each lane is a head start of LANE_HEAD_START units over the next, not a
    # wall: small's unit of the lane l waits for big's units ranked up to l head
    # starts (the last one, of equal priority, queued before it) and small's own
    # units of the lanes above.
    assert order.position(daily) == LANE_HEAD_START + 2
    assert order.position(resume) == 2 * LANE_HEAD_START + 3
    assert order.position(history) == 3 * LANE_HEAD_START + 4


async def test_a_waiting_unit_is_taken_within_a_bounded_time_whatever_keeps_arriving(runtime):
    order = QueueOrder(runtime)
    [oldest] = await order.click(Lane.HISTORY, 299, 1)  # far back: lane and rank
    minute = 20  # units taken a minute
    for n in range(2000):
        # Another tenant's first unit arrives for every one taken: alone, each
        # would go first, forever.
        await order.click(Lane.INTERACTIVE, 0, 1)
        if await order.take() == oldest:
            break
        if n % minute == minute - 1:
            await age_waiting_tasks(runtime.queue_app)
    minutes = -priority(Lane.HISTORY, 299) // AGE_STEP
    assert oldest in order.taken
    assert order.position(oldest) <= (minutes + 1) * minute + 1


async def test_a_retried_unit_keeps_its_place_and_what_it_aged(runtime):
    order = QueueOrder(runtime)
    first, *rest = await order.click(Lane.SCHEDULED, 0, 5)
    await age_waiting_tasks(runtime.queue_app)  # a minute in the queue
    assert await order.take(finish=False) == first
    # It fails and is retried at once, as the worker and the recovery of a dead
    # worker's task both do: it goes back where it was, ahead of later units.
    [job] = await runtime.queue_app.job_manager.list_jobs_async(id=order.last_id)
    await runtime.queue_app.job_manager.retry_job(job)
    await order.click(Lane.SCHEDULED, 0, 1)  # another tenant's first unit, queued later
    assert await order.take() == first
    # What it aged stayed with it: had the retry put it back at its first
    # priority, the units queued behind it, aged since, would have gone first.
    assert await order.take() == rest[0]
