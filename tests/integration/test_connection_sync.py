"""Connecting a Google account starts the first sync of the properties it brought,
as a run of its own (trigger "connection") in the user's lane of the queue: the
properties do not wait for the next Sync now or daily run."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

import pytest

from ga4sync.queue import priority
from ga4sync.sync.fair_order import Lane
from ga4sync.web.app import create_app
from tests.conftest import wait_for_job

from ..webtools import bearer
from .test_google_accounts import CALLBACK, FRONTEND, connect

ALICE = [
    ("111000111", "Alice's shop", "America/New_York"),
    ("222000222", "Alice's blog", "Europe/Berlin"),
]
SHOP, BLOG = ALICE[0][0], ALICE[1][0]
NEWS = ("333000333", "Alice's news", "UTC")


@pytest.fixture
def settings(settings):
    """One Sync now an hour: a connection's first sync must not count as one."""
    return replace(settings, run_rate_limit=1)


@pytest.fixture
def oauth_settings(web_settings, google_url):
    return replace(
        web_settings,
        google_auth_uri=f"{google_url}/o/oauth2/v2/auth",
        google_revoke_uri=f"{google_url}/revoke",
        ga4_admin_api_base_url=google_url,
        oauth_redirect_uri=CALLBACK,
        frontend_url=FRONTEND,
    )


@pytest.fixture
async def api(aiohttp_client, runtime, oauth_settings):
    return await aiohttp_client(create_app(oauth_settings, runtime=runtime))


async def import_token(api, user: uuid.UUID, refresh_token: str = "rt-alice") -> dict:
    response = await api.post(
        "/v1/connections/google/tokens",
        headers=bearer(user),
        json={"refresh_token": refresh_token},
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def job_json(api, user: uuid.UUID, job_id: str) -> dict:
    response = await api.get(f"/v1/sync/ga4/job/{job_id}", headers=bearer(user))
    assert response.status == 200, await response.text()
    return await response.json()


async def synced_at(pool) -> dict[str, object]:
    rows = await pool.fetch("select property_id, last_sync_at from ga4_properties")
    return {row["property_id"]: row["last_sync_at"] for row in rows}


async def test_connecting_syncs_the_new_properties_at_once(api, fake, pool, runtime, worker):
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.consent_as("alice@example.com")
    user = uuid.uuid4()

    body = await connect(api, fake, user)  # start, Google's consent, callback, complete

    assert body["first_sync_job_id"] is not None
    job_id = uuid.UUID(body["first_sync_job_id"])
    job = await wait_for_job(runtime.sync, job_id)
    assert job.status == "success", job.message
    assert job.property_refs is not None and len(job.property_refs) == 2
    seen = await job_json(api, user, str(job_id))
    assert seen["trigger"] == "connection" and seen["kind"] == "manual"
    assert seen["outcome"] == "complete"
    assert seen["progress"]["properties_total"] == seen["progress"]["properties_done"] == 2
    assert all(await synced_at(pool)), "every connected property is synced"
    assert await pool.fetchval("select count(*) from ga4_sync_job_properties") == 2
    # It shows among the user's runs, saying why it ran.
    history = await (await api.get("/v1/sync/ga4/history", headers=bearer(user))).json()
    mine = [j for j in history["jobs"] if j["job_id"] == str(job_id)]
    assert [j["trigger"] for j in mine] == ["connection"]
    assert {j["trigger"] for j in history["jobs"] if j["job_id"] != str(job_id)} <= {"daily"}


async def test_reconnecting_syncs_only_the_properties_never_synced(
    api, fake, pool, runtime, worker
):
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.add_refresh_token("rt-alice", account="alice@example.com")
    user = uuid.uuid4()
    first = await import_token(api, user)
    done = await wait_for_job(runtime.sync, uuid.UUID(first["first_sync_job_id"]))
    assert done.status == "success", done.message

    # Reconnecting the same account: everything is synced already, no run starts.
    jobs_before = await pool.fetchval("select count(*) from ga4_sync_jobs")
    again = await import_token(api, user)
    assert again["first_sync_job_id"] is None
    assert await pool.fetchval("select count(*) from ga4_sync_jobs") == jobs_before

    # A property added to the account since: only it is synced.
    fake.add_google_account("alice@example.com", properties=[*ALICE, NEWS])
    synced_before = await synced_at(pool)
    more = await import_token(api, user)
    assert len(more["properties"]) == 3
    job = await wait_for_job(runtime.sync, uuid.UUID(more["first_sync_job_id"]))
    assert job.status == "success" and job.trigger == "connection"
    covered = await pool.fetch(
        "select p.property_id from ga4_sync_job_properties jp"
        " join ga4_properties p on p.id = jp.property_ref where jp.job_id = $1",
        job.id,
    )
    assert [row["property_id"] for row in covered] == [NEWS[0]]
    synced_after = await synced_at(pool)
    assert synced_after[NEWS[0]] is not None
    assert {k: synced_after[k] for k in (SHOP, BLOG)} == {k: synced_before[k] for k in (SHOP, BLOG)}


async def test_a_connection_during_the_daily_run_leaves_its_rules_alone(api, fake, pool, runtime):
    """No worker: what is queued, and in which lane, is read from the queue."""
    daily = (await runtime.sync.ensure_daily(date(2026, 11, 20))).job
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.add_refresh_token("rt-alice", account="alice@example.com")
    user = uuid.uuid4()

    body = await import_token(api, user)

    # The connection is not refused and its run is not the daily one.
    first_id = uuid.UUID(body["first_sync_job_id"])
    assert first_id != daily.id
    first = await runtime.sync.get_job(first_id)
    assert (first.kind, first.trigger, first.lock_key) == ("manual", "connection", None)
    assert daily.trigger == "daily"
    # A Sync now is still refused while the daily run is active, with the daily run.
    refused = await api.post("/v1/sync/ga4/run", headers=bearer(user), json={})
    assert refused.status == 409
    answer = await refused.json()
    assert answer["error"] == "daily_run_active" and answer["job_id"] == str(daily.id)
    # Still one daily run for the date.
    assert await pool.fetchval("select count(*) from ga4_sync_jobs where kind = 'daily'") == 1

    # Its properties go through the fair order like a Sync now's: the user's lane.
    await runtime.sync.run_job(first_id)
    queued = await pool.fetch(
        "select args, priority from ga4sync_queue.procrastinate_jobs"
        " where task_name = 'ga4sync.sync_property' order by priority desc"
    )
    assert [row["args"]["job_id"] for row in queued] == [str(first_id)] * 2
    assert [row["priority"] for row in queued] == [
        priority(Lane.INTERACTIVE, 0),
        priority(Lane.INTERACTIVE, 1),
    ]


async def test_a_first_sync_is_no_sync_now(api, fake, pool, runtime):
    """It neither counts against RUN_RATE_LIMIT (1 here) nor passes for a Sync now
    of the same target."""
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.add_refresh_token("rt-alice", account="alice@example.com")
    user = uuid.uuid4()
    first_id = (await import_token(api, user))["first_sync_job_id"]

    started = await api.post("/v1/sync/ga4/run", headers=bearer(user), json={})
    assert started.status == 202
    body = await started.json()
    assert body["created"] is True and body["job_id"] != first_id
    assert (await job_json(api, user, body["job_id"]))["trigger"] == "sync_now"
    # The limit counts Sync now runs: the next one is over it.
    again = await api.post("/v1/sync/ga4/run", headers=bearer(user), json={"property_id": SHOP})
    assert again.status == 429
