"""Realtime relations: a typed table and view per [[realtime]] definition, each poll's
snapshot replacing the last in one transaction, and, with SUPABASE_EXPOSE_REPORTS,
each signed-in user reading their own properties' snapshots only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.reports.realtime import MinuteRange, RealtimeSpec
from ga4sync.store.properties import upsert_property
from ga4sync.store.realtime import (
    claim_realtime_polls,
    forget_unpolled,
    list_realtime_definitions,
    store_snapshot,
)
from ga4sync.store.report_tables import ReportTableConflict, ensure_report_tables, table_name
from tests.supabase import as_role, prepare_supabase

NOW = RealtimeSpec("active_users", (), ("activeUsers",))
BY_COUNTRY = RealtimeSpec(
    "by_country", ("country",), ("activeUsers", "keyEvents"), history_minutes=3
)
T0 = datetime(2026, 11, 21, 6, 0, 5, tzinfo=UTC)
ON = "update ga4_property_access set realtime = true where property_ref = $1"


async def _ensure(pool, realtime, *, expose: bool = False) -> None:
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, BUILTIN_REPORTS, expose=expose, realtime=realtime)


async def _snapshot(pool, spec, ref, at, rows) -> bool:
    await claim_realtime_polls(pool, at, [(ref, spec.name, spec.every_minutes)])
    async with pool.acquire() as conn:
        return await store_snapshot(conn, spec, ref, at, rows)


async def test_a_definition_gets_a_typed_table_and_view(pool):
    await _ensure(pool, [NOW, BY_COUNTRY])
    columns = await pool.fetch(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'public' and table_name = 'ga4_realtime_by_country'"
        " order by ordinal_position"
    )
    assert [(c["column_name"], c["data_type"]) for c in columns] == [
        ("property_id", "text"),
        ("captured_at", "timestamp with time zone"),
        ("country", "text"),
        ("active_users", "bigint"),
        ("key_events", "double precision"),
    ]
    stored = {d.name: d.key for d in await list_realtime_definitions(pool)}
    assert stored == {"active_users": NOW.key, "by_country": BY_COUNTRY.key}
    # idempotent, and safe with two processes starting at once
    await asyncio.gather(_ensure(pool, [NOW, BY_COUNTRY]), _ensure(pool, [NOW, BY_COUNTRY]))
    # leaving realtime out (None) leaves its tables alone
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, BUILTIN_REPORTS)
    assert await pool.fetchval("select to_regclass('public.ga4_realtime_by_country')") is not None


async def test_a_changed_definition_replaces_its_table_and_a_removed_one_goes(pool):
    user = uuid.uuid4()
    ref = await upsert_property(pool, user, "5100")
    await _ensure(pool, [BY_COUNTRY])
    await _snapshot(pool, BY_COUNTRY, ref, T0, [["Japan", "3", "1"]])
    changed = RealtimeSpec("by_country", ("country", "city"), ("activeUsers",))
    await _ensure(pool, [changed])
    assert await pool.fetchval(f"select to_regclass('{table_name(BY_COUNTRY.key)}')") is None
    assert await pool.fetchval("select count(*) from ga4_realtime_by_country") == 0
    assert await pool.fetchval("select count(*) from ga4_realtime_polls") == 0
    view_columns = await pool.fetch(
        "select column_name from information_schema.columns"
        " where table_schema = 'public' and table_name = 'ga4_realtime_by_country'"
    )
    assert "city" in {c["column_name"] for c in view_columns}
    await _ensure(pool, [])
    assert await pool.fetchval("select to_regclass('public.ga4_realtime_by_country')") is None
    assert await list_realtime_definitions(pool) == []


async def test_a_relation_of_the_name_that_is_not_ours_is_a_conflict(pool):
    await pool.execute("create table public.ga4_realtime_active_users (x int)")
    with pytest.raises(ReportTableConflict, match="ga4_realtime_active_users exists"):
        await _ensure(pool, [NOW])


async def test_each_poll_replaces_the_snapshot_or_keeps_history_minutes_of_them(pool):
    user = uuid.uuid4()
    ref = await upsert_property(pool, user, "5101")
    other = await upsert_property(pool, user, "5102")
    await _ensure(pool, [NOW, BY_COUNTRY])
    await _snapshot(pool, NOW, other, T0, [["7"]])
    for minute in range(5):
        at = T0 + timedelta(minutes=minute, seconds=minute * 7)  # polls take seconds
        assert await _snapshot(pool, NOW, ref, at, [[str(10 + minute)]])
        assert await _snapshot(
            pool, BY_COUNTRY, ref, at, [["Japan", str(minute), "1"], ["Peru", "1", "0"]]
        )
    # the latest only
    rows = await pool.fetch(
        "select property_id, captured_at, active_users from ga4_realtime_active_users"
        " order by property_id"
    )
    assert [(r["property_id"], r["active_users"]) for r in rows] == [("5101", 14), ("5102", 7)]
    # history_minutes = 3: the snapshots of the last three minutes
    kept = await pool.fetch(
        "select captured_at, count(*) as n from ga4_realtime_by_country group by 1 order by 1"
    )
    assert [r["n"] for r in kept] == [2, 2, 2]
    assert kept[-1]["captured_at"] == T0 + timedelta(minutes=4, seconds=28)
    # a snapshot older than the one stored comes too late: dropped
    assert not await _snapshot(pool, NOW, ref, T0, [["99"]])
    assert (
        await pool.fetchval(
            "select active_users from ga4_realtime_active_users where property_id = '5101'"
        )
        == 14
    )
    # an empty answer is a snapshot too: nobody active
    assert await _snapshot(pool, NOW, ref, T0 + timedelta(minutes=6), [])
    assert (
        await pool.fetchval(
            "select count(*) from ga4_realtime_active_users where property_id = '5101'"
        )
        == 0
    )


async def test_two_minute_ranges_keep_the_range_of_each_row(pool):
    ranged = RealtimeSpec(
        "ranged",
        ("deviceCategory",),
        ("activeUsers",),
        minute_ranges=(MinuteRange(4, 0, "last_5"), MinuteRange(29, 5, "before")),
    )
    ref = await upsert_property(pool, uuid.uuid4(), "5103")
    await _ensure(pool, [ranged])
    # GA4 answers dateRange after the dimensions
    await _snapshot(pool, ranged, ref, T0, [["mobile", "last_5", "2"], ["mobile", "before", "5"]])
    rows = await pool.fetch(
        "select minute_range, device_category, active_users from ga4_realtime_ranged order by 1"
    )
    assert [tuple(r) for r in rows] == [("before", "mobile", 5), ("last_5", "mobile", 2)]


async def test_deleting_a_property_or_turning_its_realtime_off_deletes_its_snapshots(pool):
    user = uuid.uuid4()
    ref = await upsert_property(pool, user, "5104")
    await pool.execute(
        "update ga4_property_access set realtime = true where property_ref = $1", ref
    )
    await _ensure(pool, [NOW])
    await _snapshot(pool, NOW, ref, T0, [["4"]])
    assert await forget_unpolled(pool) == 0
    await pool.execute("update ga4_property_access set realtime = false")
    assert await forget_unpolled(pool) == 1
    assert await pool.fetchval("select count(*) from ga4_realtime_active_users") == 0
    await pool.execute(
        "update ga4_property_access set realtime = true where property_ref = $1", ref
    )
    await _snapshot(pool, NOW, ref, T0 + timedelta(minutes=1), [["4"]])
    await pool.execute("delete from ga4_properties where id = $1", ref)
    assert await pool.fetchval(f"select count(*) from {table_name(NOW.key)}") == 0


# -- SUPABASE_EXPOSE_REPORTS ------------------------------------------------------------


@pytest.fixture
async def supabase(pool):
    async with pool.acquire() as conn:
        await prepare_supabase(conn)
    yield pool


async def test_each_signed_in_user_reads_their_own_properties_realtime_only(supabase):
    pool = supabase
    alice, bob = uuid.uuid4(), uuid.uuid4()
    a = await upsert_property(pool, alice, "6101")
    b = await upsert_property(pool, bob, "6102")
    await _ensure(pool, [NOW, BY_COUNTRY], expose=True)
    # as Supabase's default privileges do for every new relation in public
    await pool.execute("grant select on all tables in schema public to anon, authenticated")
    for ref, users in ((a, "3"), (b, "8")):
        await _snapshot(pool, NOW, ref, T0, [[users]])
        await _snapshot(pool, BY_COUNTRY, ref, T0, [["Chile", users, "0"]])

    async with as_role(pool, "authenticated", alice) as conn:
        rows = await conn.fetch("select property_id, active_users from ga4_realtime_active_users")
        assert [tuple(r) for r in rows] == [("6101", 3)]
        rows = await conn.fetch("select property_id from ga4_realtime_by_country")
        assert [r["property_id"] for r in rows] == ["6101"]
        # the table behind the view: row level security, the same rows
        table = table_name(NOW.key)
        assert await conn.fetchval(f"select count(*) from {table}") == 1
        # polls and quota are nobody's to read
        for hidden in ("ga4_realtime_polls", "ga4_realtime_quota", "ga4_realtime_definitions"):
            assert await conn.fetchval(f"select count(*) from {hidden}") == 0, hidden
    async with as_role(pool, "authenticated", bob) as conn:
        assert await conn.fetchval("select active_users from ga4_realtime_active_users") == 8
    async with as_role(pool, "authenticated", uuid.uuid4()) as conn:
        assert await conn.fetchval("select count(*) from ga4_realtime_active_users") == 0
    async with as_role(pool, "anon") as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("select * from ga4_realtime_active_users")
    async with as_role(pool, "anon") as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"select * from {table_name(NOW.key)}")

    # turned off: nothing for anyone
    await _ensure(pool, [NOW, BY_COUNTRY], expose=False)
    async with as_role(pool, "authenticated", alice) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("select * from ga4_realtime_active_users")
