"""Per-property sync runs: what one attempt read, wrote, cost and noticed."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from ga4sync.queries import query


async def close_interrupted_runs(
    conn: asyncpg.Connection | asyncpg.Pool, property_ref: int, part: str = "recent"
) -> None:
    await conn.execute(query("close_interrupted_runs"), property_ref, part)


async def start_property_run(
    conn: asyncpg.Connection | asyncpg.Pool,
    property_ref: int,
    job_id: uuid.UUID | None,
    start_date: date,
    end_date: date,
    part: str = "recent",
) -> int:
    """A new run of ``part`` ("recent" days or "history") of the property."""
    run_id: int = await conn.fetchval(
        query("start_property_run"), property_ref, job_id, start_date, end_date, part
    )
    return run_id


async def finish_property_run(
    conn: asyncpg.Connection | asyncpg.Pool,
    run_id: int,
    *,
    status: str,
    duration_ms: int,
    rows_fetched: int,
    rows_inserted: int,
    rows_updated: int,
    rows_unchanged: int,
    rows_deleted: int,
    tokens_consumed: int,
    quota: dict[str, Any] | None,
    data_quality: dict[str, Any],
    error: str | None,
) -> None:
    await conn.execute(
        query("finish_property_run"),
        run_id,
        status,
        duration_ms,
        rows_fetched,
        rows_inserted,
        rows_updated,
        rows_unchanged,
        tokens_consumed,
        quota,
        data_quality,
        error,
        rows_deleted,
    )


async def list_property_runs(
    conn: asyncpg.Connection | asyncpg.Pool, property_ref: int, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.fetch(query("list_property_runs"), property_ref, before, limit)
    return [dict(row) for row in rows]


async def last_report_outcomes(
    conn: asyncpg.Connection | asyncpg.Pool, property_refs: list[int]
) -> dict[tuple[int, str], dict[str, Any]]:
    """(property_ref, report name) -> what the last run that read it said, and when."""
    return {
        (row["property_ref"], row["report"]): {
            "quality": row["quality"],
            "finished_at": row["finished_at"],
        }
        for row in await conn.fetch(query("last_report_outcomes"), property_refs)
    }
