"""What the fair order of the queue reads: ranks of properties within their
tenant, a user's waiting manual work, a user's share of a running daily run."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ga4sync.queries import query


async def property_ranks(pool: asyncpg.Pool, refs: Sequence[int]) -> dict[int, int]:
    """Each property's position among its tenant's properties (0 for the first)."""
    rows = await pool.fetch(query("property_ranks"), list(refs))
    return {row["property_ref"]: row["rank"] for row in rows}


async def manual_waiting(pool: asyncpg.Pool, user_id: uuid.UUID, job_id: uuid.UUID) -> int:
    """Properties of ``user_id``'s other active manual runs still waiting."""
    return int(await pool.fetchval(query("manual_waiting"), user_id, job_id))


@dataclass(frozen=True)
class DailyShare:
    """A user's properties in a daily run, and the run's pace."""

    pending_refs: list[int]
    done: int
    run_done: int
    mean_s: float | None  # how long one property took, on average
    started_at: datetime | None


async def daily_share(
    pool: asyncpg.Pool, job_id: uuid.UUID, user_id: uuid.UUID | None, property_id: str | None
) -> DailyShare:
    row = await pool.fetchrow(query("daily_share"), job_id, user_id, property_id)
    if row is None:
        return DailyShare([], 0, 0, None, None)
    mean_ms = row["mean_ms"]
    return DailyShare(
        pending_refs=list(row["pending_refs"]),
        done=row["done"],
        run_done=row["run_done"],
        mean_s=float(mean_ms) / 1000 if mean_ms is not None else None,
        started_at=row["started_at"],
    )
