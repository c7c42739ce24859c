"""A property is named by its GA4 property id in every route, as in the rows API, the
CLI and GA4; ga4sync's own row id, which earlier links used, still works."""

from __future__ import annotations

import uuid

from ga4sync.store.properties import upsert_property
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..webtools import ADMIN, bearer

GA4_ID = "310000002"


async def test_chart_runs_and_settings_answer_for_the_ga4_property_id(
    client, pool, connect_user, ingestion_for
):
    owner = await connect_user({GA4_ID: "Europe/Berlin"})
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    ref = await pool.fetchval("select id from ga4_properties where property_id = $1", GA4_ID)
    headers = bearer(owner)

    chart = await client.get(f"/v1/properties/{GA4_ID}/chart", headers=headers)
    assert chart.status == 200
    body = await chart.json()
    assert body["property_id"] == GA4_ID and body["days"]
    runs = await client.get(f"/v1/properties/{GA4_ID}/runs", headers=headers)
    assert runs.status == 200
    assert (await runs.json())["property_id"] == GA4_ID
    assert (await runs.json())["runs"]
    patched = await client.patch(
        f"/v1/properties/{GA4_ID}", headers=headers, json={"sync_frequency": "hourly"}
    )
    assert patched.status == 200
    assert (await patched.json())["property_id"] == GA4_ID
    assert (await patched.json())["sync_frequency"] == "hourly"

    # The row id of GET /v1/properties answers the same.
    by_ref = await client.get(f"/v1/properties/{ref}/chart", headers=headers)
    assert by_ref.status == 200 and await by_ref.json() == body

    # Someone else's property is a 404 by either id; so is a property nobody has.
    stranger = bearer(uuid.uuid4())
    for named in (GA4_ID, str(ref), "399999999", "9" * 20):
        for path in ("chart", "runs"):
            response = await client.get(f"/v1/properties/{named}/{path}", headers=stranger)
            assert response.status == 404, (named, path)
        response = await client.patch(
            f"/v1/properties/{named}", headers=stranger, json={"enabled": False}
        )
        assert response.status == 404, named
    for bad in ("x", "-1", "1.5", "9" * 21):
        response = await client.get(f"/v1/properties/{bad}/chart", headers=headers)
        assert response.status == 400 and (await response.json())["error"] == "invalid_property"


async def test_a_ga4_property_id_wins_over_a_row_id_of_the_same_digits(client, pool):
    owner = uuid.uuid4()
    first = await upsert_property(pool, owner, "7001", time_zone="UTC")
    # A property whose GA4 id is the first one's row id.
    second = await upsert_property(pool, owner, str(first), time_zone="Asia/Tokyo")
    response = await client.get(f"/v1/properties/{first}/chart", headers=bearer(ADMIN))
    assert (await response.json())["property_id"] == str(first)
    assert (await response.json())["time_zone"] == "Asia/Tokyo"
    by_ref = await client.get(f"/v1/properties/{second}/chart", headers=bearer(ADMIN))
    assert (await by_ref.json())["property_id"] == str(first)
    by_ga4 = await client.get("/v1/properties/7001/chart", headers=bearer(ADMIN))
    assert (await by_ga4.json())["time_zone"] == "UTC"
