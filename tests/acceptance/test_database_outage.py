"""Acceptance: the processes ride out a database restart in the middle of a sync.

A Postgres of the test's own is stopped while the worker is mid-way through the
daily run and started again on the same data (what Supabase maintenance, a
failover or a pooler restart does). The processes stay up, ``/healthz`` says
503 while the database is gone and 200 once it and a worker are back, and the
run finishes with every row, nothing left running.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from ga4sync.db import connect, open_pool
from ga4sync.migrate import migrate
from tests.conftest import with_database
from tests.pgserver import RestartablePostgres, restartable_postgres
from tests.reporting import ALL_ROWS
from tests.waiting import eventually

from .test_serve import _free_port
from .test_workers import _connect

PROPERTIES = ["6601", "6602", "6603"]
ROWS_PER_PROPERTY = 3 + 27 + 9  # the three built-in reports at cardinality 3


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[RestartablePostgres]:
    with restartable_postgres(tmp_path / "pgdata") as server:
        yield server


@pytest.fixture
async def outage_db(own_postgres: RestartablePostgres) -> AsyncIterator[str]:
    async with connect(own_postgres.url) as conn:
        await conn.execute("create database ga4sync_outage")
    url = with_database(own_postgres.url, "ga4sync_outage")
    async with connect(url) as conn:
        await migrate(conn)
    yield url


async def _fetchval(url: str, sql: str):
    """One query on a new connection: pooled ones do not survive the restart."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.mark.parametrize("command", ["worker", "serve"])
async def test_a_database_restart_mid_run_stops_nothing_and_loses_nothing(
    command, own_postgres, outage_db, google, encryption_key, worker_env, tmp_path
):
    fake, _ = google
    async with open_pool(outage_db, max_size=2) as pool:
        await _connect(pool, fake, encryption_key, PROPERTIES)
    port = _free_port()
    # The acceptance workers' environment, on the database this test restarts.
    env = {**worker_env, "DATABASE_URL": outage_db, "PORT": str(port), "CRON_TOKEN": "outage-cron"}
    # Reports wait in flight until released: the restart lands mid-task, however
    # long the processes take to start.
    fake.hold_reports = True
    logs: dict[str, Path] = {}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    commands = [command] if command == "serve" else ["worker", "web"]
    for name in commands:
        logs[name] = tmp_path / f"{name}.log"
        with open(logs[name], "wb") as log:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "ga4sync.cli", name],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def health() -> int | None:
                try:
                    async with http.get(
                        base + "/healthz", timeout=aiohttp.ClientTimeout(total=10)
                    ) as response:
                        return response.status
                except (aiohttp.ClientError, TimeoutError):
                    return None

            async def mid_run():
                return await _fetchval(
                    outage_db, "select count(*) from ga4_property_runs where status = 'running'"
                )

            await eventually(
                lambda: _is(health, 200), "web and worker to be up", timeout_s=60, interval_s=0.1
            )
            await eventually(
                mid_run,
                "the worker to be in the middle of a property's run",
                timeout_s=30,
                interval_s=0.1,
            )
            await asyncio.to_thread(own_postgres.stop)
            await eventually(
                lambda: _is(health, 503),
                "/healthz to report the outage",
                timeout_s=15,
                interval_s=0.1,
            )
            # A client calling meanwhile hears that the database is away, not a 500.
            async with http.get(
                base + "/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": "outage-cron"}
            ) as response:
                assert response.status == 503
                assert (await response.json())["error"] == "database_unavailable"
                assert response.headers["Retry-After"] == "5"
            await asyncio.sleep(3)  # longer than STALLED_AFTER_S: every heartbeat is stale
            for name, process in processes.items():
                assert process.poll() is None, f"{name} exited: {logs[name].read_text()}"

            await asyncio.to_thread(own_postgres.start)
            fake.hold_reports = False

            async def finished():
                status = await _fetchval(
                    outage_db, "select status from ga4_sync_jobs where kind = 'daily'"
                )
                return status if status not in ("pending", "running") else None

            assert (
                await eventually(finished, "the daily run to finish", timeout_s=60, interval_s=0.1)
                == "success"
            )
            await eventually(
                lambda: _is(health, 200),
                "/healthz to be healthy again",
                timeout_s=30,
                interval_s=0.1,
            )
            message = await _fetchval(
                outage_db, "select message from ga4_sync_jobs where kind = 'daily'"
            )
            assert message.startswith(f"Synced {len(PROPERTIES)}/{len(PROPERTIES)}"), message
            rows = await _fetchval(outage_db, f"select count(*) from {ALL_ROWS} r")
            assert rows == len(PROPERTIES) * ROWS_PER_PROPERTY
            left_running = await _fetchval(
                outage_db, "select count(*) from ga4_property_runs where status = 'running'"
            )
            assert left_running == 0

            async def nothing_doing():
                # Tasks that finished while their worker waited for the database
                # record their end once it is back.
                doing = (
                    "select count(*) from ga4sync_queue.procrastinate_jobs where status = 'doing'"
                )
                return await _fetchval(outage_db, doing) == 0

            await eventually(nothing_doing, "no task left doing", timeout_s=60, interval_s=0.1)
            for name, process in processes.items():
                assert process.poll() is None, f"{name} exited: {logs[name].read_text()}"

            async def every_process_saw_it_back():
                return all("database reachable again" in p.read_text() for p in logs.values())

            await eventually(
                every_process_saw_it_back,
                "each process to log the end of the outage",
                timeout_s=15,
                interval_s=0.1,
            )
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = [await asyncio.to_thread(_stopped, p) for p in processes.values()]
    assert codes == [0] * len(codes)
    for name in processes:
        output = logs[name].read_text()
        # Said once per outage, not a traceback a second.
        assert output.count("database unreachable") == 1, output
        assert output.count("database reachable again") == 1, output
        assert "Traceback" not in output, output


def _stopped(process: subprocess.Popen[bytes]) -> int | None:
    """The exit code after SIGTERM; a process that does not stop is killed (None)."""
    try:
        return process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        return None


async def _is(probe, expected: int) -> bool:
    return await probe() == expected
