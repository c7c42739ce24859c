"""Connecting Google accounts end to end through the fake Google: consent, import,
re-auth, choosing properties and disconnecting."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from ga4sync.consent import STATE_KEY_PURPOSE
from ga4sync.crypto import TokenCipher, derived_fernet
from ga4sync.errors import Ga4SyncError
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts
from ga4sync.web.app import create_app

from ..webtools import ADMIN, bearer

CALLBACK = "https://sync.example.com/v1/connections/google/callback"
FRONTEND = "https://app.example.com/settings"
ALICE = [
    ("111000111", "Alice's shop", "America/New_York"),
    ("222000222", "Alice's blog", "Europe/Berlin"),
]


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


async def consent(api, fake, user: uuid.UUID) -> dict[str, str]:
    """Start, go through the fake consent screen, return the callback's query."""
    start = await api.get("/v1/connections/google/start", headers=bearer(user))
    assert start.status == 200
    url = (await start.json())["url"]
    query = parse_qs(urlsplit(url).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["scope"] == ["https://www.googleapis.com/auth/analytics.readonly"]
    assert query["redirect_uri"] == [CALLBACK] and query["code_challenge_method"] == ["S256"]
    async with api.session.get(url, allow_redirects=False) as google:
        assert google.status == 302
        location = google.headers["Location"]
    assert location.startswith(CALLBACK)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def callback(api, params: dict[str, str]):
    return await api.get("/v1/connections/google/callback", params=params, allow_redirects=False)


def outcome(response) -> dict[str, str]:
    assert response.status == 302, response.status
    location = response.headers["Location"]
    assert location.startswith(FRONTEND + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def complete(api, user: uuid.UUID, code: str):
    """The frontend's step: the signed-in user claims the consent's grant."""
    return await api.post(
        "/v1/connections/google/complete", headers=bearer(user), json={"code": code}
    )


async def connect(api, fake, user: uuid.UUID) -> dict:
    """The whole consent flow as a frontend runs it: start, Google, callback, complete."""
    back = outcome(await callback(api, await consent(api, fake, user)))
    assert back["status"] == "consented", back
    response = await complete(api, user, back["code"])
    assert response.status == 201, await response.text()
    return await response.json()


async def test_whole_flow_connect_sync_disconnect(api, fake, pool, runtime, ingestion_for):
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.consent_as("alice@example.com")
    user = uuid.uuid4()

    params = await consent(api, fake, user)
    back = outcome(await callback(api, params))
    assert set(back) == {"ga4sync", "status", "code"}
    assert back["ga4sync"] == "google" and back["status"] == "consented"
    # Nothing is attached until the user who started the consent claims it.
    assert await pool.fetchval("select count(*) from google_credentials") == 0
    claimed = await complete(api, user, back["code"])
    assert claimed.status == 201
    body = await claimed.json()
    assert body["user_id"] == str(user) and body["discovery_error"] is None
    assert sorted(p["property_id"] for p in body["properties"]) == ["111000111", "222000222"]

    refresh_token = next(iter(fake.issued_refresh_tokens))
    raw = await pool.fetchval(
        "select convert_to(g::text, 'UTF8') from google_credentials g where user_id = $1", user
    )
    assert raw is not None and refresh_token.encode() not in raw  # encrypted at rest
    props = await pool.fetch(
        "select property_id, display_name, time_zone, a.enabled from ga4_properties p"
        " join ga4_property_access a on a.property_ref = p.id"
        " where a.user_id = $1 order by property_id",
        user,
    )
    assert [tuple(p) for p in props] == [(*ALICE[0], True), (*ALICE[1], True)]

    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion, scope=user)
    assert summary.ok and summary.rows_written > 0
    # Discovery (Admin API) and the sync (Data API) asked for compact answers.
    assert fake.report_requests and fake.indented_answers == 0

    gone = await api.delete("/v1/connections/google?delete_data=true", headers=bearer(user))
    assert gone.status == 200
    body = await gone.json()
    assert body["tokens_deleted"] is True and body["revoked_at_google"] is True
    assert body["rows_deleted"] == summary.rows_written
    assert fake.revoked == [refresh_token]
    assert await pool.fetchval("select count(*) from google_credentials") == 0
    # Nobody can access the properties any more: they do not sync.
    assert await pool.fetchval("select count(*) from ga4_property_access") == 0
    listed = await (await api.get("/v1/properties", headers=bearer(ADMIN))).json()
    assert [p["effective_enabled"] for p in listed["properties"]] == [False, False]
    again = await api.delete("/v1/connections/google", headers=bearer(user))
    assert (await again.json())["tokens_deleted"] is False  # idempotent


async def test_tampered_expired_and_replayed_state_store_nothing(api, fake, pool, oauth_settings):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    params = await consent(api, fake, user)

    tampered = {**params, "state": params["state"][:-4] + "AAAA"}
    assert (await callback(api, tampered)).status == 400
    # A state sealed an hour ago with the right key: expired.
    key = oauth_settings.token_encryption_key
    old = (
        derived_fernet(key, STATE_KEY_PURPOSE)
        .encrypt_at_time(
            b'{"u": "%s", "n": "x", "v": "y"}' % str(user).encode(), int(time.time()) - 3600
        )
        .decode()
    )
    expired = await callback(api, {**params, "state": old})
    assert expired.status == 400 and "expired" in (await expired.json())["message"]
    assert (await callback(api, {"code": params["code"]})).status == 400
    assert await pool.fetchval("select count(*) from google_credentials") == 0

    assert outcome(await callback(api, params))["status"] == "consented"
    replay = await callback(api, params)
    assert replay.status == 400 and "already used" in (await replay.json())["message"]


async def test_a_state_sealed_with_the_token_key_is_refused(api, fake, pool, oauth_settings):
    """States have a key of their own: what the service encrypts as a token (the
    token key) can never pass for a state, nor can a state sealed before states had
    their own key."""
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    params = await consent(api, fake, user)
    payload = json.dumps({"u": str(user), "n": "n-1", "v": "v" * 48})
    sealed_as_token = TokenCipher(oauth_settings.token_encryption_key).encrypt(payload).decode()
    refused = await callback(api, {**params, "state": sealed_as_token})
    assert refused.status == 400
    assert await pool.fetchval("select count(*) from google_credentials") == 0
    # The state the service sealed itself still works, and opens with no token key.
    with pytest.raises(Ga4SyncError):
        TokenCipher(oauth_settings.token_encryption_key).decrypt(params["state"].encode())
    assert outcome(await callback(api, params))["status"] == "consented"


async def test_denied_consent_goes_back_with_the_reason(api, fake, pool):
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.deny_next_consent()
    params = await consent(api, fake, uuid.uuid4())
    assert outcome(await callback(api, params)) == {
        "ga4sync": "google",
        "status": "error",
        "reason": "access_denied",
    }
    assert await pool.fetchval("select count(*) from google_credentials") == 0


async def test_import_checks_the_token_and_discovers_properties(api, fake, pool):
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.add_refresh_token("rt-alice-existing", account="alice@example.com")
    user = uuid.uuid4()

    bad = await api.post(
        "/v1/connections/google/tokens", headers=bearer(user), json={"refresh_token": "rt-nobody"}
    )
    assert bad.status == 400 and (await bad.json())["error"] == "invalid_refresh_token"
    assert await pool.fetchval("select count(*) from google_credentials") == 0
    for body, status in [
        ({}, 400),
        ({"refresh_token": 5}, 400),
        ({"refresh_token": "x", "extra": 1}, 400),
        ({"refresh_token": "x", "user_id": "nope"}, 400),
        ({"refresh_token": "x", "user_id": str(uuid.uuid4())}, 403),
    ]:
        response = await api.post("/v1/connections/google/tokens", headers=bearer(user), json=body)
        assert response.status == status, body

    ok = await api.post(
        "/v1/connections/google/tokens",
        headers=bearer(user),
        json={"refresh_token": "rt-alice-existing"},
    )
    assert ok.status == 201
    body = await ok.json()
    assert sorted(p["property_id"] for p in body["properties"]) == ["111000111", "222000222"]
    assert {p["time_zone"] for p in body["properties"]} == {"America/New_York", "Europe/Berlin"}

    other = uuid.uuid4()
    by_admin = await api.post(
        "/v1/connections/google/tokens",
        headers=bearer(ADMIN),
        json={"refresh_token": "rt-alice-existing", "user_id": str(other)},
    )
    assert by_admin.status == 201 and (await by_admin.json())["user_id"] == str(other)


async def test_discovery_stores_each_property_service_level(api, fake, pool):
    fake.add_property(ALICE[1][0], time_zone=ALICE[1][2], analytics_360=True)
    fake.add_google_account("alice@example.com", properties=ALICE)
    fake.add_refresh_token("rt-alice-existing", account="alice@example.com")
    user = uuid.uuid4()

    async def connect() -> dict[str, str | None]:
        body = {"refresh_token": "rt-alice-existing"}
        response = await api.post("/v1/connections/google/tokens", headers=bearer(user), json=body)
        assert response.status == 201
        return {p["property_id"]: p["service_level"] for p in (await response.json())["properties"]}

    standard, premium = "GOOGLE_ANALYTICS_STANDARD", "GOOGLE_ANALYTICS_360"
    assert await connect() == {"111000111": standard, "222000222": premium}
    stored = await pool.fetch("select property_id, service_level from ga4_properties")
    assert dict(map(tuple, stored)) == {"111000111": standard, "222000222": premium}
    listed = await (await api.get("/v1/properties", headers=bearer(user))).json()
    assert {p["property_id"]: p["service_level"] for p in listed["properties"]} == {
        "111000111": standard,
        "222000222": premium,
    }

    # The shop moves to Analytics 360: discovering again says so.
    fake.add_property(ALICE[0][0], time_zone=ALICE[0][2], analytics_360=True)
    assert await connect() == {"111000111": premium, "222000222": premium}
    stored = await pool.fetch("select service_level from ga4_properties")
    assert {row["service_level"] for row in stored} == {premium}


async def test_reauth_after_a_revoked_grant(api, fake, pool, ingestion_for):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    await connect(api, fake, user)
    fake.revoke_refresh_token(next(iter(fake.issued_refresh_tokens)))
    async with ingestion_for() as ingestion:
        broken = await ingest_ga4_for_all_accounts(ingestion, scope=user)
    assert {r.status for r in broken.results} == {"needs_reauth"}
    listed = await (await api.get("/v1/properties", headers=bearer(user))).json()
    assert all(p["needs_reauth"] for p in listed["properties"])

    await connect(api, fake, user)  # reconnect
    assert not await pool.fetchval("select needs_reauth from google_credentials")
    async with ingestion_for() as ingestion:
        healed = await ingest_ga4_for_all_accounts(ingestion, scope=user)
    assert healed.ok and healed.properties_total == 2


async def test_choosing_properties(api, fake, pool, ingestion_for):
    fake.add_google_account("alice@example.com", properties=ALICE)
    user = uuid.uuid4()
    await connect(api, fake, user)
    ref = await pool.fetchval("select id from ga4_properties where property_id = '222000222'")

    for body in ({}, {"enabled": "no"}, {"enabled": True, "x": 1}):
        assert (
            await api.patch(f"/v1/properties/{ref}", headers=bearer(user), json=body)
        ).status == 400
    assert (
        await api.patch("/v1/properties/abc", headers=bearer(user), json={"enabled": False})
    ).status == 400
    assert (
        await api.patch(
            f"/v1/properties/{ref}", headers=bearer(uuid.uuid4()), json={"enabled": False}
        )
    ).status == 404
    off = await api.patch(f"/v1/properties/{ref}", headers=bearer(user), json={"enabled": False})
    assert off.status == 200 and (await off.json())["enabled"] is False
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion, scope=user)
    assert [r.property_id for r in summary.results] == ["111000111"]
    # Reconnecting keeps the choice.
    await connect(api, fake, user)
    assert not await pool.fetchval(
        "select enabled from ga4_property_access where property_ref = $1", ref
    )


async def test_consent_without_configuration_is_503(aiohttp_client, runtime, web_settings):
    client = await aiohttp_client(create_app(web_settings, runtime=runtime))
    response = await client.get("/v1/connections/google/start", headers=bearer(uuid.uuid4()))
    assert response.status == 503
    assert "OAUTH_REDIRECT_URI" in (await response.json())["message"]
