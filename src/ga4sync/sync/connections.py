"""Connecting users' Google accounts and GA4 properties (the service side)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from ga4sync.crypto import TokenCipher
from ga4sync.ga4.admin import DiscoveredProperty
from ga4sync.oauth import SCOPE_ANALYTICS_READONLY, OAuthClient
from ga4sync.store.connections import upsert_discovered_property
from ga4sync.store.credentials import save_access_token, save_google_credentials
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


async def import_google_grant(
    pool: asyncpg.Pool | asyncpg.Connection,
    cipher: TokenCipher,
    oauth: OAuthClient,
    user_id: uuid.UUID,
    refresh_token: str,
    *,
    now: datetime,
) -> str:
    """Store a refresh token an app already holds, after one refresh proves it works;
    return the access token that refresh gave.

    Raises ``GrantRevoked`` (Google refused it) or ``GoogleError`` and stores nothing.
    """
    refreshed = await oauth.refresh(refresh_token)
    await store_google_grant(pool, cipher, user_id, refresh_token)
    await save_access_token(
        pool,
        user_id,
        cipher.encrypt(refreshed.token),
        now + timedelta(seconds=refreshed.lifetime_s),
    )
    return refreshed.token


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


async def save_discovered_properties(
    pool: asyncpg.Pool | asyncpg.Connection,
    user_id: uuid.UUID,
    properties: list[DiscoveredProperty],
) -> list[int]:
    """Keep what Google says a user can read, with each property's time zone and service
    level; new properties are synced, known ones keep the user's enabled choice.
    Returns their ``ga4_properties.id``s."""
    refs = []
    for prop in properties:
        ref = await upsert_discovered_property(
            pool,
            user_id,
            prop.property_id,
            display_name=prop.display_name,
            time_zone=prop.time_zone,
            currency_code=prop.currency_code,
            enabled=True,
            service_level=prop.service_level,
        )
        refs.append(ref)
    return refs
