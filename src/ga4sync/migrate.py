"""Schema migrations: ``sql/migrations`` in order, then procrastinate's schema
in ``ga4sync_queue`` (see ``ga4sync.queue``), then the report tables; every
privilege Supabase's API roles were handed on any of it is revoked on the way
(``ga4sync.store.privileges``).

Safe to run from several processes at once: a session advisory lock serialises
them, and each file is applied in its own transaction together with its record
in ``schema_migrations``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
import procrastinate
from procrastinate.schema import SchemaManager

from ga4sync.queries import migration_files, query
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.reports.realtime import RealtimeSpec
from ga4sync.store.report_tables import ensure_report_tables

logger = logging.getLogger(__name__)


async def migrate(
    conn: asyncpg.Connection,
    reports: Sequence[ReportSpec] = BUILTIN_REPORTS,
    *,
    expose: bool = False,
    realtime: Sequence[RealtimeSpec] | None = None,
) -> list[str]:
    """Apply what is missing, then make the tables and views of ``reports`` (and of
    the ``realtime`` definitions, when given); return the versions applied by this
    call."""
    await conn.execute(query("lock_migrations"))
    try:
        await conn.execute(query("create_schema_migrations"))
        applied = {row["version"] for row in await conn.fetch(query("applied_migrations"))}
        done: list[str] = []
        for version, path in migration_files():
            if version in applied:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute(query("record_migration"), version)
            logger.info("applied migration %s", version, extra={"action": "migrate"})
            done.append(version)
        if not await conn.fetchval(query("procrastinate_schema_present")):
            version = f"procrastinate-{procrastinate.__version__}"
            async with conn.transaction():
                await conn.execute(query("use_queue_schema"))
                await conn.execute(SchemaManager.get_schema())
                await conn.execute(query("record_migration"), version)
            logger.info("applied procrastinate schema", extra={"action": "migrate"})
            done.append(version)
        await conn.execute(query("pin_queue_search_path"))
        await conn.execute(query("index_queue_locks"))
        await ensure_report_tables(conn, reports, expose=expose, realtime=realtime)
        return done
    finally:
        await conn.execute(query("unlock_migrations"))


async def pending_migrations(conn: asyncpg.Connection) -> list[str]:
    """Versions not applied yet (all of them on an empty database)."""
    versions = [version for version, _ in migration_files()]
    if not await conn.fetchval(query("schema_migrations_present")):
        return versions
    applied = {row["version"] for row in await conn.fetch(query("applied_migrations"))}
    return [version for version in versions if version not in applied]
