"""Error bodies and messages in the shape Google's APIs and OAuth token endpoint send them."""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

SERVICE = "analyticsdata.googleapis.com"
DATA_API_METHOD = "google.analytics.data.v1beta.BetaAnalyticsData."
RUN_REPORT_METHOD = DATA_API_METHOD + "RunReport"
RUN_REALTIME_REPORT_METHOD = DATA_API_METHOD + "RunRealtimeReport"
ADMIN_SERVICE = "analyticsadmin.googleapis.com"
ADMIN_METHOD = "google.analytics.admin.v1beta.AnalyticsAdminService."
QUOTAS_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"
SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
JSON_TYPE = "application/json; charset=UTF-8"

# Canonical google.rpc.Code name for each HTTP status the fake can answer with.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

MESSAGES = {
    400: "Request contains an invalid argument.",
    401: (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project."
    ),
    403: (
        "User does not have sufficient permissions for this property. To learn more about "
        "Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/"
        "property-id."
    ),
    404: "Requested entity was not found.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The service is currently unavailable.",
}
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

INSUFFICIENT_SCOPES = "Request had insufficient authentication scopes."
READONLY_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"

# The 429 message for each exhausted quota bucket, and Google's generic one that names
# no quota ("generic"), which the API also answers with.
QUOTA_MESSAGES = {
    "generic": MESSAGES[429],
    "concurrent": "Exhausted concurrent requests quota.",
    "hourly": (
        "Exhausted property tokens per hour. These quota tokens will return in under an hour. "
        f"To learn more, see {QUOTAS_URL}"
    ),
    "daily": (
        "Exhausted property tokens per day. These quota tokens will return in under 24 hours. "
        f"To learn more, see {QUOTAS_URL}"
    ),
    "project_hourly": (
        "Exhausted property tokens for a project per hour. These quota tokens will return in "
        f"under an hour. To learn more, see {QUOTAS_URL}"
    ),
    "thresholded": (
        "Exhausted potentially thresholded requests quota. This quota will refresh in under "
        f"an hour. To learn more, see {QUOTAS_URL}"
    ),
    "server_errors": (
        "Exhausted server errors per project per hour quota. This quota will refresh in under "
        f"an hour. To learn more, see {QUOTAS_URL}"
    ),
}
QUOTA_KINDS = frozenset(QUOTA_MESSAGES)


def api_error(
    status: int,
    message: str | None = None,
    *,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = RUN_REPORT_METHOD,
    service: str = SERVICE,
) -> web.Response:
    """A ``{"error": {code, message, status[, details]}}`` response (google.rpc.Status as JSON).

    With ``reason``, ``details`` carries one ErrorInfo naming ``service`` and ``method``.
    """
    error: dict[str, Any] = {
        "code": status,
        "message": message if message is not None else MESSAGES[status],
        "status": STATUS_NAMES[status],
    }
    if reason is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"method": method, "service": service},
            }
        ]
    return web.Response(
        status=status,
        body=json.dumps({"error": error}, indent=2).encode(),
        content_type="application/json",
        charset="UTF-8",
        headers=headers,
    )


def unauthenticated(
    reason: str, *, method: str = RUN_REPORT_METHOD, service: str = SERVICE
) -> web.Response:
    """401 for a missing, unknown, expired or revoked access token."""
    message = MISSING_CREDENTIALS if reason == "CREDENTIALS_MISSING" else MESSAGES[401]
    challenge = 'Bearer realm="https://accounts.google.com/"'
    if reason != "CREDENTIALS_MISSING":
        challenge += ', error="invalid_token"'
    headers = {"WWW-Authenticate": challenge}
    return api_error(401, message, reason=reason, headers=headers, method=method, service=service)


def insufficient_scope(*, method: str = RUN_REPORT_METHOD, service: str = SERVICE) -> web.Response:
    """403 for a live access token whose grant lacks the API's scope."""
    challenge = (
        'Bearer realm="https://accounts.google.com/", error="insufficient_scope", '
        f'scope="{READONLY_SCOPE}"'
    )
    return api_error(
        403,
        INSUFFICIENT_SCOPES,
        reason="ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        headers={"WWW-Authenticate": challenge},
        method=method,
        service=service,
    )


def quota_exhausted(kind: str) -> web.Response:
    """429 RESOURCE_EXHAUSTED for one of the property quota buckets (or, for "generic",
    Google's message that names none)."""
    return api_error(429, QUOTA_MESSAGES[kind])


def invalid_argument(message: str) -> web.Response:
    """400 INVALID_ARGUMENT with a message naming the offending field."""
    return api_error(400, message)


_NO_CACHE = {
    "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
    "Pragma": "no-cache",
}


def oauth_json(status: int, payload: dict[str, Any]) -> web.Response:
    """A token endpoint answer (success or RFC 6749 error), never cached."""
    return web.Response(
        status=status,
        body=json.dumps(payload, indent=2).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=_NO_CACHE,
    )


def oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    """``{"error": ..., "error_description": ...}`` as oauth2.googleapis.com/token sends it."""
    return oauth_json(status, {"error": error, "error_description": description})


# What oauth2.googleapis.com answers when it fails: its backend's JSON error for a 500,
# the front end's HTML page when the backend is not there at all.
OAUTH_SERVER_ERRORS = {
    500: "Backend Error",
    502: "The server encountered a temporary error and could not complete your request.",
    503: "The service you requested is not available at this time.",
}
_FRONT_END_TITLES = {502: "Server Error", 503: "Service Unavailable"}


def oauth_server_error(status: int) -> web.Response:
    """A 5xx from the token or revoke endpoint (one of ``OAUTH_SERVER_ERRORS``)."""
    detail = OAUTH_SERVER_ERRORS[status]
    if status == 500:
        return oauth_error("internal_failure", detail, status)
    body = (
        "<!DOCTYPE html><html lang=en><meta charset=utf-8>"
        f"<title>Error {status} ({_FRONT_END_TITLES[status]})!!1</title>"
        f"<p><b>{status}.</b> <ins>That\u2019s an error.</ins><p>{html.escape(detail)} "
        "Please try again in 30 seconds. <ins>That\u2019s all we know.</ins>"
    )
    return web.Response(status=status, text=body, content_type="text/html", charset="UTF-8")


def consent_error_page(error: str, detail: str) -> web.Response:
    """The 400 page accounts.google.com shows for an invalid authorization request."""
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Error 400 (Bad Request)</title></head><body>"
        "<h1>Access blocked: Authorization Error</h1>"
        f"<p>{html.escape(detail)}</p>"
        f"<p>Error 400: {html.escape(error)}</p>"
        "</body></html>"
    )
    return web.Response(status=400, text=body, content_type="text/html", charset="utf-8")
