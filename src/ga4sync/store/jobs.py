"""Sync jobs (``ga4_sync_jobs``) and the properties each one covers."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg

from ga4sync.queries import query

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    status: str
    scope: str
    requested_by: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    message: str | None
    last_sync_at: datetime | None
    lock_key: str | None
    run_date: date | None
    since_days: int
    properties_total: int
    properties_done: int
    properties_failed: int
    rows_fetched: int
    rows_written: int
    property_filter: str | None
    rows_deleted: int
    # Why the run happened: "sync_now" (a user's click), "connection" (a Google
    # account connected: the first sync of its new properties) or "daily".
    trigger: str = "sync_now"
    # The properties the run names (a connection's, a re-sync's); None: its scope's.
    property_refs: list[int] | None = None
    # A re-sync's reports (names; None: all) and dates, read again whatever
    # their coverage says.
    resync_reports: list[str] | None = None
    resync_start: date | None = None
    resync_end: date | None = None

    @property
    def active(self) -> bool:
        return self.status in ("pending", "running")


_JOB_FIELDS = tuple(field.name for field in dataclasses.fields(Job))


def _job(row: asyncpg.Record | None) -> Job | None:
    if row is None:
        return None
    fields = {name: row[name] for name in _JOB_FIELDS}
    if fields["kind"] == "daily":
        fields["trigger"] = "daily"  # whoever wrote the row (a process older than the column)
    for listed in ("property_refs", "resync_reports"):
        if fields[listed] is not None:
            fields[listed] = list(fields[listed])
    return Job(**fields)


async def lock_manual_runs(conn: asyncpg.Connection, requested_by: uuid.UUID) -> None:
    """Until the transaction ends, be the only one starting a run of ``requested_by``."""
    await conn.execute(query("lock_manual_runs"), requested_by)


async def create_manual_job(
    conn: Conn,
    scope: str,
    requested_by: uuid.UUID,
    since_days: int,
    property_filter: str | None,
) -> Job | None:
    """The new job, or ``None`` when the same target is already running for the user."""
    return _job(
        await conn.fetchrow(
            query("create_manual_job"), scope, requested_by, since_days, property_filter
        )
    )


async def create_connection_job(
    conn: Conn, user_id: uuid.UUID, property_refs: list[int], since_days: int
) -> Job | None:
    """The first sync of ``property_refs`` that ``user_id`` just connected: of them,
    those the user has enabled, never synced and in no active run. ``None`` (no
    run) when none is left."""
    return _job(
        await conn.fetchrow(query("create_connection_job"), user_id, property_refs, since_days)
    )


async def create_resync_job(
    conn: Conn,
    scope: str,
    requested_by: uuid.UUID,
    property_ref: int,
    property_id: str,
    report_names: list[str] | None,
    start: date,
    end: date,
    since_days: int,
) -> Job:
    """A re-sync of one property's ``report_names`` (None: all) over ``start .. end``."""
    job = _job(
        await conn.fetchrow(
            query("create_resync_job"),
            scope,
            requested_by,
            property_ref,
            property_id,
            report_names,
            start,
            end,
            since_days,
        )
    )
    assert job is not None
    return job


async def run_target_exists(conn: Conn, user_id: uuid.UUID | None, property_id: str) -> bool:
    """Whether a run of ``user_id``'s properties (None: everyone's) can cover ``property_id``."""
    exists: bool = await conn.fetchval(query("run_target_exists"), user_id, property_id)
    return exists


async def get_active_manual_job(
    conn: Conn, requested_by: uuid.UUID, scope: str, property_filter: str | None
) -> Job | None:
    return _job(
        await conn.fetchrow(query("get_active_manual_job"), requested_by, scope, property_filter)
    )


async def manual_runs_since(
    conn: Conn, requested_by: uuid.UUID, since: datetime
) -> tuple[int, datetime | None]:
    row = await conn.fetchrow(query("manual_runs_since"), requested_by, since)
    assert row is not None
    return row["runs"], row["oldest"]


async def get_active_daily_job(conn: Conn) -> Job | None:
    return _job(await conn.fetchrow(query("get_active_daily_job")))


async def create_daily_job(
    conn: Conn, lock_key: str, run_date: date, since_days: int
) -> Job | None:
    """The new daily job, or ``None`` when that date's run already exists."""
    return _job(await conn.fetchrow(query("create_daily_job"), lock_key, run_date, since_days))


