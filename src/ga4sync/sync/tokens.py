"""Access tokens per user for one ingestion: reused while valid, refreshed once when not."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg

from ga4sync.clock import Clock
from ga4sync.crypto import TokenCipher
from ga4sync.errors import GrantRevoked, MissingCredentials
from ga4sync.oauth import AccessToken, OAuthClient
from ga4sync.store.credentials import (
    get_google_credentials,
    mark_needs_reauth,
    save_access_token,
)

# Refresh a little early so a token never expires mid-request.
EXPIRY_MARGIN = timedelta(seconds=60)


class UserTokens:
    """Hands out access tokens; concurrent callers for one user share one refresh."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        cipher: TokenCipher,
        oauth: OAuthClient,
        now: Clock,
    ) -> None:
        self._pool = pool
        self._cipher = cipher
        self._oauth = oauth
        self._now = now
        self._cache: dict[uuid.UUID, AccessToken] = {}
        self._locks: dict[uuid.UUID, asyncio.Lock] = {}

    def _fresh(self, token: AccessToken | None) -> bool:
        return token is not None and token.expires_at - EXPIRY_MARGIN > self._now()

    async def get(self, user_id: uuid.UUID, *, force_refresh: bool = False) -> str:
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        stale = self._cache.get(user_id) if force_refresh else None
        async with lock:
            cached = self._cache.get(user_id)
            if cached is not None and cached is not stale and self._fresh(cached):
                return cached.token  # valid, or refreshed by another caller meanwhile
            token = await self._load_or_refresh(user_id, force_refresh=force_refresh)
            self._cache[user_id] = token
            return token.token

    async def _load_or_refresh(self, user_id: uuid.UUID, *, force_refresh: bool) -> AccessToken:
        stored = await get_google_credentials(self._pool, user_id)
        if stored is None:
            raise MissingCredentials(f"user {user_id} has not connected a Google account")
        if stored.needs_reauth:
            raise GrantRevoked(stored.reauth_reason or "the Google connection needs re-auth")
        if (
            not force_refresh
            and stored.access_token_encrypted is not None
            and stored.access_token_expires_at is not None
        ):
            saved = AccessToken(
                token=self._cipher.decrypt(stored.access_token_encrypted),
                expires_at=stored.access_token_expires_at,
            )
            if self._fresh(saved):
                return saved
        refresh_token = self._cipher.decrypt(stored.refresh_token_encrypted)
        try:
            refreshed = await self._oauth.refresh(refresh_token)
        except GrantRevoked as exc:
            await mark_needs_reauth(self._pool, user_id, str(exc))
            raise
        token = AccessToken(
            token=refreshed.token,
            expires_at=self._now() + timedelta(seconds=refreshed.lifetime_s),
        )
        await save_access_token(
            self._pool, user_id, self._cipher.encrypt(token.token), token.expires_at
        )
        return token
