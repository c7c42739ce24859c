"""Google OAuth tokens per user (stored encrypted; this module sees only ciphertext)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ga4sync.queries import query


@dataclass(frozen=True)
class StoredCredentials:
    user_id: uuid.UUID
    refresh_token_encrypted: bytes
    access_token_encrypted: bytes | None
    access_token_expires_at: datetime | None
    scopes: list[str]
    needs_reauth: bool
    reauth_reason: str | None


async def get_google_credentials(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID
) -> StoredCredentials | None:
    row = await conn.fetchrow(query("get_google_credentials"), user_id)
    return None if row is None else StoredCredentials(**dict(row))


async def save_google_credentials(
    conn: asyncpg.Connection | asyncpg.Pool,
    user_id: uuid.UUID,
    refresh_token_encrypted: bytes,
    scopes: list[str],
) -> None:
    await conn.execute(query("save_google_credentials"), user_id, refresh_token_encrypted, scopes)


async def save_access_token(
    conn: asyncpg.Connection | asyncpg.Pool,
    user_id: uuid.UUID,
    access_token_encrypted: bytes,
    expires_at: datetime,
) -> None:
    await conn.execute(query("save_access_token"), user_id, access_token_encrypted, expires_at)


async def mark_needs_reauth(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID, reason: str
) -> None:
    await conn.execute(query("mark_needs_reauth"), user_id, reason)
