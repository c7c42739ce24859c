"""Who may see a GA4 property, with each user's own settings of it, and the access
users lost (Google refused their grant, or no longer lists the property for them)."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

import asyncpg

from ga4sync.queries import query

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def set_access_settings(
    conn: Conn,
    property_ref: int,
    *,
    user_id: uuid.UUID | None,
    enabled: bool | None = None,
    sync_frequency: str | None = None,
    realtime: bool | None = None,
) -> int:
    """Change ``user_id``'s settings of the property (None: every user with access);
    a setting left None stays. Returns how many users' settings changed (0: no access)."""
    changed: int = await conn.fetchval(
        query("set_access_settings"), property_ref, user_id, enabled, sync_frequency, realtime
    )
    return changed


async def drop_property_access(
    conn: Conn, user_id: uuid.UUID, property_ref: int, reason: str
) -> bool:
    """Take the property away from ``user_id``, keeping ``reason`` for them to see;
    ``False`` when they had no access."""
    dropped: bool = await conn.fetchval(
        query("drop_property_access"), user_id, property_ref, reason
    )
    return dropped


async def remove_undiscovered_access(
    conn: Conn, user_id: uuid.UUID, listed: list[str], reason: str
) -> list[str]:
    """Remove ``user_id``'s discovered access to every property not in ``listed``
    (GA4 property ids of a complete listing); return the property ids removed."""
    rows = await conn.fetch(query("remove_undiscovered_access"), user_id, listed, reason)
    return [row["property_id"] for row in rows]


async def list_lost_access(conn: Conn, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The access ``user_id`` lost, newest first: property id, name, reason and when."""
    return [dict(row) for row in await conn.fetch(query("list_lost_access"), user_id)]


async def remove_user_access(conn: Conn, user_id: uuid.UUID) -> None:
    """Every access of ``user_id`` goes (disconnect), and their record of lost access."""
    await conn.execute(query("remove_user_access"), user_id)
