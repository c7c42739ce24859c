"""Acceptance: worker processes crash, restart and share work; daily runs stay unique."""

from __future__ import annotations

import asyncio
import signal
import uuid
from dataclasses import replace
from datetime import time

from ga4sync.crypto import TokenCipher
from ga4sync.runtime import open_runtime
from ga4sync.sync.connections import connect_property, store_google_grant


async def _connect(pool, fake, encryption_key, properties: list[str]) -> uuid.UUID:
    user = uuid.uuid4()
    fake.add_refresh_token(f"rt-{user.hex}")
    await store_google_grant(pool, TokenCipher(encryption_key), user, f"rt-{user.hex}")
    for property_id in properties:
        fake.add_property(property_id, time_zone="UTC", cardinality=3)
        await connect_property(pool, user, property_id, time_zone="UTC")
    return user


async def _wait(predicate, timeout_s: float, what: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await predicate()
        if value:
            return value
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_a_sigkilled_worker_leaves_no_job_running_forever(
    pool, google, encryption_key, spawn_worker
):
    fake, _ = google
    await _connect(pool, fake, encryption_key, ["8801", "8802"])
    fake.latency_s = 1.0  # each report takes a second: the worker dies mid-task

    doomed = spawn_worker()  # starts today's daily run on its way up

    async def mid_run():
        return await pool.fetchval(
            "select count(*) from ga4_property_runs where status = 'running'"
        )

    await _wait(mid_run, 30, "the worker to be in the middle of a property's run")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    job = await pool.fetchrow("select id, status from ga4_sync_jobs where kind = 'daily'")
    assert job["status"] == "running"

    await asyncio.sleep(2.5)  # the dead worker's heartbeat goes stale (STALLED_AFTER_S=2)
    fake.latency_s = 0.0
    spawn_worker()

    async def finished():
        row = await pool.fetchrow(
            "select status, message from ga4_sync_jobs where id = $1", job["id"]
        )
        return row if row["status"] not in ("pending", "running") else None

    done = await _wait(finished, 60, "the daily run to finish after the crash")
    assert done["status"] == "success", done["message"]
    assert done["message"].startswith("Synced 2/2 properties")
    # every row is there exactly once
    assert await pool.fetchval("select count(*) from ga4_report_rows") == 2 * (3 + 27 + 9)
    # the run the dead worker left open is closed as interrupted, none is left running
    runs = await pool.fetch("select status, error from ga4_property_runs")
    assert not [r for r in runs if r["status"] == "running"]
    assert any(r["status"] == "failed" and "interrupted" in r["error"] for r in runs)


async def test_two_workers_share_a_run_and_racing_pings_make_one_daily_job(
    pool, google, encryption_key, spawn_worker, settings, database_url
):
    fake, _ = google
    properties = [str(9000 + n) for n in range(8)]
    await _connect(pool, fake, encryption_key, properties)
    fake.latency_s = 0.05
    spawn_worker()
    spawn_worker()
    # Both workers (and these racing callers, on the real clock) start today's run,
    # due from local midnight for them all.
    async with open_runtime(replace(settings, sync_daily_at=time(0, 0)), database_url) as runtime:
        results = await asyncio.gather(*(runtime.sync.ensure_daily_due() for _ in range(20)))
    assert len({r.job.id for r in results}) == 1

    async def finished():
        rows = await pool.fetch("select status, message from ga4_sync_jobs")
        return rows if all(r["status"] not in ("pending", "running") for r in rows) else None

    rows = await _wait(finished, 60, "the daily run to finish")
    assert len(rows) == 1 and rows[0]["status"] == "success", rows
    runs = await pool.fetch(
        "select property_ref, count(*) as n from ga4_property_runs group by property_ref"
    )
    assert len(runs) == len(properties) and all(r["n"] == 1 for r in runs)
    assert await pool.fetchval("select count(*) from ga4_report_rows") == 8 * (3 + 27 + 9)


async def test_sigterm_mid_sync_loses_nothing(
    pool, google, encryption_key, spawn_worker, worker_env
):
    fake, _ = google
    await _connect(pool, fake, encryption_key, ["8901", "8902", "8903"])
    fake.latency_s = 2.0
    worker_env["WORKER_SHUTDOWN_TIMEOUT_S"] = "0.5"  # shorter than a report: tasks are cut off
    stopping = spawn_worker()

    async def doing():
        return await pool.fetchval(
            "select count(*) from procrastinate_jobs"
            " where task_name = 'ga4sync.sync_property' and status = 'doing'"
        )

    await _wait(doing, 30, "the worker to start syncing")
    stopping.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stopping.wait, 30) == 0
    # Nothing is left claimed by the stopped worker: interrupted tasks are queued again.
    assert await doing() == 0
    statuses = await pool.fetch(
        "select status, count(*) from procrastinate_jobs"
        " where task_name = 'ga4sync.sync_property' group by status"
    )
    assert {r["status"] for r in statuses} <= {"todo", "succeeded"}, statuses

    fake.latency_s = 0.0
    worker_env["WORKER_SHUTDOWN_TIMEOUT_S"] = "25"
    spawn_worker()

    async def finished():
        row = await pool.fetchrow("select status, message from ga4_sync_jobs where kind = 'daily'")
        return row if row["status"] not in ("pending", "running") else None

    done = await _wait(finished, 60, "the run to finish after the restart")
    assert done["status"] == "success" and done["message"].startswith("Synced 3/3"), done
