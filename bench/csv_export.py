"""CSV export through the rows API against COPY of the same rows, in one run.

    python -m bench.csv_export [--rows 1000000] [--small 250000] [--repeat 3]

The ``pages`` report (date x pagePath, four metrics) holds ``--rows`` rows of one
property and ``--small`` rows of another, made by the server over 100 days.
Each size is exported with ``GET /v1/reports/pages/rows?format=csv`` from a web
process of its own (``ga4sync``'s real web app, started like bench.api's), read
by an aiohttp client in this process, and the web process's peak RSS is read
from ``/proc`` before and after: a flat peak for both sizes means the export
streams instead of holding the rows. Each size is also exported with
``csv_escape=false`` (dimension values written exactly, no check for a leading
formula character), so the cost of that check shows in the same run.

The baseline is ``COPY (select ... from ga4_pages where property_id = ...)
TO STDOUT (format csv)`` of the same rows read by asyncpg in this process,
once in the API's order and once in no order (the bare floor). Runs alternate;
each figure is the median of ``--repeat``. Ratios are API / COPY: above 1 is
slower.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import asyncpg

from bench.api import SECRET, _serve, _stop, _token
from bench.common import process_cpu_s, scratch_database, server_url
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import table_name

PAGES = next(spec for spec in BUILTIN_REPORTS if spec.name == "pages")
DAYS = 100
ORDERED = 'select * from ga4_pages where property_id = $1 order by date, page_path collate "C"'
UNORDERED = "select * from ga4_pages where property_id = $1"


@dataclass
class Run:
    seconds: float
    lines: int
    size: int

    @property
    def rows(self) -> int:
        return self.lines - 1  # the header


async def fill(pool: asyncpg.Pool, ref: int, rows: int) -> None:
    per_day = rows // DAYS
    await pool.execute(
        f"""insert into {table_name(PAGES.key)}
            (property_ref, date, dimension_key, page_path, screen_page_views, active_users,
             user_engagement_duration, event_count)
            select $1, date '2026-01-01' + d, md5($1::bigint || '/' || d || '/' || n)::uuid,
                   '/blog/' || (n % 300) || '/post-' || n, n % 997, n % 13,
                   (n % 1000) / 7.0::float8, n
            from generate_series(0, {DAYS - 1}) d, generate_series(1, {per_day}) n""",
        ref,
    )


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set of a process, in MB."""
    found: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


async def timed(read: Callable[[], Awaitable[tuple[int, int]]]) -> Run:
    start = time.perf_counter()
    lines, size = await read()
    return Run(time.perf_counter() - start, lines, size)


async def export(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Run:
    async def read() -> tuple[int, int]:
        lines = size = 0
        async with session.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            async for chunk in response.content.iter_chunked(1 << 16):
                lines += chunk.count(b"\n")
                size += len(chunk)
        return lines, size

    return await timed(read)


async def copy(conn: asyncpg.Connection, sql: str, property_id: str) -> Run:
    async def read() -> tuple[int, int]:
        lines = size = 0

        async def sink(chunk: bytes) -> None:
            nonlocal lines, size
            lines += chunk.count(b"\n")
            size += len(chunk)

        await conn.copy_from_query(sql, property_id, output=sink, format="csv", header=True)
        return lines, size

    return await timed(read)


@dataclass
class SizeResult:
    rows: int
    api: Run
    exact: Run
    ordered: Run
    unordered: Run
    rss_before_mb: float
    peak_mb: float
    web_cpu_s: float


def median_run(runs: list[Run]) -> Run:
    assert len({r.lines for r in runs}) == 1, [r.lines for r in runs]
    return Run(statistics.median(r.seconds for r in runs), runs[0].lines, runs[0].size)


async def main(rows: int, small: int, repeat: int) -> None:
    sizes = {"1": rows, "2": small}
    with server_url() as server:
        async with scratch_database(server) as db_url:
            user = uuid.uuid4()
            pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
            try:
                for property_id, count in sizes.items():
                    ref = await upsert_property(pool, user, property_id)
                    await fill(pool, ref, count)
                await pool.execute(f"vacuum analyze {table_name(PAGES.key)}")
            finally:
                await pool.close()
            env = {**os.environ, "DATABASE_URL": db_url, "SUPABASE_JWT_SECRET": SECRET}
            headers = {"Authorization": f"Bearer {_token(user)}"}
            results: list[SizeResult] = []
            conn = await asyncpg.connect(db_url)
            try:
                for property_id, count in sizes.items():
                    process, base = await _serve("real", env)
                    try:
                        url = f"{base}/v1/reports/pages/rows?property_id={property_id}&format=csv"
                        async with aiohttp.ClientSession() as session:
                            # warm-up: the code paths and the cursor key, one day's rows
                            warm = await export(session, url + "&end_date=2026-01-01", headers)
                            assert warm.rows == count // DAYS, warm
                            rss_before, _ = rss_mb(process.pid)
                            api_runs, exact_runs, ordered_runs, unordered_runs = [], [], [], []
                            cpu = []
                            for _ in range(repeat):
                                cpu_before = process_cpu_s(process.pid) or 0.0
                                api_runs.append(await export(session, url, headers))
                                cpu.append((process_cpu_s(process.pid) or 0.0) - cpu_before)
                                exact = url + "&csv_escape=false"
                                exact_runs.append(await export(session, exact, headers))
                                ordered_runs.append(await copy(conn, ORDERED, property_id))
                                unordered_runs.append(await copy(conn, UNORDERED, property_id))
                            _, peak = rss_mb(process.pid)
                    finally:
                        _stop(process)
                    api = median_run(api_runs)
                    assert api.rows == count, (api.rows, count)
                    results.append(
                        SizeResult(
                            rows=count,
                            api=api,
                            exact=median_run(exact_runs),
                            ordered=median_run(ordered_runs),
                            unordered=median_run(unordered_runs),
                            rss_before_mb=rss_before,
                            peak_mb=peak,
                            web_cpu_s=statistics.median(cpu),
                        )
                    )
            finally:
                await conn.close()

    print(f"\nCSV export of the pages report, median of {repeat}; ratios are API / COPY\n")
    print(
        f"{'path':44} {'rows':>9} {'wall s':>7} {'rows/s':>10} {'MB/s':>6} {'x COPY':>7}"
        f" {'web peak RSS MB (growth)':>25}"
    )
    for result in sorted(results, key=lambda r: r.rows):
        api, ordered, unordered = result.api, result.ordered, result.unordered
        assert api.rows == ordered.rows == unordered.rows
        for name, run in (
            ("COPY (select ... order by the API's order)", ordered),
            ("COPY (select ...), no order (floor)", unordered),
            ("GET /v1/reports/pages/rows?format=csv", api),
            ("  the same with csv_escape=false", result.exact),
        ):
            memory = ""
            if run is api:
                memory = f"{result.peak_mb:.0f} (+{result.peak_mb - result.rss_before_mb:.0f})"
            print(
                f"{name:44} {run.rows:>9,} {run.seconds:>7.2f} {run.rows / run.seconds:>10,.0f}"
                f" {run.size / run.seconds / 1e6:>6.1f} {run.seconds / ordered.seconds:>7.2f}"
                f" {memory:>25}"
            )
        print(
            f"{'':44} web process CPU {result.web_cpu_s:.2f} s;"
            f" API / unordered COPY {api.seconds / unordered.seconds:.2f}\n"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.small, args.repeat))
