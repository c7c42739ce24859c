"""Connecting and disconnecting Google accounts: state nonces, pending grants, tokens,
discovered properties."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

import asyncpg

from ga4sync.queries import query
from ga4sync.store.coverage import connection
from ga4sync.store.report_tables import delete_unshared_report_rows

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def claim_oauth_state(conn: Conn, nonce: str, user_id: uuid.UUID, ttl_s: int) -> bool:
    """``True`` the first time ``nonce`` is claimed, ``False`` on a replay."""
    return await conn.fetchval(query("claim_oauth_state"), nonce, user_id, ttl_s) is not None


@dataclass(frozen=True)
class PendingGrant:
    user_id: uuid.UUID
    grant_encrypted: bytes
    created_at: datetime
    expires_at: datetime


async def save_pending_grant(
    conn: Conn,
    code_sha256: bytes,
    user_id: uuid.UUID,
    grant_encrypted: bytes,
    *,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        query("save_pending_grant"), code_sha256, user_id, grant_encrypted, created_at, expires_at
    )


async def take_pending_grant(conn: Conn, code_sha256: bytes) -> PendingGrant | None:
    """Remove and return the grant waiting under this code (expired or not), once."""
    row = await conn.fetchrow(query("take_pending_grant"), code_sha256)
    if row is None:
        return None
    return PendingGrant(
        user_id=row["user_id"],
        grant_encrypted=bytes(row["grant_encrypted"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


async def delete_google_credentials(conn: Conn, user_id: uuid.UUID) -> list[bytes]:
    """Delete the user's tokens; return what was stored (encrypted) so it can be revoked."""
    row = await conn.fetchrow(query("delete_google_credentials"), user_id)
    if row is None:
        return []
    return [bytes(token) for token in row.values() if token is not None]


async def delete_user_report_rows(conn: Conn, user_id: uuid.UUID) -> int:
    """Delete the report rows and coverage of the properties only ``user_id`` accesses,
    in every report table, in one transaction."""
    async with connection(conn) as conn_, conn_.transaction():
        deleted: int = await conn_.fetchval(query("delete_user_report_rows"), user_id)
        deleted += await delete_unshared_report_rows(conn_, user_id)
    return deleted


async def upsert_discovered_property(
    conn: Conn,
    user_id: uuid.UUID,
    property_id: str,
    *,
    display_name: str,
    time_zone: str,
    currency_code: str | None,
    enabled: bool,
    service_level: str | None = None,
) -> int:
    ref: int = await conn.fetchval(
        query("upsert_discovered_property"),
        user_id,
        property_id,
        display_name,
        time_zone,
        currency_code,
        enabled,
        service_level,
    )
    return ref
