"""When Google cannot be reached, times out or fails with a 5xx while an account is
connected or disconnected: a clear answer naming Google, never a 500, and no half-stored
grant."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest

from ga4sync.web.app import create_app

from ..unreachable import closed_port_url, silent_server
from ..webtools import bearer
from .test_google_accounts import ALICE, callback, complete, consent, outcome

TIMEOUT_S = 0.5


@pytest.fixture
def oauth_settings(web_settings, google_url):
    return replace(
        web_settings,
        google_auth_uri=f"{google_url}/o/oauth2/v2/auth",
        google_revoke_uri=f"{google_url}/revoke",
        ga4_admin_api_base_url=google_url,
        oauth_redirect_uri="https://sync.example.com/v1/connections/google/callback",
        frontend_url="https://app.example.com/settings",
        google_timeout_s=TIMEOUT_S,
    )


@pytest.fixture
def app_with(aiohttp_client, runtime, oauth_settings):
    """A client of the web app with some settings changed (e.g. a Google that is down)."""

    async def make(**overrides):
        return await aiohttp_client(
            create_app(replace(oauth_settings, **overrides), runtime=runtime)
        )

    return make


async def stored_grants(pool) -> int:
    return await pool.fetchval("select count(*) from google_credentials")


async def import_token(api, user, token="rt-alice"):
    return await api.post(
        "/v1/connections/google/tokens", headers=bearer(user), json={"refresh_token": token}
    )


async def assert_google_unavailable(response, status: int) -> str:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["error"] == "google_unavailable"
    return body["message"]


async def test_import_when_the_token_endpoint_refuses_connections(app_with, pool):
    api = await app_with(google_token_uri=f"{closed_port_url()}/token")
    message = await assert_google_unavailable(await import_token(api, uuid.uuid4()), 502)
    assert "could not be reached" in message and "nothing was stored" in message
    assert await stored_grants(pool) == 0


async def test_import_when_the_token_endpoint_never_answers(app_with, pool):
    async with silent_server() as url:
        api = await app_with(google_token_uri=f"{url}/token")
        started = time.monotonic()
        message = await assert_google_unavailable(await import_token(api, uuid.uuid4()), 504)
        assert time.monotonic() - started < 10 * TIMEOUT_S
    assert "did not answer" in message and "nothing was stored" in message
    assert await stored_grants(pool) == 0


async def test_import_when_the_token_endpoint_fails(app_with, fake, pool):
    fake.add_refresh_token("rt-alice")
    api = await app_with()
    fake.fail_next_oauth(502)
    await assert_google_unavailable(await import_token(api, uuid.uuid4()), 502)
    assert await stored_grants(pool) == 0
    assert (await import_token(api, uuid.uuid4())).status == 201  # Google is back


async def test_import_when_discovery_cannot_reach_google(app_with, fake, pool):
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.add_refresh_token("rt-alice", account="alice@example.com")
    api = await app_with(ga4_admin_api_base_url=closed_port_url())
    response = await import_token(api, uuid.uuid4())
    assert response.status == 201  # the grant is checked and stored; discovery can be redone
    body = await response.json()
    assert body["properties"] == []
    assert body["discovery_error"]["error"] == "google_unavailable"
    assert "could not be reached" in body["discovery_error"]["message"]
    assert await stored_grants(pool) == 1

    async with silent_server() as url:
        api = await app_with(ga4_admin_api_base_url=url)
        started = time.monotonic()
        response = await import_token(api, uuid.uuid4())
        assert time.monotonic() - started < 10 * TIMEOUT_S
    assert response.status == 201
    assert (await response.json())["discovery_error"]["error"] == "google_unavailable"

    fake.fail_next_admin(503)
    response = await import_token(await app_with(), uuid.uuid4())
    assert (await response.json())["discovery_error"]["error"] == "google_unavailable"


@pytest.mark.parametrize("down", ["refused", "silent", "5xx"])
async def test_callback_when_the_code_exchange_cannot_reach_google(
    app_with, fake, pool, google_url, down
):
    fake.add_google_account("alice@example.com", properties=ALICE)
    params = await consent(await app_with(), fake, uuid.uuid4())
    async with silent_server() as silent:
        token_uri = {
            "refused": f"{closed_port_url()}/token",
            "silent": f"{silent}/token",
            "5xx": f"{google_url}/token",
        }[down]
        fake.fail_next_oauth(503)
        api = await app_with(google_token_uri=token_uri)
        started = time.monotonic()
        response = await callback(api, params)
        assert time.monotonic() - started < 10 * TIMEOUT_S
    assert outcome(response) == {
        "ga4sync": "google",
        "status": "error",
        "reason": "google_unavailable",
    }
    assert await stored_grants(pool) == 0


async def test_completion_when_discovery_cannot_reach_google(app_with, fake, pool):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    params = await consent(await app_with(), fake, user)
    api = await app_with(ga4_admin_api_base_url=closed_port_url())
    back = outcome(await callback(api, params))
    assert back["status"] == "consented"
    response = await complete(api, user, back["code"])
    assert response.status == 201
    body = await response.json()
    assert body["properties"] == []
    assert body["discovery_error"]["error"] == "google_unavailable"
    assert await stored_grants(pool) == 1


@pytest.mark.parametrize("down", ["refused", "silent", "5xx"])
async def test_disconnect_when_the_revoke_cannot_reach_google(
    app_with, fake, pool, google_url, down
):
    fake.add_refresh_token("rt-alice")
    user = uuid.uuid4()
    assert (await import_token(await app_with(), user)).status == 201
    async with silent_server() as silent:
        revoke_uri = {
            "refused": f"{closed_port_url()}/revoke",
            "silent": f"{silent}/revoke",
            "5xx": f"{google_url}/revoke",
        }[down]
        fake.fail_next_oauth(500)
        api = await app_with(google_revoke_uri=revoke_uri)
        started = time.monotonic()
        response = await api.delete("/v1/connections/google", headers=bearer(user))
        assert time.monotonic() - started < 10 * TIMEOUT_S
    assert response.status == 200
    body = await response.json()
    assert body["tokens_deleted"] is True
    assert body["revoked_at_google"] is None
    assert body["revoke_error"]["error"] == "google_unavailable"
    assert "deleted" in body["revoke_error"]["message"]
    assert await stored_grants(pool) == 0
    assert fake.revoked == []


async def test_disconnect_says_google_confirmed_the_revoke(app_with, fake):
    fake.add_refresh_token("rt-alice")
    user = uuid.uuid4()
    api = await app_with()
    assert (await import_token(api, user)).status == 201
    body = await (await api.delete("/v1/connections/google", headers=bearer(user))).json()
    assert body["revoked_at_google"] is True and body["revoke_error"] is None
    again = await (await api.delete("/v1/connections/google", headers=bearer(user))).json()
    assert again["tokens_deleted"] is False and again["revoke_error"] is None
