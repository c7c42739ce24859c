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

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2.credentials import Credentials

from ga4sync.errors import GoogleError, GrantRevoked

SCOPE_ANALYTICS_READONLY = "https://www.googleapis.com/auth/analytics.readonly"


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class RefreshedToken:
    token: str
    lifetime_s: float


@dataclass(frozen=True)
class OAuthClient:
    token_uri: str
    client_id: str
    client_secret: str
    timeout_s: float = 30.0

    async def refresh(self, refresh_token: str) -> RefreshedToken:
        """Exchange ``refresh_token`` for an access token.

        Raises ``GrantRevoked`` when Google says the grant is gone (``invalid_grant``),
        ``GoogleError`` for anything else.
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
            request = google.auth.transport.requests.Request(session)
            try:
                credentials.refresh(request)  # type: ignore[no-untyped-call]
            except google.auth.exceptions.RefreshError as exc:
                if _is_revoked(exc):
                    raise GrantRevoked(f"Google refused the refresh token: {exc}") from exc
                raise GoogleError(f"Google token refresh failed: {exc}") from exc
            except google.auth.exceptions.TransportError as exc:
                raise GoogleError(f"Google token endpoint unreachable: {exc}") from exc
        if not credentials.token or credentials.expiry is None:
            raise GoogleError("Google token endpoint answered without an access token")
        # google-auth turns expires_in into a naive UTC expiry; keep the lifetime so
        # callers can date it with their own clock.
        lifetime_s = (credentials.expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        return RefreshedToken(token=credentials.token, lifetime_s=lifetime_s)


def _is_revoked(exc: google.auth.exceptions.RefreshError) -> bool:
    text = str(exc)
    return "invalid_grant" in text or "unauthorized_client" in text
