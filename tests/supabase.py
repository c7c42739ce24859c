"""A plain Postgres database prepared as Supabase prepares one.

Supabase has the API roles ``anon`` and ``authenticated``, an ``auth.uid()``
that reads ``request.jwt.claim.sub`` (or ``request.jwt.claims``' ``sub``), and
default privileges that grant **all** on every new table, sequence and
function in ``public`` to both roles. Tests prepare a database with this before
ga4sync migrates it, and read as those roles with ``as_role``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

ROLES = """
do $$ begin
    create role anon nologin;
exception when duplicate_object then null;
end $$;
do $$ begin
    create role authenticated nologin;
exception when duplicate_object then null;
end $$;
"""
DATABASE = """
create schema if not exists auth;
create or replace function auth.uid() returns uuid language sql stable as $f$
    select nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                           current_setting('request.jwt.claims', true)::jsonb ->> 'sub'), '')::uuid
$f$;
grant usage on schema auth to anon, authenticated;
grant usage on schema public to anon, authenticated;
alter default privileges in schema public grant all on tables to anon, authenticated;
alter default privileges in schema public grant all on sequences to anon, authenticated;
alter default privileges in schema public grant all on functions to anon, authenticated;
grant all on all tables in schema public to anon, authenticated;
grant all on all sequences in schema public to anon, authenticated;
grant all on all functions in schema public to anon, authenticated;
"""


async def prepare_supabase(conn: asyncpg.Connection) -> None:
    """Make ``conn``'s database look like Supabase's (roles are cluster-wide)."""
    try:
        await conn.execute(ROLES)
    except asyncpg.UniqueViolationError:  # another test made the roles at this instant
        await conn.execute(ROLES)
    await conn.execute(DATABASE)


@asynccontextmanager
async def as_role(
    pool: asyncpg.Pool, role: str, user: uuid.UUID | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """A connection acting as ``role`` (and signed-in ``user``) for one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"set local role {role}")
        if user is not None:
            await conn.execute("select set_config('request.jwt.claim.sub', $1, true)", str(user))
        yield conn
