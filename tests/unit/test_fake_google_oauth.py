"""The "connect your Google account" dance against the fake: consent, code exchange, revoke."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from ga4sync.fake_google import FakeGoogle

READONLY = "https://www.googleapis.com/auth/analytics.readonly"
CALLBACK = "http://app.test/oauth/callback"
ALICE = "alice@example.com"
BOB = "bob@example.com"


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def consent_query(verifier: str | None = None, **overrides: str) -> dict[str, str]:
    query = {
        "client_id": "client-1.apps.googleusercontent.com",
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": READONLY,
        "state": "st-123",
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "login_hint": ALICE,
    }
    if verifier:
        query |= {"code_challenge": challenge_of(verifier), "code_challenge_method": "S256"}
    query.update(overrides)
    return {key: value for key, value in query.items() if value != "<drop>"}


def exchange_form(code: str, verifier: str | None = None, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": "client-1.apps.googleusercontent.com",
        "client_secret": "secret",
    }
    if verifier:
        form["code_verifier"] = verifier
    form.update(overrides)
    return form


class Flow:
    """A web app's side of the dance, speaking raw HTTP to one served fake."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session, self.base_url = session, base_url

    async def consent(self, query: dict[str, str]) -> tuple[int, str, dict[str, list[str]]]:
        """Status, Location without its query, and the Location's query parameters."""
        url = self.base_url + "/o/oauth2/v2/auth"
        async with self.session.get(url, params=query, allow_redirects=False) as response:
            location = response.headers.get("Location", "")
            await response.read()
            parts = urlsplit(location)
            base = parts._replace(query="").geturl()
            return response.status, base, parse_qs(parts.query)

    async def code(self, verifier: str | None = None, **overrides: str) -> str:
        status, _, params = await self.consent(consent_query(verifier, **overrides))
        assert status == 302
        return params["code"][0]

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base_url + path, data=form) as response:
            return response.status, await response.json()

    async def report(self, access_token: str, property_id: str) -> tuple[int, dict[str, Any]]:
        url = f"{self.base_url}/v1beta/properties/{property_id}:runReport"
        body = {
            "metrics": [{"name": "sessions"}],
            "dateRanges": [{"startDate": "7daysAgo", "endDate": "today"}],
        }
        headers = {"Authorization": f"Bearer {access_token}"}
        async with self.session.post(url, json=body, headers=headers) as response:
            return response.status, await response.json()


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=1)
    fake.add_google_account(ALICE, [("123456789", "Alice's shop", "America/New_York")])
    fake.add_google_account(BOB, [("555000111", "Bob's blog", "Europe/Berlin")])
    return fake


@pytest.fixture
async def flow(fake: FakeGoogle) -> AsyncIterator[Flow]:
    async with fake.serve() as base_url, aiohttp.ClientSession() as session:
        yield Flow(session, base_url)


async def test_consent_redirects_back_with_code_state_and_scope(
    flow: Flow, fake: FakeGoogle
) -> None:
    status, base, params = await flow.consent(consent_query(secrets.token_urlsafe(48)))

    assert status == 302
    assert base == CALLBACK
    assert params["state"] == ["st-123"]
    assert params["scope"] == [READONLY]
    assert params["code"][0].startswith("4/0A")
    assert fake.authorization_requests[-1]["login_hint"] == ALICE


async def test_redirect_keeps_the_redirect_uris_own_query(flow: Flow) -> None:
    query = consent_query(redirect_uri=CALLBACK + "?tenant=7", state="<drop>")
    status, base, params = await flow.consent(query)
    assert (status, base) == (302, CALLBACK)
    assert params["tenant"] == ["7"]
    assert "state" not in params