async def get_job_by_lock_key(conn: Conn, lock_key: str) -> Job | None:
    return _job(await conn.fetchrow(query("get_job_by_lock_key"), lock_key))


async def get_job(conn: Conn, job_id: uuid.UUID) -> Job | None:
    return _job(await conn.fetchrow(query("get_job"), job_id))


async def mark_job_running(conn: Conn, job_id: uuid.UUID) -> Job | None:
    """The job, now running; ``None`` when it had already finished."""
    return _job(await conn.fetchrow(query("mark_job_running"), job_id))


async def plan_job_properties(
    conn: Conn,
    job_id: uuid.UUID,
    user_id: uuid.UUID | None,
    *,
    include_manual: bool,
    property_filter: str | None,
    property_refs: list[int] | None = None,
) -> int:
    """Fix the properties the job covers (first call wins); return how many."""
    total: int = await conn.fetchval(
        query("plan_job_properties"),
        job_id,
        user_id,
        include_manual,
        property_filter,
        property_refs,
    )
    return total


async def pending_job_properties(conn: Conn, job_id: uuid.UUID) -> list[int]:
    rows = await conn.fetch(query("pending_job_properties"), job_id)
    return [row["property_ref"] for row in rows]


async def job_property_status(conn: Conn, job_id: uuid.UUID, property_ref: int) -> str | None:
    status: str | None = await conn.fetchval(query("job_property_status"), job_id, property_ref)
    return status


async def complete_job_property(
    conn: Conn,
    job_id: uuid.UUID,
    property_ref: int,
    *,
    status: str,
    rows_fetched: int,
    rows_inserted: int,
    rows_updated: int,
    rows_unchanged: int,
    tokens_consumed: int,
    duration_ms: int,
    error: str | None,
    rows_deleted: int = 0,
    history_days_left: int = 0,
) -> tuple[int, int] | None:
    """Count the property into the job once: ``(done, total)``, or ``None`` if counted before."""
    row = await conn.fetchrow(
        query("complete_job_property"),
        job_id,
        property_ref,
        status,
        rows_fetched,
        rows_inserted,
        rows_updated,
        rows_unchanged,
        tokens_consumed,
        duration_ms,
        error,
        rows_deleted,
        history_days_left,
    )
    return None if row is None else (row["properties_done"], row["properties_total"])


async def job_property_results(
    conn: Conn, job_ids: list[uuid.UUID], user_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Per job, each of its properties (those ``user_id`` can access, or all) and how
    it went."""
    results: dict[uuid.UUID, list[dict[str, Any]]] = {job_id: [] for job_id in job_ids}
    for row in await conn.fetch(query("job_property_results"), job_ids, user_id):
        item = dict(row)
        results[item.pop("job_id")].append(item)
    return results


async def finish_job(
    conn: Conn, job_id: uuid.UUID, status: str, message: str, *, synced: bool = False
) -> Job | None:
    """running -> ``status``, once; ``None`` when another caller finished it first.
    ``synced``: the run synced a property, so a success is the data's last sync."""
    return _job(await conn.fetchrow(query("finish_job"), job_id, status, message, synced))


async def jobs_waiting_to_start(conn: Conn, older_than_s: float) -> list[uuid.UUID]:
    return [row["id"] for row in await conn.fetch(query("jobs_waiting_to_start"), older_than_s)]


async def list_jobs(
    conn: Conn, *, user_id: uuid.UUID | None, before: uuid.UUID | None, limit: int
) -> list[Job]:
    rows = await conn.fetch(query("list_jobs"), user_id, before, limit)
    return [job for job in map(_job, rows) if job is not None]


async def daily_failure_streak(conn: Conn) -> int:
    streak: int = await conn.fetchval(query("daily_failure_streak"))
    return streak


async def jobs_property_breakdown(
    conn: Conn, job_ids: list[uuid.UUID], user_id: uuid.UUID | None = None
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    breakdown: dict[uuid.UUID, list[dict[str, Any]]] = {job_id: [] for job_id in job_ids}
    for row in await conn.fetch(query("jobs_property_breakdown"), job_ids, user_id):
        item = dict(row)
        breakdown[item.pop("job_id")].append(item)
    return breakdown
