"""HTTP side of the fake: the Data API (runReport, runRealtimeReport, getMetadata,
checkCompatibility) and token routes, and serving them on 127.0.0.1.

The consent, revocation and Admin API routes live in ``oauth_routes`` and ``admin_routes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .admin_routes import add_admin_routes
from .aggregate import build_report
from .appkey import FAKE_KEY
from .errors import (
    DATA_API_METHOD,
    READONLY_SCOPE,
    RUN_REALTIME_REPORT_METHOD,
    api_error,
    insufficient_scope,
    invalid_argument,
    oauth_error,
    oauth_json,
    oauth_server_error,
    quota_exhausted,
    unauthenticated,
)
from .oauth_routes import add_oauth_routes, exchange_code
from .realtime import build_realtime_answer, parse_realtime_request
from .request import InvalidArgument, field_names, filter_expression, parse_report_request
from .response import render_response
from .schema import PropertySchema, compatibility_filter
from .tokens import DATA_API_SCOPES

if TYPE_CHECKING:
    from .fake import FakeGoogle

SCOPE = READONLY_SCOPE
_SHUTDOWN_TIMEOUT_S = 2.0
# How often a held runReport looks whether it may answer: it polls a flag because
# whoever releases it may run on another thread than the server's loop.
_HOLD_POLL_S = 0.005
_COMPATIBILITY_FIELDS = (
    "property",
    "dimensions",
    "metrics",
    "dimensionFilter",
    "metricFilter",
    "compatibilityFilter",
)
_COMPATIBILITY_SNAKE = frozenset({"dimension_filter", "metric_filter", "compatibility_filter"})


async def _json_body(request: web.Request) -> Any:
    """The request's JSON (an empty body is ``{}``), or None when it is not JSON."""
    text = await request.text()
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return None


async def run_report(request: web.Request) -> web.Response:
    """``POST /v1beta/properties/{id}:runReport``."""
    fake = request.app[FAKE_KEY]
    property_id = request.match_info["property_id"]
    body = await _json_body(request)
    fake.report_requests.append((property_id, body if isinstance(body, dict) else {}))

    authorization = request.headers.get("Authorization")
    problem = fake.auth_problem(authorization)
    if problem:
        return unauthenticated(problem)
    if not fake.scope_allows(authorization, DATA_API_SCOPES):
        return insufficient_scope()
    failure = fake.take_failure(property_id)
    if failure:
        status, quota = failure
        if status >= 500:
            fake.record_server_error(property_id)
        if status == 429:
            return quota_exhausted(quota or "concurrent")
        if status == 401:
            return unauthenticated("ACCESS_TOKEN_EXPIRED")
        return api_error(status)
    if fake.is_removed(property_id) or fake.access_denied(authorization, property_id):
        return api_error(403)
    if body is None:
        return invalid_argument("Invalid JSON payload received. Unexpected token.")
    config = fake.property(property_id)
    try:
        report = parse_report_request(body, fake.today(property_id), config.schema)
    except InvalidArgument as exc:
        return invalid_argument(str(exc))

    in_flight = fake.in_flight.get(property_id, 0) + 1
    fake.in_flight[property_id] = in_flight
    fake.max_concurrency[property_id] = max(fake.max_concurrency.get(property_id, 0), in_flight)
    try:
        exhausted = fake.exhausted_quota(property_id)
        if in_flight > fake.quota_limits_of(property_id)["concurrentRequests"]:
            exhausted = "concurrent"
        if exhausted:
            return quota_exhausted("generic" if fake.generic_quota_errors else exhausted)
        while fake.hold_reports:
            await asyncio.sleep(_HOLD_POLL_S)
        if fake.latency_s > 0:
            await asyncio.sleep(fake.latency_s)
        today = fake.today(property_id)
        builder = build_report(report, property_id, config, fake.seed, body, today)
        page = builder.page()
        property_quota = fake.charge(property_id, page.rows_returned)
        numeric_enums = "enum-encoding=int" in request.query.get("$alt", "")
        payload = render_response(
            builder, page, property_quota if report.return_property_quota else None, numeric_enums
        )
        return web.Response(body=payload, content_type="application/json", charset="UTF-8")
    finally:
        fake.in_flight[property_id] -= 1


