"""ADMIN_EMAILS trusts a token's email only when the sign-in is a real, confirmed one."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from ga4sync.web.app import create_app

from ..webtools import bearer

BOSS = "boss@example.com"


@pytest.fixture
async def boss_client(aiohttp_client, runtime, web_settings):
    settings = replace(web_settings, admin_emails=frozenset({BOSS}))
    return await aiohttp_client(create_app(settings, runtime=runtime))


async def _is_admin(client, **claims) -> bool:
    response = await client.post(
        "/v1/sync/ga4/run", headers=bearer(uuid.uuid4(), **claims), json={"scope": "all"}
    )
    assert response.status in (202, 403), await response.text()
    return response.status == 202


async def test_a_confirmed_email_of_a_real_sign_in_is_an_admin(boss_client):
    assert await _is_admin(boss_client, email=BOSS)
    assert await _is_admin(boss_client, email=BOSS, is_anonymous=False)
    assert await _is_admin(boss_client, email=BOSS, email_verified=True)
    assert await _is_admin(
        boss_client, email=BOSS, is_anonymous=False, user_metadata={"email_verified": True}
    )


@pytest.mark.parametrize(
    "claims",
    [
        # Supabase's anonymous sign-ins: anyone holding the anon key can make one.
        {"email": BOSS, "is_anonymous": True},
        {"email": BOSS, "is_anonymous": "true"},
        # The token itself says the address was never confirmed.
        {"email": BOSS, "email_verified": False},
        {"email": BOSS, "user_metadata": {"email_verified": False}},
        {"email": BOSS, "is_anonymous": False, "user_metadata": {"email_verified": "false"}},
    ],
)
async def test_an_anonymous_or_unconfirmed_sign_in_is_not_an_admin_by_email(boss_client, claims):
    assert not await _is_admin(boss_client, **claims)
