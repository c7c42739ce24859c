"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from ga4sync import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_TS = {"type": ["string", "null"], "format": "date-time"}
_BEARER: list[dict[str, list[str]]] = [{"supabase": []}]

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "examples": ["not_found"]},
            "message": {"type": "string"},
            "job_id": {"type": "string", "format": "uuid"},
        },
    },
    "Failure": {
        "type": ["object", "null"],
        "description": "A failure inside a successful answer, shaped like Error",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "enum": ["google_unavailable", "google_error", "not_configured", "internal_error"]
            },
            "message": {"type": "string"},
        },
    },
    "Connected": {
        "type": "object",
        "properties": {
            "user_id": {"type": "string", "format": "uuid"},
            "properties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "property_id": {"type": "string"},
                        "display_name": {"type": "string"},
                        "time_zone": {"type": "string"},
                        "account": {"type": "string"},
                    },
                },
            },
            "discovery_error": {
                **_ref("Failure"),
                "description": "why the properties could not be listed (the grant is stored)",
            },
        },
    },
    "Disconnected": {
        "type": "object",
        "properties": {
            "user_id": {"type": "string", "format": "uuid"},
            "tokens_deleted": {"type": "boolean"},
            "revoked_at_google": {
                "type": ["boolean", "null"],
                "description": "true: Google revoked the grant; false: Google said it was "
                "already invalid; null: nothing to revoke, or not confirmed (revoke_error)",
            },
            "revoke_error": _ref("Failure"),
            "rows_deleted": {"type": "integer"},
        },
    },
    "Progress": {
        "type": "object",
        "properties": {
            name: {"type": "integer"}
            for name in (
                "properties_done",
                "properties_total",
                "properties_failed",
                "rows_fetched",
                "rows_written",
            )
        },
    },
    "Job": {
        "type": "object",
        "properties": {
            "job_id": {"type": "string", "format": "uuid"},
            "status": {"enum": ["pending", "running", "success", "failed"]},
            "kind": {"enum": ["manual", "daily"]},
            "scope": {"type": "string", "description": "'all' or the user id synced"},
            "property_id": {"type": ["string", "null"], "description": "one property only"},
            "message": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _TS,
            "finished_at": _TS,
            "last_sync_at": _TS,
            "run_date": {"type": ["string", "null"], "format": "date"},
            "duration_s": {"type": ["number", "null"]},
            "progress": _ref("Progress"),
        },
    },
    "Meta": {
        "type": "object",
        "properties": {
            "last_sync_at": _TS,
            "next_scheduled_at": {"type": "string", "format": "date-time"},
            "timezone": {"type": "string", "examples": ["America/Los_Angeles"]},
        },
    },
    "Property": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "user_id": {"type": "string", "format": "uuid"},
            "property_id": {"type": "string"},
            "display_name": {"type": ["string", "null"]},
            "time_zone": {"type": "string"},
            "enabled": {"type": "boolean"},
            "connected": {"type": "boolean"},
            "needs_reauth": {"type": "boolean"},
            "last_sync_at": _TS,
            "last_sync_status": {"type": ["string", "null"]},
            "last_sync_error": {"type": ["string", "null"]},
            "consecutive_failures": {"type": "integer"},
            "last_run_status": {"type": ["string", "null"]},
            "last_run_finished_at": _TS,
            "last_run_rows_fetched": {"type": ["integer", "null"]},
            "last_run_rows_written": {"type": ["integer", "null"]},
            "last_run_data_quality": {"type": ["object", "null"]},
            "sync_frequency": {"enum": ["manual", "hourly", "every_6h", "daily"]},
            "next_due_at": _TS,
        },
    },
}

