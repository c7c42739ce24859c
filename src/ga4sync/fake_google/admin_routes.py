"""The read side of the GA4 Admin API v1beta: ``accountSummaries.list`` and ``properties.get``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .accounts import page_offset, property_resource, summaries_page
from .appkey import FAKE_KEY
from .errors import (
    ADMIN_METHOD,
    ADMIN_SERVICE,
    api_error,
    insufficient_scope,
    unauthenticated,
)
from .tokens import ADMIN_API_SCOPES

DEFAULT_PAGE_SIZE = 50
LIST_METHOD = ADMIN_METHOD + "ListAccountSummaries"
GET_METHOD = ADMIN_METHOD + "GetProperty"
NO_PERMISSION = "The caller does not have permission"
ADMIN_QUOTA_MESSAGE = (
    "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute "
    "per user' of service 'analyticsadmin.googleapis.com' for consumer 'project_number:0'."
)
_INJECTED_MESSAGES = {403: NO_PERMISSION, 429: ADMIN_QUOTA_MESSAGE}


def _ok(payload: dict[str, Any]) -> web.Response:
    return web.Response(
        body=json.dumps(payload, indent=2).encode(),
        content_type="application/json",
        charset="UTF-8",
    )


def _refusal(request: web.Request, method: str) -> web.Response | None:
    """Record the request; the error answer for bad credentials or an injected failure."""
    fake = request.app[FAKE_KEY]
    fake.admin_requests.append((request.path, request.query_string))
    authorization = request.headers.get("Authorization")
    problem = fake.auth_problem(authorization)
    if problem:
        return unauthenticated(problem, method=method, service=ADMIN_SERVICE)
    status = fake.take_admin_failure()
    if status == 401:
        return unauthenticated("ACCESS_TOKEN_EXPIRED", method=method, service=ADMIN_SERVICE)
    if status is not None:
        return api_error(status, _INJECTED_MESSAGES.get(status))
    if not fake.scope_allows(authorization, ADMIN_API_SCOPES):
        return insufficient_scope(method=method, service=ADMIN_SERVICE)
    return None


def _page_size(raw: str | None, cap: int) -> int | str:
    """The effective page size, or the INVALID_ARGUMENT message."""
    if raw is None or raw == "":
        return min(DEFAULT_PAGE_SIZE, cap)
    try:
        size = int(raw)
    except ValueError:
        return f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\""
    if size < 0:
        return "page_size must not be negative"
    return min(size or DEFAULT_PAGE_SIZE, cap)


async def list_account_summaries(request: web.Request) -> web.Response:
    """``GET /v1beta/accountSummaries?pageSize=&pageToken=``, paged by account summary."""
    refusal = _refusal(request, LIST_METHOD)
    if refusal is not None:
        return refusal
    fake = request.app[FAKE_KEY]
    grant = fake.bearer_grant(request.headers.get("Authorization"))
    email = grant.account if grant else None
    size = _page_size(request.query.get("pageSize"), max(1, fake.admin_page_size_max))
    if isinstance(size, str):
        return api_error(400, size)
    offset = 0
    token = request.query.get("pageToken", "")
    if token:
        found = page_offset(token, email)
        if found is None:
            return api_error(400)
        offset = found
    return _ok(summaries_page(fake.directory.accounts_of(email), offset, size, email))


async def get_property(request: web.Request) -> web.Response:
    """``GET /v1beta/properties/{id}``: the Property resource, if the caller may see it."""
    refusal = _refusal(request, GET_METHOD)
    if refusal is not None:
        return refusal
    fake = request.app[FAKE_KEY]
    grant = fake.bearer_grant(request.headers.get("Authorization"))
    property_id = request.match_info["property_id"]
    prop = fake.directory.find(grant.account if grant else None, property_id)
    if prop is None:
        if fake.directory.exists(property_id):
            return api_error(403, NO_PERMISSION)
        return api_error(404)
    return _ok(property_resource(prop, fake.property(property_id)))


def add_admin_routes(app: web.Application) -> None:
    """Register the Admin API routes."""
    app.router.add_get("/v1beta/accountSummaries", list_account_summaries)
    app.router.add_get(r"/v1beta/properties/{property_id:[^/:]+}", get_property)
