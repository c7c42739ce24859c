"""JSON errors at the edge: one middleware turns every failure into ``{error, message}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ga4sync.errors import ConfigError, Ga4SyncError, GoogleError, GoogleUnavailable
from ga4sync.outage import describe, is_database_unavailable

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error the client can act on: rendered as JSON with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra}, status=status)


DATABASE_RETRY_AFTER_S = 5


def error_code(exc: Ga4SyncError) -> str:
    """The ``error`` code of a failure, also when it is reported inside a 2xx answer."""
    if isinstance(exc, GoogleUnavailable):
        return "google_unavailable"
    if isinstance(exc, GoogleError):
        return "google_error"
    if isinstance(exc, ConfigError):
        return "not_configured"
    return "internal_error"


_LEADS = {
    "google_unavailable": "Google could not be reached",
    "google_error": "Google refused or failed the request",
    "not_configured": "This server is not set up for it",
    "internal_error": "Something went wrong on our side",
}


def describe_failure(exc: Ga4SyncError, outcome: str) -> dict[str, str]:
    """``{error, message}`` for ``exc``; ``outcome`` says what it meant for the request."""
    code = error_code(exc)
    return {"error": code, "message": f"{_LEADS[code]}: {outcome} ({exc})"}


def google_failure(exc: GoogleError, outcome: str) -> ApiError:
    """The answer when Google could not do what a request needed: **504** when it did not
    answer in time, **502** when it could not be reached, failed or refused."""
    timed_out = isinstance(exc, GoogleUnavailable) and exc.timed_out
    failure = describe_failure(exc, outcome)
    return ApiError(504 if timed_out else 502, failure["error"], failure["message"])


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message, **exc.extra)
    except ConfigError as exc:
        # A feature this deployment has not set up: say which setting is missing.
        return error_response(503, "not_configured", str(exc))
    except GoogleError as exc:
        # Handlers say what a Google failure means for their request; this is the net
        # under them, so an upstream failure is never reported as ours.
        logger.warning(
            "Google failed on %s %s: %s",
            request.method,
            request.path,
            exc,
            extra={"action": "google_failed"},
        )
        failure = google_failure(exc, "the request was not completed")
        return error_response(failure.status, failure.code, failure.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        response = error_response(exc.status, code, message)
        for name in ("Allow", "Retry-After", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception as exc:
        if is_database_unavailable(exc):
            # A restart or failover of Postgres: the client may simply try again.
            logger.warning(
                "%s %s: database unavailable (%s)",
                request.method,
                request.path,
                describe(exc),
                extra={"action": "http_database_unavailable"},
            )
            response = error_response(
                503,
                "database_unavailable",
                "The database is unreachable for the moment; nothing was changed. "
                "Try again in a few seconds.",
            )
            response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
            return response
        logger.exception(
            "unexpected error on %s %s",
            request.method,
            request.path,
            extra={"action": "http_error"},
        )
        return error_response(500, "internal_error", "Something went wrong on our side.")