_DAILY = {
    "summary": "Backup trigger for today's daily run (for an uptime pinger)",
    "parameters": [
        {"name": "X-CRON-TOKEN", "in": "header", "required": True, "schema": {"type": "string"}}
    ],
    "responses": {
        "202": _json({"type": "object"}, "Today's run started: {status: 'started', job_id}"),
        "200": _json(
            {"type": "object"}, "Already there: {status: 'already-running' | 'already-done'}"
        ),
        "403": _error("Missing or wrong token, or CRON_TOKEN unset"),
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ga4sync", "version": __version__},
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "supabase": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "paths": {
            "/v1/sync/ga4/run": {
                "post": {
                    "summary": "Start a manual sync",
                    "security": _BEARER,
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "scope": {"enum": ["mine", "all"]},
                                        "user_id": {
                                            "type": "string",
                                            "format": "uuid",
                                            "description": "admins: that user's",
                                        },
                                        "property_id": {
                                            "type": "string",
                                            "pattern": "^[0-9]{1,20}$",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _json(
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
                        "400": _error("Malformed body"),
                        "401": _error("No or invalid token"),
                        "403": _error("Another user's properties without being an admin"),
                        "409": _error("The daily run is active (job_id is the daily job)"),
                        "413": _error("Body too large"),
                        "429": _error(
                            "More than RUN_RATE_LIMIT new runs in an hour; see Retry-After"
                        ),
                    },
                }
            },
            "/v1/sync/ga4/job/{job_id}": {
                "get": {
                    "summary": "Status and progress of a job",
                    "security": _BEARER,
                    "parameters": [
                        {
                            "name": "job_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {
                        "200": _json(_ref("Job"), "The job"),
                        "400": _error("job_id is not a UUID"),
                        "401": _error("No or invalid token"),
                        "404": _error("No such job visible to the caller"),
                    },
                }
            },
            "/v1/sync/ga4/history": {
                "get": {
                    "summary": "Jobs, newest first (keyset-paged)",
                    "security": _BEARER,
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {
                            "name": "before",
                            "in": "query",
                            "schema": {"type": "string", "format": "uuid"},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "jobs": {"type": "array", "items": _ref("Job")},
                                    "next_before": {"type": ["string", "null"]},
                                },
                            },
                            "A page of jobs",
                        ),
                        "400": _error("Bad limit or before"),
                        "401": _error("No or invalid token"),
                    },
                }
            },
            "/v1/sync/ga4/meta": {
                "get": {
                    "summary": "Last successful sync and the next scheduled run",
                    "responses": {"200": _json(_ref("Meta"), "Schedule facts")},
                }
            },
            "/v1/sync/ga4/daily": {"get": _DAILY, "post": _DAILY},
            "/v1/properties": {
                "get": {
                    "summary": "Properties and how their last sync went",
                    "security": _BEARER,
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "properties": {"type": "array", "items": _ref("Property")}
                                },
                            },
                            "The caller's properties (an admin's: everyone's)",
                        ),
                        "401": _error("No or invalid token"),
                    },
                }
            },
            "/v1/properties/{property_ref}": {
                "patch": {
                    "summary": "Turn syncing of one property on or off, or set how often it runs",
                    "security": _BEARER,
                    "parameters": [
                        {
                            "name": "property_ref",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                            "description": "the id from GET /v1/properties",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["enabled"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "enabled": {"type": "boolean"},
                                        "sync_frequency": {
                                            "enum": ["manual", "hourly", "every_6h", "daily"]
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"type": "object"}, "The new setting"),
                        "400": _error("Malformed id or body"),
                        "401": _error("No or invalid token"),
                        "404": _error("No such property of the caller"),
                    },
                }
            },
            "/v1/properties/{property_ref}/runs": {
                "get": {
                    "summary": "One property's sync runs, newest first (keyset-paged)",
                    "security": _BEARER,
                    "parameters": [
                        {
                            "name": "property_ref",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {"name": "before", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": _json(
                            {"type": "object"},
                            "runs: rows fetched, inserted, "
                            "updated, unchanged, tokens, duration, quota, data "
                            "quality, error",
                        ),
                        "400": _error("Bad id or paging"),
                        "401": _error("No or invalid token"),
                        "404": _error("No such property of the caller"),
                    },
                }
            },
            "/v1/connections/google/start": {
                "get": {
                    "summary": "The Google consent URL (connect, or reconnect after re-auth)",
                    "security": _BEARER,
                    "responses": {
                        "200": _json(
                            {"type": "object", "properties": {"url": {"type": "string"}}},
                            "Send the user's browser to url",
                        ),
                        "401": _error("No or invalid token"),
                        "503": _error("OAuth client or redirect URI not configured"),
                    },
                }
            },
            "/v1/connections/google/callback": {
                "get": {
                    "summary": "Where Google sends the user back (OAUTH_REDIRECT_URI)",
                    "parameters": [
                        {
                            "name": "state",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"name": "code", "in": "query", "schema": {"type": "string"}},
                        {"name": "error", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "302": {
                            "description": "Back to FRONTEND_URL with ?ga4sync=google and "
                            "status=connected&properties=N (plus discovery_error="
                            "google_unavailable|google_error when the properties could not be "
                            "listed), or status=error&reason=access_denied|code_rejected|"
                            "google_unavailable|google_error (nothing stored)"
                        },
                        "400": _error("State tampered with, expired or replayed; no code"),
                    },
                }
            },
            "/v1/connections/google/tokens": {
                "post": {
                    "summary": "Import a refresh token the app already holds",
                    "security": _BEARER,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["refresh_token"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "refresh_token": {"type": "string"},
                                        "user_id": {
                                            "type": "string",
                                            "format": "uuid",
                                            "description": "admins only: another user",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("Connected"), "Stored; properties discovered"),
                        "400": _error("Malformed body, or Google refused the token"),
                        "401": _error("No or invalid token"),
                        "403": _error("Another user's account without being an admin"),
                        "502": _error(
                            "google_unavailable: Google could not be reached or failed "
                            "(google_error: it refused for another reason); nothing stored"
                        ),
                        "504": _error("google_unavailable: Google did not answer; nothing stored"),
                    },
                }
            },
            "/v1/connections/google": {
                "delete": {
                    "summary": "Disconnect: revoke at Google, delete tokens, stop syncing",
                    "security": _BEARER,
                    "parameters": [
                        {
                            "name": "delete_data",
                            "in": "query",
                            "schema": {"type": "boolean", "default": False},
                        },
                        {
                            "name": "user_id",
                            "in": "query",
                            "schema": {"type": "string", "format": "uuid"},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            _ref("Disconnected"),
                            "Done (also when nothing was connected or Google could not be "
                            "reached: revoke_error)",
                        ),
                        "400": _error("Bad parameter"),
                        "401": _error("No or invalid token"),
                        "403": _error("Another user without being an admin"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Database, worker heartbeat and last sync",
                    "responses": {
                        "200": _json({"type": "object"}, "Healthy"),
                        "503": _json({"type": "object"}, "Database or worker missing"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (Bearer METRICS_TOKEN when set)",
                    "responses": {
                        "200": {"description": "Prometheus text exposition format"},
                        "401": _error("METRICS_TOKEN is set and was not sent"),
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
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1 JSON"}},
                }
            },
        },
    }
