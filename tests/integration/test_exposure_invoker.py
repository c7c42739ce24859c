"""SUPABASE_EXPOSE_REPORTS grants a view only once it runs with its reader's rights.

A view without ``security_invoker`` runs with its owner's rights, and the owner
bypasses row level security: granted to ``authenticated``, it would show every
tenant's rows. Such a view (made before PostgreSQL 15 and carried over by an
upgrade, or by hand) is fixed when exposure runs; when it cannot be fixed,
exposure refuses with a clear message and grants nothing.
"""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

import pytest

from ga4sync.errors import ConfigError
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import ensure_report_tables, upsert_report_rows
from tests.supabase import prepare_supabase

DAILY = BUILTIN_REPORTS[0]
VIEW = f"public.{DAILY.relation}"
ROW = "\x1f".join(["5"] * 7 + ["12.5", "0.25"])


@pytest.fixture
async def supabase(pool):
    async with pool.acquire() as conn:
        await prepare_supabase(conn)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    for user, property_id in ((alice, "111"), (bob, "222")):
        ref = await upsert_property(pool, user, property_id)
        async with pool.acquire() as conn:
            await upsert_report_rows(conn, DAILY, ref, [("20261120", "", ROW)])
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, BUILTIN_REPORTS)  # views made, nothing granted
    return pool, alice


@asynccontextmanager
async def as_user(pool, user: uuid.UUID):
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("set local role authenticated")
        await conn.execute("select set_config('request.jwt.claim.sub', $1, true)", str(user))
        yield conn


async def expose(pool) -> None:
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, BUILTIN_REPORTS, expose=True)


async def is_invoker(pool, view: str) -> bool:
    options = await pool.fetchval("select reloptions from pg_class where oid = $1::regclass", view)
    return "security_invoker=true" in (options or [])


async def nothing_granted(pool) -> bool:
    granted = await pool.fetchval(
        "select has_table_privilege('authenticated', $1, 'select')"
        " or has_table_privilege('authenticated', 'public.ga4_properties', 'select')"
        " or exists (select 1 from pg_policy where polname = 'ga4sync_user_reads')",
        VIEW,
    )
    return not granted


async def test_a_view_without_security_invoker_is_fixed_before_it_is_granted(supabase):
    pool, alice = supabase
    # As a view made on PostgreSQL 14 and kept by pg_upgrade: the owner's rights apply.
    await pool.execute(f"alter view {VIEW} reset (security_invoker)")
    assert not await is_invoker(pool, VIEW)
    await expose(pool)
    assert await is_invoker(pool, VIEW)
    async with as_user(pool, alice) as conn:
        rows = await conn.fetch(f"select property_id from {VIEW}")
    assert [r["property_id"] for r in rows] == ["111"]  # never Bob's 222


async def test_my_properties_turned_into_an_owner_view_by_hand_is_fixed(supabase):
    pool, alice = supabase
    await expose(pool)
    await pool.execute("alter view public.ga4_my_properties set (security_invoker = off)")
    await expose(pool)  # every process start comes here
    assert await is_invoker(pool, "public.ga4_my_properties")
    async with as_user(pool, alice) as conn:
        mine = await conn.fetch("select property_id from ga4_my_properties")
    assert [r["property_id"] for r in mine] == ["111"]


async def test_a_view_that_cannot_be_made_security_invoker_is_refused(supabase):
    pool, _ = supabase
    await pool.execute(f"alter view {VIEW} reset (security_invoker)")
    # Something on the server refuses the change (as when ga4sync's role does not own
    # the view: only an owner may alter it).
    await pool.execute(
        """create function refuse_view_changes() returns event_trigger language plpgsql as $$
           begin raise exception 'must be owner of view ga4_daily_totals'; end $$;
           create event trigger refuse_view_changes on ddl_command_start
               when tag in ('ALTER VIEW') execute function refuse_view_changes();"""
    )
    try:
        with pytest.raises(ConfigError, match="must be security_invoker") as refused:
            await expose(pool)
        message = str(refused.value)
        assert DAILY.relation in message and "Nothing was granted" in message
        assert "must be owner" in message
    finally:
        await pool.execute("drop event trigger refuse_view_changes")
    assert await nothing_granted(pool)
    assert not await is_invoker(pool, VIEW)


async def test_a_view_that_does_not_keep_security_invoker_is_refused(supabase):
    pool, _ = supabase
    await pool.execute(f"alter view {VIEW} reset (security_invoker)")
    # The change is accepted, then undone behind ga4sync's back: only reading
    # pg_class afterwards tells.
    await pool.execute(
        """create function undo_view_options() returns event_trigger language plpgsql as $$
           begin
               update pg_class set reloptions = null
               where oid in (select objid from pg_event_trigger_ddl_commands())
                 and relkind = 'v';
           end $$;
           create event trigger undo_view_options on ddl_command_end
               when tag in ('ALTER VIEW') execute function undo_view_options();"""
    )
    try:
        with pytest.raises(ConfigError, match=r"pg_class\.reloptions does not show it"):
            await expose(pool)
    finally:
        await pool.execute("drop event trigger undo_view_options")
    assert await nothing_granted(pool)
