"""History: per-run and per-property outcomes with data-quality flags, stable pages."""

from __future__ import annotations

import uuid

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..webtools import bearer


async def test_history_with_property_breakdown(client, runtime, connect_user, worker):
    from ..conftest import wait_for_job

    user = await connect_user({"9301": "UTC", "9302": "UTC"}, thresholded=True)
    started = await (await client.post("/v1/sync/ga4/run", headers=bearer(user))).json()
    await wait_for_job(runtime.sync, uuid.UUID(started["job_id"]))
    body = await (
        await client.get("/v1/sync/ga4/history?include=properties", headers=bearer(user))
    ).json()
    manual = next(job for job in body["jobs"] if job["job_id"] == started["job_id"])
    assert [p["property_id"] for p in manual["properties"]] == ["9301", "9302"]
    first = manual["properties"][0]
    assert first["status"] == "success" and first["rows_written"] == first["rows_fetched"] > 0
    assert first["tokens_consumed"] > 0 and first["duration_ms"] >= 0
    assert first["data_quality"]["pages"]["thresholded"] is True
    bad = await client.get("/v1/sync/ga4/history?include=everything", headers=bearer(user))
    assert bad.status == 400


async def test_property_runs_are_paged_newest_first(client, pool, connect_user, ingestion_for):
    user = await connect_user({"9401": "UTC"})
    async with ingestion_for() as ingestion:
        for _ in range(5):
            await ingest_ga4_for_all_accounts(ingestion)
    ref = await pool.fetchval("select id from ga4_properties where property_id = '9401'")
    seen, before = [], None
    while True:
        query = "?limit=2" + (f"&before={before}" if before else "")
        page = await (
            await client.get(f"/v1/properties/{ref}/runs{query}", headers=bearer(user))
        ).json()
        seen += [run["id"] for run in page["runs"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 5
    assert page["property_id"] == "9401"
    newest = await (
        await client.get(f"/v1/properties/{ref}/runs?limit=1", headers=bearer(user))
    ).json()
    run = newest["runs"][0]
    assert run["rows_unchanged"] == run["rows_fetched"] > 0 and run["status"] == "success"
    assert (
        await client.get(f"/v1/properties/{ref}/runs", headers=bearer(uuid.uuid4()))
    ).status == 404
    assert (
        await client.get(f"/v1/properties/{ref}/runs?before=x", headers=bearer(user))
    ).status == 400
