"""Fan-out benchmark: many properties through the queue with worker processes.

    python -m bench.fanout [--properties 500] [--cardinality 25] [--latency 0.05]
                           [--workers 2 ...] [--max-concurrency 10] [--worker-concurrency 10]

Each property's three built-in reports come from the fake Google (its own
process) with a fixed latency per request; cardinality 25 gives 1,953 rows per
property. `--workers` `ga4sync worker` processes share one manual run of
everything; given several counts, each runs on a database of its own and the
table compares them with the first. The ideal, computed in the same run, is
the total request latency divided by the total request concurrency (workers x
GA4_MAX_CONCURRENCY): what the run would take if the database and the CPUs
cost nothing. Target: within 1.5x of ideal, 0 duplicate rows, 0 rows
rewritten by an unchanged re-run.

Also printed: the CPU seconds the workers and the database's backends spent on
the first load, per property and per request, and the workers' peak memory.
``BENCH_LOG_STATEMENTS=1`` (with ``TEST_DATABASE_URL`` pointing at a server whose
log you can read) logs every statement of the run with its duration, to see
what the database's time goes to.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.fernet import Fernet

from bench.common import (
    fake_google_process,
    process_cpu_s,
    scratch_database,
    server_url,
    spawn_worker,
)
from ga4sync.crypto import TokenCipher
from ga4sync.db import open_pool
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.runtime import open_runtime
from ga4sync.settings import Settings
from ga4sync.sync.connections import connect_property, store_google_grant

USERS = 50


@dataclass
class Fanout:
    """One worker count's figures: seconds, CPU seconds and the workers' peak memory."""

    workers: int
    first_s: float
    second_s: float
    ideal_s: float
    worker_cpu_s: float
    db_cpu_s: float
    peak_rss_mb: float


def peak_rss_mb(pid: int) -> float:
    """The most resident memory a process on this machine has held (Linux's VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def backend_pids(db_url: str) -> list[int]:
    async with open_pool(db_url) as pool:
        rows = await pool.fetch(
            "select pid from pg_stat_activity where datname = current_database()"
            " and pid <> pg_backend_pid()"
        )
    return [row["pid"] for row in rows]


async def _run_once(settings: Settings, db_url: str, admin: uuid.UUID) -> tuple[float, object]:
    async with open_runtime(settings, db_url, periodic=False) as runtime:
        started = time.perf_counter()
        job = (await runtime.sync.start_job(admin, "all")).job
        while job.active:
            await asyncio.sleep(0.1)
            job = await runtime.sync.get_job(job.id)
        return time.perf_counter() - started, job


async def _history_done(db_url: str, timeout_s: float = 600) -> None:
    async with open_pool(db_url) as pool:
        deadline = time.monotonic() + timeout_s
        while await pool.fetchval(
            "select count(*) from ga4sync_queue.procrastinate_jobs"
            " where task_name = 'ga4sync.continue_property' and status in ('todo', 'doing')"
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the history steps after the first load did not finish")
            await asyncio.sleep(0.2)


async def measure(
    server: str,
    properties: int,
    cardinality: int,
    latency_s: float,
    workers_n: int,
    max_concurrency: int,
    worker_concurrency: int,
) -> Fanout:
    """The figures of one manual run of everything on ``workers_n`` worker processes."""
    tokens = [f"rt-fanout-{n}" for n in range(USERS)]
    rows_per_property = sum(3 * cardinality ** (len(s.dimensions) - 1) for s in BUILTIN_REPORTS)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(server) as db_url,
            fake_google_process(
                cardinality=cardinality, latency_s=latency_s, refresh_tokens=tuple(tokens)
            ) as base_url,
        ):
            key = Fernet.generate_key().decode()
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "TOKEN_ENCRYPTION_KEY": key,
                "GOOGLE_CLIENT_ID": "bench",
                "GOOGLE_CLIENT_SECRET": "bench",
                "GOOGLE_TOKEN_URI": f"{base_url}/token",
                "GA4_API_BASE_URL": base_url,
                "GA4_MAX_CONCURRENCY": str(max_concurrency),
                "WORKER_CONCURRENCY": str(worker_concurrency),
                "SYNC_TIMEZONE": "UTC",
                # The recent three days of every property, no history: the fan-out
                # of one run is what is measured.
                "SYNC_LOOKBACK_DAYS": "1",
                "SYNC_BACKFILL_DAYS": "0",
            }
            settings = replace(Settings.from_env(env), database_url=db_url)
            if os.environ.get("BENCH_LOG_STATEMENTS"):
                # every statement and its duration in the server's log, to see what dominates
                async with open_pool(db_url) as pool:
                    await pool.execute(
                        "do $$ begin execute format('alter database %I set"
                        " log_min_duration_statement = 0', current_database()); end $$"
                    )
            workers = []
            try:
                workers = [
                    spawn_worker(env, Path(tmp) / f"worker{n}.log") for n in range(workers_n)
                ]
                await asyncio.sleep(3)  # up, and today's (empty) daily run done
                async with open_pool(db_url) as pool:
                    cipher = TokenCipher(key)
                    for n in range(properties):
                        user = uuid.uuid5(uuid.NAMESPACE_URL, f"fanout-user-{n % USERS}")
                        if n < USERS:
                            await store_google_grant(pool, cipher, user, tokens[n])
                        # the fake's properties are in Los Angeles, as GA4 will say
                        await connect_property(
                            pool, user, str(800_000_000 + n), time_zone="America/Los_Angeles"
                        )
                admin = uuid.uuid4()
                pids = await backend_pids(db_url)
                db_before = {pid: process_cpu_s(pid) or 0.0 for pid in pids}
                cpu_before = sum(process_cpu_s(w.pid) or 0.0 for w in workers)
                first_s, first = await _run_once(settings, db_url, admin)
                worker_cpu = sum(process_cpu_s(w.pid) or 0.0 for w in workers) - cpu_before
                # every backend of this database, less what it had used before the run
                db_cpu = sum(
                    (process_cpu_s(pid) or 0.0) - db_before.get(pid, 0.0)
                    for pid in await backend_pids(db_url)
                )
                peak_mb = max(peak_rss_mb(w.pid) for w in workers)
                # History the run left to background steps (if any) is read before
                # the re-run, which must then write nothing.
                await _history_done(db_url)
                second_s, second = await _run_once(settings, db_url, admin)
                async with open_pool(db_url) as pool:
                    # rows are keyed by (property, date, dimensions): none is stored twice
                    stored = 0
                    for spec in BUILTIN_REPORTS:
                        stored += await pool.fetchval(f"select count(*) from {spec.relation}")
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(timeout=60)
    requests = properties * len(BUILTIN_REPORTS)  # one page each at these sizes
    ideal = requests * latency_s / (workers_n * max_concurrency)
    print(
        f"\n{properties} properties x {rows_per_property:,} rows, {latency_s * 1000:.0f} ms per"
        f" request, {workers_n} workers x {max_concurrency} requests in flight\n"
    )
    print(f"ideal (request latency / concurrency): {ideal:.2f} s")
    for label, seconds, job in (
        ("first load", first_s, first),
        ("unchanged re-run", second_s, second),
    ):
        ratio = f"{seconds / ideal:5.2f}x ideal" if ideal else "(no latency)"
        print(
            f"{label:18} {seconds:7.2f} s  {ratio}  status {job.status}"
            f"  rows fetched {job.rows_fetched:,}  written {job.rows_written:,}"
        )
        print(f"{'':18} {job.message}")
    print(f"rows stored {stored:,} (expected {properties * rows_per_property:,})")
    print(
        f"first load CPU: workers {worker_cpu:.2f} s ({worker_cpu / properties * 1000:.1f} ms a"
        f" property, {worker_cpu / requests * 1000:.1f} ms a request), Postgres"
        f" {db_cpu:.2f} s ({db_cpu / properties * 1000:.1f} ms a property);"
        f" peak worker memory {peak_mb:.0f} MB"
    )
    return Fanout(workers_n, first_s, second_s, ideal, worker_cpu, db_cpu, peak_mb)


