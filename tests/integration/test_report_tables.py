"""Report tables: typed columns, the upsert's counts, periods, and the views users read."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from ga4sync.db import connect
from ga4sync.demo import SAMPLE_QUERY
from ga4sync.ga4.wire import parse_page
from ga4sync.migrate import migrate
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.store import report_tables
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import (
    PropertyGone,
    ReportTableConflict,
    ensure_report_tables,
    list_report_definitions,
    staged_dimensions,
    table_name,
    upsert_report_rows,
)

PAGES = ReportSpec("views", ("date", "pagePath"), ("screenPageViews", "bounceRate"))


async def _ensure(pool, *reports: ReportSpec):
    async with pool.acquire() as conn:
        return await ensure_report_tables(conn, [*BUILTIN_REPORTS, *reports])


async def test_counts_empty_values_and_types(pool):
    await _ensure(pool, PAGES)
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    rows = [
        ("20261120", "", "1\x1f0.5"),
        ("20261120", "/a", "7\x1f0.75"),
        ("20261121", "/a", "8\x1f1"),
    ]
    async with pool.acquire() as conn:
        first = await upsert_report_rows(conn, PAGES, ref, rows)
        again = await upsert_report_rows(conn, PAGES, ref, rows)
        changed = await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "9\x1f0.25")])
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 0)
    stored = await pool.fetch(
        "select property_id, date, page_path, screen_page_views, bounce_rate from ga4_views"
        " order by date, page_path"
    )
    assert [tuple(r) for r in stored] == [
        ("1", date(2026, 11, 20), "", 1, 0.5),
        ("1", date(2026, 11, 20), "/a", 9, 0.25),
        ("1", date(2026, 11, 21), "/a", 8, 1.0),
    ]
    types = await pool.fetch(
        "select column_name::text, data_type::text from information_schema.columns"
        " where table_name = 'ga4_views' order by ordinal_position"
    )
    assert [tuple(t) for t in types] == [
        ("property_id", "text"),
        ("date", "date"),
        ("page_path", "text"),
        ("screen_page_views", "bigint"),
        ("bounce_rate", "double precision"),
        ("synced_at", "timestamp with time zone"),
    ]


async def test_a_float_keeps_every_digit_ga4_sent(pool):
    await _ensure(pool, PAGES)
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "1\x1f0.123456789012345")])
    assert await pool.fetchval("select bounce_rate::text from ga4_views") == "0.123456789012345"


async def test_currency_and_custom_fields_are_exact(pool):
    spec = ReportSpec(
        "revenue",
        ("date", "customEvent:plan_type"),
        ("totalRevenue", "customEvent:credits"),
    )
    await _ensure(pool, spec)
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, spec, ref, [("20261120", "pro", "12.345678\x1f3")])
    row = await pool.fetchrow("select * from ga4_revenue")
    assert row["custom_event_plan_type"] == "pro"
    assert row["total_revenue"] == Decimal("12.345678")
    assert row["custom_event_credits"] == Decimal("3")


@pytest.mark.parametrize(
    ("grain", "dimension", "value", "first_day"),
    [
        ("day", "date", "20261201", date(2026, 12, 1)),
        ("week", "isoYearIsoWeek", "202649", date(2026, 11, 30)),
        ("week", "isoYearIsoWeek", "202101", date(2021, 1, 4)),
        ("week", "isoYearIsoWeek", "202053", date(2020, 12, 28)),
        ("month", "yearMonth", "202612", date(2026, 12, 1)),
    ],
)
async def test_rows_are_keyed_by_the_first_day_of_their_period(
    pool, grain, dimension, value, first_day
):
    spec = ReportSpec(f"users_{grain}", (dimension,), ("activeUsers",), grain=grain)
    await _ensure(pool, spec)
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, spec, ref, [(value, "", "5")])
    assert await pool.fetchval(f"select date from {spec.relation}") == first_day


async def test_several_dimensions(pool):
    spec = ReportSpec("sources", ("date", "sessionSource", "sessionMedium"), ("sessions",))
    await _ensure(pool, spec)
    ref = await upsert_property(pool, uuid.uuid4(), "2")
    rows = [("20261120", "google\x1fcpc", "3"), ("20261120", "google\x1forganic", "4")]
    async with pool.acquire() as conn:
        counts = await upsert_report_rows(conn, spec, ref, rows)
    assert counts.inserted == 2
    stored = await pool.fetch(
        "select session_source, session_medium, sessions from ga4_sources order by session_medium"
    )
    assert [tuple(r) for r in stored] == [("google", "cpc", 3), ("google", "organic", 4)]


@pytest.mark.parametrize(
    "values",
    [
        # Where the staging separator falls inside the values, and the values it
        # used to be replaced with.
        [["a\x1fb", "c"], ["a", "b\x1fc"], ["a b", "c"], ["a", "b c"], ["a", "b"]],
        [["\x1f", ""], ["", "\x1f"], ["", ""], ["\x1f\x1f", "\x1f"], [" ", ""]],
        [['["a"]', "\x1f"], ["\x1f\x1f[", '"a"]']],
    ],
)
async def test_dimension_values_holding_the_separator_never_merge_rows(pool, values):
    spec = ReportSpec("sources", ("date", "sessionSource", "sessionMedium"), ("sessions",))
    await _ensure(pool, spec)
    ref = await upsert_property(pool, uuid.uuid4(), "2")
    body = {
        "rows": [
            {
                "dimensionValues": [{"value": v} for v in ["20261120", *pair]],
                "metricValues": [{"value": str(n)}],
            }
            for n, pair in enumerate(values)
        ]
    }
    page = parse_page(json.dumps(body))
    assert len(page.rows) == len(values)
    async with pool.acquire() as conn:
        counts = await upsert_report_rows(conn, spec, ref, page.rows)
        again = await upsert_report_rows(conn, spec, ref, page.rows)
    assert (counts.inserted, again.unchanged) == (len(values), len(values))
    stored = await pool.fetch("select session_source, session_medium, sessions from ga4_sources")
    assert sorted(tuple(r) for r in stored) == sorted((*pair, n) for n, pair in enumerate(values))


async def test_one_dimension_holding_the_separator_is_kept_whole(pool):
    spec = ReportSpec("landing", ("date", "landingPage"), ("sessions",))
    await _ensure(pool, spec)
    ref = await upsert_property(pool, uuid.uuid4(), "2")
    values = ["/a\x1f/b", "/a /b", "\x1f", ""]
    body = {
        "rows": [
            {
                "dimensionValues": [{"value": "20261120"}, {"value": v}],
                "metricValues": [{"value": "1"}],
            }
            for v in values
        ]
    }
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, spec, ref, parse_page(json.dumps(body)).rows)
    stored = await pool.fetch("select landing_page from ga4_landing")
    assert sorted(r[0] for r in stored) == sorted(values)


async def test_a_property_two_users_connected_is_stored_once(pool):
    await _ensure(pool, PAGES)
    a = await upsert_property(pool, uuid.uuid4(), "3")
    b = await upsert_property(pool, uuid.uuid4(), "3")  # same GA4 property, second user
    other = await upsert_property(pool, uuid.uuid4(), "4")
    assert a == b != other
    async with pool.acquire() as conn:
        inserted = [
            await upsert_report_rows(conn, PAGES, ref, [("20261120", "/", "1\x1f0")])
            for ref in (a, b, other)
        ]
    assert [c.inserted for c in inserted] == [1, 0, 1]  # the second user's read changes nothing
    assert [c.unchanged for c in inserted] == [0, 1, 0]
    assert await pool.fetchval("select count(*) from ga4_views") == 2


async def test_making_the_tables_again_changes_nothing(pool):
    first = await _ensure(pool, PAGES)
    assert first.created == [PAGES.key] and first.views == ["ga4_views"]
    again = await _ensure(pool, PAGES)
    assert (again.created, again.views) == ([], [])


async def test_a_changed_definition_gets_a_table_of_its_own(pool):
    await _ensure(pool, PAGES)
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "7\x1f0.5")])
    changed = ReportSpec("views", ("date", "pagePath"), ("screenPageViews", "sessions"))
    assert changed.key != PAGES.key
    result = await _ensure(pool, changed)
    assert result.created == [changed.key] and result.views == ["ga4_views"]
    # The relation shows the new definition only: no row of the old one in it.
    assert await pool.fetchval("select count(*) from ga4_views") == 0
    columns = {
        r["column_name"]
        for r in await pool.fetch(
            "select column_name from information_schema.columns where table_name = 'ga4_views'"
        )
    }
    assert "sessions" in columns and "bounce_rate" not in columns
    # The old definition's rows stay in its own table, retired.
    assert await pool.fetchval(f"select count(*) from {table_name(PAGES.key)}") == 1
    stored = {d.key: d.retired_at for d in await list_report_definitions(pool)}
    assert stored[PAGES.key] is not None and stored[changed.key] is None
    # Changed back: the old table is current again, with its rows.
    back = await _ensure(pool, PAGES)
    assert back.created == [] and back.views == ["ga4_views"]
    assert await pool.fetchval("select screen_page_views from ga4_views") == 7


async def test_a_removed_report_keeps_its_rows_and_stops_being_current(pool):
    await _ensure(pool, PAGES)
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "7\x1f0.5")])
    await _ensure(pool)
    assert await pool.fetchval("select count(*) from ga4_views") == 1
    stored = {d.key: d.retired_at for d in await list_report_definitions(pool)}
    assert stored[PAGES.key] is not None


async def test_two_processes_making_the_tables_at_once_make_them_once(database_url):
    async def one() -> list[str]:
        async with connect(database_url) as conn:
            return (await ensure_report_tables(conn, [*BUILTIN_REPORTS, PAGES])).created

    created = await asyncio.gather(*(one() for _ in range(4)))
    assert sorted(key for keys in created for key in keys) == [PAGES.key]


async def test_a_relation_ga4sync_did_not_make_is_left_alone(pool):
    await pool.execute("create table ga4_views (x int)")
    with pytest.raises(ReportTableConflict, match="ga4_views exists and was not made by ga4sync"):
        await _ensure(pool, PAGES)
    assert await pool.fetchval("select to_regclass('ga4_views')::text") == "ga4_views"


async def test_the_views_give_a_role_of_its_own_nothing(pool):
    """A role granted everything in public (as Supabase grants its API roles)
    reads nothing through the views: its own rights apply to the tables behind them."""
    await _ensure(pool, PAGES)
    role = f"reader_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"create role {role}")
    try:
        await pool.execute(f"grant select on all tables in schema public to {role}")
        ref = await upsert_property(pool, uuid.uuid4(), "1")
        async with pool.acquire() as conn:
            await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "7\x1f0.5")])
            async with conn.transaction():
                await conn.execute(f"set local role {role}")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.fetch("select * from ga4_views")
    finally:
        await pool.execute(f"drop owned by {role}")
        await pool.execute(f"drop role {role}")


async def test_the_demo_query_reads_the_daily_totals(pool):
    ref = await upsert_property(pool, uuid.uuid4(), "1")
    spec = BUILTIN_REPORTS[0]
    values = "\x1f".join(["5"] * 7 + ["12.5", "0.25"])
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, spec, ref, [("20261120", "", values)])
    rows = await pool.fetch(SAMPLE_QUERY)
    assert [(r["date"], r["active_users"], r["sessions"]) for r in rows] == [
        (date(2026, 11, 20), 5, 5)
    ]


@pytest.mark.parametrize(("grain", "in_thread"), [("day", False), ("week", False), ("day", True)])
async def test_a_first_load_stores_exactly_what_the_upsert_stores(
    pool, grain, in_thread, monkeypatch
):
    # A large page is typed off the event loop: the same rows either way.
    monkeypatch.setattr(report_tables, "TYPE_IN_THREAD_ROWS", 1 if in_thread else 10**9)
    spec = ReportSpec(
        f"mixed_{grain}",
        ("date" if grain == "day" else "isoYearIsoWeek", "pagePath", "country"),
        ("sessions", "bounceRate", "purchaseRevenue", "customEvent:score"),
        grain=grain,
    )
    await _ensure(pool, spec)
    period = "20261120" if grain == "day" else "202647"
    # Plain values, empty ones, and values holding the staging separator (staged
    # as a JSON array: store/report_tables.py, staged_dimensions).
    raw = [
        ([period, "/a", "Germany"], "12\x1f0.5\x1f19.99\x1f3"),
        ([period, "", ""], "0\x1f0\x1f0\x1f0"),
        ([period, "/x\x1fy", "Côte d'Ivoire"], "7\x1f1e-05\x1f0.1\x1f2.5"),
    ]
    rows = [(values[0], staged_dimensions(values[1:]), vals) for values, vals in raw]
    first = await upsert_property(pool, uuid.uuid4(), "81")
    upserted = await upsert_property(pool, uuid.uuid4(), "82")
    async with pool.acquire() as conn:
        loaded = await upsert_report_rows(conn, spec, first, rows, first_load=True)
        await upsert_report_rows(conn, spec, upserted, rows)
    assert (loaded.inserted, loaded.updated) == (3, 0)
    stored = {}
    for ref in (first, upserted):
        stored[ref] = [
            {k: v for k, v in row.items() if k not in ("property_ref", "synced_at")}
            for row in await pool.fetch(
                f"select * from {table_name(spec.key)} where property_ref = $1"
                " order by dimension_key",
                ref,
            )
        ]
    assert stored[first] == stored[upserted] and len(stored[first]) == 3


async def test_deleting_a_property_deletes_its_rows_in_every_report_table(pool):
    await _ensure(pool, PAGES)
    gone = await upsert_property(pool, uuid.uuid4(), "91")
    kept = await upsert_property(pool, uuid.uuid4(), "92")
    totals = next(spec for spec in BUILTIN_REPORTS if spec.name == "daily_totals")
    totals_row = ("20261120", "", "\x1f".join("1" for _ in totals.metrics))
    async with pool.acquire() as conn:
        for ref in (gone, kept):
            await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "1\x1f0.5")])
            await upsert_report_rows(conn, totals, ref, [totals_row], first_load=True)
    # The rows hold no foreign key (its check cost a lookup a row), yet deleting
    # the property deletes them wherever they are.
    foreign_keys = await pool.fetchval(
        "select count(*) from pg_constraint where contype = 'f'"
        " and connamespace = 'ga4sync_reports'::regnamespace"
    )
    assert foreign_keys == 0
    await pool.execute("delete from ga4_properties where id = $1", gone)
    for spec in (PAGES, totals):
        refs = await pool.fetch(f"select distinct property_ref from {table_name(spec.key)}")
        assert [r["property_ref"] for r in refs] == [kept]


async def test_a_page_of_a_property_deleted_meanwhile_is_refused_not_orphaned(pool):
    await _ensure(pool, PAGES)
    ref = await upsert_property(pool, uuid.uuid4(), "93")
    await pool.execute("delete from ga4_properties where id = $1", ref)
    async with pool.acquire() as conn:
        for first_load in (False, True):
            with pytest.raises(PropertyGone):
                await upsert_report_rows(
                    conn, PAGES, ref, [("20261120", "/a", "1\x1f0.5")], first_load=first_load
                )
    assert await pool.fetchval(f"select count(*) from {table_name(PAGES.key)}") == 0


async def test_a_deletion_waits_for_the_page_being_written_and_takes_its_rows(pool):
    await _ensure(pool, PAGES)
    ref = await upsert_property(pool, uuid.uuid4(), "94")
    async with pool.acquire() as writer, pool.acquire() as deleter:
        async with writer.transaction():
            await upsert_report_rows(writer, PAGES, ref, [("20261120", "/a", "1\x1f0.5")])
            deletion = asyncio.create_task(
                deleter.execute("delete from ga4_properties where id = $1", ref)
            )
            await asyncio.sleep(0.3)
            assert not deletion.done()  # held by the page's lock on its property
        await deletion
    assert await pool.fetchval(f"select count(*) from {table_name(PAGES.key)}") == 0


async def test_an_upgrade_drops_the_row_by_row_foreign_keys_of_existing_report_tables(pool):
    await _ensure(pool, PAGES)
    table = table_name(PAGES.key)
    # A report table as made before migration 0024: a foreign key on its rows.
    await pool.execute(
        f"alter table {table} add foreign key (property_ref)"
        " references ga4_properties (id) on delete cascade"
    )
    await pool.execute("drop trigger ga4sync_forget_property_rows on ga4_properties")
    await pool.execute("drop function ga4sync_reports.forget_property_rows()")
    await pool.execute("delete from schema_migrations where version like '0024%'")
    async with pool.acquire() as conn:
        await migrate(conn, [*BUILTIN_REPORTS, PAGES])
    assert not await pool.fetchval(
        "select count(*) from pg_constraint where contype = 'f' and conrelid = $1::regclass",
        table,
    )
    ref = await upsert_property(pool, uuid.uuid4(), "95")
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, PAGES, ref, [("20261120", "/a", "1\x1f0.5")])
    await pool.execute("delete from ga4_properties where id = $1", ref)
    assert await pool.fetchval(f"select count(*) from {table}") == 0
