"""Small application state kept as JSON under a key (``app_settings``)."""

from __future__ import annotations

from typing import Any

import asyncpg

from ga4sync.queries import query

LAST_SUCCESS = "ga4_last_success"


async def get_app_setting(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> Any:
    return await conn.fetchval(query("get_app_setting"), key)


async def put_app_setting(conn: asyncpg.Connection | asyncpg.Pool, key: str, value: Any) -> None:
    await conn.execute(query("put_app_setting"), key, value)
