"""Completing a read: rows GA4 no longer returned go, the dates are covered, the keys go."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ga4sync.queries import query
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.store.coverage import abandon_read, get_coverage
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import (
    AnswerDigests,
    ensure_report_tables,
    finish_read,
    report_sql,
    table_name,
)
from ga4sync.store.report_tables import upsert_report_rows as upsert

READ_AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
PAGES = ReportSpec("pages", ("date", "pagePath"), ("screenPageViews",))
OTHER = ReportSpec("other", ("date", "pagePath"), ("screenPageViews",))
SPECS = {"pages": PAGES, "other": OTHER}


@pytest.fixture(autouse=True)
async def _tables(pool):
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, [*BUILTIN_REPORTS[:2], PAGES, OTHER])


async def upsert_report_rows(conn, ref, report, dims, metrics, rows, read=None):
    return await upsert(conn, SPECS[report], ref, rows, read=read)


async def _stored(pool, ref: int) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        "select 'other' as report, date::text, page_path as page from ga4_other"
        " where property_id = $1 union all"
        " select 'pages', date::text, page_path from ga4_pages where property_id = $1"
        " order by 1, 2, 3",
        await pool.fetchval("select property_id from ga4_properties where id = $1", ref),
    )
    return [(r["report"], r["date"], r["page"]) for r in rows]


async def test_a_complete_read_deletes_what_it_did_not_see_in_its_dates_only(pool):
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    other_property = await upsert_property(pool, uuid.uuid4(), "2")
    dims, metrics = ["pagePath"], ["views"]
    async with pool.acquire() as conn:
        # What earlier syncs stored: some of it GA4 no longer returns.
        earlier = [
            ("20261118", "/a", "1"),
            ("20261118", "/gone", "1"),
            ("20261119", "/a", "1"),
            ("20261120", "/gone", "1"),  # a date of the read that comes back empty
            ("20261121", "/old", "1"),  # after the read's dates
        ]
        await upsert_report_rows(conn, ref, "pages", dims, metrics, earlier)
        await upsert_report_rows(conn, ref, "other", dims, metrics, [("20261118", "/x", "1")])
        await upsert_report_rows(
            conn, other_property, "pages", dims, metrics, [("20261118", "/gone", "1")]
        )
        # The read of 18..20, two pages (a row seen twice across them), and another read
        # of the same run still in progress.
        pages = [
            [("20261118", "/a", "2"), ("20261118", "/b", "2")],
            [("20261118", "/b", "2"), ("20261119", "/a", "2")],
        ]
        for page in pages:
            await upsert_report_rows(conn, ref, "pages", dims, metrics, page, read=(7, 1))
        await upsert_report_rows(
            conn, ref, "other", dims, metrics, [("20261119", "/y", "1")], read=(7, 2)
        )

    deleted = await finish_read(
        pool,
        PAGES,
        property_ref=ref,
        start_date=date(2026, 11, 18),
        end_date=date(2026, 11, 20),
        run_id=7,
        read_no=1,
        read_at=READ_AT,
    )

    assert deleted == 2
    assert await _stored(pool, ref) == [
        ("other", "2026-11-18", "/x"),
        ("other", "2026-11-19", "/y"),
        ("pages", "2026-11-18", "/a"),
        ("pages", "2026-11-18", "/b"),
        ("pages", "2026-11-19", "/a"),
        ("pages", "2026-11-21", "/old"),
    ]
    assert await _stored(pool, other_property) == [("pages", "2026-11-18", "/gone")]
    coverage = await pool.fetch(
        "select report, date::text, read_at, rows from ga4_coverage order by 1, 2"
    )
    assert [(r["report"], r["date"], r["read_at"], r["rows"]) for r in coverage] == [
        (PAGES.key, "2026-11-18", READ_AT, 2),
        (PAGES.key, "2026-11-19", READ_AT, 1),
        (PAGES.key, "2026-11-20", READ_AT, 0),
    ]
    keys = await pool.fetch("select run_id, read_no, count(*) from ga4_read_keys group by 1, 2")
    assert [tuple(k) for k in keys] == [(7, 2, 1)]  # the other read keeps its keys

    # Read again later: the dates' read_at and counts are replaced.
    later = READ_AT.replace(day=25)
    async with pool.acquire() as conn:
        await upsert_report_rows(
            conn, ref, "pages", dims, metrics, [("20261118", "/a", "3")], read=(8, 1)
        )
    assert (
        await finish_read(
            pool,
            PAGES,
            property_ref=ref,
            start_date=date(2026, 11, 18),
            end_date=date(2026, 11, 18),
            run_id=8,
            read_no=1,
            read_at=later,
        )
        == 1
    )
    assert (await get_coverage(pool, ref, date(2026, 11, 1)))[PAGES.key] == {
        date(2026, 11, 18): later,
        date(2026, 11, 19): READ_AT,
        date(2026, 11, 20): READ_AT,
    }
    assert await pool.fetchval("select rows from ga4_coverage where date = '2026-11-18'") == 1


async def test_an_abandoned_read_deletes_and_covers_nothing(pool):
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, ref, "pages", ["pagePath"], ["v"], [("20261118", "/a", "1")])
        await upsert_report_rows(
            conn, ref, "pages", ["pagePath"], ["v"], [("20261119", "/b", "1")], read=(3, 1)
        )
    await abandon_read(pool, 3, 1)
    assert len(await _stored(pool, ref)) == 2
    assert await pool.fetchval("select count(*) from ga4_coverage") == 0
    assert await pool.fetchval("select count(*) from ga4_read_keys") == 0


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _nodes(child))]


async def test_completing_a_read_scans_its_keys_once_whatever_the_statistics(pool):
    """A backfill writes a chunk's keys and completes it long before autovacuum has
    analyzed anything: the planner then takes the keys for a handful, and a plan
    that scans them once per stored row makes a chunk of 30,000 rows take minutes."""
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    rows = [(f"202611{day:02}", f"/p{n}", "1") for day in range(1, 31) for n in range(200)]
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, ref, "pages", ["pagePath"], ["v"], rows)
        await upsert_report_rows(conn, ref, "pages", ["pagePath"], ["v"], rows[100:], read=(5, 1))
        async with conn.transaction():  # as finish_read runs it
            await conn.execute(query("plan_without_nested_loops"))
            explained = await conn.fetchval(
                "explain (analyze, format json) " + report_sql(PAGES, "finish_read"),
                ref,
                date(2026, 11, 1),
                date(2026, 11, 30),
                5,
                1,
                READ_AT,
                PAGES.key,
                *AnswerDigests().arguments(),
                3,
                None,
            )
    nodes = _nodes(json.loads(explained)[0]["Plan"])
    over_keys = [
        node
        for node in nodes
        if node.get("Relation Name") == "ga4_read_keys" or node["Node Type"] == "CTE Scan"
    ]
    assert over_keys
    assert [node["Actual Loops"] for node in over_keys] == [1] * len(over_keys)
    # and it did its work: the 100 rows the read did not see are gone
    assert await pool.fetchval(f"select count(*) from {table_name(PAGES.key)}") == len(rows) - 100
    assert await pool.fetchval("select sum(rows) from ga4_coverage") == len(rows) - 100
