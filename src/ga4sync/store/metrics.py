"""What /metrics reports, read from the database at scrape time."""

from __future__ import annotations

import uuid
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
            **await _fair_share(conn, None),
        )


async def fair_share(pool: asyncpg.Pool, user_id: uuid.UUID | None) -> dict[str, Any]:
    """Per user (only ``user_id``'s, when given): how long their Sync now runs of
    the last 24 h waited, and how many of their properties wait in active runs."""
    async with pool.acquire() as conn:
        return await _fair_share(conn, user_id)


async def _fair_share(conn: asyncpg.Connection, user_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "sync_now_waits": [
            dict(r) for r in await conn.fetch(query("metrics_sync_now_waits"), user_id)
        ],
        "waiting_per_user": [
            dict(r) for r in await conn.fetch(query("metrics_waiting_per_user"), user_id)
        ],
    }
