"""Per-property sync frequency: hourly and 6-hourly schedules under an injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ga4sync.store.access import set_access_settings

from ..webtools import bearer

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def _props(pool, connect_user, frequencies: dict[str, str]):
    user = await connect_user({pid: "UTC" for pid in frequencies})
    refs = {}
    for pid, frequency in frequencies.items():
        ref = await pool.fetchval("select id from ga4_properties where property_id = $1", pid)
        await set_access_settings(pool, ref, user_id=user, sync_frequency=frequency)
        refs[pid] = ref
    return user, refs


async def test_hourly_once_an_hour_six_hourly_every_six_never_the_others(
    pool, connect_user, upkeep, recording_queue
):
    _, refs = await _props(
        pool,
        connect_user,
        {
            "7101": "hourly",
            "7102": "every_6h",
            "7103": "daily",
            "7104": "manual",
        },
    )
    claims: dict[int, list[datetime]] = {}
    for minutes in range(0, 12 * 60, 5):  # a tick every 5 minutes for 12 hours
        now = T0 + timedelta(minutes=minutes)
        before = len(recording_queue.due)
        await upkeep.schedule_due_properties(now)
        for ref in recording_queue.due[before:]:
            claims.setdefault(ref, []).append(now)
    assert claims[refs["7101"]] == [T0 + timedelta(hours=h) for h in range(12)]
    assert claims[refs["7102"]] == [T0, T0 + timedelta(hours=6)]
    assert refs["7103"] not in claims and refs["7104"] not in claims


async def test_racing_schedulers_claim_a_property_once(pool, connect_user, upkeep, recording_queue):
    await _props(pool, connect_user, {"7201": "hourly", "7202": "hourly"})
    counts = await asyncio.gather(*(upkeep.schedule_due_properties(T0) for _ in range(8)))
    assert sum(counts) == 2 and len(recording_queue.due) == 2


async def test_a_grant_needing_reauth_is_not_scheduled(pool, connect_user, upkeep, recording_queue):
    user, _ = await _props(pool, connect_user, {"7301": "hourly"})
    await pool.execute("update google_credentials set needs_reauth = true where user_id = $1", user)
    assert await upkeep.schedule_due_properties(T0) == 0


async def test_daily_run_skips_manual_properties_a_manual_run_does_not(pool, connect_user, service):
    user, refs = await _props(pool, connect_user, {"7401": "daily", "7402": "manual"})

    async def planned(job_id):
        rows = await pool.fetch(
            "select property_ref from ga4_sync_job_properties where job_id = $1"
            " order by property_ref",
            job_id,
        )
        return [r["property_ref"] for r in rows]

    manual = await service.start_job(user, str(user))
    await service.run_job(manual.job.id)
    assert await planned(manual.job.id) == [refs["7401"], refs["7402"]]
    await pool.execute("update ga4_sync_jobs set status = 'success' where id = $1", manual.job.id)
    daily = await service.ensure_daily_due()
    await service.run_job(daily.job.id)
    assert await planned(daily.job.id) == [refs["7401"]]


async def test_a_due_property_syncs_through_the_worker(pool, connect_user, runtime, worker):
    _, refs = await _props(pool, connect_user, {"7501": "hourly"})
    assert await runtime.upkeep.schedule_due_properties(T0) == 1
    for _ in range(200):
        run = await pool.fetchrow(
            "select status, job_id, rows_inserted from ga4_property_runs where property_ref = $1",
            refs["7501"],
        )
        if run and run["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "success" and run["job_id"] is None and run["rows_inserted"] > 0


async def test_frequency_through_the_api(client, pool, connect_user):
    user, refs = await _props(pool, connect_user, {"7601": "daily"})
    ref = refs["7601"]
    bad = await client.patch(
        f"/v1/properties/{ref}", headers=bearer(user), json={"sync_frequency": "weekly"}
    )
    assert bad.status == 400 and (await bad.json())["error"] == "invalid_frequency"
    ok = await client.patch(
        f"/v1/properties/{ref}", headers=bearer(user), json={"sync_frequency": "hourly"}
    )
    assert ok.status == 200 and (await ok.json())["sync_frequency"] == "hourly"
    listed = await (await client.get("/v1/properties", headers=bearer(user))).json()
    prop = listed["properties"][0]
    assert prop["sync_frequency"] == "hourly" and prop["next_due_at"] is not None
    # Never synced, no history asked for (SYNC_BACKFILL_DAYS=0): nothing is missing.
    assert prop["coverage"]["state"] == "done" and prop["coverage"]["days_missing"] == 0
    await client.patch(
        f"/v1/properties/{ref}", headers=bearer(user), json={"sync_frequency": "manual"}
    )
    listed = await (await client.get("/v1/properties", headers=bearer(user))).json()
    assert listed["properties"][0]["next_due_at"] is None
