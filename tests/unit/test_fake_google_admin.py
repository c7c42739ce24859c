"""The fake's GA4 Admin API v1beta: accountSummaries.list and properties.get, raw JSON."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from ga4sync.fake_google import FakeGoogle

ALICE = "alice@example.com"
PROPERTIES = [
    ("123456789", "Alice's shop", "America/New_York"),
    ("987654321", "Alice's blog", "Europe/Berlin", "ARTS_AND_ENTERTAINMENT"),
]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class Admin:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, fake: FakeGoogle) -> None:
        self.session, self.base_url, self.fake = session, base_url, fake

    async def token_for(self, refresh_token: str) -> str:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": "c",
            "client_secret": "s",
        }
        async with self.session.post(self.base_url + "/token", data=form) as response:
            return str((await response.json())["access_token"])

    async def get(
        self, path: str, token: str | None, **query: str
    ) -> tuple[int, dict[str, Any], Mapping[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = self.base_url + path
        async with self.session.get(url, params=query, headers=headers) as response:
            return response.status, await response.json(), response.headers


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=2)
    fake.add_google_account(ALICE, PROPERTIES)
    fake.add_refresh_token("rt-alice", account=ALICE)
    fake.add_refresh_token("rt-nobody")
    return fake


@pytest.fixture
async def admin(fake: FakeGoogle) -> AsyncIterator[Admin]:
    async with fake.serve() as base_url, aiohttp.ClientSession() as session:
        yield Admin(session, base_url, fake)


async def test_account_summary_lists_the_users_properties(admin: Admin) -> None:
    token = await admin.token_for("rt-alice")
    status, body, _ = await admin.get("/v1beta/accountSummaries", token)

    assert status == 200
    assert list(body) == ["accountSummaries"]  # one page: no nextPageToken
    [summary] = body["accountSummaries"]
    account = summary["account"]
    assert re.fullmatch(r"accounts/\d{9}", account)
    assert summary["name"] == "accountSummaries/" + account.removeprefix("accounts/")
    assert summary["displayName"] == "Alice"
    assert summary["propertySummaries"] == [
        {
            "property": "properties/123456789",
            "displayName": "Alice's shop",
            "propertyType": "PROPERTY_TYPE_ORDINARY",
            "parent": account,
        },
        {
            "property": "properties/987654321",
            "displayName": "Alice's blog",
            "propertyType": "PROPERTY_TYPE_ORDINARY",
            "parent": account,
        },
    ]


async def test_paging_is_by_account_summary(admin: Admin, fake: FakeGoogle) -> None:
    props = [(str(100 + i), f"Site {i}", "UTC") for i in range(7)]
    fake.add_google_account(ALICE, props, accounts=5)
    token = await admin.token_for("rt-alice")

    pages: list[dict[str, Any]] = []
    query = {"pageSize": "2"}
    while True:
        status, page, _ = await admin.get("/v1beta/accountSummaries", token, **query)
        assert status == 200
        pages.append(page)
        if "nextPageToken" not in page:
            break
        query = {"pageSize": "2", "pageToken": page["nextPageToken"]}

    assert [len(p["accountSummaries"]) for p in pages] == [2, 2, 1]
    accounts = [s for p in pages for s in p["accountSummaries"]]
    assert len({s["account"] for s in accounts}) == 5
    listed = [ps["property"] for s in accounts for ps in s.get("propertySummaries", ())]
    assert sorted(listed) == sorted(f"properties/{p[0]}" for p in props)
    assert [len(s["propertySummaries"]) for s in accounts] == [2, 2, 1, 1, 1]
    assert [path for path, _ in fake.admin_requests] == ["/v1beta/accountSummaries"] * 3
    assert fake.admin_requests[0][1] == "pageSize=2"
    assert fake.admin_requests[1][1].startswith("pageSize=2&pageToken=")


async def test_page_size_defaults_and_cap(admin: Admin, fake: FakeGoogle) -> None:
    fake.add_google_account(ALICE, [], accounts=60)
    token = await admin.token_for("rt-alice")

    _, default, _ = await admin.get("/v1beta/accountSummaries", token)
    assert len(default["accountSummaries"]) == 50
    fake.admin_page_size_max = 7
    _, capped, _ = await admin.get("/v1beta/accountSummaries", token, pageSize="200")
    assert len(capped["accountSummaries"]) == 7
    # accounts without properties leave the repeated field out entirely
    assert all("propertySummaries" not in s for s in capped["accountSummaries"])


async def test_no_accounts_means_an_empty_object(admin: Admin) -> None:
    token = await admin.token_for("rt-nobody")
    status, body, _ = await admin.get("/v1beta/accountSummaries", token)
    assert (status, body) == (200, {})


async def test_property_details_omit_defaults(admin: Admin, fake: FakeGoogle) -> None:
    fake.add_property("123456789", time_zone="America/New_York", currency_code="EUR")
    token = await admin.token_for("rt-alice")

    status, prop, _ = await admin.get("/v1beta/properties/123456789", token)
    assert status == 200
    account = prop["account"]
    assert list(prop) == [
        "name",
        "propertyType",
        "createTime",
        "updateTime",
        "parent",
        "displayName",
        "timeZone",
        "currencyCode",
        "serviceLevel",
        "account",
    ]
    assert prop["name"] == "properties/123456789"
    assert prop["parent"] == account
    assert (prop["displayName"], prop["timeZone"]) == ("Alice's shop", "America/New_York")
    assert prop["currencyCode"] == "EUR"
    assert prop["serviceLevel"] == "GOOGLE_ANALYTICS_STANDARD"
    assert TIMESTAMP.match(prop["createTime"])
    assert prop["createTime"] <= prop["updateTime"]

    _, blog, _ = await admin.get("/v1beta/properties/987654321", token)
    assert blog["industryCategory"] == "ARTS_AND_ENTERTAINMENT"
    assert blog["timeZone"] == "Europe/Berlin"


async def test_an_analytics_360_property_says_so(admin: Admin, fake: FakeGoogle) -> None:
    fake.add_property("987654321", time_zone="Europe/Berlin", analytics_360=True)
    token = await admin.token_for("rt-alice")
    _, blog, _ = await admin.get("/v1beta/properties/987654321", token)
    _, shop, _ = await admin.get("/v1beta/properties/123456789", token)
    assert blog["serviceLevel"] == "GOOGLE_ANALYTICS_360"
    assert shop["serviceLevel"] == "GOOGLE_ANALYTICS_STANDARD"


async def test_someone_elses_property_is_forbidden_and_unknown_is_not_found(
    admin: Admin, fake: FakeGoogle
) -> None:
    fake.add_google_account("bob@example.com", [("555000111", "Bob's", "UTC")])
    token = await admin.token_for("rt-alice")

    status, body, _ = await admin.get("/v1beta/properties/555000111", token)
    assert (status, body) == (
        403,
        {
            "error": {
                "code": 403,
                "message": "The caller does not have permission",
                "status": "PERMISSION_DENIED",
            }
        },
    )
    status, body, _ = await admin.get("/v1beta/properties/404404404", token)
    assert (status, body["error"]["status"]) == (404, "NOT_FOUND")
    assert body["error"]["message"] == "Requested entity was not found."


async def test_missing_and_dead_tokens_are_unauthenticated(admin: Admin, fake: FakeGoogle) -> None:
    status, body, headers = await admin.get("/v1beta/accountSummaries", None)
    assert status == 401
    assert body["error"]["status"] == "UNAUTHENTICATED"
    [info] = body["error"]["details"]
    assert info["reason"] == "CREDENTIALS_MISSING"
    assert info["metadata"] == {
        "method": "google.analytics.admin.v1beta.AnalyticsAdminService.ListAccountSummaries",
        "service": "analyticsadmin.googleapis.com",
    }
    assert headers["WWW-Authenticate"].startswith("Bearer")

    token = await admin.token_for("rt-alice")
    fake.revoke_refresh_token("rt-alice")
    status, body, _ = await admin.get("/v1beta/properties/123456789", token)
    assert status == 401
    assert body["error"]["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"
    assert body["error"]["details"][0]["metadata"]["method"].endswith("GetProperty")
    assert len(fake.admin_requests) == 2


@pytest.mark.parametrize(
    "query",
    [
        {"pageToken": "bm90LWEtdG9rZW4"},
        {"pageToken": "%%%"},
        {"pageSize": "ten"},
        {"pageSize": "-1"},
    ],
)
async def test_invalid_paging_is_invalid_argument(admin: Admin, query: dict[str, str]) -> None:
    token = await admin.token_for("rt-alice")
    status, body, _ = await admin.get("/v1beta/accountSummaries", token, **query)
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


async def test_page_tokens_belong_to_their_caller(admin: Admin, fake: FakeGoogle) -> None:
    fake.add_google_account(ALICE, PROPERTIES, accounts=2)
    alice = await admin.token_for("rt-alice")
    _, first, _ = await admin.get("/v1beta/accountSummaries", alice, pageSize="1")
    nobody = await admin.token_for("rt-nobody")
    status, _, _ = await admin.get(
        "/v1beta/accountSummaries", nobody, pageToken=first["nextPageToken"]
    )
    assert status == 400


async def test_fail_next_admin_injects_errors_for_the_admin_api_only(
    admin: Admin, fake: FakeGoogle
) -> None:
    fake.fail_next_admin(429)
    fake.fail_next_admin(503, times=2)
    token = await admin.token_for("rt-alice")

    statuses = [(await admin.get("/v1beta/accountSummaries", token))[:2] for _ in range(4)]
    assert [status for status, _ in statuses] == [429, 503, 503, 200]
    assert statuses[0][1]["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "analyticsadmin.googleapis.com" in statuses[0][1]["error"]["message"]
    assert statuses[1][1]["error"]["status"] == "UNAVAILABLE"

    fake.fail_next_admin(403)
    status, body, _ = await admin.get("/v1beta/properties/123456789", token)
    assert (status, body["error"]["status"]) == (403, "PERMISSION_DENIED")
    with pytest.raises(ValueError, match="unsupported status"):
        fake.fail_next_admin(418)


async def test_add_google_account_keeps_data_api_settings(fake: FakeGoogle) -> None:
    fake.add_property("123456789", cardinality=3, currency_code="JPY")
    fake.add_google_account(ALICE, [("123456789", "Renamed", "Asia/Tokyo")])
    config = fake.property("123456789")
    assert (config.time_zone, config.cardinality, config.currency_code) == (
        "Asia/Tokyo",
        3,
        "JPY",
    )
    with pytest.raises(ValueError, match="numeric"):
        fake.add_google_account(ALICE, [("G-123", "x", "UTC")])


async def test_fail_next_admin_after_lets_requests_through_first(
    admin: Admin, fake: FakeGoogle
) -> None:
    fake.fail_next_admin(503, after=2)
    token = await admin.token_for("rt-alice")
    statuses = [(await admin.get("/v1beta/accountSummaries", token))[0] for _ in range(4)]
    assert statuses == [200, 200, 503, 200]
    with pytest.raises(ValueError, match="after"):
        fake.fail_next_admin(503, after=-1)
