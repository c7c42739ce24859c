"""History and property status over HTTP: paging, visibility, what a dashboard shows."""

from __future__ import annotations

import uuid

from ..webtools import ADMIN, bearer


async def test_history_pages_are_stable_and_private(client, runtime):
    me, other = uuid.uuid4(), uuid.uuid4()
    mine = []
    for _ in range(5):
        started = await runtime.sync.start_job(me, str(me))
        await runtime.sync.run_job(started.job.id)  # no properties: finishes at once
        mine.append(str(started.job.id))
    theirs = await runtime.sync.start_job(other, str(other))
    daily = await runtime.sync.ensure_daily_due()

    seen, before = [], None
    while True:
        query = "?limit=2" + (f"&before={before}" if before else "")
        body = await (await client.get("/v1/sync/ga4/history" + query, headers=bearer(me))).json()
        seen += [job["job_id"] for job in body["jobs"]]
        before = body["next_before"]
        if before is None:
            break
    assert seen == [str(daily.job.id), *reversed(mine)]  # newest first, daily visible
    assert str(theirs.job.id) not in seen
    everything = await (
        await client.get("/v1/sync/ga4/history?limit=100", headers=bearer(ADMIN))
    ).json()
    assert len(everything["jobs"]) == 7 and everything["next_before"] is None
    first = everything["jobs"][-1]
    assert first["status"] == "success" and first["duration_s"] >= 0


async def test_history_rejects_bad_paging(client):
    for query, error in [
        ("?limit=0", "invalid_limit"),
        ("?limit=101", "invalid_limit"),
        ("?limit=x", "invalid_limit"),
        ("?before=nope", "invalid_before"),
    ]:
        response = await client.get("/v1/sync/ga4/history" + query, headers=bearer(uuid.uuid4()))
        assert response.status == 400
        assert (await response.json())["error"] == error


async def test_properties_show_last_sync_and_reauth(client, fake, connect_user, ingestion_for):
    from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

    ok_user = await connect_user({"3101": "Europe/Berlin"})
    gone_user = await connect_user({"3102": "UTC"})
    fake.revoke_refresh_token(f"rt-{gone_user.hex[:8]}")
    async with ingestion_for() as ingestion:
        await ingest_ga4_for_all_accounts(ingestion)

    mine = await (await client.get("/v1/properties", headers=bearer(ok_user))).json()
    assert [p["property_id"] for p in mine["properties"]] == ["3101"]
    prop = mine["properties"][0]
    assert prop["last_sync_status"] == "success" and prop["needs_reauth"] is False
    assert prop["last_run_rows_written"] == prop["last_run_rows_fetched"] > 0
    assert prop["time_zone"] == "Europe/Berlin" and prop["connected"] is True
    assert prop["service_level"] is None  # connected by id: discovery never read it

    everyone = await (await client.get("/v1/properties", headers=bearer(ADMIN))).json()
    by_id = {p["property_id"]: p for p in everyone["properties"]}
    assert set(by_id) == {"3101", "3102"}
    assert by_id["3102"]["needs_reauth"] is True
    assert by_id["3102"]["last_sync_status"] == "needs_reauth"
    assert (await client.get("/v1/properties")).status == 401


async def test_reports_show_columns_and_only_my_properties(
    client, fake, connect_user, ingestion_for
):
    from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

    me = await connect_user({"3201": "Europe/Berlin"})
    await connect_user({"3202": "UTC"})
    async with ingestion_for() as ingestion:
        await ingest_ga4_for_all_accounts(ingestion)

    assert (await client.get("/v1/reports")).status == 401
    mine = await (await client.get("/v1/reports", headers=bearer(me))).json()
    names = [r["name"] for r in mine["reports"]]
    assert names == ["daily_totals", "traffic_sources", "pages"]
    pages = mine["reports"][2]
    assert pages["relation"] == "ga4_pages" and pages["grain"] == "day"
    columns = {c["name"]: (c["type"], c["field"]) for c in pages["columns"]}
    assert columns["page_path"] == ("text", "pagePath")
    assert columns["screen_page_views"] == ("bigint", "screenPageViews")
    assert columns["user_engagement_duration"] == ("double precision", "userEngagementDuration")
    (state,) = pages["per_property"]
    assert state["property_id"] == "3201"
    assert state["coverage"]["state"] == "done"
    assert state["last_outcome"]["status"] == "ok" and state["last_outcome"]["error"] is None
    everything = await (await client.get("/v1/reports", headers=bearer(ADMIN))).json()
    assert sorted(s["property_id"] for s in everything["reports"][0]["per_property"]) == [
        "3201",
        "3202",
    ]
