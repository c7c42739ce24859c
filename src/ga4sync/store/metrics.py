"""What /metrics reports, read from the database at scrape time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from ga4sync.queries import query


@dataclass(frozen=True)
class Snapshot:
    jobs: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    workers: dict[str, Any]
    runs_24h: list[dict[str, Any]]
    properties: dict[str, Any]
    quota: list[dict[str, Any]]
    sync_now_waits: list[dict[str, Any]]
    waiting_per_user: list[dict[str, Any]]


async def metrics_snapshot(pool: asyncpg.Pool) -> Snapshot:
    async with pool.acquire() as conn:
        return Snapshot(
            jobs=[dict(r) for r in await conn.fetch(query("metrics_jobs"))],
            queue=[dict(r) for r in await conn.fetch(query("metrics_queue"))],
            workers=dict(await conn.fetchrow(query("metrics_workers")) or {}),
            runs_24h=[dict(r) for r in await conn.fetch(query("metrics_runs_24h"))],
            properties=dict(await conn.fetchrow(query("metrics_properties")) or {}),
            quota=[dict(r) for r in await conn.fetch(query("metrics_quota"))],
            sync_now_waits=[dict(r) for r in await conn.fetch(query("metrics_sync_now_waits"))],
            waiting_per_user=[dict(r) for r in await conn.fetch(query("metrics_waiting_per_user"))],
        )