async def main(args: argparse.Namespace) -> None:
    results = []
    with server_url() as server:
        for workers_n in args.workers:
            results.append(
                await measure(
                    server,
                    args.properties,
                    args.cardinality,
                    args.latency,
                    workers_n,
                    args.max_concurrency,
                    args.worker_concurrency,
                )
            )
    if len(results) > 1:
        base = results[0].first_s
        print(
            f"\n| workers | first load s | x ideal | speed-up over {args.workers[0]}"
            " | worker CPU ms/property | Postgres CPU ms/property | peak worker MB |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        n = args.properties
        for r in results:
            ratio = f"{r.first_s / r.ideal_s:.2f}" if r.ideal_s else "-"
            print(
                f"| {r.workers} | {r.first_s:.2f} | {ratio} | {base / r.first_s:.2f}x"
                f" | {r.worker_cpu_s / n * 1000:.1f} | {r.db_cpu_s / n * 1000:.1f}"
                f" | {r.peak_rss_mb:.0f} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--properties", type=int, default=500)
    parser.add_argument("--cardinality", type=int, default=25)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--max-concurrency", type=int, default=10, help="GA4_MAX_CONCURRENCY")
    parser.add_argument("--worker-concurrency", type=int, default=10, help="WORKER_CONCURRENCY")
    asyncio.run(main(parser.parse_args()))
