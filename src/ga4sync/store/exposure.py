"""Supabase exposure of the report relations (``SUPABASE_EXPOSE_REPORTS``).

Off (the default), Supabase's API roles read nothing of ga4sync's: its tables
have row level security with no policy, and the report views are
``security_invoker`` over tables in a schema those roles cannot use. On, a
signed-in user (role ``authenticated``) reads the ``ga4_<report>`` views and
``ga4_my_properties`` for exactly the properties they can access
(``auth.uid()`` in ``ga4_property_access``), through row level security on the
tables behind them. ``anon`` still reads nothing; tokens, runs and jobs stay
invisible to both. Turning it off again revokes all of it.
"""

from __future__ import annotations

import logging

import asyncpg

from ga4sync.errors import ConfigError
from ga4sync.queries import query

logger = logging.getLogger(__name__)

MIN_SERVER_VERSION = 150000  # security_invoker views


def check_exposure_supported(
    server_version: int, *, has_authenticated: bool, has_anon: bool, has_auth_uid: bool
) -> None:
    """Raise ``ConfigError`` naming what exposure lacks on this server."""
    if server_version < MIN_SERVER_VERSION:
        major = server_version // 10000
        raise ConfigError(
            f"SUPABASE_EXPOSE_REPORTS needs PostgreSQL 15 or later (security_invoker views,"
            f" so that each reader's own rights apply); this server is PostgreSQL {major}"
        )
    missing = [
        name
        for name, present in (
            ("the role authenticated", has_authenticated),
            ("the role anon", has_anon),
            ("the function auth.uid()", has_auth_uid),
        )
        if not present
    ]
    if missing:
        raise ConfigError(
            f"SUPABASE_EXPOSE_REPORTS is for Supabase databases: this one lacks"
            f" {' and '.join(missing)}"
        )


async def apply_exposure(
    conn: asyncpg.Connection, *, expose: bool, tables: list[str], views: list[str]
) -> None:
    """Grant (``expose``) or revoke Supabase's signed-in users' reads of the report
    ``tables`` and ``views`` (quoted, qualified names) and of their properties.
    Idempotent; runs in the caller's transaction."""
    ready = await conn.fetchrow(query("supabase_ready"))
    assert ready is not None
    # Only what is missing (or still there) is changed: a policy change locks its
    # table, and every process start comes here.
    exposed = {row["relation"] for row in await conn.fetch(query("exposed_relations"))}
    if not expose:
        if not exposed:
            return  # nothing granted, nothing to revoke
        for table in tables:
            if await conn.fetchval(query("relation_oid"), table) in exposed:
                await conn.execute(query("hide_report_table").format(table=table))
        for view in views:
            await conn.execute(query("hide_report_view").format(view=view))
        await conn.execute(query("hide_properties"))
        logger.info("report relations hidden from Supabase's users", extra={"action": "hide"})
        return
    check_exposure_supported(
        ready["server_version"],
        has_authenticated=ready["has_authenticated"],
        has_anon=ready["has_anon"],
        has_auth_uid=ready["has_auth_uid"],
    )
    if await conn.fetchval(query("relation_oid"), "public.ga4_properties") not in exposed:
        await conn.execute(query("create_can_read"))
        await conn.execute(query("expose_properties"))
    await conn.execute(query("grant_property_columns"))
    for table in tables:
        if await conn.fetchval(query("relation_oid"), table) not in exposed:
            await conn.execute(query("expose_report_table").format(table=table))
    for view in views:
        await conn.execute(query("expose_report_view").format(view=view))
