"""Taking a task from the queue costs the same however many tasks wait: a daily
run of thousands of properties must not pay for each task with a read of every
other one."""

from __future__ import annotations

import uuid

from ga4sync.queue import ProcrastinateQueue

TUPLES_READ = """
select coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
from pg_stat_xact_user_tables where relid = 'ga4sync_queue.procrastinate_jobs'::regclass
"""
TAKE = "select id from ga4sync_queue.procrastinate_fetch_job_v2(null, null)"


async def test_taking_a_task_reads_a_few_rows_with_thousands_waiting(runtime, pool):
    queue = ProcrastinateQueue(runtime.queue_app)
    # Statistics taken while the queue was empty, as autovacuum leaves them on
    # an idle deployment: the plan for taking a task is made from them.
    await pool.execute("analyze ga4sync_queue.procrastinate_jobs")
    await queue.enqueue_properties(uuid.uuid4(), list(range(1, 2001)))

    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            # A worker's connection takes many tasks: its cached plan is the one used.
            for _ in range(6):
                assert await conn.fetchval(TAKE) is not None
            before = await conn.fetchval(TUPLES_READ)
            assert await conn.fetchval(TAKE) is not None
            read = await conn.fetchval(TUPLES_READ) - before
        finally:
            await transaction.rollback()

    assert read < 20, f"taking one task read {read} rows of the queue"


async def test_a_waiting_tasks_lock_is_found_by_an_index_led_by_the_lock(pool):
    # procrastinate looks up, for each task it considers, the waiting and running
    # tasks of its lock; its own indexes hold the lock second, after the id.
    indexes = await pool.fetch(
        "select pg_get_expr(i.indpred, i.indrelid) as predicate from pg_index i"
        " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]"
        " where i.indrelid = 'ga4sync_queue.procrastinate_jobs'::regclass"
        " and a.attname = 'lock'"
    )
    predicates = [row["predicate"] or "" for row in indexes]
    assert any("todo" in p and "doing" in p for p in predicates), predicates