async def test_pkce_exchange_works_once(flow: Flow, fake: FakeGoogle) -> None:
    verifier = secrets.token_urlsafe(48)
    code = await flow.code(verifier)

    status, tokens = await flow.post("/token", exchange_form(code, verifier))
    assert status == 200
    assert sorted(tokens) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
    assert tokens["token_type"] == "Bearer"
    assert tokens["scope"] == READONLY
    assert tokens["expires_in"] == 3599
    assert tokens["access_token"].startswith("ya29.")
    assert tokens["refresh_token"].startswith("1//0")
    assert fake.issued_refresh_tokens == {tokens["refresh_token"]: ALICE}

    status, again = await flow.post("/token", exchange_form(code, verifier))
    assert (status, again) == (400, {"error": "invalid_grant", "error_description": "Bad Request"})


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        (
            {"code_verifier": "not-the-verifier-" + "x" * 40},
            "invalid_grant",
            "Invalid code verifier.",
        ),
        ({"code_verifier": ""}, "invalid_grant", "Missing code verifier."),
        ({"redirect_uri": CALLBACK + "/"}, "redirect_uri_mismatch", "Bad Request"),
        ({"client_id": "someone-else"}, "invalid_grant", "Bad Request"),
    ],
)
async def test_exchange_refusals_spend_the_code(
    flow: Flow, fake: FakeGoogle, overrides: dict[str, str], error: str, description: str
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = await flow.code(verifier)

    status, body = await flow.post("/token", exchange_form(code, verifier, **overrides))
    assert (status, body) == (400, {"error": error, "error_description": description})

    status, retry = await flow.post("/token", exchange_form(code, verifier))
    assert (status, retry["error"]) == (400, "invalid_grant")
    assert fake.issued_refresh_tokens == {}


async def test_malformed_and_missing_codes(flow: Flow) -> None:
    code = await flow.code()
    status, body = await flow.post("/token", exchange_form(code.replace("/", "%2F")))
    assert (status, body["error_description"]) == (400, "Malformed auth code.")

    status, body = await flow.post("/token", exchange_form(code, code_verifier="unasked"))
    assert body == {
        "error": "invalid_grant",
        "error_description": "code_verifier or verifier is not needed.",
    }

    form = exchange_form("")
    del form["code"]
    status, body = await flow.post("/token", form)
    assert (status, body["error"]) == (400, "invalid_request")


async def test_codes_expire(flow: Flow, fake: FakeGoogle) -> None:
    fake.codes_expire_in_s = 0
    code = await flow.code()
    status, body = await flow.post("/token", exchange_form(code))
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_deny_next_consent_redirects_with_access_denied_once(
    flow: Flow, fake: FakeGoogle
) -> None:
    fake.deny_next_consent()

    status, base, params = await flow.consent(consent_query())
    assert (status, base) == (302, CALLBACK)
    assert params == {"error": ["access_denied"], "state": ["st-123"]}

    status, _, params = await flow.consent(consent_query())
    assert status == 302
    assert "code" in params


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"redirect_uri": "<drop>"}, "Missing required parameter: redirect_uri"),
        ({"client_id": "<drop>"}, "Missing required parameter: client_id"),
        ({"response_type": "<drop>"}, "Required parameter is missing: response_type"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "<drop>"}, "Missing required parameter: scope"),
        ({"code_challenge": "c" * 43, "code_challenge_method": "s256"}, "not a valid"),
        ({"redirect_uri": "http:///cb"}, "Missing authority"),
    ],
)
async def test_invalid_authorization_requests_get_an_error_page(
    flow: Flow, overrides: dict[str, str], fragment: str
) -> None:
    url = flow.base_url + "/o/oauth2/v2/auth"
    query = consent_query(**overrides)
    async with flow.session.get(url, params=query, allow_redirects=False) as response:
        page = await response.text()
        assert response.status == 400
        assert "Location" not in response.headers
        assert response.content_type == "text/html"
    assert fragment in page
    assert "Error 400" in page


async def test_consent_as_chooses_the_approving_account(flow: Flow, fake: FakeGoogle) -> None:
    _, first = await flow.post("/token", exchange_form(await flow.code()))
    fake.consent_as(BOB)
    _, second = await flow.post("/token", exchange_form(await flow.code()))

    assert fake.issued_refresh_tokens == {
        first["refresh_token"]: ALICE,
        second["refresh_token"]: BOB,
    }


async def test_refresh_tokens_need_offline_access_and_forced_consent_to_repeat(
    flow: Flow,
) -> None:
    _, online = await flow.post("/token", exchange_form(await flow.code(access_type="online")))
    assert "refresh_token" not in online
    assert online["access_token"].startswith("ya29.")

    _, first = await flow.post("/token", exchange_form(await flow.code(prompt="<drop>")))
    _, silent = await flow.post("/token", exchange_form(await flow.code(prompt="<drop>")))
    _, forced = await flow.post("/token", exchange_form(await flow.code()))
    assert "refresh_token" in first
    assert "refresh_token" not in silent
    assert forced["refresh_token"] not in (None, first["refresh_token"])


