"""What every handler shares: app keys, the caller, JSON bodies in and out."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
from aiohttp import web

from ga4sync.settings import Settings
from ga4sync.store.properties import find_property_ref
from ga4sync.sync.jobs import SyncService
from ga4sync.sync.report_rows import ReportRows
from ga4sync.web.auth import Authenticator, Principal
from ga4sync.web.errors import ApiError
from ga4sync.web.params import property_in_path

SERVICE = web.AppKey("sync_service", SyncService)
AUTH = web.AppKey("authenticator", Authenticator)
SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
ROWS = web.AppKey("report_rows", ReportRows)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def json_response(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, dumps=lambda obj: json.dumps(obj, default=_encode)
    )


async def principal_of(request: web.Request) -> Principal:
    return await request.app[AUTH].authenticate(request.headers.get("Authorization"))


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body; an empty body is ``{}``."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    return body


async def named_property(request: web.Request) -> tuple[str, int]:
    """The ``{property_id}`` of the path as named and the property's row id; a 404
    when no property has that id (access is each handler's to check)."""
    named = property_in_path(request.match_info["property_id"])
    ref = await find_property_ref(request.app[POOL], named)
    if ref is None:
        raise ApiError(404, "not_found", f"No property {named}.")
    return named, ref
