"""Acceptance: a ``ga4sync worker`` process polls a [[realtime]] definition every minute
on its own schedule (procrastinate's periodic tick, on the real clock): it keeps
exactly the latest snapshot, equal to GA4's answer, spends only realtime quota, and
stops polling a property whose realtime is turned off. Takes a minute or two: it
waits for real minutes to turn."""

from __future__ import annotations

import asyncio
import time
import uuid

from ga4sync.crypto import TokenCipher
from ga4sync.sync.connections import connect_property, store_google_grant

from ..waiting import eventually

DEFINITIONS = """
[[realtime]]
name = "by_device"
dimensions = ["deviceCategory"]
metrics = ["activeUsers", "eventCount"]
"""


async def _connect(pool, fake, encryption_key, properties: list[str]) -> uuid.UUID:
    user = uuid.uuid4()
    fake.add_refresh_token(f"rt-{user.hex}")
    await store_google_grant(pool, TokenCipher(encryption_key), user, f"rt-{user.hex}")
    for property_id in properties:
        fake.add_property(property_id, time_zone="UTC", cardinality=3)
        await connect_property(pool, user, property_id, time_zone="UTC")
    # realtime on (each user's own switch, off by default); syncing off, so that the
    # worker's daily run reads nothing and the core quota stays as it was
    await pool.execute(
        "update ga4_property_access set realtime = true, enabled = false where user_id = $1",
        user,
    )
    return user


async def test_a_worker_polls_every_minute_and_stops_for_a_property_turned_off(
    pool, google, encryption_key, spawn_worker, worker_env, tmp_path
):
    fake, _ = google
    definitions = tmp_path / "reports.toml"
    definitions.write_text(DEFINITIONS, encoding="utf-8")
    worker_env["GA4SYNC_REPORTS"] = str(definitions)
    await _connect(pool, fake, encryption_key, ["9301", "9302"])
    # Start early in a minute: the worker's first tick comes at once, and 9302 is
    # turned off well before the next minute's.
    second = time.time() % 60
    if second > 30:
        await asyncio.sleep(61 - second)
    worker = spawn_worker()

    async def polls(property_id: str) -> list:
        return [body for pid, body in fake.realtime_requests if pid == property_id]

    async def stored(property_id: str):
        return await pool.fetchval(
            "select captured_at from ga4_realtime_polls r join ga4_properties p"
            " on p.id = r.property_ref where p.property_id = $1",
            property_id,
        )

    # A starting worker's scheduler ticks for the minute that just began: both polled
    # (a request is seen by the fake before its snapshot is stored: wait for both).
    first = await eventually(lambda: stored("9301"), "the first snapshot", timeout_s=60)
    await eventually(lambda: stored("9302"), "the first snapshot of 9302", timeout_s=30)
    # 9302's realtime is turned off before the next minute
    await pool.execute(
        "update ga4_property_access a set realtime = false from ga4_properties p"
        " where p.id = a.property_ref and p.property_id = '9302'"
    )

    async def second_snapshot():
        return await pool.fetchval(
            "select captured_at from ga4_realtime_polls r join ga4_properties p"
            " on p.id = r.property_ref where p.property_id = '9301' and captured_at > $1",
            first,
        )

    # the next minute's tick (procrastinate's periodic scheduler, on the real clock)
    latest = await eventually(second_snapshot, "the next minute's poll", timeout_s=90)
    assert worker.poll() is None

    # exactly the latest snapshot, equal to GA4's last answer
    rows = await pool.fetch(
        "select captured_at, device_category, active_users, event_count"
        " from ga4_realtime_by_device where property_id = '9301'"
    )
    assert {r["captured_at"] for r in rows} == {latest}
    answer = next(a for pid, a in reversed(fake.realtime_answers) if pid == "9301")
    assert sorted((r["device_category"], r["active_users"], r["event_count"]) for r in rows) == (
        sorted(
            (
                row["dimensionValues"][0]["value"],
                int(row["metricValues"][0]["value"]),
                int(row["metricValues"][1]["value"]),
            )
            for row in answer.get("rows", [])
        )
    )
    assert len(await polls("9301")) == 2
    # 9302, turned off: not polled again, and its snapshot is gone
    assert len(await polls("9302")) == 1
    assert (
        await pool.fetchval(
            "select count(*) from ga4_realtime_by_device where property_id = '9302'"
        )
        == 0
    )
    # only realtime quota: no core request, no core token
    assert fake.report_requests == []
    assert fake.quota_used == {}
    assert fake.realtime_quota_used == {"9301": 2, "9302": 1}
    assert await pool.fetchval("select count(*) from ga4_property_runs") == 0
