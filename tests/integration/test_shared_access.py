"""Access to a shared property follows what Google lets each user read.

A grant GA4 refuses a property (403 PERMISSION_DENIED) loses its user their
access to that property, and the next user's grant reads it; the property
fails only when no grant is left. Each user sees the access they lost, and why.
"""

from __future__ import annotations

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

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
