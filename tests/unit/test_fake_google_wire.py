"""Google's own client libraries parse every answer of the fake Google (blocking clients)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from google.analytics.admin_v1beta import AnalyticsAdminServiceClient
from google.analytics.admin_v1beta.types import ServiceLevel
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metric,
    MetricType,
    OrderBy,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as api_exceptions
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from ga4sync.fake_google import FakeGoogle

from ..waiting import eventually

TODAY = "2026-11-21"


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=0)
    fake.add_refresh_token("rt-alice")
    fake.add_property("123", time_zone="Europe/Berlin", cardinality=7, currency_code="EUR")
    fake.set_today(TODAY)
    return fake


@pytest.fixture
def base_url(fake: FakeGoogle) -> Iterator[str]:
    with fake.serve_in_thread() as base_url:
        yield base_url


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def refreshed(
    base_url: str, http: requests.Session, refresh_token: str = "rt-alice"
) -> Credentials:
    credentials = Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=base_url + "/token",
        client_id="c",
        client_secret="s",
    )
    credentials.refresh(Request(session=http))
    return credentials


@pytest.fixture
def client(base_url: str, http: requests.Session) -> Iterator[BetaAnalyticsDataClient]:
    credentials = refreshed(base_url, http)
    with BetaAnalyticsDataClient(
        transport="rest", client_options={"api_endpoint": base_url}, credentials=credentials
    ) as client:
        yield client


def report(**overrides: object) -> RunReportRequest:
    fields: dict[str, object] = {
        "property": "properties/123",
        "dimensions": [Dimension(name="date"), Dimension(name="pagePath")],
        "metrics": [
            Metric(name="sessions"),
            Metric(name="engagementRate"),
            Metric(name="averageSessionDuration"),
            Metric(name="totalRevenue"),
        ],
        "date_ranges": [DateRange(start_date="2daysAgo", end_date="today")],
        "return_property_quota": True,
    }
    fields.update(overrides)
    return RunReportRequest(**fields)


def test_refresh_gets_a_token_and_an_expiry(
    fake: FakeGoogle, base_url: str, http: requests.Session
) -> None:
    credentials = refreshed(base_url, http)

    assert credentials.token.startswith("ya29.")
    assert credentials.valid
    remaining = credentials.expiry.replace(tzinfo=UTC) - datetime.now(UTC)
    assert 3500 < remaining.total_seconds() <= 3599
    assert fake.token_requests == ["rt-alice"]


def test_revoked_refresh_token_raises_refresh_error(
    fake: FakeGoogle, base_url: str, http: requests.Session
) -> None:
    fake.revoke_refresh_token("rt-alice")

    with pytest.raises(RefreshError, match="invalid_grant"):
        refreshed(base_url, http)


def test_unknown_refresh_token_raises_refresh_error(base_url: str, http: requests.Session) -> None:
    with pytest.raises(RefreshError, match="Token has been expired or revoked"):
        refreshed(base_url, http, "rt-nobody")


def test_report_parses_with_headers_rows_metadata_and_quota(
    client: BetaAnalyticsDataClient,
) -> None:
    response = client.run_report(report())

    assert [h.name for h in response.dimension_headers] == ["date", "pagePath"]
    assert [(h.name, h.type_) for h in response.metric_headers] == [
        ("sessions", MetricType.TYPE_INTEGER),
        ("engagementRate", MetricType.TYPE_FLOAT),
        ("averageSessionDuration", MetricType.TYPE_SECONDS),
        ("totalRevenue", MetricType.TYPE_CURRENCY),
    ]
    assert response.row_count == 3 * 7 == len(response.rows)
    first = response.rows[0]
    assert [v.value for v in first.dimension_values] == ["20261119", "/p/0"]
    sessions, rate, duration, revenue = (v.value for v in first.metric_values)
    assert sessions.isdigit()
    float(rate), float(duration), float(revenue)
    assert response.metadata.time_zone == "Europe/Berlin"
    assert response.metadata.currency_code == "EUR"
    assert not response.metadata.subject_to_thresholding
    assert response.kind == "analyticsData#runReport"
    quota = response.property_quota
    assert (quota.tokens_per_day.consumed, quota.tokens_per_day.remaining) == (1, 199_999)
    assert (quota.tokens_per_hour.consumed, quota.tokens_per_hour.remaining) == (1, 39_999)
    assert quota.tokens_per_project_per_hour.remaining == 13_999
    assert (quota.concurrent_requests.consumed, quota.concurrent_requests.remaining) == (0, 10)
    assert quota.server_errors_per_project_per_hour.remaining == 10
    assert quota.potentially_thresholded_requests_per_hour.remaining == 120


def test_flags_sampling_thresholding_and_other_row(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    fake.add_property("123", cardinality=7, thresholded=True, sampled=True, other_row=True)

    response = client.run_report(report())

    assert response.metadata.subject_to_thresholding
    assert response.metadata.data_loss_from_other_row
    [sampling] = response.metadata.sampling_metadatas
    assert 0 < sampling.samples_read_count < sampling.sampling_space_size
    assert response.row_count == 3 * 7 + 1
    assert [v.value for v in response.rows[-1].dimension_values] == ["20261121", "(other)"]
    assert response.property_quota.potentially_thresholded_requests_per_hour.consumed == 1


def test_empty_report_has_row_count_zero(fake: FakeGoogle, client: BetaAnalyticsDataClient) -> None:
    fake.set_today("2026-11-01", property_id="123")

    response = client.run_report(
        report(date_ranges=[DateRange(start_date="2026-11-10", end_date="2026-11-12")])
    )

    assert response.row_count == 0
    assert list(response.rows) == []
    assert [h.name for h in response.dimension_headers] == ["date", "pagePath"]
    assert response.metadata.time_zone == "Europe/Berlin"


def test_limit_and_offset_pages_are_disjoint_and_cover_the_report(
    client: BetaAnalyticsDataClient,
) -> None:
    seen: list[tuple[str, ...]] = []
    for offset in range(0, 21, 5):
        page = client.run_report(report(limit=5, offset=offset))
        assert page.row_count == 21
        assert len(page.rows) == min(5, 21 - offset)
        seen.extend(tuple(v.value for v in row.dimension_values) for row in page.rows)

    assert len(seen) == len(set(seen)) == 21
    assert seen == sorted(seen)


def test_order_by_dimension_descending(client: BetaAnalyticsDataClient) -> None:
    order = OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name="pagePath"), desc=True)

    response = client.run_report(report(order_bys=[order], limit=4))

    assert [[v.value for v in row.dimension_values] for row in response.rows] == [
        ["20261119", "/p/6"],
        ["20261120", "/p/6"],
        ["20261121", "/p/6"],
        ["20261119", "/p/5"],
    ]


@pytest.mark.parametrize(
    ("status", "quota", "expected", "message"),
    [
        (429, "concurrent", api_exceptions.TooManyRequests, "Exhausted concurrent requests quota."),
        (429, "daily", api_exceptions.TooManyRequests, "Exhausted property tokens per day."),
        (429, "hourly", api_exceptions.TooManyRequests, "Exhausted property tokens per hour."),
        (429, "project_hourly", api_exceptions.TooManyRequests, "for a project per hour"),
        (429, "thresholded", api_exceptions.TooManyRequests, "potentially thresholded requests"),
        (429, "server_errors", api_exceptions.TooManyRequests, "server errors per project"),
        (
            429,
            "generic",
            api_exceptions.TooManyRequests,
            r"^429 .*Resource has been exhausted \(e\.g\. check quota\)\.$",
        ),
        (500, None, api_exceptions.InternalServerError, "Internal error encountered."),
        (503, None, api_exceptions.ServiceUnavailable, "The service is currently unavailable."),
        (403, None, api_exceptions.Forbidden, "sufficient permissions for this property"),
    ],
)
def test_errors_map_to_the_library_exceptions(
    fake: FakeGoogle,
    client: BetaAnalyticsDataClient,
    status: int,
    quota: str | None,
    expected: type[Exception],
    message: str,
) -> None:
    fake.fail_next("123", status=status, quota=quota)

    with pytest.raises(expected, match=message):
        client.run_report(report())
    assert client.run_report(report()).row_count == 21


def test_a_spent_quota_shows_in_property_quota_then_refuses_with_the_generic_429(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    fake.quota_limits["tokensPerHour"] = 1
    fake.generic_quota_errors = True

    quota = client.run_report(report()).property_quota
    # proto3 JSON omits the zero: the library still reads remaining 0
    assert (quota.tokens_per_hour.consumed, quota.tokens_per_hour.remaining) == (1, 0)
    assert quota.tokens_per_day.remaining == 199_999
    with pytest.raises(api_exceptions.TooManyRequests) as refused:
        client.run_report(report())
    # the library prefixes the request line to Google's message
    assert refused.value.message.endswith(": Resource has been exhausted (e.g. check quota).")
    assert refused.value.code == 429 and refused.value.details == []


def test_unauthenticated_after_refreshes_maps_to_unauthorized(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    fake.fail_next("123", status=401, times=3)

    with pytest.raises(api_exceptions.Unauthorized, match="invalid authentication credentials"):
        client.run_report(report())
    # The library refreshed its token after each of the first two 401s.
    assert fake.token_requests == ["rt-alice"] * 3


def test_revoked_grant_surfaces_as_refresh_error(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    fake.revoke_refresh_token("rt-alice")

    with pytest.raises(RefreshError, match="invalid_grant"):
        client.run_report(report())


def test_invalid_argument_maps_to_bad_request(client: BetaAnalyticsDataClient) -> None:
    with pytest.raises(api_exceptions.BadRequest, match="Field nope is not a valid dimension"):
        client.run_report(report(dimensions=[Dimension(name="nope")]))
    with pytest.raises(api_exceptions.BadRequest, match="startDate 2026-11-20 is after"):
        client.run_report(
            report(date_ranges=[DateRange(start_date="2026-11-20", end_date="2026-11-19")])
        )


def raw_report(
    base_url: str, http: requests.Session, client: BetaAnalyticsDataClient, body: dict[str, object]
) -> dict[str, object]:
    """The JSON body the fake answers, as Google's REST transport receives it."""
    token = client._transport._credentials.token
    response = http.post(
        f"{base_url}/v1beta/properties/123:runReport",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    payload: dict[str, object] = response.json()
    return payload


def test_a_property_has_no_rows_before_its_first_date(
    fake: FakeGoogle, base_url: str, http: requests.Session, client: BetaAnalyticsDataClient
) -> None:
    fake.add_property("123", time_zone="Europe/Berlin", cardinality=7, first_date="2026-11-20")

    partly = client.run_report(report())
    assert partly.row_count == 2 * 7 == len(partly.rows)
    assert {row.dimension_values[0].value for row in partly.rows} == {"20261120", "20261121"}

    before = [DateRange(start_date="2026-10-01", end_date="2026-11-19")]
    empty = client.run_report(report(date_ranges=before))
    assert empty.row_count == 0 and list(empty.rows) == []
    assert [h.name for h in empty.dimension_headers] == ["date", "pagePath"]
    assert [h.name for h in empty.metric_headers][:1] == ["sessions"]
    assert empty.metadata.time_zone == "Europe/Berlin"
    assert empty.property_quota.tokens_per_day.consumed == 1  # an empty answer costs a token
    # proto3 JSON: an empty repeated field and a zero int32 are left out, not sent as []/0
    body = raw_report(
        base_url,
        http,
        client,
        {
            "dimensions": [{"name": "date"}],
            "metrics": [{"name": "sessions"}],
            "dateRanges": [{"startDate": "2026-10-01", "endDate": "2026-11-19"}],
        },
    )
    assert sorted(body) == ["dimensionHeaders", "kind", "metadata", "metricHeaders"]


def test_a_hidden_row_is_gone_until_shown_again(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    def keys(response: RunReportResponse) -> list[tuple[str, ...]]:
        return [tuple(v.value for v in row.dimension_values) for row in response.rows]

    full = client.run_report(report())
    fake.hide_row("123", date="2026-11-20", dimensions={"pagePath": "/p/3"})

    hidden = client.run_report(report())
    assert hidden.row_count == full.row_count - 1 == len(hidden.rows)
    assert keys(hidden) == [key for key in keys(full) if key != ("20261120", "/p/3")]
    paged = [
        key
        for offset in (0, 10)
        for key in keys(client.run_report(report(limit=10, offset=offset)))
    ]
    assert paged == keys(hidden)

    fake.show_row("123", date="2026-11-20", dimensions={"pagePath": "/p/3"})
    assert client.run_report(report()).rows == full.rows


def test_a_short_answer_has_fewer_rows_than_its_row_count(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    fake.answer_short("123", missing=3)

    first = client.run_report(report(limit=10))
    assert (first.row_count, len(first.rows)) == (21, 10)
    last = client.run_report(report(limit=10, offset=10))
    assert (last.row_count, len(last.rows)) == (21, 8)
    beyond = client.run_report(report(limit=10, offset=18))
    assert (beyond.row_count, list(beyond.rows)) == (21, [])


def test_an_error_after_the_first_page_breaks_the_report_mid_way(
    fake: FakeGoogle, client: BetaAnalyticsDataClient
) -> None:
    fake.fail_next("123", status=500, after=1)

    assert len(client.run_report(report(limit=10)).rows) == 10
    with pytest.raises(api_exceptions.InternalServerError):
        client.run_report(report(limit=10, offset=10))
    assert len(client.run_report(report(limit=10, offset=10)).rows) == 10


@pytest.mark.parametrize(
    ("bucket", "field", "message"),
    [
        ("tokensPerDay", "tokens_per_day", "Exhausted property tokens per day."),
        ("tokensPerHour", "tokens_per_hour", "Exhausted property tokens per hour."),
    ],
)
def test_a_long_backfill_runs_out_of_tokens(
    fake: FakeGoogle, client: BetaAnalyticsDataClient, bucket: str, field: str, message: str
) -> None:
    # Ten months read back one at a time (30 days x 7 pages a month: one token
    # each); the budget lasts five of them.
    fake.quota_limits[bucket] = 5
    months = [
        DateRange(start_date=f"2026-{month:02d}-01", end_date=f"2026-{month:02d}-30")
        for month in range(10, 0, -1)
    ]
    remaining = []
    with pytest.raises(api_exceptions.TooManyRequests, match=message) as refused:
        for span in months:
            answer = client.run_report(report(date_ranges=[span]))
            assert len(answer.rows) == answer.row_count == 30 * 7
            remaining.append(getattr(answer.property_quota, field).remaining)
    assert remaining == [4, 3, 2, 1, 0]
    assert refused.value.code == 429
    assert refused.value.response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert fake.quota_used["123"] == 5

    fake.refill_quota("123")
    again = client.run_report(report(date_ranges=[months[5]]))
    assert getattr(again.property_quota, field).remaining == 4


def _data_client(base_url: str, credentials: Credentials) -> BetaAnalyticsDataClient:
    return BetaAnalyticsDataClient(
        transport="rest", client_options={"api_endpoint": base_url}, credentials=credentials
    )


def test_the_admin_library_reads_each_property_and_its_service_level(
    fake: FakeGoogle, base_url: str, http: requests.Session
) -> None:
    fake.add_property("360", time_zone="UTC", analytics_360=True)
    fake.add_google_account(
        "alice@example.com", [("123", "Shop", "Europe/Berlin"), ("360", "Big shop", "UTC")]
    )
    fake.add_refresh_token("rt-admin", account="alice@example.com")
    credentials = refreshed(base_url, http, "rt-admin")
    with AnalyticsAdminServiceClient(
        transport="rest", client_options={"api_endpoint": base_url}, credentials=credentials
    ) as admin:
        [account] = list(admin.list_account_summaries())
        names = [p.property for p in account.property_summaries]
        assert names == ["properties/123", "properties/360"]
        shop, big = (admin.get_property(name=name) for name in names)
    assert shop.service_level == ServiceLevel.GOOGLE_ANALYTICS_STANDARD
    assert (shop.time_zone, shop.currency_code) == ("Europe/Berlin", "EUR")
    assert big.service_level == ServiceLevel.GOOGLE_ANALYTICS_360
    assert big.display_name == "Big shop"


async def test_an_analytics_360_property_reports_its_quotas_and_refuses_the_51st_request(
    fake: FakeGoogle, base_url: str, http: requests.Session
) -> None:
    fake.add_property("360", time_zone="UTC", cardinality=3, analytics_360=True)
    credentials = refreshed(base_url, http)
    with _data_client(base_url, credentials) as client:
        quota = client.run_report(report(property="properties/360")).property_quota
    assert (quota.tokens_per_day.consumed, quota.tokens_per_day.remaining) == (1, 1_999_999)
    assert quota.tokens_per_hour.remaining == 399_999
    assert quota.tokens_per_project_per_hour.remaining == 139_999
    assert (quota.concurrent_requests.consumed, quota.concurrent_requests.remaining) == (0, 50)
    assert quota.server_errors_per_project_per_hour.remaining == 50

    def one(_: int) -> int:
        with _data_client(base_url, credentials) as client:
            try:
                client.run_report(report(property="properties/360"))
            except api_exceptions.TooManyRequests as refused:
                assert refused.message.endswith("Exhausted concurrent requests quota.")
                return 429
            return 200

    fake.hold_reports = True
    with ThreadPoolExecutor(max_workers=51) as pool:
        sent = [pool.submit(one, n) for n in range(51)]
        await eventually(
            lambda: fake.in_flight.get("360") == 50 and sum(f.done() for f in sent) == 1,
            "50 requests held and the 51st refused",
        )
        fake.hold_reports = False
        statuses = sorted(f.result() for f in sent)
    assert statuses == [200] * 50 + [429]
