"""The settings cache: served from memory until Postgres says the value changed."""

from __future__ import annotations

from ga4sync.db import connect
from ga4sync.store.app_settings import (
    CHANGES_CHANNEL,
    SettingsCache,
    get_app_setting,
    put_app_setting,
)

from ..waiting import eventually


async def test_cache_serves_from_memory_until_notified(pool, database_url):
    cache = SettingsCache(pool, ttl_s=3600)
    async with connect(database_url) as listener:
        await cache.listen(listener)
        # Notifications heard on the cache's connection, seen here after the cache's own
        # callback ran (asyncpg schedules every listener of a notification at once).
        heard: list[str] = []
        await listener.add_listener(CHANGES_CHANNEL, lambda *args: heard.append(args[3]))

        await put_app_setting(pool, "k", {"v": 1})
        await eventually(lambda: heard == ["k"], "the notification of the first write")
        assert await cache.get("k") == {"v": 1}
        # A write that bypasses the notification is not seen: proof the cache serves.
        await pool.execute("alter table app_settings disable trigger app_settings_notify")
        await put_app_setting(pool, "k", {"v": 2})
        assert await cache.get("k") == {"v": 1}
        await pool.execute("alter table app_settings enable trigger app_settings_notify")
        # Any writer, even plain SQL elsewhere, empties the entry through the trigger.
        await pool.execute("update app_settings set value = '{\"v\": 3}' where key = 'k'")
        await eventually(lambda: heard == ["k", "k"], "the notification of the update")
        assert cache.peek("k") is None
        assert await cache.get("k") == {"v": 3}
        assert await get_app_setting(pool, "k") == {"v": 3}


async def test_ttl_bounds_staleness_without_a_listener(pool):
    now = [0.0]
    cache = SettingsCache(pool, ttl_s=10, clock=lambda: now[0])
    await put_app_setting(pool, "k", 1)
    assert await cache.get("k") == 1
    await put_app_setting(pool, "k", 2)
    assert await cache.get("k") == 1
    now[0] = 11
    assert await cache.get("k") == 2


async def test_reading_a_finished_job_refreshes_an_older_cached_meta(
    pool, runtime, connect_user, ingestion_for
):
    # Notifications off: only reading the job can tell this process that /meta moved.
    await pool.execute("alter table app_settings disable trigger app_settings_notify")
    user = await connect_user({"6101": "UTC"})
    ref = await pool.fetchval("select id from ga4_properties where property_id = '6101'")

    async def run_to_the_end():
        started = await runtime.sync.start_job(user, str(user))
        await runtime.sync.run_job(started.job.id)
        async with ingestion_for() as ingestion:
            await runtime.sync.sync_job_property(ingestion, started.job.id, ref)
        return started.job.id

    await run_to_the_end()
    before = (await runtime.sync.get_meta()).last_sync_at  # now cached
    assert before is not None
    second = await run_to_the_end()
    job = await runtime.sync.get_job(second)
    assert job.status == "success" and job.last_sync_at > before
    assert (await runtime.sync.get_meta()).last_sync_at == job.last_sync_at
