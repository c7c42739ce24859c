"""Access to a shared property follows what Google lets each user read.

A grant GA4 refuses a property (403 PERMISSION_DENIED) loses its user their
access to that property, and the next user's grant reads it; the property
fails only when no grant is left. Listing a user's properties again (a
reconnect, or a token imported again) removes the access Google no longer
lists for them, so they stop reading rows synced with someone else's grant;
only a complete listing removes anything, and only access that came from one.
Each user sees the access they lost, and why.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from ga4sync.sync.connections import connect_property
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts
from ga4sync.web.app import create_app

from ..webtools import bearer


async def _sync(ingestion_for):
    async with ingestion_for() as ingestion:
        return await ingest_ga4_for_all_accounts(ingestion)


async def _access(pool) -> set:
    rows = await pool.fetch("select user_id, property_ref from ga4_property_access")
    return {tuple(r) for r in rows}


async def _listing(client, user) -> dict:
    response = await client.get("/v1/properties", headers=bearer(user))
    assert response.status == 200
    return await response.json()


async def test_a_grant_refused_the_property_loses_its_user_access_the_next_grant_reads_it(
    client, pool, fake, connect_user, ingestion_for
):
    alice = await connect_user({"8901": "UTC"})  # first with access: her grant is tried first
    bob = await connect_user({"8901": "UTC"})
    ref = await pool.fetchval("select id from ga4_properties where property_id = '8901'")
    fake.deny_access("8901", f"rt-{alice.hex[:8]}")

    [result] = (await _sync(ingestion_for)).results
    assert (result.status, result.user_id) == ("success", bob)
    assert result.rows_inserted > 0
    assert await _access(pool) == {(bob, ref)}

    # Alice no longer sees the property, nor its rows; she sees why.
    mine = await _listing(client, alice)
    assert mine["properties"] == []
    [lost] = mine["lost_access"]
    assert lost["property_id"] == "8901"
    assert "403 PERMISSION_DENIED" in lost["reason"] and lost["lost_at"]
    rows = await client.get(
        "/v1/reports/daily_totals/rows", params={"property_id": "8901"}, headers=bearer(alice)
    )
    assert rows.status == 404
    bobs = await _listing(client, bob)
    assert [p["property_id"] for p in bobs["properties"]] == ["8901"]
    assert bobs["lost_access"] == []

    [again] = (await _sync(ingestion_for)).results
    assert (again.status, again.user_id) == ("success", bob)


async def test_the_property_fails_only_when_no_grant_is_left(
    client, pool, fake, connect_user, ingestion_for
):
    alice = await connect_user({"8902": "UTC"})
    bob = await connect_user({"8902": "UTC"})
    fake.deny_access("8902", f"rt-{alice.hex[:8]}")
    fake.deny_access("8902", f"rt-{bob.hex[:8]}")

    [result] = (await _sync(ingestion_for)).results
    assert result.status == "failed"
    assert "PERMISSION_DENIED" in result.error and "lost access" in result.error
    assert await _access(pool) == set()
    for user in (alice, bob):
        listing = await _listing(client, user)
        assert listing["properties"] == []
        assert [p["property_id"] for p in listing["lost_access"]] == ["8902"]
    # Nobody can access it: it is not synced again.
    assert (await _sync(ingestion_for)).results == []


async def test_a_refusal_of_the_token_not_the_property_keeps_access(
    pool, fake, connect_user, ingestion_for
):
    alice = await connect_user({"8903": "UTC"})
    bob = await connect_user({"8903": "UTC"})
    # Alice's grant lacks the Analytics scope: GA4 answers 403 with an ErrorInfo
    # (ACCESS_TOKEN_SCOPE_INSUFFICIENT), which says nothing of her access to the property.
    fake.add_refresh_token(f"rt-{alice.hex[:8]}", scopes=("openid",))

    [result] = (await _sync(ingestion_for)).results
    assert (result.status, result.user_id) == ("success", bob)
    assert len(await _access(pool)) == 2
    assert await pool.fetchval("select count(*) from ga4_property_access_lost") == 0

    # With Bob's grant gone too, the property fails, and nobody loses access.
    fake.add_refresh_token(f"rt-{bob.hex[:8]}", scopes=("openid",))
    [result] = (await _sync(ingestion_for)).results
    assert result.status == "failed" and "refused every grant" in result.error
    assert len(await _access(pool)) == 2


# --- rediscovery: listing a user's properties again ------------------------------------------

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
async def api(aiohttp_client, runtime, web_settings, google_url):
    settings = replace(web_settings, ga4_admin_api_base_url=google_url)
    return await aiohttp_client(create_app(settings, runtime=runtime))


async def _import(api, user, refresh_token: str) -> dict:
    response = await api.post(
        "/v1/connections/google/tokens",
        headers=bearer(user),
        json={"refresh_token": refresh_token},
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def _rows(api, user, property_id: str) -> int:
    response = await api.get(
        "/v1/reports/daily_totals/rows", params={"property_id": property_id}, headers=bearer(user)
    )
    return response.status


async def test_rediscovery_removes_access_lost_at_google(api, pool, fake, ingestion_for):
    bob, alice = uuid.uuid4(), uuid.uuid4()
    fake.add_google_account(BOB, [("8911", "Shop", "UTC")])
    fake.add_google_account(ALICE, [("8911", "Shop", "UTC"), ("8912", "Blog", "UTC")])
    fake.add_refresh_token("rt-bob", account=BOB)
    fake.add_refresh_token("rt-alice", account=ALICE)
    await _import(api, bob, "rt-bob")  # first: the shop is read with Bob's grant
    await _import(api, alice, "rt-alice")
    summary = await _sync(ingestion_for)
    assert summary.ok and {r.user_id for r in summary.results} == {bob, alice}
    assert await _rows(api, alice, "8911") == 200

    # Alice loses the shop at Google. Syncs go on with Bob's grant, which never
    # tells; listing her properties again does.
    fake.add_google_account(ALICE, [("8912", "Blog", "UTC")])
    fake.deny_access("8911", ALICE)
    assert (await _sync(ingestion_for)).ok
    assert await _rows(api, alice, "8911") == 200  # still hers until she is listed again
    connected = await _import(api, alice, "rt-alice")
    assert [p["property_id"] for p in connected["properties"]] == ["8912"]
    assert await _rows(api, alice, "8911") == 404
    mine = await _listing(api, alice)
    assert [p["property_id"] for p in mine["properties"]] == ["8912"]
    [lost] = mine["lost_access"]
    assert lost["property_id"] == "8911" and "no longer lists" in lost["reason"]
    assert await _rows(api, bob, "8911") == 200  # Bob keeps his
    assert [p["property_id"] for p in (await _listing(api, bob))["properties"]] == ["8911"]

    # Given it back, she has it again, synced, and nothing is shown as lost.
    fake.add_google_account(ALICE, [("8911", "Shop", "UTC"), ("8912", "Blog", "UTC")])
    fake.allow_access("8911", ALICE)
    await _import(api, alice, "rt-alice")
    mine = await _listing(api, alice)
    assert [p["property_id"] for p in mine["properties"]] == ["8912", "8911"]
    assert mine["lost_access"] == []
    assert all(p["enabled"] for p in mine["properties"])


async def test_a_failed_or_partial_listing_removes_nothing(api, pool, fake):
    alice = uuid.uuid4()
    # Two GA4 accounts, one property each, one account summary a page: two pages.
    fake.add_google_account(ALICE, [("8921", "One", "UTC"), ("8922", "Two", "UTC")], accounts=2)
    fake.admin_page_size_max = 1
    fake.add_refresh_token("rt-alice", account=ALICE)
    await _import(api, alice, "rt-alice")
    ref = {
        r["property_id"]: r["id"]
        for r in await pool.fetch("select id, property_id from ga4_properties")
    }

    async def hers() -> set[str]:
        return {p["property_id"] for p in (await _listing(api, alice))["properties"]}

    assert await hers() == {"8921", "8922"}
    for after in (0, 1, 2):  # the first page fails, the second, a property's details
        fake.fail_next_admin(503, after=after)
        connected = await _import(api, alice, "rt-alice")
        assert connected["discovery_error"]["error"] == "google_unavailable"
        assert await hers() == {"8921", "8922"}, after
    assert await pool.fetchval("select count(*) from ga4_property_access_lost") == 0

    # A complete listing without the second property does remove it.
    fake.add_google_account(ALICE, [("8921", "One", "UTC")])
    await _import(api, alice, "rt-alice")
    assert await hers() == {"8921"}
    assert await _access(pool) == {(alice, ref["8921"])}


async def test_access_added_by_hand_stays_when_discovery_does_not_list_it(api, pool, fake):
    alice = uuid.uuid4()
    fake.add_google_account(ALICE, [("8931", "Listed", "UTC")])
    fake.add_refresh_token("rt-alice", account=ALICE)
    await _import(api, alice, "rt-alice")
    # As `ga4sync connect --property 8939` does: a property Google's listing leaves out.
    await connect_property(pool, alice, "8939")
    fake.add_google_account(ALICE, [])
    connected = await _import(api, alice, "rt-alice")
    assert connected["properties"] == []
    listing = await _listing(api, alice)
    assert [p["property_id"] for p in listing["properties"]] == ["8939"]
    assert [p["property_id"] for p in listing["lost_access"]] == ["8931"]
