"""SUPABASE_EXPOSE_REPORTS on a plain Postgres playing Supabase.

The database is prepared as Supabase prepares one (tests/supabase.py), then
read as two different users and as anon.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from ga4sync.errors import ConfigError
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.store.access import remove_undiscovered_access
from ga4sync.store.connections import upsert_discovered_property
from ga4sync.store.exposure import check_exposure_supported
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import ensure_report_tables, upsert_report_rows
from tests.supabase import as_role, prepare_supabase

DAILY = BUILTIN_REPORTS[0]
ROW = "\x1f".join(["5"] * 7 + ["12.5", "0.25"])


@pytest.fixture
async def supabase(pool):
    async with pool.acquire() as conn:
        await prepare_supabase(conn)
    yield pool


async def _two_users_with_data(pool) -> tuple[uuid.UUID, uuid.UUID]:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    a = await upsert_property(pool, alice, "111")
    b = await upsert_property(pool, bob, "222")
    shared = await upsert_property(pool, alice, "333")
    await upsert_property(pool, bob, "333")
    async with pool.acquire() as conn:
        for ref in (a, b, shared):
            await upsert_report_rows(conn, DAILY, ref, [("20261120", "", ROW)])
    return alice, bob


async def _expose(pool, expose: bool) -> None:
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, BUILTIN_REPORTS, expose=expose)
        # as Supabase's default privileges do for every new relation in public
        await conn.execute("grant select on all tables in schema public to anon, authenticated")


async def test_each_user_reads_exactly_their_own_properties(supabase):
    pool = supabase
    alice, bob = await _two_users_with_data(pool)
    await _expose(pool, True)

    for user, expected in ((alice, ["111", "333"]), (bob, ["222", "333"])):
        async with as_role(pool, "authenticated", user) as conn:
            rows = await conn.fetch("select property_id, sessions from ga4_daily_totals order by 1")
            assert [r["property_id"] for r in rows] == expected
            assert all(r["sessions"] == 5 for r in rows)
            mine = await conn.fetch("select property_id from ga4_my_properties order by 1")
            assert [r["property_id"] for r in mine] == expected
            # tokens, runs and jobs: nothing
            for table in ("google_credentials", "ga4_property_runs", "ga4_sync_jobs"):
                assert await conn.fetchval(f"select count(*) from {table}") == 0, table
            # the access table itself is not theirs to read either
            assert await conn.fetchval("select count(*) from ga4_property_access") == 0
    # A signed-in user with no properties, and anon: nothing.
    async with as_role(pool, "authenticated", uuid.uuid4()) as conn:
        assert await conn.fetchval("select count(*) from ga4_daily_totals") == 0
    async with as_role(pool, "anon") as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("select * from ga4_daily_totals")
    async with as_role(pool, "anon") as conn:
        # granted by Supabase's defaults, and still empty: no policy lets anon in
        assert await conn.fetchval("select count(*) from ga4_my_properties") == 0
        assert await conn.fetchval("select count(*) from google_credentials") == 0


async def test_turning_it_off_revokes_what_it_granted(supabase):
    pool = supabase
    alice, _ = await _two_users_with_data(pool)
    await _expose(pool, True)
    await _expose(pool, True)  # idempotent
    await _expose(pool, False)
    async with as_role(pool, "authenticated", alice) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("select * from ga4_daily_totals")
    async with as_role(pool, "authenticated", alice) as conn:
        with pytest.raises(asyncpg.UndefinedTableError):
            await conn.fetch("select * from ga4_my_properties")
    policies = await pool.fetchval(
        "select count(*) from pg_policy where polname = 'ga4sync_user_reads'"
    )
    assert policies == 0
    assert await pool.fetchval("select to_regprocedure('ga4sync_reports.can_read(bigint)')") is None


async def test_a_new_report_is_exposed_when_its_table_is_made(supabase):
    from ga4sync.reports import ReportSpec

    pool = supabase
    alice, _ = await _two_users_with_data(pool)
    await _expose(pool, True)
    extra = ReportSpec("landing", ("date", "landingPage"), ("sessions",))
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, [*BUILTIN_REPORTS, extra], expose=True)
        ref = await conn.fetchval("select id from ga4_properties where property_id = '111'")
        await upsert_report_rows(conn, extra, ref, [("20261120", "/", "3")])
    async with as_role(pool, "authenticated", alice) as conn:
        assert await conn.fetchval("select sessions from ga4_landing") == 3


async def test_exposure_needs_supabase_and_postgres_15(pool):
    with pytest.raises(ConfigError, match=r"PostgreSQL 15 or later.*PostgreSQL 14"):
        check_exposure_supported(140011, has_authenticated=True, has_anon=True, has_auth_uid=True)
    with pytest.raises(ConfigError, match=r"lacks the function auth\.uid\(\)"):
        check_exposure_supported(150004, has_authenticated=True, has_anon=True, has_auth_uid=False)
    # A plain database (no auth schema here): refused, nothing half-done.
    async with pool.acquire() as conn:
        with pytest.raises(ConfigError, match="SUPABASE_EXPOSE_REPORTS is for Supabase"):
            await ensure_report_tables(conn, BUILTIN_REPORTS, expose=True)
    assert await pool.fetchval("select count(*) from pg_policy") == 0


async def test_access_lost_at_google_stops_the_reads_and_its_record_is_nobodys_to_read(
    supabase,
):
    pool = supabase
    alice, bob = await _two_users_with_data(pool)
    # Alice's access to the shared property came from discovery; Google stops listing it.
    await upsert_discovered_property(
        pool,
        alice,
        "333",
        display_name="Shared",
        time_zone="UTC",
        currency_code=None,
        enabled=True,
    )
    assert await remove_undiscovered_access(pool, alice, ["111"], "not listed") == ["333"]
    await _expose(pool, True)
    # Supabase's default privileges grant all on a new table in public to both roles.
    await pool.execute("grant all on ga4_property_access_lost to anon, authenticated")

    for user, expected in ((alice, ["111"]), (bob, ["222", "333"])):
        async with as_role(pool, "authenticated", user) as conn:
            mine = await conn.fetch("select property_id from ga4_my_properties order by 1")
            assert [r["property_id"] for r in mine] == expected
            rows = await conn.fetch("select property_id from ga4_daily_totals order by 1")
            assert [r["property_id"] for r in rows] == expected
            # granted, and still empty: row level security with no policy
            assert await conn.fetchval("select count(*) from ga4_property_access_lost") == 0
    async with as_role(pool, "anon") as conn:
        assert await conn.fetchval("select count(*) from ga4_property_access_lost") == 0
    async with as_role(pool, "authenticated", alice) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            await conn.execute(
                "insert into ga4_property_access_lost (user_id, property_ref, reason)"
                " select $1, id, 'x' from ga4_properties",
                alice,
            )
