"""Google's OAuth 2.0 web-server flow: consent URL, sealed state, code exchange, revocation.

Written over aiohttp rather than with google-auth-oauthlib: that library is
synchronous, refuses token endpoints that are not https (so it cannot be
pointed at a local fake without switching the check off process-wide), and the
pieces are small — a URL, one form POST to exchange the code, one to revoke.
Refreshing tokens stays with google-auth (``ga4sync.oauth``).

The ``state`` parameter is sealed with Fernet (authenticated encryption, with
its issue time inside): it names the user who started the flow and carries the
PKCE verifier, which must not travel in clear. It expires after a TTL and is
single-use (the caller records its nonce). Its key is derived from
``TOKEN_ENCRYPTION_KEY`` for this purpose only (``STATE_KEY_PURPOSE``), never the
key that encrypts stored tokens.

The callback does not attach the grant to that user: whoever's browser comes back
may not be them (a consent link can be sent to someone else). The exchanged grant
waits under a one-time completion code that the callback hands to the browser, and
only the user who started the consent can claim it with their own sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from cryptography.fernet import InvalidToken

from ga4sync.crypto import derived_fernet
from ga4sync.errors import Ga4SyncError, GoogleError, GrantRevoked
from ga4sync.google_http import DEFAULT_TIMEOUT_S, google_request
from ga4sync.oauth import SCOPE_ANALYTICS_READONLY


class InvalidState(Ga4SyncError):
    """The state came back tampered with, expired or already used."""


@dataclass(frozen=True)
class ConsentState:
    user_id: uuid.UUID
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ExchangedTokens:
    access_token: str
    refresh_token: str
    lifetime_s: float
    scopes: list[str]


@dataclass(frozen=True)
class Grant:
    """An exchanged grant as it waits for its user: tokens and when the access token ends."""

    refresh_token: str
    access_token: str
    access_token_expires_at: datetime
    scopes: list[str]

    def to_json(self) -> str:
        return json.dumps(
            {
                "refresh_token": self.refresh_token,
                "access_token": self.access_token,
                "access_token_expires_at": self.access_token_expires_at.isoformat(),
                "scopes": self.scopes,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Grant:
        data = json.loads(text)
        return cls(
            refresh_token=data["refresh_token"],
            access_token=data["access_token"],
            access_token_expires_at=datetime.fromisoformat(data["access_token_expires_at"]),
            scopes=list(data["scopes"]),
        )


def new_completion_code() -> str:
    """A one-time code for the browser that finished a consent: 256 random bits as 43
    URL-safe base64 characters (``web.params.COMPLETION_CODE_PATTERN``)."""
    return secrets.token_urlsafe(32)


def completion_code_digest(code: str) -> bytes:
    """What is stored of a completion code: its SHA-256, never the code itself."""
    return hashlib.sha256(code.encode()).digest()


# The HKDF label of the keys that seal states. States sealed with another key
# (such as the token key itself, before keys were derived) are refused.
STATE_KEY_PURPOSE = b"ga4sync oauth state"


class StateSealer:
    """Seals and opens ``state`` values (keys: derived from ``TOKEN_ENCRYPTION_KEY``)."""

    def __init__(self, keys: str, ttl_s: int) -> None:
        self._fernet = derived_fernet(keys, STATE_KEY_PURPOSE)
        self._ttl_s = ttl_s

    def seal(self, user_id: uuid.UUID) -> tuple[str, ConsentState]:
        state = ConsentState(
            user_id=user_id,
            nonce=secrets.token_urlsafe(16),
            code_verifier=secrets.token_urlsafe(48),
        )
        payload = json.dumps(
            {"u": str(state.user_id), "n": state.nonce, "v": state.code_verifier}
        ).encode()
        return self._fernet.encrypt(payload).decode(), state

    def open(self, sealed: str) -> ConsentState:
        try:
            payload = json.loads(self._fernet.decrypt(sealed.encode(), ttl=self._ttl_s))
            return ConsentState(
                user_id=uuid.UUID(payload["u"]), nonce=payload["n"], code_verifier=payload["v"]
            )
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise InvalidState("the sign-in link is invalid or has expired; start again") from None


def code_challenge(verifier: str) -> str:
    """PKCE S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def consent_url(
    auth_uri: str,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_verifier: str,
    *,
    login_hint: str | None = None,
) -> str:
    """Google's consent screen: offline access (a refresh token), asked every time so a
    reconnect always yields a fresh refresh token."""
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": SCOPE_ANALYTICS_READONLY,
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        "code_challenge": code_challenge(code_verifier),
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    return f"{auth_uri}?{urlencode(params)}"


async def exchange_code(
    session: aiohttp.ClientSession,
    token_uri: str,
    *,
    code: str,
    code_verifier: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ExchangedTokens:
    """Trade an authorization code for tokens (RFC 6749 §4.1.3 with PKCE).

    Raises ``GrantRevoked`` when Google refuses the code, ``GoogleUnavailable`` when it
    cannot be reached or fails, ``GoogleError`` for an answer without usable tokens.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": code_verifier,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    body = await _post_form(session, token_uri, form, _TOKEN_ENDPOINT, timeout_s)
    if "error" in body:
        raise GrantRevoked(
            f"Google refused the code: {body['error']}: {body.get('error_description', '')}"
        )
    if not body.get("refresh_token"):
        raise GoogleError(
            "Google returned no refresh token: the consent must ask for offline access"
        )
    try:
        return ExchangedTokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            lifetime_s=float(body.get("expires_in", 3600)),
            scopes=str(body.get("scope", SCOPE_ANALYTICS_READONLY)).split(),
        )
    except (KeyError, TypeError, ValueError):
        raise GoogleError(f"{_TOKEN_ENDPOINT} answered without a usable access token") from None


async def revoke(
    session: aiohttp.ClientSession,
    revoke_uri: str,
    token: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> bool:
    """Revoke ``token`` at Google; ``False`` when Google says it was already invalid.

    Raises ``GoogleUnavailable`` when Google cannot be reached or fails, ``GoogleError``
    when it refuses.
    """
    body = await _post_form(session, revoke_uri, {"token": token}, _REVOKE_ENDPOINT, timeout_s)
    if body.get("error") == "invalid_token":
        return False
    if "error" in body:
        raise GoogleError(f"Google refused to revoke the token: {body['error']}")
    return True


_TOKEN_ENDPOINT = "Google's token endpoint"
_REVOKE_ENDPOINT = "Google's revocation endpoint"


async def _post_form(
    session: aiohttp.ClientSession,
    url: str,
    form: dict[str, str],
    endpoint: str,
    timeout_s: float,
) -> dict[str, Any]:
    status, raw = await google_request(
        session, "POST", url, data=form, endpoint=endpoint, timeout_s=timeout_s
    )
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if status >= 400 and "error" not in body:
        body["error"] = f"http_{status}"
    return body
