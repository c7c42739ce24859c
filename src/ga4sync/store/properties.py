"""GA4 properties (one row each, however many users connected them), who can
access them, and the outcome of their last sync."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ga4sync.queries import query


@dataclass(frozen=True)
class PropertyToSync:
    id: int
    property_id: str
    display_name: str | None
    time_zone: str
    # GA4's service level as discovery last read it (None: never read, synced as standard).
    service_level: str | None
    # Users with access whose Google grant still works, in the order they are tried.
    grant_users: tuple[uuid.UUID, ...]
    # Whether any user with access has connected Google at all.
    has_credentials: bool

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> PropertyToSync:
        values = dict(row)
        values["grant_users"] = tuple(values["grant_users"])
        return cls(**values)

    @property
    def needs_reauth(self) -> bool:
        """Every grant that could read it was revoked: someone has to reconnect."""
        return self.has_credentials and not self.grant_users


async def upsert_property(
    conn: asyncpg.Connection | asyncpg.Pool,
    user_id: uuid.UUID,
    property_id: str,
    *,
    display_name: str | None = None,
    time_zone: str = "UTC",
    currency_code: str | None = None,
    enabled: bool = True,
) -> int:
    """Create or update a property and give ``user_id`` access (added by hand,
    ``enabled`` their setting); return its ``ga4_properties.id``."""
    ref: int = await conn.fetchval(
        query("upsert_property"),
        user_id,
        property_id,
        display_name,
        time_zone,
        currency_code,
        enabled,
    )
    return ref


async def list_properties_to_sync(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    user_id: uuid.UUID | None = None,
    property_id: str | None = None,
) -> list[PropertyToSync]:
    rows = await conn.fetch(query("list_properties_to_sync"), user_id, property_id, None)
    return [PropertyToSync.from_row(row) for row in rows]


@dataclass(frozen=True)
class Outcome:
    """A property's failure streak before and after one recorded sync."""

    failures_before: int
    failures_after: int
    property_id: str
    display_name: str | None


async def record_property_outcome(
    conn: asyncpg.Connection | asyncpg.Pool,
    property_ref: int,
    status: str,
    error: str | None,
    *,
    time_zone: str | None = None,
    currency_code: str | None = None,
) -> Outcome | None:
    row = await conn.fetchrow(
        query("record_property_outcome"), property_ref, status, error, time_zone, currency_code
    )
    return None if row is None else Outcome(**dict(row))


# ``ga4_properties.id`` is a bigint: longer digit strings are GA4 ids only.
_MAX_ROW_ID = 2**63 - 1


async def find_property_ref(conn: asyncpg.Connection | asyncpg.Pool, named: str) -> int | None:
    """The ``ga4_properties.id`` of the property ``named`` (a string of digits): its GA4
    property id, else ga4sync's own row id, which earlier links used; None: no such
    property."""
    row_id = int(named) if named.isdigit() and int(named) <= _MAX_ROW_ID else None
    ref: int | None = await conn.fetchval(query("find_property_ref"), named, row_id)
    return ref


async def get_property(
    conn: asyncpg.Connection | asyncpg.Pool,
    property_ref: int,
    viewer: uuid.UUID | None = None,
) -> dict[str, Any] | None:
    """The property; ``enabled`` and ``sync_frequency`` are ``viewer``'s own settings
    when they have access, else the property's effective ones (``effective_*``)."""
    row = await conn.fetchrow(query("get_property"), property_ref, viewer)
    return None if row is None else dict(row)


async def get_property_to_sync(
    conn: asyncpg.Connection | asyncpg.Pool, property_ref: int
) -> PropertyToSync | None:
    """The property by ``ga4_properties.id`` while some user with access has it enabled."""
    row = await conn.fetchrow(query("list_properties_to_sync"), None, None, property_ref)
    return None if row is None else PropertyToSync.from_row(row)


async def list_properties_status(
    conn: asyncpg.Connection | asyncpg.Pool,
    user_id: uuid.UUID | None,
    viewer: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Each property (those ``user_id`` can access, or all) with its last sync and last
    run; ``enabled`` and ``sync_frequency`` as in :func:`get_property`."""
    rows = await conn.fetch(query("list_properties_status"), user_id, viewer)
    return [dict(row) for row in rows]


async def claim_due_properties(
    conn: asyncpg.Connection | asyncpg.Pool, now: datetime, limit: int
) -> list[int]:
    """Claim (and return) properties whose hourly or 6-hourly sync is due at ``now``."""
    return [row["id"] for row in await conn.fetch(query("claim_due_properties"), now, limit)]


async def record_history_failure(
    conn: asyncpg.Connection | asyncpg.Pool,
    property_ref: int,
    error: str,
    *,
    retry: bool,
    now: datetime,
    backoff_s: Sequence[float],
) -> tuple[int, datetime | None]:
    """One more failed step of the property's history: ``(failures in a row, when
    the next step is due)``; never due (None) unless ``retry``. The wait after the
    n-th failure in a row is ``backoff_s[n - 1]``, its last entry after that."""
    row = await conn.fetchrow(
        query("record_history_failure"), property_ref, error, retry, now, list(backoff_s)
    )
    if row is None:
        return 0, None  # removed meanwhile
    return row["history_failures"], row["history_retry_at"]


async def reset_history_failures(
    conn: asyncpg.Connection | asyncpg.Pool, property_ref: int
) -> None:
    """A step of the property's history succeeded: no failure in a row any more."""
    await conn.execute(query("reset_history_failures"), property_ref)
