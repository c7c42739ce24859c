"""Acceptance: worker processes crash, restart and share work; daily runs stay unique."""

from __future__ import annotations

import asyncio
import signal
import uuid
from dataclasses import replace
from datetime import date, time, timedelta

from ga4sync.crypto import TokenCipher
from ga4sync.runtime import open_runtime
from ga4sync.sync.connections import connect_property, store_google_grant

from ..reporting import count_rows
from ..waiting import eventually


async def _connect(pool, fake, encryption_key, properties: list[str]) -> uuid.UUID:
    user = uuid.uuid4()
    fake.add_refresh_token(f"rt-{user.hex}")
    await store_google_grant(pool, TokenCipher(encryption_key), user, f"rt-{user.hex}")
    for property_id in properties:
        fake.add_property(property_id, time_zone="UTC", cardinality=3)
        await connect_property(pool, user, property_id, time_zone="UTC")
    return user


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

    await eventually(mid_run, "the worker to be in the middle of a property's run")
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

    done = await eventually(finished, "the daily run to finish after the crash", timeout_s=60)
    assert done["status"] == "success", done["message"]
    assert done["message"].startswith("Synced 2/2 properties")
    # every row is there exactly once
    assert await count_rows(pool) == 2 * (3 + 27 + 9)
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

    rows = await eventually(finished, "the daily run to finish", timeout_s=60)
    assert len(rows) == 1 and rows[0]["status"] == "success", rows
    runs = await pool.fetch(
        "select property_ref, count(*) as n from ga4_property_runs group by property_ref"
    )
    assert len(runs) == len(properties) and all(r["n"] == 1 for r in runs)
    assert await count_rows(pool) == 8 * (3 + 27 + 9)


async def test_sigterm_mid_sync_loses_nothing(
    pool, google, encryption_key, spawn_worker, worker_env
):
    fake, _ = google
    properties = ["8901", "8902", "8903"]
    await _connect(pool, fake, encryption_key, properties)
    # Reports are answered only once released: the tasks cannot finish within the grace.
    fake.hold_reports = True
    worker_env["WORKER_SHUTDOWN_TIMEOUT_S"] = "0.5"
    stopping = spawn_worker()

    async def all_syncing():
        doing = await pool.fetch(
            "select id, args->>'property_ref' as ref from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.sync_property' and status = 'doing'"
        )
        in_flight = all(fake.in_flight.get(p, 0) >= 1 for p in properties)
        return doing if len(doing) == len(properties) and in_flight else None

    running = await eventually(all_syncing, "every property's task to be mid-report")
    loop = asyncio.get_running_loop()
    signalled_at = loop.time()
    stopping.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(stopping.wait, 30) == 0
    assert loop.time() - signalled_at < 15  # the 0.5 s grace, not the 25 s default

    # Each task was cut off at the grace's end and queued again, not lost or failed.
    cut = await pool.fetch(
        "select id, status, attempts from ga4sync_queue.procrastinate_jobs"
        " where id = any($1::bigint[])",
        [r["id"] for r in running],
    )
    assert sorted((r["status"], r["attempts"]) for r in cut) == [("todo", 1)] * len(running)
    retried = await pool.fetchval(
        "select count(distinct job_id) from ga4sync_queue.procrastinate_events"
        " where type = 'deferred_for_retry' and job_id = any($1::bigint[])",
        [r["id"] for r in running],
    )
    assert retried == len(running)
    assert not await pool.fetchval(
        "select count(*) from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.sync_property' and status <> 'todo'"
    )
    runs = await pool.fetch("select property_ref, status, error from ga4_property_runs")
    assert sorted(r["property_ref"] for r in runs) == sorted(int(r["ref"]) for r in running)
    assert all(r["status"] == "failed" and "interrupted" in r["error"] for r in runs), runs
    job = await pool.fetchrow(
        "select id, status, properties_done from ga4_sync_jobs where kind = 'daily'"
    )
    assert (job["status"], job["properties_done"]) == ("running", 0)  # nothing counted yet

    fake.hold_reports = False
    worker_env["WORKER_SHUTDOWN_TIMEOUT_S"] = "25"
    spawn_worker()

    async def finished():
        row = await pool.fetchrow(
            "select status, message, properties_failed from ga4_sync_jobs where id = $1",
            job["id"],
        )
        return row if row["status"] not in ("pending", "running") else None

    done = await eventually(finished, "the run to finish after the restart", timeout_s=60)
    assert done["status"] == "success" and done["message"].startswith("Synced 3/3"), done
    assert done["properties_failed"] == 0
    # Each cut-off property ran once more, to the end.
    outcomes = await pool.fetch(
        "select property_ref, array_agg(status order by id) as statuses from ga4_property_runs"
        " group by property_ref"
    )
    assert sorted(list(r["statuses"]) for r in outcomes) == [["failed", "success"]] * 3
    assert await count_rows(pool) == 3 * (3 + 27 + 9)


