"""GET /v1/reports/{report}/rows: one property's typed rows of a report, as JSON pages
or, with ``Accept: text/csv`` or ``format=csv``, the whole range streamed as CSV.
GET /v1/realtime/{name}/rows: one property's latest realtime snapshot (or those kept).

A CSV export holds a database connection while its client reads, so one user streams
at most ``EXPORTS_PER_USER`` at once, and a client that stops reading for
``EXPORT_IDLE_TIMEOUT_S`` has its export cut and its slot freed."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date

from aiohttp import web

from ga4sync.store.report_rows import readable_property
from ga4sync.sync.realtime import describe_realtime, read_snapshot
from ga4sync.sync.report_rows import (
    BadCursor,
    ExportsBusy,
    PropertyNotReadable,
    ReportRows,
    Target,
    UnknownReport,
    UserExportsBusy,
)
from ga4sync.web.common import POOL, ROWS, SETTINGS, json_response, principal_of
from ga4sync.web.errors import ApiError, error_response
from ga4sync.web.params import (
    csv_escape,
    cursor_query,
    date_range,
    flag_query,
    realtime_name,
    report_name,
    required_property_id,
    row_format,
    rows_limit,
)

logger = logging.getLogger(__name__)

EXPORTS_RETRY_AFTER_S = 10
_BAD_CURSOR = "after must be the next of a previous page of this report and property, unchanged."


async def report_rows(request: web.Request) -> web.StreamResponse:
    """GET /v1/reports/{report}/rows?property_id=&start_date=&end_date=&limit=&after=&format="""
    principal = await principal_of(request)
    name = report_name(request.match_info["report"])
    query = request.query
    property_id = required_property_id(query)
    start, end = date_range(query)
    limit = rows_limit(query)
    after = cursor_query(query, "after")
    as_csv = row_format(query, request.headers.get("Accept")) == "csv"
    escape = csv_escape(query)
    rows = request.app[ROWS]
    try:
        target = await rows.target(name, property_id, user_id=principal.scope_user)
    except UnknownReport:
        raise ApiError(404, "not_found", f"No report {name} is synced here.") from None
    except PropertyNotReadable:
        # The same answer whether it does not exist or is someone else's.
        raise ApiError(404, "not_found", f"No property {property_id}.") from None
    try:
        if as_csv:
            if after is not None:
                await rows.check_cursor(target, after)  # refused as on a JSON page, then unused
            export = _Export(target, start, end, user_id=principal.user_id, escape=escape)
            return await _stream_csv(request, rows, export)
        page = await rows.page(target, start=start, end=end, after=after, limit=limit)
    except BadCursor:
        raise ApiError(400, "invalid_after", _BAD_CURSOR) from None
    head = json.dumps(
        {
            "report": target.spec.name,
            "relation": target.spec.relation,
            "property_id": target.property_id,
            "next": page.next,
        }
    )
    # The rows are JSON objects Postgres wrote (numeric metrics keep every digit).
    body = f'{head[:-1]}, "rows": [{",".join(page.rows)}]}}'
    return web.Response(text=body, content_type="application/json", headers={"Vary": "Accept"})


async def list_realtime(request: web.Request) -> web.Response:
    """GET /v1/realtime — the realtime reports polled, with their relations' columns."""
    await principal_of(request)
    specs = request.app[SETTINGS].realtime
    return json_response({"realtime": [describe_realtime(spec) for spec in specs]})


