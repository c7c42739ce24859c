"""Connections to the application database (asyncpg) for ga4sync's own tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Results come back as Python objects; writes pass JSON text (COPY needs it).
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_json, decoder=json.loads, format="text"
    )


def _encode_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Connections go back to the pool without asyncpg's reset query (a round trip
    on every release). ga4sync leaves no session state on pooled connections: no
    SET, no session advisory lock, no LISTEN, temp tables only ``on commit drop``;
    asyncpg still rolls back a transaction left open before this runs."""


@asynccontextmanager
async def open_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 10
) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on ``database_url``, closed on exit."""
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
    )
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def connect(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection, closed on exit (migrations, one-off commands)."""
    conn = await asyncpg.connect(database_url)
    try:
        await _init_connection(conn)
        yield conn
    finally:
        await conn.close()
