"""Migrations: idempotent, recorded, safe from two processes at once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg
import pytest

from ga4sync.db import connect
from ga4sync.migrate import migrate, pending_migrations
from ga4sync.queries import migration_files


@pytest.mark.smoke
async def test_concurrent_migrators_apply_each_migration_once(empty_database_url):
    async def run() -> list[str]:
        async with connect(empty_database_url) as conn:
            return await migrate(conn)

    results = await asyncio.gather(*(run() for _ in range(4)))
    applied = sorted(results, key=len, reverse=True)
    expected = [version for version, _ in migration_files()]
    assert applied[0][: len(expected)] == expected
    assert applied[0][-1].startswith("procrastinate-")
    assert all(r == [] for r in applied[1:])
    async with connect(empty_database_url) as conn:
        assert await pending_migrations(conn) == []
        recorded = await conn.fetchval("select count(*) from schema_migrations")
        assert recorded == len(expected) + 1
        assert await conn.fetchval(
            "select to_regclass('ga4sync_queue.procrastinate_jobs') is not null"
        )
        assert await migrate(conn) == []


async def test_pending_migrations_on_an_empty_database(empty_database_url):
    async with connect(empty_database_url) as conn:
        assert await pending_migrations(conn) == [v for v, _ in migration_files()]


async def test_daily_jobs_are_unique_per_local_date_not_forever(pool):
    insert = "insert into ga4_sync_jobs (kind, lock_key, run_date) values ('daily', $1, $2)"
    await pool.execute(insert, "ga4_daily:2026-11-20", date(2026, 11, 20))
    await pool.execute(insert, "ga4_daily:2026-11-21", date(2026, 11, 21))
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(insert, "ga4_daily:2026-11-21", date(2026, 11, 21))


async def test_other_roles_see_no_rows_of_ga4sync_tables(pool, connect_user):
    # What Supabase's anon/authenticated roles would get through its Data API.
    await connect_user({"4401": "UTC"})
    role = f"ga4sync_reader_{uuid.uuid4().hex[:8]}"
    await pool.execute(f"create role {role} nologin")
    try:
        await pool.execute(f"grant select on google_credentials, ga4_properties to {role}")
        async with pool.acquire() as conn, conn.transaction():
            assert await conn.fetchval("select count(*) from ga4_properties") == 1
            await conn.execute(f"set local role {role}")
            assert await conn.fetchval("select count(*) from google_credentials") == 0
            assert await conn.fetchval("select count(*) from ga4_properties") == 0
    finally:
        await pool.execute(f"drop owned by {role}")
        await pool.execute(f"drop role {role}")
