"""Supabase exposure of the report relations (``SUPABASE_EXPOSE_REPORTS``).

Off (the default), Supabase's API roles read nothing of ga4sync's: its tables
have row level security with no policy, and the report views are
``security_invoker`` over tables in a schema those roles cannot use. On, a
signed-in user (role ``authenticated``) reads the ``ga4_<report>`` views and
``ga4_my_properties`` for exactly the properties they can access
(``auth.uid()`` in ``ga4_property_access``), through row level security on the
tables behind them. ``anon`` still reads nothing; tokens, runs and jobs stay
invisible to both. Turning it off again revokes all of it.

A view is granted only once it is ``security_invoker`` (set, then read back from
``pg_class.reloptions``): one made before PostgreSQL 15 or by hand would run with
its owner's rights and show every tenant's rows. When that cannot be made so,
exposure refuses and grants nothing.
"""

from __future__ import annotations

import logging

import asyncpg

from ga4sync.errors import ConfigError
from ga4sync.queries import query

logger = logging.getLogger(__name__)

MIN_SERVER_VERSION = 150000  # security_invoker views
MY_PROPERTIES = "public.ga4_my_properties"


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
    # Every view first, before anything is granted.
    for view in views:
        await require_security_invoker(conn, view)
    if await conn.fetchval(query("relation_oid"), MY_PROPERTIES) is not None:
        await require_security_invoker(conn, MY_PROPERTIES)
    if await conn.fetchval(query("relation_oid"), "public.ga4_properties") not in exposed:
        await conn.execute(query("create_can_read"))
        await conn.execute(query("expose_properties"))
        # made security_invoker just now; checked all the same (the caller's
        # transaction undoes the grants above if it is not)
        await require_security_invoker(conn, MY_PROPERTIES)
    await conn.execute(query("grant_property_columns"))
    for table in tables:
        if await conn.fetchval(query("relation_oid"), table) not in exposed:
            await conn.execute(query("expose_report_table").format(table=table))
    for view in views:
        await conn.execute(query("expose_report_view").format(view=view))


async def require_security_invoker(conn: asyncpg.Connection, view: str) -> None:
    """Make the view ``view`` (a quoted, qualified name) run with its reader's rights
    and check in ``pg_class`` that it does; ``ConfigError`` when it cannot be made so."""
    refusal = (
        f"SUPABASE_EXPOSE_REPORTS: the view {view} must be security_invoker, so that each"
        " signed-in user's own rights and row level security apply to the rows behind it;"
        " without it the view shows every user's rows. Nothing was granted."
    )
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction goes on
            await conn.execute(query("set_security_invoker").format(view=view))
    except asyncpg.PostgresError as exc:
        raise ConfigError(
            f"{refusal} Setting it failed: {exc}. Make the view as ga4sync's database role"
            f" (or run: alter view {view} set (security_invoker = true))."
        ) from exc
    if not await conn.fetchval(query("view_is_security_invoker"), view):
        raise ConfigError(
            f"{refusal} It was set, yet pg_class.reloptions does not show it; check for an"
            " event trigger or extension that changes views."
        )