async def test_a_backfill_cut_by_sigkill_resumes_without_reading_finished_chunks(
    pool, google, encryption_key, spawn_worker, worker_env
):
    fake, _ = google
    await _connect(pool, fake, encryption_key, ["8951"])
    fake.latency_s = 0.3  # a chunk takes a moment: the kill lands mid-backfill
    worker_env.update(
        {"SYNC_BACKFILL_DAYS": "60", "SYNC_BACKFILL_CHUNK_DAYS": "5", "SYNC_LOOKBACK_DAYS": "1"}
    )
    doomed = spawn_worker()

    async def covered() -> set[tuple[str, object]]:
        rows = await pool.fetch(
            "select d.name as report, c.date from ga4_coverage c"
            " join ga4_report_definitions d on d.key = c.report"
        )
        return {(r["report"], r["date"]) for r in rows}

    async def part_way():
        history = await pool.fetchval(
            "select count(*) from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.continue_property' and status = 'doing'"
        )
        done = await covered()
        return history and 3 * 15 <= len(done) < 3 * 50

    await eventually(part_way, "the backfill to be part way through", timeout_s=60)
    doomed.send_signal(signal.SIGKILL)
    await asyncio.to_thread(doomed.wait, 10)
    before = await covered()
    asked_before = len(fake.report_requests)

    await asyncio.sleep(2.5)  # the dead worker's heartbeat goes stale (STALLED_AFTER_S=2)
    fake.latency_s = 0.0
    spawn_worker()

    async def complete():
        return len(await covered()) == 3 * 61

    await eventually(complete, "every date of every report to be covered", timeout_s=90)
    # No history chunk read to the end before the kill was asked for again (the
    # three recent days are the recent syncs' to re-read, not the backfill's).
    history_before = max(d for _, d in before) - timedelta(days=2)
    names = {
        ("date",): "daily_totals",
        ("date", "sessionSource", "sessionMedium"): "traffic_sources",
        ("date", "pagePath"): "pages",
    }
    for _, body in fake.report_requests[asked_before:]:
        report = names[tuple(d["name"] for d in body["dimensions"])]
        span = body["dateRanges"][0]
        first, last = (date.fromisoformat(span[k]) for k in ("startDate", "endDate"))
        days = {(report, first + timedelta(days=n)) for n in range((last - first).days + 1)}
        if last < history_before:
            assert not days <= before, (report, span)
    # Every row of the 61 dates is there (each once: rows are keyed), no run left running.
    assert await count_rows(pool) == 61 * (1 + 9 + 3)
    running = "select count(*) from ga4_property_runs where status = 'running'"
    assert not await pool.fetchval(running)


async def test_a_worker_started_after_a_sigkill_takes_over_its_tasks_within_seconds(
    pool, google, encryption_key, worker_env, spawn_worker
):
    fake, _ = google
    await _connect(pool, fake, encryption_key, ["8811", "8812"])
    # Left to the every-minute recovery, the dead worker's tasks would wait a minute or two.
    worker_env["STALLED_AFTER_S"] = "60"
    fake.latency_s = 1.0
    doomed = spawn_worker()

    async def mid_run():
        return await pool.fetchval(
            "select count(*) from ga4_property_runs where status = 'running'"
        )

    await eventually(mid_run, "the worker to be in the middle of a property's run")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    fake.latency_s = 0.0
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    spawn_worker()  # at once, as a supervisor restarts a crashed process

    async def finished():
        row = await pool.fetchrow("select status, message from ga4_sync_jobs where kind = 'daily'")
        return row if row["status"] not in ("pending", "running") else None

    done = await eventually(finished, "the new worker to finish the dead one's run")
    assert done["status"] == "success", done["message"]
    assert done["message"].startswith("Synced 2/2 properties")
    # Three missed heartbeats (WORKER_HEARTBEAT_S=0.5) and a new worker's start, not a minute.
    assert loop.time() - killed_at < 15
    assert await count_rows(pool) == 2 * (3 + 27 + 9)


async def test_a_starting_worker_never_takes_over_a_live_workers_tasks(
    pool, google, encryption_key, worker_env, spawn_worker, tmp_path
):
    fake, _ = google
    await _connect(pool, fake, encryption_key, [str(8820 + n) for n in range(4)])
    fake.latency_s = 2.0  # the live workers' tasks outlast the new worker's takeover check
    spawn_worker()
    spawn_worker()

    async def running_tasks():
        return await pool.fetchval(
            "select count(*) from ga4sync_queue.procrastinate_jobs"
            " where status = 'doing' and task_name = 'ga4sync.sync_property'"
        )

    await eventually(running_tasks, "the live workers to be syncing")
    spawn_worker()

    async def finished():
        row = await pool.fetchrow("select status, message from ga4_sync_jobs where kind = 'daily'")
        return row if row["status"] not in ("pending", "running") else None

    done = await eventually(finished, "the run to finish", timeout_s=60)
    assert done["status"] == "success", done["message"]
    logs = "".join(log.read_text() for log in tmp_path.glob("worker-*.log"))
    assert "of a dead worker" not in logs
    runs = await pool.fetch("select status, error from ga4_property_runs")
    assert {r["status"] for r in runs} == {"success"}, runs
