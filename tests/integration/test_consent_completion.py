"""A consent's grant goes only to the user who started it.

The callback is reached by whoever's browser Google sends back: a consent link one
user started can be finished by another (sent to them, or opened where they are
signed in). So the callback keeps the grant pending under a one-time code, and only
the starting user's own authenticated call attaches it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from ga4sync.sync.google_accounts import COMPLETION_TTL_S

from ..webtools import bearer
from .test_google_accounts import ALICE, api, callback, complete, consent, oauth_settings, outcome
from .test_supabase_exposure import as_role, supabase

__all__ = ["api", "oauth_settings", "supabase"]  # fixtures shared with those modules

VICTIM = [("999000999", "The victim's shop", "Europe/Paris")]


async def attached(pool) -> tuple[int, int]:
    """Stored grants, and property access of anyone."""
    grants = await pool.fetchval("select count(*) from google_credentials")
    access = await pool.fetchval("select count(*) from ga4_property_access")
    return grants, access


async def consented(api, fake, user: uuid.UUID) -> str:
    """Start as ``user``, go through Google and the callback: the one-time code."""
    back = outcome(await callback(api, await consent(api, fake, user)))
    assert back["status"] == "consented", back
    return back["code"]


async def test_a_consent_started_by_one_user_and_finished_by_another_attaches_nothing(
    api, fake, pool
):
    # The attacker starts a consent and sends the link to the victim, whose browser
    # approves it at Google with the victim's own Google account.
    attacker, victim = uuid.uuid4(), uuid.uuid4()
    fake.add_google_account("victim@example.com", properties=VICTIM)
    fake.consent_as("victim@example.com")
    code = await consented(api, fake, attacker)
    assert await attached(pool) == (0, 0)

    # The victim's frontend, signed in as the victim, completes it: refused, clearly.
    refused = await complete(api, victim, code)
    assert refused.status == 403
    body = await refused.json()
    assert body["error"] == "other_user"
    assert "started by another user" in body["message"]
    assert await attached(pool) == (0, 0)

    # The code is gone: the attacker cannot claim the victim's grant either.
    late = await complete(api, attacker, code)
    assert late.status == 404
    assert await attached(pool) == (0, 0)
    assert await pool.fetchval("select count(*) from google_pending_grants") == 0
    for user in (attacker, victim):
        listed = await (await api.get("/v1/properties", headers=bearer(user))).json()
        assert listed["properties"] == []


async def test_the_starting_user_completes_once(api, fake, pool):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    code = await consented(api, fake, user)

    # Without a sign-in there is no claim, and the code survives the attempt.
    anonymous = await api.post("/v1/connections/google/complete", json={"code": code})
    assert anonymous.status == 401
    first = await complete(api, user, code)
    assert first.status == 201
    assert sorted(p["property_id"] for p in (await first.json())["properties"]) == [
        "111000111",
        "222000222",
    ]
    grants, access = await attached(pool)
    assert grants == 1 and access == 2
    assert await pool.fetchval("select user_id from google_credentials") == user

    again = await complete(api, user, code)
    assert again.status == 404
    assert (await again.json())["error"] == "not_found"


async def test_a_code_claimed_too_late_attaches_nothing(api, fake, pool, clock):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    code = await consented(api, fake, user)
    clock.now += timedelta(seconds=COMPLETION_TTL_S + 1)

    expired = await complete(api, user, code)
    assert expired.status == 410
    assert (await expired.json())["error"] == "code_expired"
    assert await attached(pool) == (0, 0)
    assert (await complete(api, user, code)).status == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"code": 5}, {"code": "short"}, {"code": "x" * 43, "user_id": str(uuid.uuid4())}],
)
async def test_a_malformed_claim_is_a_400(api, body):
    response = await api.post(
        "/v1/connections/google/complete", headers=bearer(uuid.uuid4()), json=body
    )
    assert response.status == 400


async def test_a_pending_grant_holds_neither_the_code_nor_a_token_in_clear(api, fake, pool):
    fake.add_google_account("alice@example.com", properties=ALICE)
    code = await consented(api, fake, uuid.uuid4())
    raw = await pool.fetchval("select convert_to(g::text, 'UTF8') from google_pending_grants g")
    (refresh_token,) = fake.issued_refresh_tokens
    assert refresh_token.encode() not in raw
    assert code.encode() not in raw


async def test_supabase_roles_cannot_reach_pending_grants(api, fake, pool, supabase):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    await consented(api, fake, user)
    # as Supabase's default privileges would have granted it
    await pool.execute("grant all on google_pending_grants to anon, authenticated")
    for role, who in (("anon", None), ("authenticated", user)):
        async with as_role(pool, role, who) as conn:
            assert await conn.fetchval("select count(*) from google_pending_grants") == 0
        async with as_role(pool, role, who) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    "insert into google_pending_grants values"
                    " ('\\x00', $1, '\\x00', now(), now() + interval '1 hour')",
                    user,
                )


async def test_unclaimed_grants_are_pruned_once_expired(api, fake, pool, upkeep, clock):
    fake.add_google_account("alice@example.com", properties=ALICE)
    await consented(api, fake, uuid.uuid4())
    assert (await upkeep.prune_history(clock.now))["pending_grants"] == 0
    later = clock.now + timedelta(seconds=COMPLETION_TTL_S + 1)
    assert (await upkeep.prune_history(later))["pending_grants"] == 1
    assert await pool.fetchval("select count(*) from google_pending_grants") == 0
