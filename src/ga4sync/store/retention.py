"""Deleting history past its retention."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ga4sync.queries import query


async def prune_sync_jobs(conn: asyncpg.Connection | asyncpg.Pool, cutoff: datetime) -> int:
    count: int = await conn.fetchval(query("prune_sync_jobs"), cutoff)
    return count


async def prune_property_runs(conn: asyncpg.Connection | asyncpg.Pool, cutoff: datetime) -> int:
    count: int = await conn.fetchval(query("prune_property_runs"), cutoff)
    return count


async def prune_oauth_states(conn: asyncpg.Connection | asyncpg.Pool, cutoff: datetime) -> int:
    count: int = await conn.fetchval(query("prune_oauth_states"), cutoff)
    return count


async def prune_pending_grants(conn: asyncpg.Connection | asyncpg.Pool, cutoff: datetime) -> int:
    count: int = await conn.fetchval(query("prune_pending_grants"), cutoff)
    return count
