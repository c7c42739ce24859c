"""Fixtures for ingestion tests: a fake Google on 127.0.0.1 and settings pointing at it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg
import pytest

from ga4sync.crypto import TokenCipher
from ga4sync.fake_google import FakeGoogle
from ga4sync.settings import Settings
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.ingest import open_ingestion

# A fixed instant: 2026-11-21 06:00 UTC is still 2026-11-20 in Los Angeles.
FIXED_NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=7)
    fake.set_today("2026-11-21")
    return fake


@pytest.fixture
async def google_url(fake: FakeGoogle) -> AsyncIterator[str]:
    async with fake.serve() as base_url:
        yield base_url


@pytest.fixture
def settings(database_url: str, encryption_key: str, google_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        token_encryption_key=encryption_key,
        google_client_id="client-id",
        google_client_secret="client-secret",
        google_token_uri=f"{google_url}/token",
        ga4_api_base_url=google_url,
        ga4_retry_base_s=0.01,
        ga4_max_retries=3,
    )


class Clock:
    """A settable clock for tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


@pytest.fixture
def ingestion_for(pool: asyncpg.Pool, settings: Settings, clock: Clock):
    """``async with ingestion_for(**setting_overrides) as ingestion``."""

    def open_with(**overrides):
        return open_ingestion(pool, replace(settings, **overrides), now=clock)

    return open_with


@pytest.fixture
def connect_user(pool: asyncpg.Pool, fake: FakeGoogle, encryption_key: str):
    """Connect a new user with a valid grant and ``{property_id: time_zone}`` properties,
    each also known to the fake Google with ``cardinality`` values per dimension."""

    async def connect(properties, *, cardinality=4, refresh_token=None, **flags):
        user_id = uuid.uuid4()
        token = refresh_token or f"rt-{user_id.hex[:8]}"
        fake.add_refresh_token(token)
        await store_google_grant(pool, TokenCipher(encryption_key), user_id, token)
        for property_id, time_zone in properties.items():
            fake.add_property(property_id, time_zone=time_zone, cardinality=cardinality, **flags)
            await connect_property(pool, user_id, property_id, time_zone=time_zone)
        return user_id

    return connect
