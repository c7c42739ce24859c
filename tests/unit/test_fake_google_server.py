"""The fake Google's HTTP behaviour, seen raw through an aiohttp client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ga4sync.fake_google import FakeGoogle

from ..waiting import eventually


class Api:
    """A raw client of one served fake."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.session, self.base_url, self.token = session, base_url, token

    async def report(
        self, body: Any, property_id: str = "1", *, token: str | None = None, raw: str = ""
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        url = f"{self.base_url}/v1beta/properties/{property_id}:runReport"
        kwargs: dict[str, Any] = {"data": raw} if raw else {"json": body}
        async with self.session.post(url, headers=headers, **kwargs) as response:
            return response.status, await response.json()

    async def token_form(self, **form: str) -> tuple[int, dict[str, Any]]:
        async with self.session.post(self.base_url + "/token", data=form) as response:
            return response.status, await response.json()


def body(**extra: Any) -> dict[str, Any]:
    return {
        "dimensions": [{"name": "date"}, {"name": "pagePath"}],
        "metrics": [{"name": "sessions"}, {"name": "screenPageViews"}],
        "dateRanges": [{"startDate": "2026-11-19", "endDate": "2026-11-21"}],
        **extra,
    }


TEN_DIMENSIONS = (
    "date pagePath pageTitle country city deviceCategory eventName landingPage hostName "
    "sessionSource"
).split()
ELEVEN_METRICS = (
    "sessions activeUsers totalUsers newUsers screenPageViews eventCount engagedSessions "
    "conversions keyEvents bounceRate engagementRate"
).split()


def values(rows: list[dict[str, Any]], key: str = "dimensionValues") -> list[list[str]]:
    return [[v["value"] for v in row[key]] for row in rows]


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=3)
    fake.add_refresh_token("rt-alice")
    fake.add_property("1", cardinality=4)
    fake.set_today("2026-11-21")
    return fake


@pytest.fixture
async def api(fake: FakeGoogle) -> AsyncIterator[Api]:
    async with fake.serve() as base_url, aiohttp.ClientSession() as session:
        api = Api(session, base_url, "")
        status, token = await api.token_form(
            grant_type="refresh_token", refresh_token="rt-alice", client_id="c", client_secret="s"
        )
        assert status == 200
        api.token = token["access_token"]
        yield api


async def test_base_url_is_loopback_on_a_free_port(fake: FakeGoogle) -> None:
    async with fake.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert int(base_url.rsplit(":", 1)[1]) > 0


async def test_token_success_body_has_exactly_googles_fields(api: Api, fake: FakeGoogle) -> None:
    fake.tokens_expire_in_s = 120
    status, payload = await api.token_form(
        grant_type="refresh_token", refresh_token="rt-alice", client_id="c", client_secret="s"
    )
    assert status == 200
    assert sorted(payload) == ["access_token", "expires_in", "scope", "token_type"]
    assert payload["expires_in"] == 120
    assert payload["token_type"] == "Bearer"
    assert payload["scope"] == "https://www.googleapis.com/auth/analytics.readonly"
    assert fake.token_requests == ["rt-alice", "rt-alice"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {
                "grant_type": "refresh_token",
                "refresh_token": "rt-x",
                "client_id": "c",
                "client_secret": "s",
            },
            "invalid_grant",
        ),
        ({"grant_type": "password", "username": "u"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "invalid_request"),
        (
            {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s"},
            "invalid_request",
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "rt-alice", "client_secret": "s"},
            "invalid_request",
        ),
        ({"refresh_token": "rt-alice"}, "invalid_request"),
    ],
)
async def test_token_errors(api: Api, form: dict[str, str], error: str) -> None:
    status, payload = await api.token_form(**form)
    assert status == 400
    assert payload["error"] == error
    assert payload["error_description"]
    if error == "invalid_grant":
        assert payload == {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked.",
        }


