"""What the health endpoint reads: the database answers, and when a worker last beat."""

from __future__ import annotations

import asyncpg

from ga4sync.queries import query


async def worker_heartbeat_age_s(conn: asyncpg.Connection | asyncpg.Pool) -> float | None:
    """Seconds since the freshest worker heartbeat; ``None`` when no worker is registered."""
    age: float | None = await conn.fetchval(query("health_check"))
    return age
