"""Ingestion benchmark: one large report from the fake Google into Postgres.

    python -m bench.ingest            # uses TEST_DATABASE_URL/DATABASE_URL, else embedded

The report is date x pagePath with five metrics over 3 days: 101,580 rows, two
pages. The fake runs in its own process so only the client's CPU is counted.
Every figure is also given as a ratio to the baseline measured in the same run:
a minimal pipeline (aiohttp + json.loads + plain COPY, no upsert, no bookkeeping).
``--library`` adds Google's client library with proto-plus parsing and an
``executemany`` upsert (slow: about 15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
from cryptography.fernet import Fernet

from bench.common import fake_google_process, scratch_database, server_url
from ga4sync.crypto import TokenCipher
from ga4sync.db import open_pool
from ga4sync.ga4.api import COMPACT_ANSWERS
from ga4sync.ga4.wire import build_request
from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.properties import list_properties_to_sync
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.ingest import open_ingestion, sync_property

CARDINALITY = 33_860  # pagePath values per day: 3 days -> 101,580 rows
REPORT = ReportSpec(
    "bench_pages",
    ("date", "pagePath"),
    ("screenPageViews", "activeUsers", "userEngagementDuration", "eventCount", "sessions"),
)
PROPERTY_ID = "424242"
TIME_ZONE = "America/Los_Angeles"


@dataclass
class Figure:
    name: str
    rows: int
    wall_s: float
    cpu_s: float
    written: int | None = None


async def timed(name: str, run: Callable[[], Awaitable[tuple[int, int | None]]]) -> Figure:
    wall, cpu = time.perf_counter(), time.process_time()
    rows, written = await run()
    return Figure(name, rows, time.perf_counter() - wall, time.process_time() - cpu, written)


def report_window() -> tuple[date, date]:
    """The three days the benchmark reads: today and the two before it, in the
    property's time zone (a sync with a lookback of one day reads exactly these)."""
    today = datetime.now(UTC).astimezone(ZoneInfo(TIME_ZONE)).date()
    return today - timedelta(days=2), today


async def access_token(session: aiohttp.ClientSession, base_url: str) -> str:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "rt-bench",
        "client_id": "bench",
        "client_secret": "bench",
    }
    async with session.post(f"{base_url}/token", data=form) as response:
        return str((await response.json())["access_token"])


async def baseline(base_url: str, db_url: str) -> tuple[int, int | None]:
    """aiohttp + json.loads + COPY into a plain table: the floor for this work."""
    start, end = report_window()
    body = build_request(PROPERTY_ID, REPORT, start, end, page_size=100_000)
    conn = await asyncpg.connect(db_url)
    await conn.execute(
        "create table bench_raw (day text, page text, m1 text, m2 text, m3 text, m4 text, m5 text)"
    )
    rows = 0
    async with aiohttp.ClientSession() as session:
        token = await access_token(session, base_url)
        offset = 0
        while True:
            body["offset"] = str(offset)
            async with session.post(
                f"{base_url}/v1beta/properties/{PROPERTY_ID}:runReport",
                params=COMPACT_ANSWERS,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                data = json.loads(await response.read())
            records = [
                (
                    *(d["value"] for d in r["dimensionValues"]),
                    *(m["value"] for m in r["metricValues"]),
                )
                for r in data.get("rows", ())
            ]
            await conn.copy_records_to_table("bench_raw", records=records)
            rows += len(records)
            offset += len(records)
            if not records or offset >= data.get("rowCount", 0):
                break
    await conn.close()
    return rows, rows


async def ga4sync_run(base_url: str, db_url: str, settings: Settings) -> tuple[int, int | None]:
    async with open_pool(db_url) as pool, open_ingestion(pool, settings) as ingestion:
        # Every run reads the same three days: forget which dates are settled.
        await pool.execute("truncate ga4_coverage")
        (prop,) = await list_properties_to_sync(pool, property_id=PROPERTY_ID)
        result = await sync_property(ingestion, prop, reports=[REPORT], history_chunks=0)
    assert result.status == "success", result.error
    return result.rows_fetched, result.rows_written


def library_run(base_url: str, db_url: str, token: str) -> tuple[int, int | None]:
    """Google's client library (REST, proto-plus) + psycopg executemany upsert."""
    import google.oauth2.credentials
    import psycopg
    from google.analytics.data_v1beta import BetaAnalyticsDataClient
    from google.analytics.data_v1beta.types import (
        DateRange,
        Dimension,
        Metric,
        OrderBy,
        RunReportRequest,
    )

    client = BetaAnalyticsDataClient(
        transport="rest",
        client_options={"api_endpoint": base_url},
        credentials=google.oauth2.credentials.Credentials(token=token),
    )
    start, end = report_window()
    rows = 0
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "create table bench_lib (day text, page text, metrics jsonb, primary key (day, page))"
        )
        offset = 0
        while True:
            response = client.run_report(
                RunReportRequest(
                    property=f"properties/{PROPERTY_ID}",
                    dimensions=[Dimension(name=d) for d in REPORT.dimensions],
                    metrics=[Metric(name=m) for m in REPORT.metrics],
                    date_ranges=[DateRange(start_date=start.isoformat(), end_date=end.isoformat())],
                    order_bys=[
                        OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=d))
                        for d in REPORT.dimensions
                    ],
                    limit=100_000,
                    offset=offset,
                )
            )
            records = [
                (
                    row.dimension_values[0].value,
                    row.dimension_values[1].value,
                    json.dumps(
                        {
                            h.name: v.value
                            for h, v in zip(response.metric_headers, row.metric_values, strict=True)
                        }
                    ),
                )
                for row in response.rows
            ]
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into bench_lib values (%s, %s, %s) on conflict (day, page)"
                    " do update set metrics = excluded.metrics",
                    records,
                )
            conn.commit()
            rows += len(records)
            offset += len(records)
            if not records or offset >= response.row_count:
                break
    return rows, rows


