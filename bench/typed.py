"""Typed report tables against the JSON rows they replaced, measured in one run.

    python -m bench.typed [--rows 1000000] [--repeat 5]

1. Storing the peer report (101,580 rows: date x pagePath, five metrics, in
   pages of 25,000 as a sync stores them): the upsert into the report's typed
   table against the upsert into JSON rows (``ga4_report_rows``, the layout
   before; its SQL is ``bench/sql/json_rows.sql``), first load and unchanged
   re-run, wall time and the client's CPU. Both are fed the same staged pages
   through the same COPY; only the SQL differs.
2. Reading: ``sum()`` of an integer metric over ``--rows`` stored rows, through
   the ``ga4_<report>`` view against ``sum((metrics->>'…')::bigint)`` over the
   JSON rows, median of ``--repeat`` runs each after a warm-up.

Ratios are typed / JSON: below 1 is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from bench.common import scratch_database, server_url
from ga4sync.db import open_pool
from ga4sync.queries import parse_queries, query
from ga4sync.reports import ReportSpec
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import SEPARATOR, StagedRow, table_name, upsert_report_rows

REPORT = ReportSpec(
    "bench_pages",
    ("date", "pagePath"),
    ("screenPageViews", "activeUsers", "userEngagementDuration", "eventCount", "sessions"),
)
PAGE_ROWS = 25_000
JSON_UPSERT = parse_queries(
    (Path(__file__).parent / "sql" / "json_rows.sql").read_text(encoding="utf-8"),
    source="json_rows.sql",
)["upsert_json_rows"]


def peer_pages(days: int = 3, pages_per_day: int = 33_860) -> list[list[StagedRow]]:
    """The peer report's rows as a sync stages them, cut into pages."""
    rows = [
        (
            f"202611{20 + d:02}",
            f"/p/{n}",
            SEPARATOR.join((str(n % 97), str(n % 13), f"{n % 7}.{n % 1000:03}", str(n), "1")),
        )
        for d in range(days)
        for n in range(pages_per_day)
    ]
    return [rows[i : i + PAGE_ROWS] for i in range(0, len(rows), PAGE_ROWS)]


async def store_typed(pool: asyncpg.Pool, ref: int, pages: list[list[StagedRow]]) -> int:
    written = 0
    async with pool.acquire() as conn:
        for page in pages:
            counts = await upsert_report_rows(conn, REPORT, ref, page)
            written += counts.inserted + counts.updated
    return written


async def store_json(pool: asyncpg.Pool, ref: int, pages: list[list[StagedRow]]) -> int:
    written = 0
    dimensions, metrics = list(REPORT.key_dimensions), list(REPORT.metrics)
    async with pool.acquire() as conn:
        for page in pages:
            async with conn.transaction():
                await conn.execute(query("create_report_rows_staging"))
                await conn.copy_records_to_table("ga4_report_rows_staging", records=page)
                row = await conn.fetchrow(
                    JSON_UPSERT, ref, REPORT.name, dimensions, metrics, None, None
                )
            written += row["inserted"] + row["updated"]
    return written


async def timed(run: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    written = await run()
    return time.perf_counter() - wall, time.process_time() - cpu, written


async def fill(pool: asyncpg.Pool, ref: int, rows: int) -> None:
    """``rows`` rows in both layouts, made by the server (the read is what is measured)."""
    days = 100
    per_day = rows // days
    await pool.execute(
        f"""insert into {table_name(REPORT.key)}
            (property_ref, date, dimension_key, page_path, screen_page_views, active_users,
             user_engagement_duration, event_count, sessions)
            select $1, date '2026-01-01' + d, md5(d || '/' || n)::uuid, '/p/' || n,
                   n % 97, n % 13, (n % 7) + 0.5, n, 1
            from generate_series(0, {days - 1}) d, generate_series(1, {per_day}) n""",
        ref,
    )
    await pool.execute(
        f"""insert into ga4_report_rows (property_ref, report, date, dimension_key, dimensions,
                                      metrics)
            select $1, 'bench_sum', date '2026-01-01' + d, md5(d || '/' || n)::uuid,
                   jsonb_build_object('pagePath', '/p/' || n),
                   jsonb_build_object('screenPageViews', (n % 97)::text,
                                      'activeUsers', (n % 13)::text,
                                      'userEngagementDuration', ((n % 7) + 0.5)::text,
                                      'eventCount', n::text, 'sessions', '1')
            from generate_series(0, {days - 1}) d, generate_series(1, {per_day}) n""",
        ref,
    )
    await pool.execute(f"vacuum analyze {table_name(REPORT.key)}")
    await pool.execute("vacuum analyze ga4_report_rows")


async def median_s(pool: asyncpg.Pool, sql: str, repeat: int) -> tuple[float, int]:
    value = await pool.fetchval(sql)  # warm-up: the same pages cached for both
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = await pool.fetchval(sql)
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


async def main(rows: int, repeat: int) -> None:
    with server_url() as server:
        async with scratch_database(server, [REPORT]) as db_url, open_pool(db_url) as pool:
            pages = peer_pages()
            count = sum(len(p) for p in pages)
            typed_ref = await upsert_property(pool, uuid.uuid4(), "1")
            json_ref = await upsert_property(pool, uuid.uuid4(), "2")
            print(f"\n1. storing {count:,} rows in {len(pages)} pages (typed / JSON rows)\n")
            print(f"{'run':18} {'layout':6} {'wall s':>7} {'client CPU s':>13} {'written':>9}")
            for label in ("first load", "unchanged re-run"):
                typed = await timed(lambda: store_typed(pool, typed_ref, pages))
                legacy = await timed(lambda: store_json(pool, json_ref, pages))
                for name, (wall, cpu, written) in (("typed", typed), ("JSON", legacy)):
                    print(f"{label:18} {name:6} {wall:7.2f} {cpu:13.2f} {written:9,}")
                print(f"{'':18} ratio  {typed[0] / legacy[0]:7.2f} {typed[1] / legacy[1]:13.2f}")
            await pool.execute(f"truncate {table_name(REPORT.key)}, ga4_report_rows")
            await fill(pool, typed_ref, rows)
            typed_s, typed_sum = await median_s(
                pool, f"select sum(screen_page_views) from {REPORT.relation}", repeat
            )
            json_s, json_sum = await median_s(
                pool,
                "select sum((metrics->>'screenPageViews')::bigint) from ga4_report_rows",
                repeat,
            )
            assert typed_sum == json_sum, (typed_sum, json_sum)
            print(f"\n2. sum() of an integer metric over {rows:,} rows (median of {repeat})\n")
            print(f"typed column through {REPORT.relation}   {typed_s * 1000:8.1f} ms")
            print(f"(metrics->>'screenPageViews')::bigint  {json_s * 1000:8.1f} ms")
            print(f"ratio typed / JSON                     {typed_s / json_s:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.repeat))
