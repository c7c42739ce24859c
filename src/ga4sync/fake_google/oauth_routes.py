"""The "connect your Google account" side of the fake: consent, code exchange, revocation.

``GET /o/oauth2/v2/auth`` stands for accounts.google.com's authorization endpoint (the
consent screen approves at once), ``POST /token`` with ``grant_type=authorization_code``
and ``POST /revoke`` for oauth2.googleapis.com.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .appkey import FAKE_KEY
from .consent import (
    ConsentError,
    PendingCode,
    parse_consent,
    redirect_url,
    verifier_problem,
)
from .errors import consent_error_page, oauth_error, oauth_json, oauth_server_error

if TYPE_CHECKING:
    from .fake import FakeGoogle

# Google's answer for a code that is unknown, spent or expired, or bound to another client.
_BAD_REQUEST = "Bad Request"


def _found(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


async def authorize(request: web.Request) -> web.Response:
    """``GET /o/oauth2/v2/auth``: validate, approve as the consenting account, redirect."""
    fake = request.app[FAKE_KEY]
    query = {key: request.query.getone(key) for key in request.query}
    fake.authorization_requests.append(query)
    try:
        consent = parse_consent(query)
    except ConsentError as exc:
        return consent_error_page(exc.error, exc.detail)
    account = fake.consenting_account()
    if fake.take_denial():
        params = {"error": "access_denied", "state": consent.state}
        return _found(redirect_url(consent.redirect_uri, params))
    if "none" in consent.prompts and not fake.has_consented(
        account, consent.client_id, consent.scopes
    ):
        params = {"error": "consent_required", "state": consent.state}
        return _found(redirect_url(consent.redirect_uri, params))
    code = fake.issue_code(PendingCode.approve(consent, account))
    params = {
        "state": consent.state,
        "code": code,
        "scope": " ".join(consent.scopes),
        "authuser": "0",
        "prompt": "none" if "none" in consent.prompts else "consent",
    }
    return _found(redirect_url(consent.redirect_uri, params))


def exchange_code(fake: FakeGoogle, params: dict[str, str]) -> web.Response:
    """The ``authorization_code`` grant of ``POST /token``."""
    if not params.get("client_id"):
        return oauth_error("invalid_request", "Could not determine client ID from request.")
    if not params.get("client_secret"):
        return oauth_error("invalid_request", "client_secret is missing.")
    code = params.get("code", "")
    if not code:
        return oauth_error("invalid_request", "Missing required parameter: code")
    if not params.get("redirect_uri"):
        return oauth_error("invalid_request", "Missing required parameter: redirect_uri")
    if not code.startswith("4/"):
        return oauth_error("invalid_grant", "Malformed auth code.")
    pending = fake.redeem_code(code)
    if pending is None or pending.client_id != params["client_id"]:
        return oauth_error("invalid_grant", _BAD_REQUEST)
    if pending.redirect_uri != params["redirect_uri"]:
        return oauth_error("redirect_uri_mismatch", _BAD_REQUEST)
    problem = verifier_problem(pending, params.get("code_verifier"))
    if problem:
        return oauth_error("invalid_grant", problem)
    grant_key, refresh_token, scopes = fake.grant_for_code(pending)
    payload: dict[str, object] = {
        "access_token": fake.issue_access_token(grant_key),
        "expires_in": fake.tokens_expire_in_s,
    }
    if refresh_token:
        payload["refresh_token"] = refresh_token
    payload["scope"] = " ".join(scopes)
    payload["token_type"] = "Bearer"
    return oauth_json(200, payload)


async def revoke(request: web.Request) -> web.Response:
    """``POST /revoke``: ``token`` (form or query) is a refresh or an access token."""
    fake = request.app[FAKE_KEY]
    form = await request.post()
    failure = fake.take_oauth_failure()
    if failure is not None:
        return oauth_server_error(failure)
    token = str(form.get("token") or request.query.get("token") or "")
    if not token:
        return oauth_error("invalid_request", "Missing required parameter: token")
    if not fake.revoke(token):
        return oauth_error("invalid_token", "Token expired or revoked")
    fake.revoked.append(token)
    return oauth_json(200, {})


def add_oauth_routes(app: web.Application) -> None:
    """Register the authorization and revocation endpoints."""
    app.router.add_get("/o/oauth2/v2/auth", authorize)
    app.router.add_post("/revoke", revoke)
