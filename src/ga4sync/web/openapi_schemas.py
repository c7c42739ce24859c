"""The reusable parts of the OpenAPI document: component schemas and small builders."""

from __future__ import annotations

from typing import Any

from ga4sync.ga4.service_level import CONCURRENT_REQUESTS
from ga4sync.web.params import FREQUENCIES


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return json_content(ref("Error"), description)


_TS: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
_SERVICE_LEVEL: dict[str, Any] = {
    "enum": [*CONCURRENT_REQUESTS, None],
    "description": "GA4's service level as the Admin API last said it (null: not read yet, "
    "synced as standard); an Analytics 360 property allows 50 requests in flight, a "
    "standard one 10",
}
SCHEMAS: dict[str, Any] = {
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
                        "service_level": _SERVICE_LEVEL,
                        "account": {"type": "string"},
                    },
                },
            },
            "discovery_error": {
                **ref("Failure"),
                "description": "why the properties could not be listed (the grant is stored)",
            },
            "first_sync_job_id": {
                "type": ["string", "null"],
                "format": "uuid",
                "description": "the run (trigger connection) that syncs the connected "
                "properties never synced before, started at once: follow it with GET "
                "/v1/sync/ga4/job/{job_id}. null: none to sync (all synced already, "
                "turned off, or already in an active run), or none discovered",
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
            "revoke_error": ref("Failure"),
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
                "rows_deleted",
            )
        }
        | {
            "properties_failed": {
                "type": "integer",
                "description": "properties counted in that could not be synced (failed, "
                "needing re-auth, deferred by the GA4 quota); a property disabled or "
                "removed meanwhile is done without failing",
            }
        },
    },
    "FairShare": {
        "type": "object",
        "description": "Per user: how long their Sync now runs of the last 24 h took from"
        " the click to fresh data, and their properties waiting in active runs (a daily"
        " run's counted for each property's tenant: the first user, by id, with access)",
        "required": ["sync_now", "waiting"],
        "properties": {
            "sync_now": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["user_id", "runs_24h", "wait_p50_s", "wait_p95_s"],
                    "properties": {
                        "user_id": {"type": "string", "format": "uuid"},
                        "runs_24h": {"type": "integer", "minimum": 1},
                        "wait_p50_s": {"type": "number", "minimum": 0},
                        "wait_p95_s": {"type": "number", "minimum": 0},
                    },
                },
            },
            "waiting": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["user_id", "kind", "properties"],
                    "properties": {
                        "user_id": {"type": "string"},
                        "kind": {"enum": ["manual", "daily"]},
                        "properties": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
    "Job": {
        "type": "object",
        "properties": {
            "job_id": {"type": "string", "format": "uuid"},
            "status": {
                "enum": ["pending", "running", "success", "failed"],
                "description": "success: the run ended and at least one of the properties "
                "the caller can see synced (some may have failed: see outcome and "
                "progress.properties_failed); failed: none of them synced. A daily run in "
                "which every property of a caller who is not an admin failed is failed "
                "for them, whatever other users' properties did",
            },
            "outcome": {
                "enum": ["complete", "partial", "failed", None],
                "description": "how the finished run went over the properties the caller "
                "can see: complete (every one synced), partial (progress.properties_failed "
                "of them failed; the message names them and says why) or failed; null "
                "while the run is pending or running",
            },
            "kind": {
                "enum": ["manual", "daily"],
                "description": "manual: on demand (trigger sync_now, connection or resync); "
                "daily: the daily run",
            },
            "trigger": {
                "enum": ["sync_now", "connection", "daily", "resync"],
                "description": "why the run happened: sync_now (POST /v1/sync/ga4/run), "
                "connection (a Google account was connected: the first sync of the "
                "properties it brought that were never synced), daily (the schedule "
                "or its backup trigger) or resync (POST /v1/properties/{id}/resync: "
                "dates read again)",
            },
            "resync": {
                "type": ["object", "null"],
                "description": "a re-sync's reports (null: every report of the property) "
                "and dates; null for any other run",
                "properties": {
                    "reports": {"type": ["array", "null"], "items": {"type": "string"}},
                    "start_date": {"type": "string", "format": "date"},
                    "end_date": {"type": "string", "format": "date"},
                },
            },
            "scope": {"type": "string", "description": "'all' or the user id synced"},
            "property_id": {"type": ["string", "null"], "description": "one property only"},
            "message": {
                "type": ["string", "null"],
                "description": "written when the job ends; for a caller who is not an "
                "admin, a summary of the job's properties they can access",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _TS,
            "finished_at": _TS,
            "last_sync_at": {
                **_TS,
                "description": "when it ended, if it succeeded and synced a property",
            },
            "run_date": {"type": ["string", "null"], "format": "date"},
            "duration_s": {"type": ["number", "null"]},
            "progress": ref("Progress"),
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
            "id": {
                "type": "integer",
                "description": "ga4sync's own row id; routes name a property by its GA4 "
                "property_id (this id is still accepted there)",
            },
            "users": {
                "type": "integer",
                "description": "how many users can access it (it is stored once for all)",
            },
            "property_id": {"type": "string"},
            "display_name": {"type": ["string", "null"]},
            "time_zone": {"type": "string"},
            "service_level": _SERVICE_LEVEL,
            "enabled": {
                "type": "boolean",
                "description": "the caller's own setting (an admin without access to the "
                "property: effective_enabled)",
            },
            "effective_enabled": {
                "type": "boolean",
                "description": "whether the property syncs: some user with access has it enabled",
            },
            "connected": {"type": "boolean"},
            "needs_reauth": {
                "type": "boolean",
                "description": "no user with access has a working Google grant: someone "
                "must reconnect before it syncs again",
            },
            "last_sync_at": _TS,
            "last_sync_status": {"type": ["string", "null"]},
            "last_sync_error": {"type": ["string", "null"]},
            "consecutive_failures": {"type": "integer"},
            "last_run_status": {"type": ["string", "null"]},
            "last_run_finished_at": _TS,
            "last_run_rows_fetched": {"type": ["integer", "null"]},
            "last_run_rows_written": {"type": ["integer", "null"]},
            "last_run_data_quality": {"type": ["object", "null"]},
            "sync_frequency": {
                "enum": list(FREQUENCIES),
                "description": "the caller's own setting (an admin without access to the "
                "property: effective_sync_frequency)",
            },
            "effective_sync_frequency": {
                "enum": list(FREQUENCIES),
                "description": "how often the property syncs: the most frequent schedule among "
                "the users with access who have it enabled",
            },
            "coverage": {
                "type": "object",
                "description": "how far the history is read (SYNC_BACKFILL_DAYS back)",
                "properties": {
                    "state": {
                        "enum": [
                            "done",
                            "running",
                            "waiting_for_quota",
                            "retrying",
                            "stopped",
                            "pending",
                            "unknown",
                        ],
                        "description": "done: nothing missing; running: a background step "
                        "is queued or reading; waiting_for_quota: the next step waits for "
                        "the GA4 quota until resumes_at; retrying: the last step failed "
                        "(failures in a row, error) and the next one is queued at "
                        "resumes_at, after a backoff of 1 min, 5 min, 30 min, 2 h, then "
                        "4 h; stopped: the last step failed for a cause that needs a "
                        "person (re-auth, lost access, a request GA4 refuses for good), "
                        "which error names, and the next successful sync starts the "
                        "history again; pending: the next sync starts it; unknown: the "
                        "property's time zone is unknown (error)",
                    },
                    "oldest_settled": {"type": ["string", "null"], "format": "date"},
                    "newest_settled": {"type": ["string", "null"], "format": "date"},
                    "days_missing": {"type": "integer"},
                    "backfill_percent": {"type": "number"},
                    "resumes_at": _TS,
                    "failures": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "background steps of the history that failed in "
                        "a row (0 once one succeeds)",
                    },
                    "error": {
                        "type": ["string", "null"],
                        "description": "why the last step failed (retrying, stopped)",
                    },
                },
            },
            "next_due_at": _TS,
            "realtime": {
                "type": "boolean",
                "description": "the caller's own setting: poll the property's realtime "
                "(an admin without access to the property: effective_realtime)",
            },
            "effective_realtime": {
                "type": "boolean",
                "description": "whether the worker polls its realtime reports: some user "
                "with access has realtime on",
            },
            "realtime_now": {
                "oneOf": [{"type": "null"}, ref("RealtimeNow")],
                "description": "its latest realtime snapshot, while its realtime is polled "
                "and [[realtime]] definitions are configured (null otherwise)",
            },
        },
    },
    "RealtimeNow": {
        "type": "object",
        "properties": {
            "relation": {"type": "string", "examples": ["ga4_realtime_active_users"]},
            "active_users": {
                "type": ["integer", "null"],
                "description": "activeUsers of the latest snapshot (added up over "
                "summed_over, of minute_range when there are two); null when no realtime "
                "definition has activeUsers or none was stored yet",
            },
            "summed_over": {"type": "array", "items": {"type": "string"}},
            "minute_range": {"type": ["string", "null"]},
            "captured_at": _TS,
            "error": {
                "type": ["string", "null"],
                "description": "why the last poll failed or was skipped (null once one is stored)",
            },
            "error_at": _TS,
            "paused_until": {
                **_TS,
                "description": "polls wait until then: a realtime quota bucket ran low",
            },
        },
    },
    "PropertySettings": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "property_id": {"type": "string"},
            "enabled": {"type": "boolean", "description": "the caller's own setting"},
            "sync_frequency": {"enum": list(FREQUENCIES), "description": "the caller's own"},
            "realtime": {"type": "boolean", "description": "the caller's own"},
            "effective_enabled": {"type": "boolean"},
            "effective_sync_frequency": {"enum": list(FREQUENCIES)},
            "effective_realtime": {"type": "boolean"},
        },
    },
    "LostAccess": {
        "type": "object",
        "description": "a property the caller had access to and lost: Google refused their "
        "grant for it (403), or no longer lists it for their Google account",
        "properties": {
            "property_id": {"type": "string"},
            "display_name": {"type": ["string", "null"]},
            "reason": {"type": "string"},
            "lost_at": {"type": "string", "format": "date-time"},
        },
    },
    "Chart": {
        "type": "object",
        "required": [
            "property_id",
            "time_zone",
            "start_date",
            "end_date",
            "report",
            "metrics",
            "days",
            "summed_over",
            "reason",
        ],
        "description": "daily_totals' sessions and active users when it is in use for the "
        "property, else the first metrics of the first day-grain report in use for it (of a "
        "report with dimensions besides the date, only metrics that add up over them, added "
        "up a day; sessions add up over the device and the place a session comes from); "
        "report null: none can be charted, and reason says why",
        "properties": {
            "property_id": {"type": "string"},
            "time_zone": {
                "type": "string",
                "description": "the property's, whose dates these are (UTC if unknown)",
            },
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date", "description": "today there"},
            "report": {"type": ["string", "null"], "examples": ["daily_totals"]},
            "relation": {"type": ["string", "null"], "examples": ["ga4_daily_totals"]},
            "metrics": {
                "type": "array",
                "maxItems": 2,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {
                            "type": "string",
                            "description": "the relation's column, and the key in days",
                            "examples": ["active_users"],
                        },
                        "field": {"type": "string", "examples": ["activeUsers"]},
                        "type": {"type": "string", "examples": ["bigint"]},
                    },
                },
            },
            "days": {
                "type": "array",
                "description": "the days from start_date to end_date that have rows, oldest "
                "first: {date, <metric name>: number}",
                "items": {
                    "type": "object",
                    "required": ["date"],
                    "properties": {"date": {"type": "string", "format": "date"}},
                    "additionalProperties": {"type": ["number", "null"]},
                },
            },
            "summed_over": {
                "type": "array",
                "items": {"type": "string"},
                "description": "the report's dimensions besides the date, over which each "
                "day's rows are added up (empty: one row a day, GA4's own value)",
                "examples": [["country"]],
            },
            "reason": {
                "type": ["string", "null"],
                "description": "why there is nothing to chart (report null): no report by "
                "day, or none of their metrics adds up over their dimensions",
            },
        },
    },
    "Report": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "relation": {
                "type": "string",
                "description": "the typed relation to query: ga4_<name>",
                "examples": ["ga4_daily_totals"],
            },
            "definition_key": {
                "type": "string",
                "description": "name and digest of what the rows mean; changes with them",
            },
            "grain": {"enum": ["day", "week", "month"]},
            "dimensions": {"type": "array", "items": {"type": "string"}},
            "metrics": {"type": "array", "items": {"type": "string"}},
            "dimension_filter": {"type": ["object", "null"]},
            "metric_filter": {"type": ["object", "null"]},
            "keep_empty_rows": {"type": "boolean"},
            "properties": {
                "type": ["array", "null"],
                "items": {"type": "string"},
                "description": "the GA4 properties it is limited to (null: all)",
            },
            "lookback_days": {
                "type": ["integer", "null"],
                "description": "a date read when it was this many days old or younger is read "
                "again: the report's own lookback_days, else SYNC_LOOKBACK_DAYS",
            },
            "backfill_days": {
                "type": ["integer", "null"],
                "description": "how far back its history is read: the report's own "
                "backfill_days, else SYNC_BACKFILL_DAYS",
            },
            "columns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string", "examples": ["bigint", "double precision"]},
                        "field": {"type": ["string", "null"], "description": "GA4 API name"},
                        "kind": {"enum": ["key", "dimension", "metric"]},
                    },
                },
            },
            "per_property": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "property_id": {"type": "string"},
                        "display_name": {"type": ["string", "null"]},
                        "coverage": {"type": "object"},
                        "last_outcome": {
                            "type": ["object", "null"],
                            "properties": {
                                "status": {"enum": ["ok", "incomplete", "failed"]},
                                "error": {"type": ["string", "null"]},
                                "finished_at": _TS,
                                "rows_fetched": {"type": ["integer", "null"]},
                            },
                        },
                    },
                },
            },
        },
    },
    "Realtime": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "relation": {"type": "string", "examples": ["ga4_realtime_active_users"]},
            "dimensions": {"type": "array", "items": {"type": "string"}},
            "metrics": {"type": "array", "items": {"type": "string"}},
            "every_minutes": {"type": "integer"},
            "history_minutes": {"type": "integer"},
            "minute_ranges": {"type": "array", "items": {"type": "object"}},
            "properties": {"type": ["array", "null"], "items": {"type": "string"}},
            "columns": {"type": "array", "items": {"type": "object"}},
        },
    },
    "RealtimeRows": {
        "type": "object",
        "required": ["realtime", "relation", "property_id", "captured_at", "rows"],
        "properties": {
            "realtime": {"type": "string"},
            "relation": {"type": "string", "examples": ["ga4_realtime_active_users"]},
            "property_id": {"type": "string"},
            "captured_at": {
                **_TS,
                "description": "when the latest snapshot was captured (null: not polled yet)",
            },
            "history_minutes": {"type": "integer"},
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "the relation's columns: property_id, captured_at, "
                    "minute_range (two minute ranges), each dimension (string), each "
                    "metric (number)",
                    "additionalProperties": {"type": ["string", "number", "null"]},
                },
            },
        },
    },
    "RowsPage": {
        "type": "object",
        "required": ["report", "relation", "property_id", "next", "rows"],
        "properties": {
            "report": {"type": "string"},
            "relation": {"type": "string", "examples": ["ga4_pages"]},
            "property_id": {"type": "string"},
            "next": {
                "type": ["string", "null"],
                "description": "after for the next page; null on the last page",
            },
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "the relation's columns: property_id, date, each "
                    "dimension (string), each metric (number), synced_at",
                    "properties": {
                        "property_id": {"type": "string"},
                        "date": {"type": "string", "format": "date"},
                        "synced_at": {"type": "string", "format": "date-time"},
                    },
                    "additionalProperties": {"type": ["string", "number", "null"]},
                },
            },
        },
    },
}