async def main(with_library: bool, page_size: int) -> None:
    with server_url() as server:
        async with (
            scratch_database(server, [REPORT]) as db_url,
            fake_google_process(cardinality=CARDINALITY) as base_url,
        ):
            key = Fernet.generate_key().decode()
            settings = Settings(
                database_url=db_url,
                token_encryption_key=key,
                google_client_id="bench",
                google_client_secret="bench",
                google_token_uri=f"{base_url}/token",
                ga4_api_base_url=base_url,
                ga4_page_size=page_size,
                sync_lookback_days=1,
                sync_backfill_days=0,
            )
            async with open_pool(db_url) as pool:
                user = uuid.uuid4()
                await store_google_grant(pool, TokenCipher(key), user, "rt-bench")
                await connect_property(pool, user, PROPERTY_ID, time_zone=TIME_ZONE)
            # Warm the fake's column cache so no path pays for it.
            await baseline(base_url, db_url)
            conn = await asyncpg.connect(db_url)
            await conn.execute("drop table bench_raw")
            await conn.close()
            figures = [
                await timed("baseline: aiohttp+json+COPY", lambda: baseline(base_url, db_url))
            ]
            figures.append(
                await timed("ga4sync first load", lambda: ga4sync_run(base_url, db_url, settings))
            )
            figures.append(
                await timed(
                    "ga4sync unchanged re-run", lambda: ga4sync_run(base_url, db_url, settings)
                )
            )
            if with_library:
                async with aiohttp.ClientSession() as session:
                    token = await access_token(session, base_url)
                figures.append(
                    await timed(
                        "library+proto-plus+executemany",
                        lambda: asyncio.to_thread(library_run, base_url, db_url, token),
                    )
                )
    base = figures[0]
    print(
        f"\none report, {base.rows:,} rows; baseline pages of 100,000, ga4sync pages of "
        f"{page_size:,}; ratios are to the baseline of this run\n"
    )
    print(
        f"{'path':34} {'rows':>8} {'written':>8} {'wall s':>7} {'x base':>7} "
        f"{'client CPU s':>12} {'x base':>7} {'rows/s':>9}"
    )
    for f in figures:
        print(
            f"{f.name:34} {f.rows:>8,} {f.written or 0:>8,} {f.wall_s:>7.2f} "
            f"{f.wall_s / base.wall_s:>7.2f} {f.cpu_s:>12.2f} {f.cpu_s / base.cpu_s:>7.2f} "
            f"{f.rows / f.wall_s:>9,.0f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", action="store_true", help="also time Google's client library")
    parser.add_argument(
        "--page-size", type=int, default=Settings().ga4_page_size, help="ga4sync's GA4_PAGE_SIZE"
    )
    args = parser.parse_args()
    asyncio.run(main(args.library, args.page_size))
