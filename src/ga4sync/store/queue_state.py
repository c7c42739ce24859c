"""Reads across ga4sync's job tables and procrastinate's queue, for recovery."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from ga4sync.queries import query


async def orphaned_job_properties(
    conn: asyncpg.Connection | asyncpg.Pool, running_for_s: float
) -> list[tuple[uuid.UUID, int]]:
    rows = await conn.fetch(query("orphaned_job_properties"), running_for_s)
    return [(row["job_id"], row["property_ref"]) for row in rows]


async def history_steps(conn: asyncpg.Connection | asyncpg.Pool) -> dict[int, dict[str, object]]:
    """property_ref -> the status, ``scheduled_at`` and part (``recent``) of the step
    its history goes on with: its next history step, else a sync its quota deferred."""
    rows = await conn.fetch(query("history_steps"))
    return {row["property_ref"]: dict(row) for row in rows}


async def history_due_for_retry(
    conn: asyncpg.Connection | asyncpg.Pool, now: datetime, limit: int
) -> list[int]:
    """Properties whose history failed or was lost, due again at ``now`` (backoff
    passed), that still sync and have no step queued or running."""
    rows = await conn.fetch(query("history_due_for_retry"), now, limit)
    return [row["id"] for row in rows]
