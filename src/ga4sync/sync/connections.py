"""Connecting users' Google accounts and GA4 properties (the service side)."""

from __future__ import annotations

import uuid

import asyncpg

from ga4sync.crypto import TokenCipher
from ga4sync.oauth import SCOPE_ANALYTICS_READONLY
from ga4sync.store.credentials import save_google_credentials
from ga4sync.store.properties import upsert_property


async def store_google_grant(
    pool: asyncpg.Pool | asyncpg.Connection,
    cipher: TokenCipher,
    user_id: uuid.UUID,
    refresh_token: str,
    scopes: list[str] | None = None,
) -> None:
    """Keep ``user_id``'s refresh token (encrypted); a new grant clears any re-auth mark."""
    await save_google_credentials(
        pool, user_id, cipher.encrypt(refresh_token), scopes or [SCOPE_ANALYTICS_READONLY]
    )


async def connect_property(
    pool: asyncpg.Pool | asyncpg.Connection,
    user_id: uuid.UUID,
    property_id: str,
    *,
    time_zone: str = "UTC",
    display_name: str | None = None,
    enabled: bool = True,
) -> int:
    """Add (or update) a GA4 property of ``user_id``; returns its ``ga4_properties.id``."""
    return await upsert_property(
        pool,
        user_id,
        property_id,
        display_name=display_name,
        time_zone=time_zone,
        enabled=enabled,
    )
