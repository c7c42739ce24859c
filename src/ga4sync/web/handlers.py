"""HTTP handlers: parse and check the request, call the service, render JSON."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from ga4sync.outage import describe, is_database_unavailable
from ga4sync.store.health import worker_heartbeat_age_s
from ga4sync.store.jobs import Job
from ga4sync.store.metrics import fair_share
from ga4sync.store.properties import get_property
from ga4sync.sync.job_views import outcome_of
from ga4sync.sync.jobs import (
    DailyRunActive,
    JobNotFound,
    NotDueYet,
    RateLimited,
    ReportNotSynced,
    ResyncRefused,
    ResyncTarget,
    RunTargetNotFound,
)
from ga4sync.sync.realtime import realtime_now
from ga4sync.web.auth import cron_token_matches
from ga4sync.web.common import (
    POOL,
    SERVICE,
    SETTINGS,
    json_object,
    json_response,
    named_property,
    principal_of,
)
from ga4sync.web.connections import ACCOUNTS
from ga4sync.web.errors import ApiError
from ga4sync.web.openapi import openapi_document
from ga4sync.web.params import (
    CHART_DAYS,
    DEFAULT_CHART_DAYS,
    INCLUDES,
    PROPERTY_ID_PATTERN,
    RUN_ID,
    SCOPES,
    date_range,
    int_query,
    matches,
    page_limit,
    uuid_param,
)

logger = logging.getLogger(__name__)


def job_json(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "status": job.status,
        "outcome": outcome_of(job),
        "kind": job.kind,
        "trigger": job.trigger,
        "scope": job.scope,
        "property_id": job.property_filter,
        "message": job.message,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "last_sync_at": job.last_sync_at,
        "run_date": job.run_date,
        "resync": (
            {
                "reports": job.resync_reports,
                "start_date": job.resync_start,
                "end_date": job.resync_end,
            }
            if job.trigger == "resync"
            else None
        ),
        "duration_s": (
            round((job.finished_at - job.started_at).total_seconds(), 3)
            if job.started_at and job.finished_at
            else None
        ),
        "progress": {
            "properties_done": job.properties_done,
            "properties_total": job.properties_total,
            "properties_failed": job.properties_failed,
            "rows_fetched": job.rows_fetched,
            "rows_written": job.rows_written,
            "rows_deleted": job.rows_deleted,
        },
    }


async def run_sync(request: web.Request) -> web.Response:
    """POST /v1/sync/ga4/run — start a manual sync (202 with its job id).

    Body (all optional): ``scope`` "mine" | "all" (admins), ``user_id`` (admins:
    that user's properties), ``property_id`` (one GA4 property within the scope).
    """
    principal = await principal_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"scope", "user_id", "property_id"})
    if unknown:
        raise ApiError(400, "invalid_body", f"Unknown field(s): {', '.join(unknown)}.")
    requested = body.get("scope", "all" if principal.is_admin else "mine")
    if requested not in SCOPES:
        raise ApiError(400, "invalid_scope", 'scope must be "all" or "mine".')
    scope = "all" if requested == "all" else str(principal.user_id)
    if body.get("user_id") is not None:
        scope = str(uuid_param(body["user_id"], "user_id"))
    if scope != str(principal.user_id) and not principal.is_admin:
        raise ApiError(403, "forbidden", "Only admins can sync other users' properties.")
    property_id = body.get("property_id")
    if property_id is not None and not matches(PROPERTY_ID_PATTERN, property_id):
        raise ApiError(400, "invalid_property_id", "property_id is a GA4 property number.")
    try:
        started = await request.app[SERVICE].start_job(
            principal.user_id, scope, property_id=property_id
        )
    except RunTargetNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except DailyRunActive as exc:
        raise ApiError(
            409,
            "daily_run_active",
            str(exc),
            job_id=str(exc.job.id),
            your_properties={"pending": exc.pending, "done": exc.done},
            fresh_by=exc.fresh_by.isoformat() if exc.fresh_by else None,
        ) from None
    except RateLimited as exc:
        return _rate_limited(exc)
    return json_response(
        {"job_id": started.job.id, "status": started.job.status, "created": started.created},
        status=202,
    )


def _rate_limited(exc: RateLimited) -> web.Response:
    response = json_response(
        {"error": "rate_limited", "message": str(exc), "retry_after_s": exc.retry_after_s},
        status=429,
    )
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


async def resync_property(request: web.Request) -> web.Response:
    """POST /v1/properties/{id}/resync — read dates of one property again (202, the job).

    Body: ``start_date``, ``end_date`` (both inclusive), ``report`` (optional: one
    report's name; absent, every report of the property).
    """
    principal = await principal_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"report", "start_date", "end_date"})
    if unknown:
        raise ApiError(400, "invalid_body", f"Unknown field(s): {', '.join(unknown)}.")
    start, end = date_range(body)
    if start is None or end is None:
        raise ApiError(400, "invalid_body", "start_date and end_date are required.")
    report = body.get("report")
    if report is not None and not isinstance(report, str):
        raise ApiError(400, "invalid_report", "report is a report's name.")
    named, ref = await named_property(request)
    prop = await get_property(request.app[POOL], ref, principal.user_id)
    has_access = prop is not None and principal.user_id in prop["access_user_ids"]
    if prop is None or not (has_access or principal.is_admin):
        raise ApiError(404, "not_found", f"No property {named}.")
    if not prop["enabled"]:
        # A run of a property turned off would read nothing: say so instead.
        raise ApiError(
            400,
            "property_disabled",
            f"Property {prop['property_id']} is turned off"
            + (" for you" if has_access else " for every user with access")
            + ': turn it on (PATCH {"enabled": true}) to re-sync it.',
        )
    target = ResyncTarget(ref, prop["property_id"], prop["time_zone"], report, start, end)
    scope = str(principal.user_id) if has_access else "all"
    try:
        job = await request.app[SERVICE].start_resync(principal.user_id, scope, target)
    except ReportNotSynced as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except ResyncRefused as exc:
        raise ApiError(400, "invalid_resync", str(exc)) from None
    except RateLimited as exc:
        return _rate_limited(exc)
    return json_response(job_json(job), status=202)


async def get_job(request: web.Request) -> web.Response:
    """GET /v1/sync/ga4/job/{job_id} — status and progress of a job (as the caller sees it:
    a user who is not an admin, over the job's properties they can access)."""
    principal = await principal_of(request)
    job_id = uuid_param(request.match_info["job_id"], "job_id")
    try:
        job = await request.app[SERVICE].view_job(job_id, user_id=principal.scope_user)
    except JobNotFound:
        raise ApiError(404, "not_found", f"No sync job {job_id}.") from None
    return json_response(job_json(job))


async def list_history(request: web.Request) -> web.Response:
    """GET /v1/sync/ga4/history?limit=&before= — jobs newest first, keyset-paged."""
    principal = await principal_of(request)
    limit = page_limit(request.query)
    before = None
    if "before" in request.query:
        before = uuid_param(request.query["before"], "before", "a job id (UUID)")
    include = request.query.get("include")
    if include is not None and include not in INCLUDES:
        raise ApiError(400, "invalid_include", 'include may only be "properties".')
    service = request.app[SERVICE]
    viewer = principal.scope_user
    jobs = await service.list_jobs(user_id=viewer, before=before, limit=limit)
    rendered = [job_json(job) for job in jobs]
    if include == "properties":
        breakdown = await service.job_breakdown([job.id for job in jobs], user_id=viewer)
        for item, job in zip(rendered, jobs, strict=True):
            item["properties"] = breakdown[job.id]
    fair = await fair_share(request.app[POOL], viewer)
    return json_response(
        {
            "jobs": rendered,
            "next_before": jobs[-1].id if len(jobs) == limit else None,
            "fair_share": {
                "sync_now": [
                    {
                        "user_id": row["user_id"],
                        "runs_24h": row["runs"],
                        "wait_p50_s": row["p50_s"],
                        "wait_p95_s": row["p95_s"],
                    }
                    for row in fair["sync_now_waits"]
                ],
                "waiting": [
                    {"user_id": row["user_id"], "kind": row["kind"], "properties": row["n"]}
                    for row in fair["waiting_per_user"]
                ],
            },
        }
    )


async def list_property_runs(request: web.Request) -> web.Response:
    """GET /v1/properties/{id}/runs?limit=&before= — one property's sync history."""
    principal = await principal_of(request)
    limit = page_limit(request.query)
    before = int_query(request.query, "before", RUN_ID)
    named, ref = await named_property(request)
    prop = await get_property(request.app[POOL], ref)
    if prop is None or (
        principal.user_id not in prop["access_user_ids"] and not principal.is_admin
    ):
        raise ApiError(404, "not_found", f"No property {named}.")
    runs = await request.app[SERVICE].property_runs(ref, before=before, limit=limit)
    return json_response(
        {
            "property_id": prop["property_id"],
            "runs": runs,
            "next_before": runs[-1]["id"] if len(runs) == limit else None,
        }
    )


async def get_property_chart(request: web.Request) -> web.Response:
    """GET /v1/properties/{id}/chart?days= — a day-grain report's last days, a value a day."""
    principal = await principal_of(request)
    days = int_query(request.query, "days", CHART_DAYS)
    named, ref = await named_property(request)
    chart = await request.app[SERVICE].property_chart(
        ref,
        user_id=principal.scope_user,
        days=DEFAULT_CHART_DAYS if days is None else days,
    )
    if chart is None:
        raise ApiError(404, "not_found", f"No property {named}.")
    return json_response(chart)


_PROPERTY_FIELDS = (
    "property_id",
    "display_name",
    "time_zone",
    "service_level",
    "enabled",
    "connected",
    "needs_reauth",
    "last_sync_at",
    "last_sync_status",
    "last_sync_error",
    "consecutive_failures",
    "last_run_status",
    "last_run_finished_at",
    "last_run_rows_fetched",
    "last_run_rows_written",
    "last_run_data_quality",
    "sync_frequency",
    "effective_enabled",
    "effective_sync_frequency",
    "realtime",
    "effective_realtime",
    "coverage",
)


async def list_reports(request: web.Request) -> web.Response:
    """GET /v1/reports — the reports synced, and their state on my properties."""
    principal = await principal_of(request)
    service = request.app[SERVICE]
    reports = await service.describe_reports(user_id=principal.scope_user)
    return json_response({"reports": reports})


async def list_properties(request: web.Request) -> web.Response:
    """GET /v1/properties — my properties (an admin's: everyone's) and how their syncs went,
    with my own settings of each, and the properties I lost access to."""
    principal = await principal_of(request)
    service = request.app[SERVICE]
    rows = await service.list_properties(user_id=principal.scope_user, viewer=principal.user_id)
    daily_at = (await service.get_meta()).next_scheduled_at
    lost = await request.app[ACCOUNTS].lost_access(principal.user_id)

    def next_due(row: dict[str, Any]) -> datetime | None:
        # When the property syncs next: over every user's settings, not only mine.
        frequency = row["effective_sync_frequency"]
        if not row["effective_enabled"] or frequency == "manual":
            return None
        if frequency == "daily":
            return daily_at
        return row["next_due_at"] or datetime.now(UTC)  # due at the next tick

    # Realtime of the properties someone polls: active users now, when, and problems.
    now = await realtime_now(
        request.app[POOL],
        request.app[SETTINGS].realtime,
        [row["id"] for row in rows if row["effective_realtime"]],
    )
    properties = [
        {
            "id": row["id"],
            "users": row["users"],
            **{k: row[k] for k in _PROPERTY_FIELDS},
            "next_due_at": next_due(row),
            "realtime_now": now.get(row["id"]),
        }
        for row in rows
    ]
    return json_response({"properties": properties, "lost_access": lost})


async def get_meta(request: web.Request) -> web.Response:
    """GET /v1/sync/ga4/meta — last successful sync and the next scheduled one."""
    meta = await request.app[SERVICE].get_meta()
    return json_response(
        {
            "last_sync_at": meta.last_sync_at,
            "next_scheduled_at": meta.next_scheduled_at,
            "timezone": meta.timezone,
        }
    )


async def daily(request: web.Request) -> web.Response:
    """GET|HEAD|POST /v1/sync/ga4/daily — the pinger's backup trigger for today's run."""
    expected = request.app[SETTINGS].cron_token
    if not expected:
        raise ApiError(403, "cron_disabled", "The backup trigger is off: CRON_TOKEN is not set.")
    if not cron_token_matches(expected, request.headers.get("X-CRON-TOKEN")):
        raise ApiError(403, "forbidden", "Missing or wrong X-CRON-TOKEN.")
    started = await request.app[SERVICE].ensure_daily_due()
    if isinstance(started, NotDueYet):
        # Between local midnight and the run time: today's run starts at its time,
        # and yesterday's, if it never ran, is not started minutes before it.
        return json_response(
            {
                "status": "not-due-yet",
                "run_date": started.run_date,
                "next_scheduled_at": started.due_at,
            }
        )
    job = started.job
    if started.created:
        return json_response({"status": "started", "job_id": job.id, "run_date": job.run_date}, 202)
    state = "already-running" if job.active else "already-done"
    return json_response(
        {"status": state, "job_id": job.id, "run_date": job.run_date, "job_status": job.status}
    )


async def openapi(request: web.Request) -> web.Response:
    """GET /openapi.json — the OpenAPI description of this API."""
    return json_response(openapi_document())


HEALTH_TIMEOUT_S = 5.0


class HealthLog:
    """Why ``/healthz`` found the database out of reach, logged once per reason: a
    pinger probes every few seconds, and an outage is said once, not a line a probe."""

    def __init__(self) -> None:
        self._last: str | None = None

    def failed(self, reason: str) -> None:
        if reason != self._last:
            self._last = reason
            logger.warning(
                "health check: the database cannot be reached (%s)",
                reason,
                extra={"action": "healthz_database_unreachable"},
            )

    def passed(self) -> None:
        self._last = None


HEALTH_LOG = web.AppKey("health_log", HealthLog)


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz — database, worker heartbeat, age of the last successful sync."""
    settings = request.app[SETTINGS]
    try:
        # A probe must answer even when the database does not: a pinger's timeout
        # would read "down" without saying why.
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            heartbeat_age = await worker_heartbeat_age_s(request.app[POOL])
            meta = await request.app[SERVICE].get_meta()
    except TimeoutError:
        reason = f"no answer within {HEALTH_TIMEOUT_S:.0f} s"
        return json_response({"status": "unhealthy", "database": reason}, status=503)
    except Exception as exc:
        if not (is_database_unavailable(exc) or isinstance(exc, asyncpg.PostgresError)):
            raise
        # The error's text names hosts, databases and roles: it is for the logs, and
        # the probe, which anyone may call, hears only that the database is down.
        request.app[HEALTH_LOG].failed(describe(exc))
        return json_response({"status": "unhealthy", "database": "unreachable"}, status=503)
    request.app[HEALTH_LOG].passed()
    worker_ok = heartbeat_age is not None and heartbeat_age <= 2 * settings.stalled_after_s
    last_age = (
        (datetime.now(UTC) - meta.last_sync_at).total_seconds() if meta.last_sync_at else None
    )
    body = {
        "status": "healthy" if worker_ok else "unhealthy",
        "database": "ok",
        "worker": "ok" if worker_ok else "no recent heartbeat",
        "worker_heartbeat_age_s": heartbeat_age,
        "last_sync_at": meta.last_sync_at,
        "last_sync_age_s": last_age,
        "next_scheduled_at": meta.next_scheduled_at,
    }
    return json_response(body, status=200 if worker_ok else 503)
