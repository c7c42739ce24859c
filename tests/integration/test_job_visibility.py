"""What each user sees of a run that covers every tenant: their own properties only."""

from __future__ import annotations

import uuid
from datetime import date

from ..webtools import ADMIN, bearer

SHARED, ALICES, BOBS = "612345001", "612345002", "612345003"
NAMES = {SHARED: "Shared Shop", ALICES: "Alice Garden", BOBS: "Bob Bakery"}


async def _three_users_and_a_daily_run(pool, fake, runtime, connect_user):
    from ..conftest import wait_for_job

    alice = await connect_user({SHARED: "UTC", ALICES: "UTC"})
    bob = await connect_user({SHARED: "UTC", BOBS: "UTC"})
    carol = uuid.uuid4()  # signed in, connected nothing
    for property_id, name in NAMES.items():
        await pool.execute(
            "update ga4_properties set display_name = $2 where property_id = $1",
            property_id,
            name,
        )
    fake.fail_next(BOBS, status=400)  # a failure that keeps his access
    # The worker already ran today's (empty) daily run: this is the next day's.
    daily = await runtime.sync.ensure_daily(date(2026, 11, 21))
    job = await wait_for_job(runtime.sync, daily.job.id)
    assert job.status == "success" and (job.properties_total, job.properties_failed) == (3, 1)
    assert f"{BOBS}: failed" in job.message  # the stored, whole-run message
    return alice, bob, carol, job


def _hidden_from(user_sees: set[str]) -> list[str]:
    """Every property id and display name the user must never find in a response."""
    return [
        text
        for property_id, name in NAMES.items()
        if property_id not in user_sees
        for text in (property_id, name)
    ]


async def test_a_daily_run_shows_each_user_only_their_properties(
    client, pool, fake, runtime, connect_user, worker
):
    alice, bob, carol, daily = await _three_users_and_a_daily_run(pool, fake, runtime, connect_user)
    expected = {
        # user: (properties seen, failed among them, the run's outcome for them)
        alice: ({SHARED, ALICES}, 0, "complete"),
        bob: ({SHARED, BOBS}, 1, "partial"),
        carol: (set(), 0, "complete"),
    }
    for user, (properties, failed, outcome) in expected.items():
        response = await client.get(f"/v1/sync/ga4/job/{daily.id}", headers=bearer(user))
        assert response.status == 200
        text = await response.text()
        for hidden in _hidden_from(properties):
            assert hidden not in text, (user, hidden)
        job = await response.json()
        assert job["status"] == "success" and job["kind"] == "daily"
        assert job["outcome"] == outcome, user
        progress = job["progress"]
        assert progress["properties_total"] == progress["properties_done"] == len(properties)
        assert progress["properties_failed"] == failed

        history = await client.get(
            "/v1/sync/ga4/history?include=properties&limit=100", headers=bearer(user)
        )
        text = await history.text()
        for hidden in _hidden_from(properties):
            assert hidden not in text, (user, hidden)
        (listed,) = [j for j in (await history.json())["jobs"] if j["job_id"] == str(daily.id)]
        assert {p["property_id"] for p in listed["properties"]} == properties
        assert {p["display_name"] for p in listed["properties"]} == {NAMES[p] for p in properties}
        assert listed["progress"] == progress and listed["message"] == job["message"]

        # The counts cover the user's properties: the rows they can read from this run.
        rows = [p for p in listed["properties"]]
        assert progress["rows_fetched"] == sum(p["rows_fetched"] for p in rows)
        assert progress["rows_written"] == sum(p["rows_written"] for p in rows)

    alices = await (await client.get(f"/v1/sync/ga4/job/{daily.id}", headers=bearer(alice))).json()
    assert alices["message"].startswith("Synced 2/2 properties")
    bobs = await (await client.get(f"/v1/sync/ga4/job/{daily.id}", headers=bearer(bob))).json()
    assert bobs["message"].startswith("Synced 1/2 properties (1 failed)")
    assert f"Not synced: {BOBS}: failed" in bobs["message"]
    carols = await (await client.get(f"/v1/sync/ga4/job/{daily.id}", headers=bearer(carol))).json()
    assert carols["progress"]["rows_fetched"] == carols["progress"]["rows_written"] == 0
    assert carols["message"] == "No enabled GA4 properties to sync."

    # An admin sees the whole run, as it was stored.
    admins = await (await client.get(f"/v1/sync/ga4/job/{daily.id}", headers=bearer(ADMIN))).json()
    assert admins["progress"]["properties_total"] == 3
    assert admins["progress"]["properties_failed"] == 1
    assert (admins["status"], admins["outcome"]) == ("success", "partial")
    assert admins["message"] == daily.message
    everything = await (
        await client.get("/v1/sync/ga4/history?include=properties&limit=100", headers=bearer(ADMIN))
    ).json()
    (listed,) = [j for j in everything["jobs"] if j["job_id"] == str(daily.id)]
    assert {p["property_id"] for p in listed["properties"]} == set(NAMES)


