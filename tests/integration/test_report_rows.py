"""The bulk upsert on its own: counts, edge values, and what a re-run writes."""

from __future__ import annotations

import uuid

from ga4sync.store.properties import upsert_property
from ga4sync.store.report_rows import upsert_report_rows


async def test_counts_and_empty_values(pool):
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    rows = [("20261120", "", ""), ("20261120", "/a", "7"), ("20261121", "/a", "8")]
    async with pool.acquire() as conn:
        first = await upsert_report_rows(conn, ref, "r", ["pagePath"], ["views"], rows)
        again = await upsert_report_rows(conn, ref, "r", ["pagePath"], ["views"], rows)
        changed = await upsert_report_rows(
            conn, ref, "r", ["pagePath"], ["views"], [("20261120", "/a", "9")]
        )
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 0)
    stored = await pool.fetch(
        "select date::text, dimensions, metrics from ga4_report_rows order by 1, 2::text"
    )
    assert [(r["date"], r["dimensions"], r["metrics"]) for r in stored] == [
        ("2026-11-20", {"pagePath": ""}, {"views": ""}),
        ("2026-11-20", {"pagePath": "/a"}, {"views": "9"}),
        ("2026-11-21", {"pagePath": "/a"}, {"views": "8"}),
    ]


async def test_date_only_report_and_several_dimensions(pool):
    ref = await upsert_property(pool, uuid.uuid4(), "2")
    async with pool.acquire() as conn:
        totals = await upsert_report_rows(
            conn, ref, "totals", [], ["users", "sessions"], [("20261120", "", "5\x1f6")]
        )
        sources = await upsert_report_rows(
            conn,
            ref,
            "sources",
            ["source", "medium"],
            ["sessions"],
            [("20261120", "google\x1fcpc", "3"), ("20261120", "google\x1forganic", "4")],
        )
    assert totals.inserted == 1 and sources.inserted == 2
    stored = await pool.fetch(
        "select report, date::text, dimensions, metrics from ga4_report_rows"
        " order by report, dimensions->>'medium'"
    )
    assert [(r["report"], r["date"], r["dimensions"], r["metrics"]) for r in stored] == [
        ("sources", "2026-11-20", {"source": "google", "medium": "cpc"}, {"sessions": "3"}),
        ("sources", "2026-11-20", {"source": "google", "medium": "organic"}, {"sessions": "4"}),
        ("totals", "2026-11-20", {}, {"users": "5", "sessions": "6"}),
    ]


async def test_a_property_two_users_connected_is_stored_once(pool):
    a = await upsert_property(pool, uuid.uuid4(), "3")
    b = await upsert_property(pool, uuid.uuid4(), "3")  # same GA4 property, second user
    other = await upsert_property(pool, uuid.uuid4(), "4")
    assert a == b != other
    async with pool.acquire() as conn:
        inserted = [
            (await upsert_report_rows(conn, ref, "r", ["p"], ["v"], [("20261120", "/", "1")]))
            for ref in (a, b, other)
        ]
    assert [c.inserted for c in inserted] == [1, 0, 1]  # the second user's read changes nothing
    assert [c.unchanged for c in inserted] == [0, 1, 0]
    assert await pool.fetchval("select count(*) from ga4_report_rows") == 2
    assert await pool.fetchval("select count(*) from ga4_property_access") == 3
