"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``.

Parameter and body rules come from ``ga4sync.web.params``, the values the handlers
enforce, so the document declares exactly what the server refuses.
"""

from __future__ import annotations

import copy
from typing import Any

from ga4sync import __version__
from ga4sync.web.openapi_schemas import SCHEMAS, error, json_content, ref
from ga4sync.web.params import (
    CHART_DAYS,
    COMPLETION_CODE_PATTERN,
    CURSOR_PATTERN,
    DATE_PATTERN,
    DEFAULT_CHART_DAYS,
    DEFAULT_PAGE_LIMIT,
    DEFAULT_ROWS_LIMIT,
    FREQUENCIES,
    INCLUDES,
    PAGE_LIMIT,
    PROPERTY_ID_PATTERN,
    REFRESH_TOKEN_MAX_LENGTH,
    REFRESH_TOKEN_PATTERN,
    REPORT_NAME_PATTERN,
    ROW_FORMATS,
    ROWS_LIMIT,
    RUN_ID,
    SCOPES,
    STATE_PATTERN,
    uuid_schema,
)

_BEARER: list[dict[str, list[str]]] = [{"supabase": []}]
_UNAUTHORIZED = error("No or invalid token")
_TOO_LARGE = error("Body larger than MAX_BODY_BYTES")


def _query(name: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, **extra}


def _path(name: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema, **extra}


def _body(schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


_PROPERTY_ID = _path(
    "property_id",
    {"type": "string", "pattern": PROPERTY_ID_PATTERN, "examples": ["310000002"]},
    description="the GA4 property id, as in the rows API, the CLI and GA4. ga4sync's "
    "own row id (id in GET /v1/properties) is still accepted, for links made before, "
    "when no property has that GA4 id",
)
_LIMIT = _query("limit", PAGE_LIMIT.schema(default=DEFAULT_PAGE_LIMIT))

_DAILY = {
    "summary": "Backup trigger for today's daily run (for an uptime pinger)",
    "parameters": [
        {"name": "X-CRON-TOKEN", "in": "header", "required": True, "schema": {"type": "string"}}
    ],
    "responses": {
        "202": json_content({"type": "object"}, "Today's run started: {status: 'started', job_id}"),
        "200": json_content(
            {"type": "object"},
            "Already there: {status: 'already-running' | 'already-done', job_id, run_date};"
            " or, between local midnight and the daily run time, nothing started:"
            " {status: 'not-due-yet', run_date, next_scheduled_at}",
        ),
        "403": error("Missing or wrong token, or CRON_TOKEN unset"),
    },
}

_RUN = {
    "summary": "Start a manual sync",
    "security": _BEARER,
    "requestBody": _body(
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "scope": {
                    "enum": list(SCOPES),
                    "description": "default: admins 'all', else 'mine'",
                },
                "user_id": uuid_schema(nullable=True, description="admins: that user's"),
                "property_id": {
                    "type": ["string", "null"],
                    "pattern": PROPERTY_ID_PATTERN,
                    "examples": ["123456789"],
                    "description": "only this GA4 property (within the scope)",
                },
            },
        },
        required=False,
    ),
    "responses": {
        "202": json_content(
            {
                "type": "object",
                "properties": {
                    "job_id": {"type": "string", "format": "uuid"},
                    "status": {"type": "string"},
                    "created": {"type": "boolean"},
                },
            },
            "Started, or the caller's run that is still active",
        ),
        "400": error("Malformed body"),
        "401": _UNAUTHORIZED,
        "403": error("Another user's properties without being an admin"),
        "404": error("property_id is not one of the properties the run's scope covers"),
        "409": json_content(
            {
                "allOf": [
                    ref("Error"),
                    {
                        "type": "object",
                        "required": ["job_id", "your_properties", "fresh_by"],
                        "properties": {
                            "job_id": {"type": "string", "format": "uuid"},
                            "your_properties": {
                                "type": "object",
                                "properties": {
                                    "pending": {"type": "integer", "minimum": 0},
                                    "done": {"type": "integer", "minimum": 0},
                                },
                            },
                            "fresh_by": {"type": ["string", "null"], "format": "date-time"},
                        },
                    },
                ]
            },
            "The daily run is active (job_id): the caller's properties of it that still"
            " wait were moved to its front; fresh_by estimates when they are synced"
            " (null before the run has a pace)",
        ),
        "413": _TOO_LARGE,
        "429": error("More than RUN_RATE_LIMIT new runs in an hour; see Retry-After"),
    },
}

_RESYNC = {
    "summary": "Read dates of one property again (GA4 reprocessed them, or a custom "
    "definition changed upstream)",
    "description": "The dates are read again whatever their coverage says, as a run of "
    "its own (trigger resync) queued like a Sync now and counted against RUN_RATE_LIMIT "
    "with them; rows GA4 no longer returns are deleted as after any complete read, and "
    "other reports' coverage is left alone. Users re-sync their own properties, admins "
    "any.",
    "security": _BEARER,
    "parameters": [_PROPERTY_ID],
    "requestBody": _body(
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["start_date", "end_date"],
            "properties": {
                "report": {
                    "type": ["string", "null"],
                    "description": "one report's name (GET /v1/reports); null or absent: "
                    "every report of the property",
                },
                "start_date": {
                    "type": "string",
                    "format": "date",
                    "pattern": DATE_PATTERN,
                    "examples": ["2026-10-01"],
                },
                "end_date": {
                    "type": "string",
                    "format": "date",
                    "pattern": DATE_PATTERN,
                    "examples": ["2026-10-10"],
                    "description": "at most the property's today (its time zone)",
                },
            },
        },
        required=True,
    ),
    "responses": {
        "202": json_content(ref("Job"), "The re-sync's run, pending"),
        "400": error(
            "Malformed body, dates in the wrong order, after the property's today or "
            "before GA4's first, or the property turned off (property_disabled)"
        ),
        "401": _UNAUTHORIZED,
        "404": error("No such property of the caller, or no such report of the property"),
        "413": _TOO_LARGE,
        "429": error("More than RUN_RATE_LIMIT new runs in an hour; see Retry-After"),
    },
}

_PATCH_PROPERTY = {
    "summary": "Turn syncing of one property on or off, set how often it runs, or turn "
    "its realtime polling on or off",
    "security": _BEARER,
    "parameters": [_PROPERTY_ID],
    "requestBody": _body(
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "sync_frequency": {"enum": list(FREQUENCIES)},
                "realtime": {
                    "type": "boolean",
                    "description": "poll the property's [[realtime]] reports every minute "
                    "(off by default: it spends GA4's realtime quota)",
                },
            },
        },
        required=True,
    ),
    "description": "The caller's own settings of the property: one shared with other "
    "users syncs while any of them has it enabled, at the most frequent schedule among "
    "them, and its realtime is polled while any of them has it on (off for everyone, its "
    "realtime snapshots are deleted). An admin without access to the property changes "
    "every user's settings of it.",
    "responses": {
        "200": json_content(ref("PropertySettings"), "The caller's settings, and the effective"),
        "400": error("Malformed id or body"),
        "401": _UNAUTHORIZED,
        "404": error("No such property of the caller"),
        "413": _TOO_LARGE,
    },
}

_CALLBACK = {
    "summary": "Where Google sends the user back (OAUTH_REDIRECT_URI)",
    "parameters": [
        _query(
            "state",
            {"type": "string", "minLength": 1, "pattern": STATE_PATTERN},
            required=True,
            description="the sealed state of a consent URL from /start: any other, an "
            "expired or an already used one is a 400",
        ),
        _query(
            "code",
            {"type": "string"},
            description="Google's authorization code; required unless error is present",
        ),
        _query("error", {"type": "string"}, description="why Google did not grant access"),
    ],
    "responses": {
        "302": {
            "description": "Back to FRONTEND_URL with ?ga4sync=google and "
            "status=consented&code=C, a one-time code that the user who started the "
            "consent claims with POST /v1/connections/google/complete (nothing is "
            "attached before), or status=error&reason=access_denied|code_rejected|"
            "google_unavailable|google_error (nothing stored)"
        },
        "400": error("State tampered with, expired or replayed; no code"),
        "503": error("TOKEN_ENCRYPTION_KEY, the OAuth client or redirect URI not configured"),
    },
}

_COMPLETE = {
    "summary": "Claim a finished consent: connect the Google account it granted",
    "description": "Only the user who started the consent (GET /start) can claim it, "
    "within 5 minutes, once. Any attempt ends the code: another user's attempt "
    "(403) stores nothing for anyone.",
    "security": _BEARER,
    "requestBody": _body(
        {
            "type": "object",
            "required": ["code"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "pattern": COMPLETION_CODE_PATTERN,
                    "examples": ["q3Lr0m9Yc2VbT1xk8sPzN4aWfE6hJ7uD5gKoR2iMnXc"],
                    "description": "the code the callback put in FRONTEND_URL (?code=)",
                },
            },
        },
        required=True,
    ),
    "responses": {
        "201": json_content(
            ref("Connected"),
            "Stored; properties discovered, and the first sync of those never synced "
            "started (first_sync_job_id)",
        ),
        "400": error("Malformed body"),
        "401": _UNAUTHORIZED,
        "403": error("other_user: the consent was started by another user; nothing stored"),
        "404": error("No consent waits under this code (already claimed, or never issued)"),
        "410": error("code_expired: claimed too late; nothing stored"),
        "413": _TOO_LARGE,
        "503": error("TOKEN_ENCRYPTION_KEY not configured"),
    },
}

_IMPORT_TOKENS = {
    "summary": "Import a refresh token the app already holds",
    "security": _BEARER,
    "requestBody": _body(
        {
            "type": "object",
            "required": ["refresh_token"],
            "additionalProperties": False,
            "properties": {
                "refresh_token": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": REFRESH_TOKEN_MAX_LENGTH,
                    "pattern": REFRESH_TOKEN_PATTERN,
                    "examples": ["1//0gExampleRefreshToken"],
                    "description": "printable ASCII; surrounding whitespace is trimmed",
                },
                "user_id": uuid_schema(nullable=True, description="admins only: another user"),
            },
        },
        required=True,
    ),
    "responses": {
        "201": json_content(
            ref("Connected"),
            "Stored; properties discovered, and the first sync of those never synced "
            "started (first_sync_job_id)",
        ),
        "400": error("Malformed body, or Google refused the token"),
        "401": _UNAUTHORIZED,
        "403": error("Another user's account without being an admin"),
        "413": _TOO_LARGE,
        "502": error(
            "google_unavailable: Google could not be reached or failed "
            "(google_error: it refused for another reason); nothing stored"
        ),
        "503": error("TOKEN_ENCRYPTION_KEY or the OAuth client not configured"),
        "504": error("google_unavailable: Google did not answer; nothing stored"),
    },
}

_DISCONNECT = {
    "summary": "Disconnect: revoke at Google, delete tokens, stop syncing",
    "security": _BEARER,
    "parameters": [
        _query("delete_data", {"type": "boolean", "default": False}),
        _query("user_id", uuid_schema(description="admins: another user")),
    ],
    "responses": {
        "200": json_content(
            ref("Disconnected"),
            "Done (also when nothing was connected or Google could not be reached: revoke_error)",
        ),
        "400": error("Bad parameter"),
        "401": _UNAUTHORIZED,
        "403": error("Another user without being an admin"),
    },
}


def _date(name: str, example: str, description: str) -> dict[str, Any]:
    schema = {"type": "string", "format": "date", "pattern": DATE_PATTERN, "examples": [example]}
    return _query(name, schema, description=description)


_ROWS = {
    "summary": "One property's typed rows of a report: JSON pages, or the whole range as CSV",
    "description": "Rows of ga4_<report> for one property, ordered by date, then each "
    "dimension column compared byte by byte (code point order), and keyset-paged: pass "
    "a page's next as after to get the following one (next is null on the last page). "
    "Metrics are JSON numbers: bigint as integers, double precision in the shortest form "
    "that reads back to the same double, numeric with every digit it has (parse it as a "
    "decimal to keep them). Dates are YYYY-MM-DD, synced_at ISO 8601 in UTC. "
    "With Accept: text/csv (preferred to application/json) or format=csv, every row of "
    "the range is streamed as CSV (header row, the same columns and order, UTF-8; limit "
    "and after do not apply). In CSV, a dimension value that starts with =, +, -, @, a tab "
    "or a carriage return (a formula to a spreadsheet) is written with a leading ' unless "
    "csv_escape=false; metrics, dates and JSON rows are never changed. One user streams at "
    "most EXPORTS_PER_USER exports at once (per web process), and an export whose client "
    "reads nothing for EXPORT_IDLE_TIMEOUT_S seconds is cut (the connection closes "
    "mid-body). A property that does not exist and one the caller cannot access get the "
    "same 404.",
    "security": _BEARER,
    "parameters": [
        _path(
            "report",
            {"type": "string", "pattern": REPORT_NAME_PATTERN, "examples": ["daily_totals"]},
            description="a report's name, as GET /v1/reports lists them",
        ),
        _query(
            "property_id",
            {"type": "string", "pattern": PROPERTY_ID_PATTERN, "examples": ["123456789"]},
            required=True,
            description="the GA4 property",
        ),
        _date("start_date", "2026-01-01", "first date (inclusive; a real date); default: all"),
        _date("end_date", "2026-12-31", "last date (inclusive; not before start_date)"),
        _query("limit", ROWS_LIMIT.schema(default=DEFAULT_ROWS_LIMIT)),
        _query(
            "after",
            {"type": "string", "minLength": 1, "pattern": CURSOR_PATTERN},
            description="the next of the previous page, unchanged (opaque: a cursor "
            "changed or made for another report or property is a 400)",
        ),
        _query(
            "format",
            {"enum": list(ROW_FORMATS)},
            description="csv: the same as Accept: text/csv; default: from Accept, else json",
        ),
        _query(
            "csv_escape",
            {"type": "boolean", "default": True},
            description="CSV only: false writes every dimension value exactly as stored, "
            "for programs that read the file (a spreadsheet would run a value like "
            "=HYPERLINK(...) as a formula)",
        ),
    ],
    "responses": {
        "200": {
            "description": "A page of rows (JSON), or every row of the range (CSV, streamed "
            "with a Content-Disposition filename)",
            "content": {
                "application/json": {"schema": ref("RowsPage")},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        "400": error(
            "Bad report name, property_id, dates (invalid_start_date, invalid_end_date, "
            "invalid_date_range), limit, after, format or csv_escape"
        ),
        "401": _UNAUTHORIZED,
        "404": error("No such report, or no such property of the caller"),
        "429": error(
            "too_many_exports: the caller already streams EXPORTS_PER_USER CSV exports; "
            "see Retry-After"
        ),
        "503": error(
            "exports_busy: as many CSV exports are streaming as this server allows; see Retry-After"
        ),
    },
}

_PATHS: dict[str, Any] = {
    "/v1/sync/ga4/run": {"post": _RUN},
    "/v1/sync/ga4/job/{job_id}": {
        "get": {
            "summary": "Status and progress of a job",
            "description": "A caller who is not an admin sees, of any job, only the "
            "properties they can access: progress and message cover those alone.",
            "security": _BEARER,
            "parameters": [_path("job_id", uuid_schema())],
            "responses": {
                "200": json_content(ref("Job"), "The job"),
                "400": error("job_id is not a UUID"),
                "401": _UNAUTHORIZED,
                "404": error("No such job visible to the caller"),
            },
        }
    },
    "/v1/sync/ga4/history": {
        "get": {
            "summary": "Jobs, newest first (keyset-paged)",
            "security": _BEARER,
            "parameters": [
                _LIMIT,
                _query("before", uuid_schema(description="next_before of the previous page")),
                _query(
                    "include",
                    {"enum": list(INCLUDES)},
                    description="properties: each job's per-property outcome (a caller "
                    "who is not an admin: of the properties they can access)",
                ),
            ],
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "properties": {
                            "jobs": {"type": "array", "items": ref("Job")},
                            "next_before": {"type": ["string", "null"]},
                            "fair_share": ref("FairShare"),
                        },
                    },
                    "A page of jobs, and each user's share of the workers (an admin sees"
                    " every user's, anyone else only their own)",
                ),
                "400": error("Bad limit, before or include"),
                "401": _UNAUTHORIZED,
            },
        }
    },
    "/v1/sync/ga4/meta": {
        "get": {
            "summary": "Last successful sync and the next scheduled run",
            "responses": {"200": json_content(ref("Meta"), "Schedule facts")},
        }
    },
    "/v1/sync/ga4/daily": {"get": _DAILY, "post": _DAILY},
    "/v1/properties": {
        "get": {
            "summary": "Properties and how their last sync went",
            "security": _BEARER,
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "properties": {
                            "properties": {"type": "array", "items": ref("Property")},
                            "lost_access": {"type": "array", "items": ref("LostAccess")},
                        },
                    },
                    "The caller's properties (an admin's: everyone's), and those the caller "
                    "lost access to, newest first",
                ),
                "401": _UNAUTHORIZED,
            },
        }
    },
    "/v1/properties/{property_id}": {"patch": _PATCH_PROPERTY},
    "/v1/reports": {
        "get": {
            "summary": "The reports synced: columns and types, and their state per property",
            "security": _BEARER,
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "properties": {"reports": {"type": "array", "items": ref("Report")}},
                    },
                    "Each report in use, with the caller's properties (an admin's: all)",
                ),
                "401": _UNAUTHORIZED,
            },
        }
    },
    "/v1/reports/{report}/rows": {"get": _ROWS},
    "/v1/realtime": {
        "get": {
            "summary": "The realtime reports polled ([[realtime]] definitions) and their columns",
            "security": _BEARER,
            "responses": {
                "200": json_content(
                    {
                        "type": "object",
                        "properties": {"realtime": {"type": "array", "items": ref("Realtime")}},
                    },
                    "Each realtime definition in use",
                ),
                "401": _UNAUTHORIZED,
            },
        }
    },
    "/v1/realtime/{name}/rows": {
        "get": {
            "summary": "One property's latest realtime snapshot (or every one kept)",
            "description": "The rows of ga4_realtime_<name> for one property the caller can "
            "access: the latest snapshot's (each poll replaces it), or with history=true "
            "every snapshot kept (history_minutes), newest first. A property that does not "
            "exist and one the caller cannot access get the same 404.",
            "security": _BEARER,
            "parameters": [
                _path(
                    "name",
                    {
                        "type": "string",
                        "pattern": REPORT_NAME_PATTERN,
                        "examples": ["active_users"],
                    },
                    description="a realtime report's name, as GET /v1/realtime lists them",
                ),
                _query(
                    "property_id",
                    {"type": "string", "pattern": PROPERTY_ID_PATTERN, "examples": ["123456789"]},
                    required=True,
                    description="the GA4 property",
                ),
                _query(
                    "history",
                    {"type": "boolean", "default": False},
                    description="every snapshot kept, not only the latest",
                ),
            ],
            "responses": {
                "200": json_content(ref("RealtimeRows"), "The snapshot's rows"),
                "400": error("Bad name, property_id or history"),
                "401": _UNAUTHORIZED,
                "404": error("No such realtime report, or no such property of the caller"),
            },
        }
    },
    "/v1/properties/{property_id}/runs": {
        "get": {
            "summary": "One property's sync runs, newest first (keyset-paged)",
            "security": _BEARER,
            "parameters": [
                _PROPERTY_ID,
                _LIMIT,
                _query("before", RUN_ID.schema(description="next_before of the previous page")),
            ],
            "responses": {
                "200": json_content(
                    {"type": "object"},
                    "runs: rows fetched, inserted, updated, unchanged, tokens, duration, "
                    "quota, data quality, error",
                ),
                "400": error("Bad id or paging"),
                "401": _UNAUTHORIZED,
                "404": error("No such property of the caller"),
            },
        }
    },
    "/v1/properties/{property_id}/resync": {"post": _RESYNC},
    "/v1/properties/{property_id}/chart": {
        "get": {
            "summary": "A property's last days of one day-grain report, a value a day "
            "(the status page's chart)",
            "security": _BEARER,
            "parameters": [
                _PROPERTY_ID,
                _query(
                    "days",
                    CHART_DAYS.schema(default=DEFAULT_CHART_DAYS),
                    description="how many days up to today, in the property's time zone",
                ),
            ],
            "responses": {
                "200": json_content(ref("Chart"), "The chart's report, metrics and days"),
                "400": error("Bad id or days"),
                "401": _UNAUTHORIZED,
                "404": error("No such property of the caller"),
            },
        }
    },
    "/v1/connections/google/start": {
        "get": {
            "summary": "The Google consent URL (connect, or reconnect after re-auth)",
            "security": _BEARER,
            "responses": {
                "200": json_content(
                    {"type": "object", "properties": {"url": {"type": "string"}}},
                    "Send the user's browser to url",
                ),
                "401": _UNAUTHORIZED,
                "503": error("OAuth client or redirect URI not configured"),
            },
        }
    },
    "/v1/connections/google/callback": {"get": _CALLBACK},
    "/v1/connections/google/complete": {"post": _COMPLETE},
    "/v1/connections/google/tokens": {"post": _IMPORT_TOKENS},
    "/v1/connections/google": {"delete": _DISCONNECT},
    "/healthz": {
        "get": {
            "summary": "Database, worker heartbeat and last sync",
            "responses": {
                "200": json_content({"type": "object"}, "Healthy"),
                "503": json_content(
                    {"type": "object"},
                    "Database or worker missing; an unreachable database is "
                    "database: 'unreachable' (the reason is logged, never answered)",
                ),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (Bearer METRICS_TOKEN when set; else loopback only)",
            "description": "The metrics name every tenant's properties. With METRICS_TOKEN "
            "set, a scrape sends it as a bearer token. Without it, only a client on the "
            "server's own machine is answered: a loopback peer whose request carries no "
            "Forwarded, X-Forwarded-For or X-Real-IP header (a proxy relaying a remote "
            "client); anyone else gets 403.",
            "responses": {
                "200": {"description": "Prometheus text exposition format"},
                "401": error("METRICS_TOKEN is set and was not sent"),
                "403": error("METRICS_TOKEN is unset and the client is not on this machine"),
            },
        }
    },
    "/": {
        "get": {
            "summary": "The status page (HTML)",
            "responses": {"200": {"description": "HTML page"}},
        }
    },
    "/status": {
        "get": {
            "summary": "The status page (HTML)",
            "responses": {"200": {"description": "HTML page"}},
        }
    },
    "/favicon.ico": {
        "get": {
            "summary": "The status page's icon (SVG, cached for a day)",
            "responses": {
                "200": {
                    "description": "SVG image",
                    "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                }
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1 JSON"}},
        }
    },
}


# Routes that answer without the database.
_STATIC_PATHS = frozenset({"/", "/status", "/favicon.ico", "/openapi.json"})
_DATABASE_UNAVAILABLE = (
    "database_unavailable: the database is unreachable for the moment (a restart or "
    "failover); nothing was changed, try again after Retry-After seconds"
)


def _with_database_unavailable(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation that reads the database may answer 503 during an outage."""
    for path, operations in paths.items():
        if path in _STATIC_PATHS:
            continue
        for operation in operations.values():
            responses = operation["responses"]
            if "503" in responses:
                described = responses["503"]["description"]
                responses["503"]["description"] = f"{described}; or {_DATABASE_UNAVAILABLE}"
            else:
                responses["503"] = error(_DATABASE_UNAVAILABLE)
    return paths


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may change it)."""
    paths = _with_database_unavailable(copy.deepcopy(_PATHS))
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {"title": "ga4sync", "version": __version__},
            "components": {
                "schemas": SCHEMAS,
                "securitySchemes": {
                    "supabase": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                },
            },
            "paths": paths,
        }
    )