async def run_realtime_report(request: web.Request) -> web.Response:
    """``POST /v1beta/properties/{id}:runRealtimeReport``: the last minutes' events,
    charged to the property's realtime quota (never its core one)."""
    fake = request.app[FAKE_KEY]
    property_id = request.match_info["property_id"]
    body = await _json_body(request)
    fake.realtime_requests.append((property_id, body if isinstance(body, dict) else {}))
    method = RUN_REALTIME_REPORT_METHOD
    authorization = request.headers.get("Authorization")
    problem = fake.auth_problem(authorization)
    if problem:
        return unauthenticated(problem, method=method)
    if not fake.scope_allows(authorization, DATA_API_SCOPES):
        return insufficient_scope(method=method)
    failure = fake.take_realtime_failure(property_id)
    if failure:
        status, quota = failure
        if status >= 500:
            fake.record_realtime_server_error(property_id)
        if status == 429:
            return quota_exhausted(quota or "concurrent")
        if status == 401:
            return unauthenticated("ACCESS_TOKEN_EXPIRED", method=method)
        return api_error(status)
    if fake.is_removed(property_id) or fake.access_denied(authorization, property_id):
        return api_error(403)
    if body is None:
        return invalid_argument("Invalid JSON payload received. Unexpected token.")
    config = fake.property(property_id)
    try:
        report = parse_realtime_request(
            body,
            custom_dimensions=config.custom_dimensions,
            analytics_360=config.analytics_360,
        )
    except InvalidArgument as exc:
        return invalid_argument(str(exc))
    in_flight = fake.realtime_in_flight.get(property_id, 0) + 1
    fake.realtime_in_flight[property_id] = in_flight
    try:
        exhausted = fake.realtime_exhausted_quota(property_id)
        if in_flight > fake.realtime_quota_limits_of(property_id)["concurrentRequests"]:
            exhausted = "concurrent"
        if exhausted:
            return quota_exhausted("generic" if fake.generic_quota_errors else exhausted)
        if fake.latency_s > 0:
            await asyncio.sleep(fake.latency_s)
        numeric_enums = "enum-encoding=int" in request.query.get("$alt", "")
        answer = build_realtime_answer(
            report, property_id, config, fake.seed, fake.realtime_minute(), numeric_enums
        )
        payload = dict(answer.payload)
        if report.return_property_quota:
            payload["propertyQuota"] = fake.charge_realtime(property_id, answer.rows_returned)
        else:
            fake.charge_realtime(property_id, answer.rows_returned)
        payload["kind"] = "analyticsData#runRealtimeReport"
        fake.realtime_answers.append((property_id, payload))
        return _json_response(payload)
    finally:
        fake.realtime_in_flight[property_id] -= 1


def _json_response(payload: Any) -> web.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, content_type="application/json", charset="UTF-8")


def _data_api_refusal(
    fake: FakeGoogle, request: web.Request, property_id: str, method: str
) -> web.Response | None:
    """The error a Data API method other than runReport answers before looking at its
    request: missing or bad credentials, a malformed property ID, a property the caller
    cannot see (None: go on)."""
    method = DATA_API_METHOD + method
    authorization = request.headers.get("Authorization")
    problem = fake.auth_problem(authorization)
    if problem:
        return unauthenticated(problem, method=method)
    if not fake.scope_allows(authorization, DATA_API_SCOPES):
        return insufficient_scope(method=method)
    if not property_id.isdigit():
        return invalid_argument(
            f"Invalid property ID: {property_id}. A numeric Property ID is required. To learn "
            "more about Property ID, see "
            "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."
        )
    if fake.is_removed(property_id) or fake.access_denied(authorization, property_id):
        return api_error(403)
    return None


def _schema(fake: FakeGoogle, property_id: str) -> PropertySchema:
    """Property 0 has the standard fields only; any other its custom ones too."""
    return PropertySchema() if property_id == "0" else fake.property(property_id).schema


async def get_metadata(request: web.Request) -> web.Response:
    """``GET /v1beta/properties/{id}/metadata``: the property's dimensions and metrics."""
    fake = request.app[FAKE_KEY]
    property_id = request.match_info["property_id"]
    fake.metadata_requests.append(property_id)
    refusal = _data_api_refusal(fake, request, property_id, "GetMetadata")
    if refusal is not None:
        return refusal
    numeric_enums = "enum-encoding=int" in request.query.get("$alt", "")
    return _json_response(_schema(fake, property_id).metadata(property_id, numeric_enums))


def _check_compatibility_fields(
    body: dict[str, Any], schema: PropertySchema
) -> tuple[list[str], list[str], str | None]:
    """The fields (filters' included) and compatibilityFilter of a request body."""
    for key in body:
        if key not in _COMPATIBILITY_FIELDS and key not in _COMPATIBILITY_SNAKE:
            raise InvalidArgument(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
            )
    dimensions = field_names(body, "dimensions", schema.is_dimension, "dimension", " ")
    metrics = field_names(body, "metrics", schema.is_metric, "metric", "  ")
    dimension_filter = filter_expression(body, "dimensionFilter", schema, metric=False)
    metric_filter = filter_expression(body, "metricFilter", schema, metric=True)
    filter_dimensions = sorted(dimension_filter.fields()) if dimension_filter else []
    filter_metrics = sorted(metric_filter.fields()) if metric_filter else []
    try:
        only = compatibility_filter(
            body.get("compatibilityFilter", body.get("compatibility_filter"))
        )
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    return (
        list(dict.fromkeys([*dimensions, *filter_dimensions])),
        list(dict.fromkeys([*metrics, *filter_metrics])),
        only,
    )


