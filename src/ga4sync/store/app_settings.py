"""Small application state kept as JSON under a key (``app_settings``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import asyncpg

from ga4sync.queries import query

LAST_SUCCESS = "ga4_last_success"


async def get_app_setting(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> Any:
    return await conn.fetchval(query("get_app_setting"), key)


async def put_app_setting(conn: asyncpg.Connection | asyncpg.Pool, key: str, value: Any) -> None:
    await conn.execute(query("put_app_setting"), key, value)


# Postgres notifies this channel with the key whenever a setting changes
# (trigger app_settings_notify).
CHANGES_CHANNEL = "ga4sync_app_settings"


class SettingsCache:
    """Settings read through a per-process cache that a change notification empties.

    ``ttl_s`` bounds staleness should a notification be missed (a dropped
    listener connection).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}

    async def get(self, key: str) -> Any:
        cached = self._values.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        read_at = self._clock()
        value = await get_app_setting(self._pool, key)
        self._values[key] = (read_at, value)
        return value

    def peek(self, key: str) -> Any:
        """The cached value without reading the database (None when not cached)."""
        cached = self._values.get(key)
        return None if cached is None else cached[1]

    def invalidate(self, key: str | None = None) -> None:
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)

    async def listen(self, conn: asyncpg.Connection) -> None:
        """Empty the cache entry of every setting ``conn`` hears has changed."""

        def on_change(_conn: object, _pid: int, _channel: str, key: str) -> None:
            self.invalidate(key)

        await conn.add_listener(CHANGES_CHANNEL, on_change)
        self.invalidate()  # anything read before listening may be stale
