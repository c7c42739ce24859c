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


async def list_credential_users(
    conn: asyncpg.Connection | asyncpg.Pool, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """Up to ``limit`` users holding tokens, in id order after ``after``."""
    rows = await conn.fetch(query("list_credential_users"), after, limit)
    return [row["user_id"] for row in rows]


async def lock_stored_tokens(
    conn: asyncpg.Connection, user_id: uuid.UUID
) -> tuple[bytes, bytes | None] | None:
    """The user's (refresh, access) ciphertexts, locked until the transaction ends."""
    row = await conn.fetchrow(query("lock_stored_tokens"), user_id)
    if row is None:
        return None
    access = row["access_token_encrypted"]
    return bytes(row["refresh_token_encrypted"]), None if access is None else bytes(access)


async def replace_stored_tokens(
    conn: asyncpg.Connection, user_id: uuid.UUID, refresh: bytes, access: bytes | None
) -> None:
    await conn.execute(query("replace_stored_tokens"), user_id, refresh, access)