async def test_connected_token_reads_the_data_api_in_the_property_zone(
    flow: Flow, fake: FakeGoogle
) -> None:
    _, tokens = await flow.post("/token", exchange_form(await flow.code()))
    status, report = await flow.report(tokens["access_token"], "123456789")
    assert status == 200
    assert report["metadata"]["timeZone"] == "America/New_York"
    assert fake.report_requests[-1][0] == "123456789"


async def test_a_grant_without_analytics_scope_is_refused_by_the_apis(flow: Flow) -> None:
    code = await flow.code(scope="openid email", include_granted_scopes="<drop>")
    _, tokens = await flow.post("/token", exchange_form(code))
    assert tokens["scope"] == "openid email"

    status, report = await flow.report(tokens["access_token"], "123456789")
    assert status == 403
    assert report["error"]["status"] == "PERMISSION_DENIED"
    assert report["error"]["message"] == "Request had insufficient authentication scopes."
    assert report["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


async def test_revoking_an_access_token_ends_its_grant(flow: Flow, fake: FakeGoogle) -> None:
    _, tokens = await flow.post("/token", exchange_form(await flow.code()))
    status, body = await flow.post("/revoke", {"token": tokens["access_token"]})
    assert (status, body) == (200, {})
    assert fake.revoked == [tokens["access_token"]]

    status, report = await flow.report(tokens["access_token"], "123456789")
    assert (status, report["error"]["status"]) == (401, "UNAUTHENTICATED")
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "c",
        "client_secret": "s",
    }
    status, body = await flow.post("/token", refresh)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_revoke_errors(flow: Flow, fake: FakeGoogle) -> None:
    fake.add_refresh_token("rt-demo")
    assert (await flow.post("/revoke", {"token": "rt-demo"}))[0] == 200
    status, body = await flow.post("/revoke", {"token": "rt-demo"})
    assert (status, body) == (
        400,
        {"error": "invalid_token", "error_description": "Token expired or revoked"},
    )
    assert (await flow.post("/revoke", {"token": "never-issued"}))[0] == 400
    assert (await flow.post("/revoke", {}))[1]["error"] == "invalid_request"
    assert fake.revoked == ["rt-demo"]


def test_googles_own_client_refreshes_then_fails_after_revoke(fake: FakeGoogle) -> None:
    verifier = secrets.token_urlsafe(64)
    with fake.serve_in_thread() as base_url, requests.Session() as http:
        consent = http.get(
            base_url + "/o/oauth2/v2/auth",
            params=consent_query(verifier),
            allow_redirects=False,
        )
        assert consent.status_code == 302
        code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
        exchanged = http.post(base_url + "/token", data=exchange_form(code, verifier)).json()

        credentials = Credentials(
            token=None,
            refresh_token=exchanged["refresh_token"],
            token_uri=base_url + "/token",
            client_id="client-1.apps.googleusercontent.com",
            client_secret="secret",
        )
        credentials.refresh(Request(session=http))
        assert credentials.valid
        assert credentials.token.startswith("ya29.")
        assert fake.token_requests == [exchanged["refresh_token"]]

        revoked = http.post(base_url + "/revoke", data={"token": exchanged["refresh_token"]})
        assert revoked.status_code == 200

        with pytest.raises(RefreshError, match="invalid_grant"):
            credentials.refresh(Request(session=http))


def test_injected_oauth_server_errors_fail_googles_client_once(fake: FakeGoogle) -> None:
    fake.add_refresh_token("rt-1")
    with fake.serve_in_thread() as base_url, requests.Session() as http:
        credentials = Credentials(
            token=None,
            refresh_token="rt-1",
            token_uri=base_url + "/token",
            client_id="client-1.apps.googleusercontent.com",
            client_secret="secret",
        )
        fake.fail_next_oauth(502)
        with pytest.raises(RefreshError, match="502"):
            credentials.refresh(Request(session=http))
        credentials.refresh(Request(session=http))
        assert credentials.valid

        fake.fail_next_oauth(500)
        failed = http.post(base_url + "/token", data={"grant_type": "refresh_token"})
        assert failed.status_code == 500 and failed.json()["error"] == "internal_failure"
        fake.fail_next_oauth(503)
        unavailable = http.post(base_url + "/revoke", data={"token": "rt-1"})
        assert unavailable.status_code == 503
        assert unavailable.headers["Content-Type"].startswith("text/html")
        assert fake.revoked == []
        assert http.post(base_url + "/revoke", data={"token": "rt-1"}).status_code == 200
    with pytest.raises(ValueError, match="unsupported status"):
        fake.fail_next_oauth(404)