async def realtime_rows(request: web.Request) -> web.Response:
    """GET /v1/realtime/{name}/rows?property_id=&history= — the property's latest
    snapshot of a realtime report (``history=true``: every one kept), newest first."""
    principal = await principal_of(request)
    name = realtime_name(request.match_info["name"])
    property_id = required_property_id(request.query)
    history = flag_query(request.query, "history")
    spec = next((s for s in request.app[SETTINGS].realtime if s.name == name), None)
    if spec is None:
        raise ApiError(404, "not_found", f"No realtime report {name} is polled here.")
    pool = request.app[POOL]
    ref = await readable_property(pool, property_id, principal.scope_user)
    if ref is None:
        # The same answer whether it does not exist or is someone else's.
        raise ApiError(404, "not_found", f"No property {property_id}.")
    snapshot = await read_snapshot(pool, spec, ref, property_id, history=history)
    head = json.dumps(
        {
            "realtime": spec.name,
            "relation": spec.relation,
            "property_id": property_id,
            "captured_at": snapshot.captured_at.isoformat() if snapshot.captured_at else None,
            "history_minutes": spec.history_minutes,
        }
    )
    body = f'{head[:-1]}, "rows": [{",".join(snapshot.rows)}]}}'
    return web.Response(text=body, content_type="application/json")


def csv_filename(target: Target, start: date | None, end: date | None) -> str:
    """``ga4_<report>_<property>[_from_<start>][_to_<end>].csv``: names and digits only."""
    name = f"{target.spec.relation}_{target.property_id}"
    if start is not None:
        name += f"_from_{start.isoformat()}"
    if end is not None:
        name += f"_to_{end.isoformat()}"
    return f"{name}.csv"


class _ClientStalled(Exception):
    """The client accepted nothing of a chunk for the export's idle timeout."""


@dataclass(frozen=True)
class _Export:
    target: Target
    start: date | None
    end: date | None
    user_id: uuid.UUID
    escape: bool


async def _stream_csv(
    request: web.Request, rows: ReportRows, export: _Export
) -> web.StreamResponse:
    """The rows as CSV in the chunks Postgres sends: each is written (and drained to the
    client) before the next is read, so memory holds a chunk, never the export. A chunk
    the client does not take within the idle timeout ends the export."""
    target = export.target
    filename = csv_filename(target, export.start, export.end)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Vary": "Accept",
        }
    )
    if request.method == "HEAD":
        await response.prepare(request)
        return response
    idle_s = request.app[SETTINGS].export_idle_timeout_s

    async def write(chunk: bytes) -> None:
        # Headers go out with the first chunk: a failure before it is still a JSON error.
        try:
            async with asyncio.timeout(idle_s):
                if not response.prepared:
                    await response.prepare(request)
                await response.write(chunk)
        except TimeoutError:
            raise _ClientStalled from None

    try:
        await rows.export_csv(
            target,
            user_id=export.user_id,
            start=export.start,
            end=export.end,
            output=write,
            escape=export.escape,
        )
    except UserExportsBusy as exc:
        busy = error_response(429, "too_many_exports", f"{exc} Try again when one has finished.")
        busy.headers["Retry-After"] = str(EXPORTS_RETRY_AFTER_S)
        return busy
    except ExportsBusy as exc:
        busy = error_response(503, "exports_busy", f"{exc} Try again in a few seconds.")
        busy.headers["Retry-After"] = str(EXPORTS_RETRY_AFTER_S)
        return busy
    except Exception as exc:
        if not response.prepared:
            raise
        # Part of the CSV is out and the status cannot change: close the connection
        # so the client sees an unfinished transfer, not a CSV that looks complete.
        if isinstance(exc, _ClientStalled):
            logger.info(
                "CSV export of %s for %s cut: the client read nothing for %.0f s",
                target.spec.relation,
                target.property_id,
                idle_s,
                extra={"action": "rows_export_idle"},
            )
        elif isinstance(exc, ConnectionError):
            logger.info(
                "CSV export of %s for %s ended: the client went away",
                target.spec.relation,
                target.property_id,
                extra={"action": "rows_export_abandoned"},
            )
        else:
            logger.warning(
                "CSV export of %s for %s failed midway: %s",
                target.spec.relation,
                target.property_id,
                exc,
                extra={"action": "rows_export_failed"},
            )
        if request.transport is not None:
            if isinstance(exc, _ClientStalled):
                # close() would wait for the stalled client to take what is buffered.
                request.transport.abort()
            else:
                request.transport.close()
        return response
    if not response.prepared:
        await response.prepare(request)
    await response.write_eof()
    return response
