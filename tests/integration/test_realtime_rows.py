"""Reading realtime snapshots over HTTP: GET /v1/realtime/{name}/rows (owner-checked
like report rows), GET /v1/realtime, and "active users now" in GET /v1/properties."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ga4sync.reports.realtime import MinuteRange, RealtimeSpec
from ga4sync.runtime import open_runtime
from ga4sync.store.properties import upsert_property
from ga4sync.store.realtime import claim_realtime_polls, store_snapshot
from ga4sync.store.report_tables import ensure_report_tables
from ga4sync.web.app import create_app
from tests.webtools import ADMIN, SECRET, bearer

NOW = RealtimeSpec("active_users", (), ("activeUsers",))
BY_DEVICE = RealtimeSpec(
    "by_device",
    ("deviceCategory",),
    ("activeUsers", "keyEvents"),
    history_minutes=5,
    minute_ranges=(MinuteRange(4, 0, "last_5"), MinuteRange(29, 5, "before")),
)
T0 = datetime(2026, 11, 21, 6, 1, 2, tzinfo=UTC)


@pytest.fixture
async def api(settings, database_url, clock, aiohttp_client):
    tuned = replace(
        settings,
        realtime=(NOW, BY_DEVICE),
        supabase_jwt_secret=SECRET,
        admin_user_ids=frozenset({str(ADMIN)}),
    )
    async with open_runtime(tuned, database_url, now=clock, periodic=False) as runtime:
        async with runtime.pool.acquire() as conn:
            await ensure_report_tables(conn, tuned.reports, realtime=tuned.realtime)
        yield await aiohttp_client(create_app(tuned, runtime=runtime)), runtime.pool


async def snapshot(pool, spec, ref, at, rows) -> None:
    await claim_realtime_polls(pool, at, [(ref, spec.name, 1)])
    async with pool.acquire() as conn:
        assert await store_snapshot(conn, spec, ref, at, rows)


async def test_the_owner_reads_the_latest_snapshot_and_nobody_else_does(api):
    client, pool = api
    alice, bob = uuid.uuid4(), uuid.uuid4()
    ref = await upsert_property(pool, alice, "8101")
    await upsert_property(pool, bob, "8102")
    for minute, figures in enumerate(
        ([["desktop", "last_5", "2", "0"], ["mobile", "before", "7", "1.5"]], [])
    ):
        await snapshot(pool, BY_DEVICE, ref, T0 + timedelta(minutes=minute), figures)
    await snapshot(
        pool, BY_DEVICE, ref, T0 + timedelta(minutes=2), [["tablet", "last_5", "1", "0"]]
    )

    answer = await client.get("/v1/realtime/by_device/rows?property_id=8101", headers=bearer(alice))
    assert answer.status == 200
    body = await answer.json()
    assert body == {
        "realtime": "by_device",
        "relation": "ga4_realtime_by_device",
        "property_id": "8101",
        "captured_at": (T0 + timedelta(minutes=2)).isoformat(),
        "history_minutes": 5,
        "rows": [
            {
                "property_id": "8101",
                "captured_at": "2026-11-21T06:03:02.000000+00:00",
                "minute_range": "last_5",
                "device_category": "tablet",
                "active_users": 1,
                "key_events": 0,
            }
        ],
    }
    # every snapshot kept, newest first, then by the dimension values (the snapshot in
    # between had no row: nobody active)
    history = await (
        await client.get(
            "/v1/realtime/by_device/rows?property_id=8101&history=true", headers=bearer(alice)
        )
    ).json()
    assert [(r["captured_at"][11:16], r["device_category"]) for r in history["rows"]] == [
        ("06:03", "tablet"),
        ("06:01", "mobile"),  # minute_range "before" first
        ("06:01", "desktop"),
    ]
    assert history["rows"][1]["key_events"] == 1.5
    # someone else's property, one that does not exist: the same 404
    for who, property_id in ((bob, "8101"), (alice, "8102"), (alice, "8999")):
        refused = await client.get(
            f"/v1/realtime/by_device/rows?property_id={property_id}", headers=bearer(who)
        )
        assert refused.status == 404, (who, property_id)
        assert (await refused.json())["error"] == "not_found"
    # an admin reads any property's
    assert (
        await client.get("/v1/realtime/by_device/rows?property_id=8101", headers=bearer(ADMIN))
    ).status == 200
    # a property never polled: no snapshot yet
    never = await (
        await client.get("/v1/realtime/active_users/rows?property_id=8101", headers=bearer(alice))
    ).json()
    assert (never["captured_at"], never["rows"]) == (None, [])


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/v1/realtime/nope/rows?property_id=8201", 404, "not_found"),
        ("/v1/realtime/Bad-Name/rows?property_id=8201", 400, "invalid_realtime"),
        ("/v1/realtime/active_users/rows", 400, "missing_property_id"),
        ("/v1/realtime/active_users/rows?property_id=x1", 400, "invalid_property_id"),
        ("/v1/realtime/active_users/rows?property_id=8201&history=yes", 400, "invalid_history"),
    ],
)
async def test_requests_are_checked(api, path, status, error):
    client, pool = api
    user = uuid.uuid4()
    await upsert_property(pool, user, "8201")
    answer = await client.get(path, headers=bearer(user))
    assert answer.status == status
    assert (await answer.json())["error"] == error
    assert (await client.get(path)).status == 401


async def test_the_realtime_reports_are_listed_with_their_columns(api):
    client, _ = api
    listed = (await (await client.get("/v1/realtime", headers=bearer(uuid.uuid4()))).json())[
        "realtime"
    ]
    assert [r["name"] for r in listed] == ["active_users", "by_device"]
    by_device = listed[1]
    assert by_device["relation"] == "ga4_realtime_by_device"
    assert by_device["minute_ranges"] == [
        {"startMinutesAgo": 4, "endMinutesAgo": 0, "name": "last_5"},
        {"startMinutesAgo": 29, "endMinutesAgo": 5, "name": "before"},
    ]
    assert [(c["name"], c["type"]) for c in by_device["columns"]] == [
        ("property_id", "text"),
        ("captured_at", "timestamptz"),
        ("minute_range", "text"),
        ("device_category", "text"),
        ("active_users", "bigint"),
        ("key_events", "double precision"),
    ]


async def test_properties_show_active_users_now_while_their_realtime_is_polled(api):
    client, pool = api
    user = uuid.uuid4()
    ref = await upsert_property(pool, user, "8301")
    await upsert_property(pool, user, "8302")
    turned = await client.patch(
        "/v1/properties/8301", json={"realtime": True}, headers=bearer(user)
    )
    assert (await turned.json())["effective_realtime"] is True
    listed = (await (await client.get("/v1/properties", headers=bearer(user))).json())["properties"]
    by_id = {p["property_id"]: p for p in listed}
    assert (by_id["8301"]["realtime"], by_id["8302"]["realtime"]) == (True, False)
    assert by_id["8302"]["realtime_now"] is None
    waiting = by_id["8301"]["realtime_now"]
    assert (waiting["active_users"], waiting["captured_at"]) == (None, None)  # not polled yet

    # the definition without dimensions is GA4's own count of the property's users
    await snapshot(pool, NOW, ref, T0, [["42"]])
    await snapshot(pool, BY_DEVICE, ref, T0, [["mobile", "last_5", "40", "0"]])
    listed = (await (await client.get("/v1/properties", headers=bearer(user))).json())["properties"]
    now = {p["property_id"]: p for p in listed}["8301"]["realtime_now"]
    assert now["relation"] == "ga4_realtime_active_users"
    assert (now["active_users"], now["summed_over"]) == (42, [])
    assert now["captured_at"] == T0.isoformat()
    # an empty snapshot: nobody there right now
    await snapshot(pool, NOW, ref, T0 + timedelta(minutes=1), [])
    listed = (await (await client.get("/v1/properties", headers=bearer(user))).json())["properties"]
    assert {p["property_id"]: p for p in listed}["8301"]["realtime_now"]["active_users"] == 0
