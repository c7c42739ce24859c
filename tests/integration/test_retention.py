"""Retention: old history goes, each property's latest run and active jobs stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts


async def test_prune_keeps_the_latest_run_per_property_and_active_jobs(
    pool, service, upkeep, connect_user, ingestion_for
):
    await connect_user({"9101": "UTC", "9102": "UTC"})
    async with ingestion_for() as ingestion:
        for _ in range(3):
            await ingest_ga4_for_all_accounts(ingestion)
    # Everything so far happened 40 days ago.
    await pool.execute("update ga4_property_runs set started_at = started_at - interval '40 days'")
    nobody = uuid.uuid4()
    old_done = await service.start_job(nobody, str(nobody))
    await service.run_job(old_done.job.id)  # no properties of its own: finishes at once
    active = await service.start_job(uuid.uuid4(), "all")
    await pool.execute(
        "update ga4_sync_jobs set created_at = now() - interval '40 days',"
        " finished_at = case when finished_at is null then null"
        " else now() - interval '40 days' end"
    )
    someone = uuid.uuid4()
    recent = await service.start_job(someone, str(someone))
    await service.run_job(recent.job.id)
    await pool.execute("update ga4_sync_jobs set created_at = now() where id = $1", recent.job.id)
    await pool.execute("update ga4_sync_jobs set finished_at = now() where id = $1", recent.job.id)

    pruned = await upkeep.prune_history(datetime.now(UTC))
    assert pruned["property_runs"] == 4  # 6 runs, the latest of each property stay
    latest = await pool.fetch(
        "select property_ref, count(*) from ga4_property_runs group by property_ref"
    )
    assert [r["count"] for r in latest] == [1, 1]
    left = {r["id"] for r in await pool.fetch("select id from ga4_sync_jobs")}
    assert old_done.job.id not in left
    assert {active.job.id, recent.job.id} <= left
    assert pruned["sync_jobs"] == 1
    again = await upkeep.prune_history(datetime.now(UTC) + timedelta(seconds=1))
    assert again["property_runs"] == 0 and again["sync_jobs"] == 0


async def test_cleanup_drops_the_keys_of_reads_a_dead_worker_left(pool, upkeep, connect_user):
    await connect_user({"9901": "UTC"})
    ref = await pool.fetchval("select id from ga4_properties")
    dead, live = [
        await pool.fetchval(
            "insert into ga4_property_runs (property_ref, start_date, end_date, status)"
            " values ($1, '2026-11-20', '2026-11-21', $2) returning id",
            ref,
            status,
        )
        for status in ("failed", "running")
    ]
    for run_id in (dead, live):
        await pool.execute(
            "insert into ga4_read_keys (run_id, read_no, date, dimension_key)"
            " values ($1, 0, '2026-11-20', gen_random_uuid())",
            run_id,
        )
    pruned = await upkeep.prune_history(datetime.now(UTC))
    assert pruned["read_keys"] == 1
    left = [r["run_id"] for r in await pool.fetch("select run_id from ga4_read_keys")]
    assert left == [live]  # a read still running keeps its keys