async def test_a_shared_property_in_my_run_is_not_shown_to_the_other_user(
    client, pool, fake, runtime, connect_user, worker
):
    from ..conftest import wait_for_job

    alice = await connect_user({SHARED: "UTC", ALICES: "UTC"})
    bob = await connect_user({SHARED: "UTC"})
    started = await (await client.post("/v1/sync/ga4/run", headers=bearer(alice))).json()
    job = await wait_for_job(runtime.sync, uuid.UUID(started["job_id"]))
    assert job.properties_total == 2
    # Bob shares one of its properties, yet a run someone else started is theirs alone.
    assert (await client.get(f"/v1/sync/ga4/job/{job.id}", headers=bearer(bob))).status == 404
    history = await (
        await client.get("/v1/sync/ga4/history?include=properties", headers=bearer(bob))
    ).json()
    assert str(job.id) not in {j["job_id"] for j in history["jobs"]}
    # Alice, once she has lost access to a property, no longer sees it in her run.
    await pool.execute(
        "delete from ga4_property_access a using ga4_properties p"
        " where a.property_ref = p.id and p.property_id = $1 and a.user_id = $2",
        ALICES,
        alice,
    )
    mine = await client.get(f"/v1/sync/ga4/job/{job.id}", headers=bearer(alice))
    assert ALICES not in await mine.text()
    assert (await mine.json())["progress"]["properties_total"] == 1


async def test_a_run_in_progress_counts_only_my_properties(
    client, pool, service, connect_user, ingestion_for
):
    alice = await connect_user({SHARED: "UTC", ALICES: "UTC"})
    bob = await connect_user({BOBS: "UTC"})
    daily = await service.ensure_daily(date(2026, 11, 21))
    await service.run_job(daily.job.id)
    bobs_ref = await pool.fetchval("select id from ga4_properties where property_id = $1", BOBS)
    async with ingestion_for() as ingestion:
        await service.sync_job_property(ingestion, daily.job.id, bobs_ref)

    # Alice's app polls the running job: Bob's finished property is not her progress.
    body = await (
        await client.get(f"/v1/sync/ga4/job/{daily.job.id}", headers=bearer(alice))
    ).json()
    assert body["status"] == "running" and body["message"] is None
    assert body["progress"]["properties_total"] == 2
    assert body["progress"]["properties_done"] == 0
    assert body["progress"]["rows_fetched"] == 0
    theirs = await (
        await client.get(f"/v1/sync/ga4/job/{daily.job.id}", headers=bearer(bob))
    ).json()
    assert theirs["progress"]["properties_done"] == theirs["progress"]["properties_total"] == 1
    assert theirs["progress"]["rows_fetched"] > 0


async def test_a_failed_run_names_none_of_the_others_failures(
    client, pool, fake, runtime, connect_user, worker
):
    from ..conftest import wait_for_job

    alice = await connect_user({ALICES: "UTC"})
    bob = await connect_user({BOBS: "UTC"})
    fake.revoke_refresh_token(f"rt-{alice.hex[:8]}")
    fake.revoke_refresh_token(f"rt-{bob.hex[:8]}")
    daily = await runtime.sync.ensure_daily(date(2026, 11, 21))
    job = await wait_for_job(runtime.sync, daily.job.id)
    assert job.status == "failed" and ALICES in job.message and BOBS in job.message
    carol = uuid.uuid4()
    for user, hidden, shown in [(alice, BOBS, ALICES), (bob, ALICES, BOBS), (carol, None, None)]:
        response = await client.get(f"/v1/sync/ga4/job/{job.id}", headers=bearer(user))
        body = await response.json()
        assert body["status"] == "failed"
        if shown is None:
            assert body["message"] == "The run failed; none of your properties were in it."
            assert ALICES not in body["message"] and BOBS not in body["message"]
        else:
            assert hidden not in await response.text()
            assert body["message"].startswith("Synced 0/1 properties")
            assert f"Not synced: {shown}: needs_reauth" in body["message"]


async def test_a_run_in_which_every_one_of_my_properties_failed_is_failed_for_me(
    client, fake, runtime, connect_user, worker
):
    from ..conftest import wait_for_job

    alice = await connect_user({ALICES: "UTC"})
    bob = await connect_user({BOBS: "UTC"})
    fake.fail_next(BOBS, status=400)
    daily = await runtime.sync.ensure_daily(date(2026, 11, 21))
    job = await wait_for_job(runtime.sync, daily.job.id)
    assert job.status == "success"  # the run synced Alice's property
    seen = {}
    for user in (alice, bob, ADMIN):
        body = await (await client.get(f"/v1/sync/ga4/job/{job.id}", headers=bearer(user))).json()
        history = await (await client.get("/v1/sync/ga4/history", headers=bearer(user))).json()
        (listed,) = [j for j in history["jobs"] if j["job_id"] == str(job.id)]
        assert (listed["status"], listed["outcome"]) == (body["status"], body["outcome"])
        seen[user] = (body["status"], body["outcome"], body["progress"]["properties_failed"])
    assert seen[alice] == ("success", "complete", 0)
    assert seen[bob] == ("failed", "failed", 1)
    assert seen[ADMIN] == ("success", "partial", 1)