async def check_compatibility(request: web.Request) -> web.Response:
    """``POST /v1beta/properties/{id}:checkCompatibility``: which fields go with the
    request's."""
    fake = request.app[FAKE_KEY]
    property_id = request.match_info["property_id"]
    body = await _json_body(request)
    fake.compatibility_requests.append((property_id, body if isinstance(body, dict) else {}))
    refusal = _data_api_refusal(fake, request, property_id, "CheckCompatibility")
    if refusal is not None:
        return refusal
    if not isinstance(body, dict):
        return invalid_argument("Invalid JSON payload received. Unexpected token.")
    schema = _schema(fake, property_id)
    try:
        dimensions, metrics, only = _check_compatibility_fields(body, schema)
    except InvalidArgument as exc:
        return invalid_argument(str(exc))
    numeric_enums = "enum-encoding=int" in request.query.get("$alt", "")
    return _json_response(schema.compatibility(dimensions, metrics, only, numeric_enums))


async def _token_params(request: web.Request) -> dict[str, str]:
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    form = await request.post()
    return {key: str(value) for key, value in form.items()}


async def token(request: web.Request) -> web.Response:
    """``POST /token``: the refresh_token and authorization_code grants of oauth2.googleapis.com."""
    fake = request.app[FAKE_KEY]
    params = await _token_params(request)
    failure = fake.take_oauth_failure()
    if failure is not None:
        return oauth_server_error(failure)
    grant_type = params.get("grant_type")
    if not grant_type:
        return oauth_error("invalid_request", "Missing required parameter: grant_type")
    if grant_type == "authorization_code":
        return exchange_code(fake, params)
    if grant_type != "refresh_token":
        return oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    refresh_token = params.get("refresh_token", "")
    fake.token_requests.append(refresh_token)
    if not refresh_token:
        return oauth_error("invalid_request", "Missing required parameter: refresh_token")
    if not params.get("client_id"):
        return oauth_error("invalid_request", "Could not determine client ID from request.")
    if not params.get("client_secret"):
        return oauth_error("invalid_request", "client_secret is missing.")
    if not fake.refresh_token_valid(refresh_token):
        return oauth_error("invalid_grant", "Token has been expired or revoked.")
    return oauth_json(
        200,
        {
            "access_token": fake.issue_access_token(refresh_token),
            "expires_in": fake.tokens_expire_in_s,
            "scope": fake.granted_scope(refresh_token) or SCOPE,
            "token_type": "Bearer",
        },
    )


_API_PATHS = ("/v1beta/", "/v1alpha/")


@web.middleware
async def pretty_print(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Google's APIs indent their JSON answers (two spaces a level, a space after
    each colon) unless the request's query says ``prettyPrint=false``."""
    response = await handler(request)
    if not (
        request.path.startswith(_API_PATHS)
        and isinstance(response, web.Response)
        and response.content_type == "application/json"
        and isinstance(response.body, bytes)
    ):
        return response
    pretty = request.query.get("prettyPrint", "true").lower() != "false"
    indented = response.body.startswith(b"{\n")
    if pretty != indented:  # the large answers are built compact: only they pay here
        payload = json.loads(response.body)
        if pretty:
            text = json.dumps(payload, indent=2, ensure_ascii=False)
        else:
            text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        response.body = text.encode()
    if pretty:
        request.app[FAKE_KEY].indented_answers += 1
    return response


def make_app(fake: FakeGoogle) -> web.Application:
    """The aiohttp application: Data API, Admin API and the OAuth endpoints."""
    app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[pretty_print])
    app[FAKE_KEY] = fake
    # The method name follows a colon in the last path segment (Google's custom-verb URLs).
    app.router.add_post(r"/v1beta/properties/{property_id:[^/:]+}:runReport", run_report)
    app.router.add_post(
        r"/v1beta/properties/{property_id:[^/:]+}:runRealtimeReport", run_realtime_report
    )
    app.router.add_post(
        r"/v1beta/properties/{property_id:[^/:]+}:checkCompatibility", check_compatibility
    )
    app.router.add_get(r"/v1beta/properties/{property_id:[^/:]+}/metadata", get_metadata)
    app.router.add_post("/token", token)
    add_oauth_routes(app)
    add_admin_routes(app)
    return app


@asynccontextmanager
async def serve(fake: FakeGoogle, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Listen on ``host`` (a free port by default) and yield the base URL."""
    runner = web.AppRunner(make_app(fake), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        yield f"http://{host}:{bound_port}"
    finally:
        await runner.cleanup()


@contextmanager
def serve_in_thread(fake: FakeGoogle, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run :func:`serve` on its own event loop in a background thread; yield the base URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        async with serve(fake, host, port) as base_url:
            state["url"], state["stop"] = base_url, stop
            started.set()
            await stop.wait()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to the caller's thread
            state["error"] = exc
        finally:
            started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()

    thread = threading.Thread(target=run, name="fake-google", daemon=True)
    thread.start()
    started.wait()
    if "error" in state:
        thread.join()
        raise RuntimeError("the fake Google server did not start") from state["error"]
    try:
        yield state["url"]
    finally:
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(state["stop"].set)
        thread.join()
