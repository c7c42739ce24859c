"""Google OAuth: turning a stored refresh token into a fresh access token.

google-auth does the refresh (it knows Google's token endpoint protocol and
error mapping). Its user-credentials refresh is synchronous, so it runs in a
worker thread: it happens at most about once an hour per user, and the event
loop stays free meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2.credentials import Credentials

from ga4sync.errors import GoogleError, GoogleUnavailable, GrantRevoked
from ga4sync.google_http import DEFAULT_TIMEOUT_S

SCOPE_ANALYTICS_READONLY = "https://www.googleapis.com/auth/analytics.readonly"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class RefreshedToken:
    token: str
    lifetime_s: float


_ENDPOINT = "Google's token endpoint"


@dataclass(frozen=True)
class OAuthClient:
    token_uri: str
    client_id: str
    client_secret: str
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def refresh(self, refresh_token: str) -> RefreshedToken:
        """Exchange ``refresh_token`` for an access token.

        Raises ``GrantRevoked`` when Google says the grant is gone (``invalid_grant``),
        ``GoogleUnavailable`` when the token endpoint cannot be reached, times out or
        fails with a 5xx, ``GoogleError`` for any other refusal.
        """
        return await asyncio.to_thread(self._refresh_blocking, refresh_token)

    def _refresh_blocking(self, refresh_token: str) -> RefreshedToken:
        credentials = Credentials(  # type: ignore[no-untyped-call]
            token=None,
            refresh_token=refresh_token,
            token_uri=self.token_uri,
            client_id=self.client_id,
            client_secret=self.client_secret,
        )
        with requests.Session() as session:
            request = _TimedRequest(google.auth.transport.requests.Request(session), self.timeout_s)
            try:
                credentials.refresh(request)  # type: ignore[no-untyped-call]
            except google.auth.exceptions.RefreshError as exc:
                if _is_revoked(exc):
                    raise GrantRevoked(f"Google refused the refresh token: {exc}") from exc
                # google-auth has already retried 5xx and 429 answers (``retryable``).
                if exc.retryable or (request.last_status or 0) >= 500:
                    status = request.last_status
                    raise GoogleUnavailable(f"{_ENDPOINT} failed with HTTP {status}") from exc
                raise GoogleError(f"Google token refresh failed: {exc}") from exc
            except google.auth.exceptions.TransportError as exc:
                if isinstance(exc.__cause__, requests.Timeout):
                    raise GoogleUnavailable(
                        f"{_ENDPOINT} did not answer within {self.timeout_s:g} s", timed_out=True
                    ) from exc
                raise GoogleUnavailable(
                    f"{_ENDPOINT} could not be reached: {_root_cause(exc)}"
                ) from exc
        if not credentials.token or credentials.expiry is None:
            raise GoogleError(f"{_ENDPOINT} answered without an access token")
        # google-auth turns expires_in into a naive UTC expiry; keep the lifetime so
        # callers can date it with their own clock.
        lifetime_s = (credentials.expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        return RefreshedToken(token=credentials.token, lifetime_s=lifetime_s)


class _TimedRequest:
    """google-auth's transport with our timeout (its own default is 120 s) that keeps the
    last HTTP status, which its ``RefreshError`` does not carry."""

    def __init__(self, inner: Any, timeout_s: float) -> None:
        self._inner = inner
        self._timeout_s = timeout_s
        self.last_status: int | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._timeout_s)
        response = self._inner(*args, **kwargs)
        self.last_status = int(response.status)
        return response


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost of a chain like TransportError <- requests <- urllib3 <- OSError,
    whose text says what happened ("Connection refused", "Name or service not known")."""
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    return exc


def _is_revoked(exc: google.auth.exceptions.RefreshError) -> bool:
    text = str(exc)
    return "invalid_grant" in text or "unauthorized_client" in text
