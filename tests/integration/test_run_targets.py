"""Manual runs with targets (admins: a user, a property) and the per-user rate limit."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest

from ga4sync.runtime import open_runtime
from ga4sync.web.app import create_app

from ..webtools import ADMIN, bearer


async def test_admin_runs_one_users_property(client, pool, runtime, connect_user):
    alice = await connect_user({"5101": "UTC", "5102": "UTC"})
    await connect_user({"5103": "UTC"})
    response = await client.post(
        "/v1/sync/ga4/run",
        headers=bearer(ADMIN),
        json={"user_id": str(alice), "property_id": "5102"},
    )
    assert response.status == 202
    job_id = uuid.UUID((await response.json())["job_id"])
    await runtime.sync.run_job(job_id)
    planned = await pool.fetch(
        "select p.property_id from ga4_sync_job_properties jp"
        " join ga4_properties p on p.id = jp.property_ref where jp.job_id = $1",
        job_id,
    )
    assert [r["property_id"] for r in planned] == ["5102"]
    job = await (await client.get(f"/v1/sync/ga4/job/{job_id}", headers=bearer(ADMIN))).json()
    assert job["scope"] == str(alice) and job["property_id"] == "5102"


async def test_targets_and_repeat_clicks(client, connect_user):
    me = await connect_user({"5201": "UTC", "5202": "UTC"})
    one = await (
        await client.post("/v1/sync/ga4/run", headers=bearer(me), json={"property_id": "5201"})
    ).json()
    same = await (
        await client.post("/v1/sync/ga4/run", headers=bearer(me), json={"property_id": "5201"})
    ).json()
    other = await (
        await client.post("/v1/sync/ga4/run", headers=bearer(me), json={"property_id": "5202"})
    ).json()
    assert same["job_id"] == one["job_id"] and same["created"] is False
    assert other["job_id"] != one["job_id"] and other["created"] is True


async def test_a_property_outside_the_scope_is_404_and_starts_nothing(client, pool, connect_user):
    mine = await connect_user({"5301": "UTC"})
    theirs = await connect_user({"5302": "UTC"})
    for user, body in [
        (mine, {"property_id": "5302"}),  # someone else's
        (mine, {"property_id": "5399"}),  # nobody's
        (uuid.uuid4(), {"property_id": "5301"}),  # a user with no property at all
        (ADMIN, {"property_id": "5399"}),
        (ADMIN, {"user_id": str(theirs), "property_id": "5301"}),
    ]:
        response = await client.post("/v1/sync/ga4/run", headers=bearer(user), json=body)
        assert response.status == 404, (user, body)
        answer = await response.json()
        assert answer["error"] == "not_found" and body["property_id"] in answer["message"]
    assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 0
    # Its own property, an admin's run of anyone's: started.
    for user, body in [
        (mine, {"property_id": "5301"}),
        (ADMIN, {"property_id": "5302"}),
        (ADMIN, {"user_id": str(theirs), "property_id": "5302"}),
    ]:
        response = await client.post("/v1/sync/ga4/run", headers=bearer(user), json=body)
        assert response.status == 202, (user, body)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"user_id": str(uuid.uuid4())}, 403, "forbidden"),
        ({"user_id": "nope"}, 400, "invalid_user_id"),
        ({"property_id": 5201}, 400, "invalid_property_id"),
        ({"property_id": "51x"}, 400, "invalid_property_id"),
    ],
)
async def test_target_errors(client, body, status, error):
    response = await client.post("/v1/sync/ga4/run", headers=bearer(uuid.uuid4()), json=body)
    assert response.status == status
    assert (await response.json())["error"] == error


async def test_rate_limit_is_429_with_retry_after(aiohttp_client, web_settings, database_url):
    limited_settings = replace(web_settings, run_rate_limit=3)
    async with open_runtime(limited_settings, database_url, periodic=False) as runtime:
        client = await aiohttp_client(create_app(limited_settings, runtime=runtime))
        await _three_then_limited(client, runtime)


async def _three_then_limited(client, runtime):
    me = uuid.uuid4()
    for _ in range(3):
        started = await client.post("/v1/sync/ga4/run", headers=bearer(me))
        assert started.status == 202
        await runtime.sync.run_job(uuid.UUID((await started.json())["job_id"]))  # finishes
    limited = await client.post("/v1/sync/ga4/run", headers=bearer(me))
    assert limited.status == 429
    body = await limited.json()
    assert body["error"] == "rate_limited" and "3 syncs an hour" in body["message"]
    assert 3500 <= int(limited.headers["Retry-After"]) <= 3601
    # Others are not limited by my clicks.
    assert (await client.post("/v1/sync/ga4/run", headers=bearer(uuid.uuid4()))).status == 202


async def test_rate_limit_holds_under_parallel_requests(
    aiohttp_client, web_settings, database_url, connect_user
):
    """Clicks arriving together each see the runs made before them: no more than the
    limit's worth are created, whatever their targets."""
    properties = {str(6100 + n): "UTC" for n in range(12)}
    me = await connect_user(properties)
    limited_settings = replace(web_settings, run_rate_limit=3)
    async with open_runtime(limited_settings, database_url, periodic=False) as runtime:
        client = await aiohttp_client(create_app(limited_settings, runtime=runtime))
        responses = await asyncio.gather(
            *(
                client.post("/v1/sync/ga4/run", headers=bearer(me), json={"property_id": p})
                for p in properties
            )
        )
        statuses = sorted(r.status for r in responses)
        created = await runtime.pool.fetchval(
            "select count(*) from ga4_sync_jobs where kind = 'manual' and requested_by = $1", me
        )
    assert statuses == [202] * 3 + [429] * 9
    assert created == 3
