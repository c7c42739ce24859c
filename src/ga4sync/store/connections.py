"""Connecting and disconnecting Google accounts: state nonces, tokens, discovered properties."""

from __future__ import annotations

import uuid
from typing import TypeAlias

import asyncpg

from ga4sync.queries import query
from ga4sync.store.coverage import connection
from ga4sync.store.report_tables import delete_unshared_report_rows

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def claim_oauth_state(conn: Conn, nonce: str, user_id: uuid.UUID, ttl_s: int) -> bool:
    """``True`` the first time ``nonce`` is claimed, ``False`` on a replay."""
    return await conn.fetchval(query("claim_oauth_state"), nonce, user_id, ttl_s) is not None


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