async def test_revoked_refresh_token_invalidates_its_access_tokens(
    api: Api, fake: FakeGoogle
) -> None:
    fake.revoke_refresh_token("rt-alice")
    status, payload = await api.report(body())
    assert status == 401
    assert payload["error"]["status"] == "UNAUTHENTICATED"
    assert payload["error"]["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"


async def test_missing_unknown_and_expired_tokens_are_unauthenticated(
    api: Api, fake: FakeGoogle
) -> None:
    url = f"{api.base_url}/v1beta/properties/1:runReport"
    async with api.session.post(url, json=body()) as response:
        missing = response.status, await response.json(), response.headers["WWW-Authenticate"]
    assert missing[0] == 401
    assert missing[1]["error"]["code"] == 401
    assert missing[1]["error"]["message"].startswith("Request is missing required authentication")
    assert missing[1]["error"]["details"][0]["reason"] == "CREDENTIALS_MISSING"
    assert missing[2].startswith("Bearer")

    status, payload = await api.report(body(), token="ya29.forged")
    assert status == 401
    assert payload["error"]["message"].startswith("Request had invalid authentication credentials")

    fake.expire_access_tokens()
    status, payload = await api.report(body())
    assert (status, payload["error"]["details"][0]["reason"]) == (401, "ACCESS_TOKEN_EXPIRED")


async def test_defaults_are_omitted_from_the_json(api: Api, fake: FakeGoogle) -> None:
    status, payload = await api.report(body(returnPropertyQuota=True))
    assert status == 200
    assert payload["rowCount"] == 12
    assert payload["metadata"] == {"currencyCode": "USD", "timeZone": "America/Los_Angeles"}
    quota = payload["propertyQuota"]
    assert quota["tokensPerDay"] == {"consumed": 1, "remaining": 199_999}
    assert quota["concurrentRequests"] == {"remaining": 10}
    assert quota["serverErrorsPerProjectPerHour"] == {"remaining": 10}
    assert quota["potentiallyThresholdedRequestsPerHour"] == {"remaining": 120}
    assert payload["metricHeaders"] == [
        {"name": "sessions", "type": "TYPE_INTEGER"},
        {"name": "screenPageViews", "type": "TYPE_INTEGER"},
    ]

    fake.set_today("2026-11-01")
    status, empty = await api.report(body())
    assert status == 200
    assert "rows" not in empty
    assert "rowCount" not in empty
    assert "propertyQuota" not in empty
    assert empty["kind"] == "analyticsData#runReport"


async def test_int64_fields_accept_numbers_and_strings(api: Api) -> None:
    _, as_numbers = await api.report(body(limit=5, offset=2))
    _, as_strings = await api.report(body(limit="5", offset="2"))
    assert as_numbers == as_strings
    assert len(as_numbers["rows"]) == 5


async def test_sampling_counts_are_int64_strings(api: Api, fake: FakeGoogle) -> None:
    fake.add_property("1", cardinality=4, sampled=True)
    _, payload = await api.report(body())
    [sampling] = payload["metadata"]["samplingMetadatas"]
    assert isinstance(sampling["samplesReadCount"], str)
    assert isinstance(sampling["samplingSpaceSize"], str)


async def test_concurrency_limit_answers_429_and_is_tracked(api: Api, fake: FakeGoogle) -> None:
    fake.hold_reports = True
    sent = [asyncio.create_task(api.report(body())) for _ in range(12)]
    # Ten are held in flight; the two beyond GA4's limit were refused at once.
    await eventually(
        lambda: fake.in_flight.get("1") == 10 and sum(task.done() for task in sent) == 2,
        "ten requests held and two refused",
    )
    assert len(fake.report_requests) == 12
    fake.hold_reports = False
    results = await asyncio.gather(*sent)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 10 + [429] * 2
    refused = [payload for status, payload in results if status == 429]
    assert refused[0] == {
        "error": {
            "code": 429,
            "message": "Exhausted concurrent requests quota.",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    assert fake.max_concurrency["1"] > 10  # refused requests count while being refused
    assert fake.in_flight["1"] == 0


async def test_max_concurrency_counts_simultaneous_requests(api: Api, fake: FakeGoogle) -> None:
    fake.hold_reports = True
    sent = [asyncio.create_task(api.report(body(returnPropertyQuota=True))) for _ in range(4)]
    await eventually(lambda: fake.in_flight.get("1") == 4, "four requests in flight at once")
    fake.hold_reports = False
    results = await asyncio.gather(*sent)
    assert all(status == 200 for status, _ in results)
    assert fake.max_concurrency == {"1": 4}
    # Answered one by one: the first saw the other three in flight, the last none.
    remaining = sorted(p["propertyQuota"]["concurrentRequests"]["remaining"] for _, p in results)
    assert remaining == [7, 8, 9, 10]

    for _ in range(3):  # one at a time
        await api.report(body())
    assert fake.max_concurrency == {"1": 4}


async def test_an_analytics_360_property_allows_50_concurrent_requests(
    api: Api, fake: FakeGoogle
) -> None:
    fake.add_property("360", cardinality=4, analytics_360=True)
    fake.hold_reports = True
    premium = [asyncio.create_task(api.report(body(), "360")) for _ in range(52)]
    standard = [asyncio.create_task(api.report(body())) for _ in range(11)]
    # Each property has its own limit: 50 and 10 held, the rest refused at once.
    await eventually(
        lambda: (
            (fake.in_flight.get("360"), fake.in_flight.get("1")) == (50, 10)
            and sum(task.done() for task in premium + standard) == 3
        ),
        "50 requests of the 360 property and 10 of the standard one held, three refused",
    )
    fake.hold_reports = False
    statuses = [status for status, _ in await asyncio.gather(*premium)]
    assert sorted(statuses) == [200] * 50 + [429] * 2
    assert sorted(status for status, _ in await asyncio.gather(*standard)) == [200] * 10 + [429]


async def test_an_analytics_360_property_has_the_quotas_of_one(api: Api, fake: FakeGoogle) -> None:
    fake.add_property("360", cardinality=4, analytics_360=True)
    status, payload = await api.report(body(returnPropertyQuota=True), "360")
    assert status == 200
    assert payload["propertyQuota"] == {
        "tokensPerDay": {"consumed": 1, "remaining": 1_999_999},
        "tokensPerHour": {"consumed": 1, "remaining": 399_999},
        "concurrentRequests": {"remaining": 50},
        "serverErrorsPerProjectPerHour": {"remaining": 50},
        "potentiallyThresholdedRequestsPerHour": {"remaining": 120},
        "tokensPerProjectPerHour": {"consumed": 1, "remaining": 139_999},
    }
    # The standard limits, changed, leave the 360 property's alone.
    fake.quota_limits["tokensPerHour"] = 1
    assert (await api.report(body()))[0] == 200
    assert (await api.report(body()))[0] == 429
    assert (await api.report(body(), "360"))[0] == 200


async def test_one_property_can_have_quota_limits_of_its_own(api: Api, fake: FakeGoogle) -> None:
    fake.add_property("2", cardinality=4)
    fake.set_quota_limits("2", {"concurrentRequests": 3})
    with pytest.raises(ValueError, match="tokensPerWeek"):
        fake.set_quota_limits("2", {"tokensPerWeek": 1})
    fake.hold_reports = True
    sent = [asyncio.create_task(api.report(body(returnPropertyQuota=True), "2")) for _ in range(4)]
    others = [asyncio.create_task(api.report(body())) for _ in range(4)]
    await eventually(
        lambda: (
            (fake.in_flight.get("2"), fake.in_flight.get("1")) == (3, 4)
            and sum(task.done() for task in sent) == 1
        ),
        "three requests of property 2 held and its fourth refused, four of property 1 held",
    )
    fake.hold_reports = False
    results = await asyncio.gather(*sent)
    assert sorted(status for status, _ in results) == [200, 200, 200, 429]
    answered = [p["propertyQuota"]["concurrentRequests"] for status, p in results if status == 200]
    assert sorted(q.get("remaining", 0) for q in answered) == [1, 2, 3]
    assert all(status == 200 for status, _ in await asyncio.gather(*others))
    assert fake.quota_limits_of("2")["tokensPerDay"] == 200_000  # the rest: standard

    fake.set_quota_limits("2", None)
    assert fake.quota_limits_of("2") == fake.quota_limits


async def test_fail_next_is_consumed_one_per_request(api: Api, fake: FakeGoogle) -> None:
    fake.fail_next("1", status=500, times=2)
    fake.fail_next("1", status=429, quota="daily")

    first, second, third, fourth = [await api.report(body()) for _ in range(4)]
    assert first[0] == second[0] == 500
    assert first[1]["error"] == {
        "code": 500,
        "message": "Internal error encountered.",
        "status": "INTERNAL",
    }
    assert third[0] == 429
    assert third[1]["error"]["message"].startswith("Exhausted property tokens per day.")
    assert fourth[0] == 200
    assert len(fake.report_requests) == 4
    assert all(pid == "1" for pid, _ in fake.report_requests)

    _, payload = await api.report(body(returnPropertyQuota=True))
    assert payload["propertyQuota"]["serverErrorsPerProjectPerHour"] == {"remaining": 8}


async def test_failures_belong_to_their_property(api: Api, fake: FakeGoogle) -> None:
    fake.fail_next("2", status=503)
    assert (await api.report(body(), property_id="1"))[0] == 200
    status, payload = await api.report(body(), property_id="2")
    assert (status, payload["error"]["status"]) == (503, "UNAVAILABLE")


async def test_override_metric_changes_exactly_one_value(api: Api, fake: FakeGoogle) -> None:
    _, before = await api.report(body())
    fake.override_metric(
        "1", date="20261120", dimensions={"pagePath": "/p/2"}, metric="sessions", value="999"
    )
    _, after = await api.report(body())

    changed = [
        (dims, old, new)
        for dims, old, new in zip(
            values(before["rows"]),
            values(before["rows"], "metricValues"),
            values(after["rows"], "metricValues"),
            strict=True,
        )
        if old != new
    ]
    assert len(changed) == 1
    dims, old, new = changed[0]
    assert dims == ["20261120", "/p/2"]
    assert new == ["999", old[1]]

    other = body(dimensions=[{"name": "date"}, {"name": "country"}])
    assert "999" not in str(values((await api.report(other))[1]["rows"], "metricValues"))


async def test_values_are_deterministic_and_independent_of_cardinality(
    api: Api, fake: FakeGoogle
) -> None:
    _, small = await api.report(body())
    fake.add_property("1", cardinality=40)
    _, large = await api.report(body(limit=200))
    by_dims = {
        tuple(d): m
        for d, m in zip(values(large["rows"]), values(large["rows"], "metricValues"), strict=True)
    }
    for dims, metrics in zip(
        values(small["rows"]), values(small["rows"], "metricValues"), strict=True
    ):
        assert by_dims[tuple(dims)] == metrics

    other_seed = FakeGoogle(seed=4)
    other_seed.add_refresh_token("rt")
    other_seed.add_property("1", cardinality=4)
    other_seed.set_today("2026-11-21")
    async with other_seed.serve() as base_url:
        _, token = await Api(api.session, base_url, "").token_form(
            grant_type="refresh_token", refresh_token="rt", client_id="c", client_secret="s"
        )
        _, reseeded = await Api(api.session, base_url, token["access_token"]).report(body())
    assert values(reseeded["rows"]) == values(small["rows"])
    assert values(reseeded["rows"], "metricValues") != values(small["rows"], "metricValues")


@pytest.mark.parametrize(
    ("request_body", "fragment"),
    [
        (body(dimensions=[{"name": "nope"}]), "Field nope is not a valid dimension."),
        (body(metrics=[{"name": "visits"}]), "Field visits is not a valid metric."),
        ({"dimensions": [{"name": "date"}], "metrics": [{"name": "sessions"}]}, "dateRange"),
        (body(dateRanges=[{"startDate": "today", "endDate": "3daysAgo"}]), "is after endDate"),
        (body(dateRanges=[{"startDate": "2026/11/01", "endDate": "today"}]), "YYYY-MM-DD"),
        (body(dimensions=[{"name": n} for n in TEN_DIMENSIONS]), "at most 9 dimensions"),
        (body(metrics=[{"name": n} for n in ELEVEN_METRICS]), "at most 10 metrics"),
        (body(limit="ten"), "Invalid value at 'limit' (TYPE_INT64)"),
        (body(limit=-1), "limit must be positive"),
        (body(dimensionz=[]), 'Unknown name "dimensionz": Cannot find field.'),
        (body(orderBys=[{"dimension": {"dimensionName": "country"}}]), "orderBys"),
    ],
)
async def test_invalid_requests_are_invalid_argument(
    api: Api, request_body: dict[str, Any], fragment: str
) -> None:
    status, payload = await api.report(request_body)
    assert status == 400
    assert payload["error"]["status"] == "INVALID_ARGUMENT"
    assert payload["error"]["code"] == 400
    assert fragment in payload["error"]["message"]


async def test_malformed_json_is_invalid_argument(api: Api, fake: FakeGoogle) -> None:
    status, payload = await api.report(None, raw="{not json")
    assert (status, payload["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert fake.report_requests[-1] == ("1", {})


async def test_quota_is_charged_per_rows_returned_and_enforced(api: Api, fake: FakeGoogle) -> None:
    fake.add_property("1", cardinality=10_000)
    status, payload = await api.report(body(limit=25_000, returnPropertyQuota=True))
    assert status == 200
    assert len(payload["rows"]) == 25_000
    assert payload["propertyQuota"]["tokensPerHour"]["consumed"] == 3
    assert fake.quota_used["1"] == 3

    fake.quota_limits["tokensPerHour"] = 4
    assert (await api.report(body(limit=1)))[0] == 200
    status, refused = await api.report(body(limit=1))
    assert status == 429
    assert refused["error"]["message"].startswith("Exhausted property tokens per hour.")


async def test_generic_quota_errors_name_no_quota(api: Api, fake: FakeGoogle) -> None:
    fake.quota_limits["tokensPerHour"] = 1
    fake.generic_quota_errors = True
    status, payload = await api.report(body(returnPropertyQuota=True))
    assert status == 200
    assert payload["propertyQuota"]["tokensPerHour"] == {"consumed": 1}  # remaining 0: omitted
    status, refused = await api.report(body())
    assert status == 429
    assert refused == {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    fake.fail_next("1", status=429, quota="generic")
    fake.generic_quota_errors = False
    assert (await api.report(body()))[1] == refused  # injected: generic however it is set
    status, named = await api.report(body())
    assert named["error"]["message"].startswith("Exhausted property tokens per hour.")


async def test_server_errors_and_thresholded_requests_quotas_are_enforced(
    api: Api, fake: FakeGoogle
) -> None:
    fake.quota_limits["serverErrorsPerProjectPerHour"] = 2
    fake.fail_next("1", status=500, times=2)
    assert [(await api.report(body()))[0] for _ in range(2)] == [500, 500]
    status, refused = await api.report(body())
    assert status == 429
    assert refused["error"]["message"].startswith("Exhausted server errors per project per hour")

    fake.add_property("2", cardinality=4, thresholded=True)
    fake.quota_limits["potentiallyThresholdedRequestsPerHour"] = 1
    status, payload = await api.report(body(returnPropertyQuota=True), property_id="2")
    assert status == 200
    assert payload["propertyQuota"]["potentiallyThresholdedRequestsPerHour"] == {"consumed": 1}
    status, refused = await api.report(body(), property_id="2")
    assert status == 429
    assert refused["error"]["message"].startswith("Exhausted potentially thresholded requests")


async def test_numeric_enum_encoding_when_asked(api: Api) -> None:
    url = f"{api.base_url}/v1beta/properties/1:runReport?$alt=json;enum-encoding=int"
    headers = {"Authorization": f"Bearer {api.token}"}
    async with api.session.post(url, json=body(), headers=headers) as response:
        payload = await response.json()
    assert payload["metricHeaders"][0] == {"name": "sessions", "type": 1}


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "INVALID_ARGUMENT"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (504, "DEADLINE_EXCEEDED"),
    ],
)
async def test_every_injectable_status_has_googles_shape(
    api: Api, fake: FakeGoogle, status: int, name: str
) -> None:
    fake.fail_next("1", status=status)
    got, payload = await api.report(body())
    assert got == status
    assert sorted(payload["error"]) == ["code", "message", "status"]
    assert (payload["error"]["code"], payload["error"]["status"]) == (status, name)


async def test_preloaded_daily_usage_exhausts_the_day(api: Api, fake: FakeGoogle) -> None:
    fake.quota_used["1"] = 200_000
    status, payload = await api.report(body())
    assert status == 429
    assert payload["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert payload["error"]["message"].startswith("Exhausted property tokens per day.")


async def test_access_denied_to_one_grant_is_a_bare_permission_denied(
    api: Api, fake: FakeGoogle
) -> None:
    fake.add_refresh_token("rt-bob")
    _, bob = await api.token_form(
        grant_type="refresh_token", refresh_token="rt-bob", client_id="c", client_secret="s"
    )
    fake.deny_access("1", "rt-alice")
    status, payload = await api.report(body())
    # GA4's answer for a property the caller may not read: no ErrorInfo in details.
    assert (status, payload) == (
        403,
        {
            "error": {
                "code": 403,
                "message": (
                    "User does not have sufficient permissions for this property. To learn "
                    "more about Property ID, see https://developers.google.com/analytics/"
                    "devguides/reporting/data/v1/property-id."
                ),
                "status": "PERMISSION_DENIED",
            }
        },
    )
    assert (await api.report(body(), token=bob["access_token"]))[0] == 200
    assert (await api.report(body(), property_id="2"))[0] == 200  # another property

    fake.allow_access("1", "rt-alice")
    assert (await api.report(body()))[0] == 200


async def test_access_denied_to_a_google_account_covers_all_its_grants(
    api: Api, fake: FakeGoogle
) -> None:
    fake.add_refresh_token("rt-carol-1", account="carol@example.com")
    fake.add_refresh_token("rt-carol-2", account="carol@example.com")
    fake.deny_access("1", "carol@example.com")
    for refresh_token in ("rt-carol-1", "rt-carol-2"):
        _, token = await api.token_form(
            grant_type="refresh_token",
            refresh_token=refresh_token,
            client_id="c",
            client_secret="s",
        )
        status, payload = await api.report(body(), token=token["access_token"])
        assert (status, payload["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert (await api.report(body()))[0] == 200  # Alice's grant reads it


async def test_a_grant_without_the_scope_is_refused_with_an_error_info(
    api: Api, fake: FakeGoogle
) -> None:
    fake.add_refresh_token("rt-narrow", scopes=("openid",))
    _, token = await api.token_form(
        grant_type="refresh_token", refresh_token="rt-narrow", client_id="c", client_secret="s"
    )
    status, payload = await api.report(body(), token=token["access_token"])
    assert (status, payload["error"]["status"]) == (403, "PERMISSION_DENIED")
    assert payload["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


async def test_answers_are_indented_unless_the_request_says_prettyprint_false(
    api: Api, fake: FakeGoogle
) -> None:
    headers = {"Authorization": f"Bearer {api.token}"}
    url = f"{api.base_url}/v1beta/properties/1:runReport"
    answers = {}
    for query in ({}, {"prettyPrint": "false"}):
        async with api.session.post(url, params=query, json=body(), headers=headers) as response:
            assert response.status == 200
            answers[bool(query)] = await response.read()
    pretty, compact = answers[False], answers[True]
    # Google's default: two spaces a level, a space after each colon.
    assert pretty.startswith(b'{\n  "dimensionHeaders": [\n    {\n      "name": "date"')
    assert b"\n" not in compact and b'":"' in compact
    assert json.loads(pretty) == json.loads(compact)
    assert len(pretty) > 2 * len(compact)
    assert fake.indented_answers == 1
    # getMetadata and errors too; the OAuth endpoints are not Google's JSON APIs.
    metadata = f"{api.base_url}/v1beta/properties/1/metadata"
    async with api.session.get(metadata, headers=headers) as r:
        assert (await r.read()).startswith(b'{\n  "')
    async with api.session.post(
        url, params={"prettyPrint": "false"}, data="{", headers=headers
    ) as r:
        assert r.status == 400 and b"\n" not in await r.read()
    assert fake.indented_answers == 2
