"""A database as an earlier version of ga4sync left it: for upgrade tests."""

from __future__ import annotations

import asyncpg

from ga4sync.queries import migration_files, query


async def migrate_until(conn: asyncpg.Connection, last: str) -> None:
    """Apply and record the migrations up to ``last`` (its four-digit number), as
    ``ga4sync migrate`` of the version that ended there did."""
    await conn.execute(query("create_schema_migrations"))
    for version, path in migration_files():
        if version[:4] > last:
            break
        async with conn.transaction():
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute(query("record_migration"), version)
