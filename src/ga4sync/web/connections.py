"""HTTP handlers for connecting Google accounts and choosing which properties sync."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ga4sync.consent import InvalidState
from ga4sync.errors import Ga4SyncError, GoogleError, GrantRevoked
from ga4sync.store.properties import get_property
from ga4sync.sync.google_accounts import (
    CompletionByAnotherUser,
    CompletionCodeExpired,
    Connected,
    GoogleAccounts,
    UnknownCompletionCode,
)
from ga4sync.web.common import (
    POOL,
    SETTINGS,
    json_object,
    json_response,
    named_property,
    principal_of,
)
from ga4sync.web.errors import ApiError, describe_failure, error_code, google_failure
from ga4sync.web.params import (
    BOOLEANS,
    COMPLETION_CODE_PATTERN,
    FREQUENCIES,
    STATE_PATTERN,
    matches,
    parse_refresh_token,
    uuid_param,
)

ACCOUNTS = web.AppKey("google_accounts", GoogleAccounts)
# A property's settings as one user sees them: their own, and what they add up to
# over every user with access (whether and how often the property actually syncs).
SETTINGS_FIELDS = (
    "enabled",
    "sync_frequency",
    "realtime",
    "effective_enabled",
    "effective_sync_frequency",
    "effective_realtime",
)


def _connected_json(connected: Connected) -> dict[str, Any]:
    return {
        "user_id": connected.user_id,
        "properties": [
            {
                "property_id": p.property_id,
                "display_name": p.display_name,
                "time_zone": p.time_zone,
                "service_level": p.service_level,
                "account": p.account_name,
            }
            for p in connected.properties
        ],
        "discovery_error": _failure_json(
            connected.discovery_error,
            "the grant is stored, but the GA4 properties could not be listed; "
            "reconnect to discover them",
        ),
        "first_sync_job_id": connected.first_sync_job_id,
    }


def _failure_json(exc: Ga4SyncError | None, outcome: str) -> dict[str, str] | None:
    """A failure reported inside a successful answer, shaped like an error answer."""
    return None if exc is None else describe_failure(exc, outcome)


async def start(request: web.Request) -> web.Response:
    """GET /v1/connections/google/start — the consent URL to send the user to."""
    principal = await principal_of(request)
    url = await request.app[ACCOUNTS].start(principal.user_id, login_hint=principal.email)
    return json_response({"url": url})


def _back_to_frontend(request: web.Request, **outcome: str) -> web.HTTPFound:
    base = request.app[SETTINGS].frontend_url
    separator = "&" if "?" in base else "?"
    # The frontend's URL carries a one-time code: no Referer for it to leak through.
    return web.HTTPFound(
        f"{base}{separator}{urlencode({'ga4sync': 'google', **outcome})}",
        headers={"Referrer-Policy": "no-referrer"},
    )


async def callback(request: web.Request) -> web.StreamResponse:
    """GET /v1/connections/google/callback — Google sends the user back here.

    A state that is tampered with, expired or replayed is a 400 and stores
    nothing. Otherwise the grant waits for the user who started the consent, and
    the browser goes back to FRONTEND_URL with a one-time code that this user
    (signed in there) sends to ``POST /v1/connections/google/complete``: the
    browser that comes back may be someone else's, so nothing is attached here.
    """
    accounts = request.app[ACCOUNTS]
    sealed = request.query.get("state", "")
    if not sealed:
        raise ApiError(400, "invalid_state", "The sign-in response has no state.")
    if not matches(STATE_PATTERN, sealed):
        raise ApiError(400, "invalid_state", "The sign-in link is invalid; start again.")
    try:
        state = accounts.open_state(sealed)
    except InvalidState as exc:
        raise ApiError(400, "invalid_state", str(exc)) from None
    if "error" in request.query:  # the user said no at Google's consent screen
        raise _back_to_frontend(request, status="error", reason=request.query["error"][:64])
    code = request.query.get("code", "")
    if not code:
        raise ApiError(400, "invalid_request", "The sign-in response has no code.")
    try:
        completion_code = await accounts.finish(state, code)
    except InvalidState as exc:
        raise ApiError(400, "invalid_state", str(exc)) from None
    except GrantRevoked:
        raise _back_to_frontend(request, status="error", reason="code_rejected") from None
    except GoogleError as exc:  # google_unavailable, or google_error; nothing was stored
        raise _back_to_frontend(request, status="error", reason=error_code(exc)) from None
    raise _back_to_frontend(request, status="consented", code=completion_code)


async def complete(request: web.Request) -> web.Response:
    """POST /v1/connections/google/complete — claim a finished consent's grant.

    Only the user who started the consent can; a code is good once and for
    ``COMPLETION_TTL_S``. Any other user's attempt ends the code and stores nothing.
    """
    principal = await principal_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"code"})
    if unknown:
        raise ApiError(400, "invalid_body", f"Unknown field(s): {', '.join(unknown)}.")
    code = body.get("code")
    if not matches(COMPLETION_CODE_PATTERN, code):
        raise ApiError(
            400, "invalid_code", "code is the one-time code the callback put in FRONTEND_URL."
        )
    assert isinstance(code, str)
    try:
        connected = await request.app[ACCOUNTS].complete(principal.user_id, code)
    except UnknownCompletionCode as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except CompletionByAnotherUser as exc:
        raise ApiError(403, "other_user", str(exc)) from None
    except CompletionCodeExpired as exc:
        raise ApiError(410, "code_expired", str(exc)) from None
    return json_response(_connected_json(connected), status=201)


async def import_tokens(request: web.Request) -> web.Response:
    """POST /v1/connections/google/tokens — store a refresh token the app already holds."""
    principal = await principal_of(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"refresh_token", "user_id"})
    if unknown:
        raise ApiError(400, "invalid_body", f"Unknown field(s): {', '.join(unknown)}.")
    refresh_token = parse_refresh_token(body.get("refresh_token"))
    user_id = principal.user_id
    if body.get("user_id") is not None:
        user_id = uuid_param(body["user_id"], "user_id")
        if user_id != principal.user_id and not principal.is_admin:
            raise ApiError(403, "forbidden", "Only admins can connect another user's account.")
    try:
        connected = await request.app[ACCOUNTS].import_token(user_id, refresh_token)
    except GrantRevoked as exc:
        raise ApiError(400, "invalid_refresh_token", f"Google refused the token: {exc}") from None
    except GoogleError as exc:
        raise google_failure(
            exc, "the refresh token could not be checked, so nothing was stored; try again later"
        ) from None
    return json_response(_connected_json(connected), status=201)


async def disconnect(request: web.Request) -> web.Response:
    """DELETE /v1/connections/google — revoke, forget the tokens, stop syncing (idempotent)."""
    principal = await principal_of(request)
    delete_data = BOOLEANS.get(request.query.get("delete_data", "false"))
    if delete_data is None:
        raise ApiError(400, "invalid_delete_data", "delete_data must be true or false.")
    user_id = principal.user_id
    if "user_id" in request.query:
        user_id = uuid_param(request.query["user_id"], "user_id")
        if user_id != principal.user_id and not principal.is_admin:
            raise ApiError(403, "forbidden", "Only admins can disconnect another user.")
    done = await request.app[ACCOUNTS].disconnect(user_id, delete_data=delete_data)
    return json_response(
        {
            "user_id": user_id,
            "tokens_deleted": done.had_tokens,
            "revoked_at_google": done.revoked_at_google,
            "revoke_error": _failure_json(
                done.revoke_error,
                "the grant was not revoked there, but the tokens were deleted here; the user "
                "can remove the access at https://myaccount.google.com/permissions",
            ),
            "rows_deleted": done.rows_deleted,
        }
    )


async def patch_property(request: web.Request) -> web.Response:
    """PATCH /v1/properties/{id} — turn syncing on or off, change how often it runs,
    or turn its realtime polling on or off.

    These are the caller's own settings: a property shared with other users syncs
    while any of them has it enabled, at the most frequent schedule among them, and
    its realtime is polled while any of them has it on. An admin without access to
    the property changes every user's settings of it.
    """
    principal = await principal_of(request)
    body = await json_object(request)
    if not body or set(body) - {"enabled", "sync_frequency", "realtime"}:
        raise ApiError(
            400,
            "invalid_body",
            'Send {"enabled": true|false}, {"sync_frequency": '
            '"manual"|"hourly"|"every_6h"|"daily"} and/or {"realtime": true|false}.',
        )
    if "enabled" in body and not isinstance(body["enabled"], bool):
        raise ApiError(400, "invalid_body", "enabled must be true or false.")
    if "realtime" in body and not isinstance(body["realtime"], bool):
        raise ApiError(400, "invalid_body", "realtime must be true or false.")
    if "sync_frequency" in body and body["sync_frequency"] not in FREQUENCIES:
        raise ApiError(
            400, "invalid_frequency", f"sync_frequency must be one of {', '.join(FREQUENCIES)}."
        )
    pool = request.app[POOL]
    named, ref = await named_property(request)
    prop = await get_property(pool, ref, principal.user_id)
    has_access = prop is not None and principal.user_id in prop["access_user_ids"]
    if prop is None or not (has_access or principal.is_admin):
        raise ApiError(404, "not_found", f"No property {named}.")
    await request.app[ACCOUNTS].change_settings(
        ref,
        principal.user_id if has_access else None,
        enabled=body.get("enabled"),
        sync_frequency=body.get("sync_frequency"),
        realtime=body.get("realtime"),
    )
    updated = await get_property(pool, ref, principal.user_id)
    assert updated is not None
    return json_response(
        {
            "id": updated["id"],
            "property_id": updated["property_id"],
            **{key: updated[key] for key in SETTINGS_FIELDS},
        }
    )
