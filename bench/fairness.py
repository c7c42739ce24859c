"""Fairness benchmark: how long a user with one property waits for fresh data
while another user's work fills the queue.

    python -m bench.fairness [--big 120 1000] [--latency 0.25] [--workers 1]

User ``big`` has ``--big`` properties, user ``small`` one; the fake Google (its
own process) answers every request after ``--latency`` seconds; ``--workers``
``ga4sync worker`` processes run with their default settings. For each size of
``big``, three scenarios, each from an idle queue:

* alone: small clicks Sync now; the time until small's run succeeded;
* behind big: big clicks Sync now, small clicks 1 s later; the time from
  small's click until small's run succeeded;
* in the daily run: the daily run starts, small clicks 1 s later (and is
  answered 409); the time from small's click until the daily run synced
  small's property.

Target: each of the last two within max(3x alone, alone + 5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from bench.common import fake_google_process, scratch_database, server_url, spawn_worker
from ga4sync.crypto import TokenCipher
from ga4sync.db import open_pool
from ga4sync.runtime import Runtime, open_runtime
from ga4sync.settings import Settings
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.jobs import DailyRunActive

CLICK_GAP_S = 1.0
BIG = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
SMALL = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
SMALL_PROPERTY = "900000001"


async def _until_done(runtime: Runtime, job_id: uuid.UUID) -> str:
    while True:
        job = await runtime.sync.get_job(job_id)
        if not job.active:
            return job.status
        await asyncio.sleep(0.02)


async def _until_idle(runtime: Runtime) -> None:
    while await runtime.pool.fetchval(
        "select count(*) from ga4_sync_jobs where status in ('pending', 'running')"
    ):
        await asyncio.sleep(0.1)
    while await runtime.pool.fetchval(
        "select count(*) from ga4sync_queue.procrastinate_jobs"
        " where status in ('todo', 'doing') and task_name not in"
        " ('ga4sync.daily_tick', 'ga4sync.recover', 'ga4sync.cleanup')"
    ):
        await asyncio.sleep(0.1)


async def _small_alone(runtime: Runtime) -> float:
    clicked = time.perf_counter()
    job = (await runtime.sync.start_job(SMALL, str(SMALL))).job
    status = await _until_done(runtime, job.id)
    assert status == "success", status
    return time.perf_counter() - clicked


async def _small_behind_big(runtime: Runtime) -> float:
    big = (await runtime.sync.start_job(BIG, str(BIG))).job
    await asyncio.sleep(CLICK_GAP_S)
    waited = await _small_alone(runtime)
    await _until_done(runtime, big.id)
    return waited


async def _small_in_daily_run(runtime: Runtime, run_day: int) -> float:
    await runtime.pool.execute("delete from ga4_sync_jobs where kind = 'daily'")
    daily = (await runtime.sync.ensure_daily(datetime(2030, 1, run_day, tzinfo=UTC).date())).job
    await asyncio.sleep(CLICK_GAP_S)
    clicked = time.perf_counter()
    try:
        await runtime.sync.start_job(SMALL, str(SMALL))
        raise AssertionError("Sync now during the daily run was not refused")
    except DailyRunActive:
        pass
    small_ref = await runtime.pool.fetchval(
        "select id from ga4_properties where property_id = $1", SMALL_PROPERTY
    )
    while (
        await runtime.pool.fetchval(
            "select status from ga4_sync_job_properties where job_id = $1 and property_ref = $2",
            daily.id,
            small_ref,
        )
        != "success"
    ):
        await asyncio.sleep(0.02)
    waited = time.perf_counter() - clicked
    await _until_done(runtime, daily.id)
    return waited


async def measure(server: str, big_properties: int, latency_s: float, workers: int) -> None:
    tokens = ("rt-big", "rt-small")
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(server) as db_url,
            fake_google_process(cardinality=2, latency_s=latency_s, refresh_tokens=tokens) as base,
        ):
            key = Fernet.generate_key().decode()
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "TOKEN_ENCRYPTION_KEY": key,
                "GOOGLE_CLIENT_ID": "bench",
                "GOOGLE_CLIENT_SECRET": "bench",
                "GOOGLE_TOKEN_URI": f"{base}/token",
                "GA4_API_BASE_URL": base,
                "SYNC_TIMEZONE": "UTC",
                # Recent days only: the queue holds the runs being compared.
                "SYNC_LOOKBACK_DAYS": "1",
                "SYNC_BACKFILL_DAYS": "0",
                "RUN_RATE_LIMIT": "0",
            }
            settings = replace(Settings.from_env(env), database_url=db_url)
            async with open_pool(db_url) as pool:
                cipher = TokenCipher(key)
                await store_google_grant(pool, cipher, BIG, "rt-big")
                await store_google_grant(pool, cipher, SMALL, "rt-small")
                for n in range(big_properties):
                    await connect_property(pool, BIG, str(800_000_000 + n), time_zone="UTC")
                await connect_property(pool, SMALL, SMALL_PROPERTY, time_zone="UTC")
            procs = [spawn_worker(env, Path(tmp) / f"worker{n}.log") for n in range(workers)]
            try:
                async with open_runtime(settings, db_url, periodic=False) as runtime:
                    await asyncio.sleep(2)
                    await _until_idle(runtime)
                    # A first run of everything, so that every scenario re-reads.
                    await _until_done(runtime, (await runtime.sync.start_job(BIG, "all")).job.id)
                    alone = await _small_alone(runtime)
                    await _until_idle(runtime)
                    behind = await _small_behind_big(runtime)
                    await _until_idle(runtime)
                    daily = await _small_in_daily_run(runtime, 1)
                    await _until_idle(runtime)
            finally:
                for proc in procs:
                    proc.terminate()
                for proc in procs:
                    proc.wait(timeout=60)
    target = max(3 * alone, alone + 5)
    print(f"\nbig: {big_properties} properties, small: 1; {latency_s * 1000:.0f} ms a request")
    print(f"  small alone               {alone:6.2f} s")
    for label, seconds in (("behind big's Sync now", behind), ("inside the daily run", daily)):
        verdict = "ok" if seconds <= target else "over target"
        print(f"  {label:25} {seconds:6.2f} s  {seconds / alone:5.1f}x alone  ({verdict})")
    print(f"  target                    {target:6.2f} s  (max(3x alone, alone + 5 s))")


async def main(sizes: list[int], latency_s: float, workers: int) -> None:
    with server_url() as server:
        for size in sizes:
            await measure(server, size, latency_s, workers)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", type=int, nargs="+", default=[120, 1000])
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.big, args.latency, args.workers))
