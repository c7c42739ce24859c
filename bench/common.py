"""Shared benchmark plumbing: a scratch database and the fake Google in its own process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from ga4sync.db import connect
from ga4sync.embedded import embedded_postgres
from ga4sync.migrate import migrate
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec


@contextmanager
def server_url() -> Iterator[str]:
    """TEST_DATABASE_URL / DATABASE_URL when set, else an embedded Postgres."""
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    import tempfile
    from pathlib import Path

    with (
        tempfile.TemporaryDirectory() as tmp,
        embedded_postgres(Path(tmp) / "pg", delete=True) as url,
    ):
        yield url


@asynccontextmanager
async def scratch_database(
    server: str, reports: Sequence[ReportSpec] = BUILTIN_REPORTS
) -> AsyncIterator[str]:
    """A migrated database with the tables of ``reports``, dropped afterwards."""
    name = f"ga4sync_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')  # type: ignore[arg-type]
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    try:
        async with connect(url) as conn:
            await migrate(conn, reports)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')  # type: ignore[arg-type]


def spawn_worker(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A ``ga4sync worker`` process with ``env``, its output in ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ga4sync.cli", "worker"],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def fake_google_child(
    *,
    cardinality: int,
    latency_s: float = 0.0,
    refresh_tokens: tuple[str, ...] = ("rt-bench",),
    quota_limits: Mapping[str, int] | None = None,
) -> AsyncIterator[tuple[str, int]]:
    """The fake Google in a child process: its base URL and process id."""
    command = [
        sys.executable,
        "-m",
        "ga4sync.fake_google",
        "--port",
        "0",
        "--cardinality",
        str(cardinality),
        "--latency",
        str(latency_s),
    ]
    for token in refresh_tokens:
        command += ["--refresh-token", token]
    for name, limit in (quota_limits or {}).items():
        command += ["--quota", f"{name}={limit}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = (await asyncio.to_thread(process.stdout.readline)).strip()
        if not base_url.startswith("http"):
            raise RuntimeError("the fake Google did not start")
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


@asynccontextmanager
async def fake_google_process(
    *,
    cardinality: int,
    latency_s: float = 0.0,
    refresh_tokens: tuple[str, ...] = ("rt-bench",),
    quota_limits: Mapping[str, int] | None = None,
) -> AsyncIterator[str]:
    """The fake Google in a child process, so its CPU is not counted as the client's."""
    async with fake_google_child(
        cardinality=cardinality,
        latency_s=latency_s,
        refresh_tokens=refresh_tokens,
        quota_limits=quota_limits,
    ) as (base_url, _):
        yield base_url


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a process on this machine has used, if Linux says."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all cores, if Linux says."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(ticks[:8]) - idle) / tick, sum(ticks[:8]) / tick
