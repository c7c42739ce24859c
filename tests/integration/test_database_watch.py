"""The process's database watch on a real Postgres: a lost connection is noticed,
logged once, reconnected, and the settings cache listens again."""

from __future__ import annotations

import asyncio
import logging

from ga4sync.outage import DatabaseWatch
from ga4sync.store.app_settings import SettingsCache, put_app_setting


async def _until(predicate, timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.02)


async def _kill_listeners(pool) -> int:
    return await pool.fetchval(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity"
        " where datname = current_database() and pid <> pg_backend_pid()"
        " and query ilike 'listen%'"
    )


async def test_a_killed_listener_is_reconnected_and_the_cache_listens_again(
    pool, database_url, caplog
):
    caplog.set_level(logging.WARNING, logger="ga4sync.outage")
    cache = SettingsCache(pool, ttl_s=3600)
    watch = DatabaseWatch(database_url, on_connect=cache.listen, retry_base_s=0.05)
    await watch.start()
    try:
        await put_app_setting(pool, "k", {"v": 1})
        assert await cache.get("k") == {"v": 1}

        assert await _kill_listeners(pool) == 1
        await _until(lambda: watch.outages == 1)
        await _until(lambda: watch.up)
        await watch.until_up()
        assert await watch.check()

        # The cache hears changes again on the new connection.
        await put_app_setting(pool, "k", {"v": 2})
        await _until(lambda: cache.peek("k") is None)
        assert await cache.get("k") == {"v": 2}
    finally:
        await watch.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("database unreachable" in m for m in messages) == 1, messages
    assert sum("database reachable again" in m for m in messages) == 1, messages


async def test_reports_during_an_outage_start_one_outage(pool, database_url):
    watch = DatabaseWatch(database_url, on_connect=lambda conn: asyncio.sleep(0), retry_base_s=0.05)
    await watch.start()
    try:
        watch.report(ConnectionResetError("reset"))
        watch.report(ConnectionResetError("reset again"))
        assert watch.outages == 1 and not watch.up
        assert not await watch.check()
        await asyncio.wait_for(watch.until_up(), 15)
        assert await watch.check()
    finally:
        await watch.close()
