"""Google's authorization endpoint rules: request validation, PKCE and the redirect back.

Messages follow what accounts.google.com shows on its "Error 400" pages.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CHALLENGE_METHODS = ("S256", "plain")
ACCESS_TYPES = ("online", "offline")


class ConsentError(Exception):
    """The authorization request is invalid: Google shows an error page, no redirect."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


@dataclass(frozen=True)
class ConsentRequest:
    """A valid authorization request (``response_type=code``)."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    offline: bool
    prompts: frozenset[str]
    code_challenge: str | None
    challenge_method: str
    include_granted_scopes: bool


@dataclass(frozen=True)
class PendingCode:
    """What an authorization code stands for until it is exchanged."""

    account: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    challenge_method: str
    offline: bool
    forced_consent: bool
    include_granted_scopes: bool
    expires_at: float = 0.0

    @classmethod
    def approve(cls, request: ConsentRequest, account: str) -> PendingCode:
        """The code's content once ``account`` approved ``request``."""
        return cls(
            account=account,
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            scopes=request.scopes,
            code_challenge=request.code_challenge,
            challenge_method=request.challenge_method,
            offline=request.offline,
            forced_consent="consent" in request.prompts,
            include_granted_scopes=request.include_granted_scopes,
        )

    def with_expiry(self, expires_at: float) -> PendingCode:
        """The same code content, expiring at ``expires_at`` (epoch seconds)."""
        return dataclasses.replace(self, expires_at=expires_at)


def _missing(name: str) -> ConsentError:
    return ConsentError("invalid_request", f"Missing required parameter: {name}")


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if not parts.scheme:
        raise ConsentError("invalid_request", f"Invalid parameter value for redirect_uri: {uri}")
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise ConsentError(
            "invalid_request", f"Invalid parameter value for redirect_uri: Missing authority: {uri}"
        )
    if parts.fragment:
        raise ConsentError(
            "invalid_request",
            f"Invalid parameter value for redirect_uri: Fragment not allowed: {uri}",
        )


def parse_consent(query: Mapping[str, str]) -> ConsentRequest:
    """Validate the authorization endpoint's query; raises :class:`ConsentError`."""
    client_id = query.get("client_id", "")
    if not client_id:
        raise _missing("client_id")
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri:
        raise _missing("redirect_uri")
    _check_redirect_uri(redirect_uri)
    response_type = query.get("response_type", "")
    if not response_type:
        raise ConsentError("invalid_request", "Required parameter is missing: response_type")
    if response_type != "code":
        raise ConsentError("unsupported_response_type", f"Invalid response_type: {response_type}")
    scopes = tuple(dict.fromkeys(query.get("scope", "").split()))
    if not scopes:
        raise _missing("scope")
    access_type = query.get("access_type", "online")
    if access_type not in ACCESS_TYPES:
        raise ConsentError(
            "invalid_request", f"Invalid parameter value for access_type: {access_type}"
        )
    challenge = query.get("code_challenge") or None
    method = query.get("code_challenge_method")
    if method is not None and method not in CHALLENGE_METHODS:
        raise ConsentError(
            "invalid_request",
            f"Invalid parameter value for code_challenge_method: '{method}' is not a valid "
            "CodeChallengeMethod",
        )
    if method is not None and challenge is None:
        raise _missing("code_challenge")
    return ConsentRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=query.get("state"),
        offline=access_type == "offline",
        prompts=frozenset(query.get("prompt", "").split()),
        code_challenge=challenge,
        challenge_method=method or "plain",
        include_granted_scopes=query.get("include_granted_scopes") == "true",
    )


def new_code() -> str:
    """A fresh authorization code in Google's shape (``4/0A...``)."""
    return "4/0A" + secrets.token_urlsafe(54)


def s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier: base64url(sha256), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_problem(pending: PendingCode, verifier: str | None) -> str | None:
    """None when the code_verifier fits the code's challenge, else Google's description."""
    if pending.code_challenge is None:
        return "code_verifier or verifier is not needed." if verifier else None
    if not verifier:
        return "Missing code verifier."
    expected = s256(verifier) if pending.challenge_method == "S256" else verifier
    if not secrets.compare_digest(expected, pending.code_challenge):
        return "Invalid code verifier."
    return None


def redirect_url(redirect_uri: str, params: Mapping[str, str | None]) -> str:
    """``redirect_uri`` with ``params`` (None values left out) added to its query."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((key, value) for key, value in params.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))
