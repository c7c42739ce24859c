"""The fake Google's runRealtimeReport, proven with Google's own client library (REST):
GA4's realtime fields and minute ranges, its wire format, and a realtime quota of its
own that never touches the core one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metric,
    MetricType,
    MinuteRange,
    RunRealtimeReportRequest,
    RunReportRequest,
)
from google.api_core import exceptions as api_exceptions
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from ga4sync.fake_google import FakeGoogle

NOW = 29_000_000 * 60.0  # a fixed minute, seconds since the epoch
REALTIME_SCHEMA = (
    "https://developers.google.com/analytics/devguides/reporting/data/v1/realtime-api-schema"
)


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=3)
    fake.add_refresh_token("rt-alice")
    fake.add_property("123", cardinality=3, custom_dimensions={"customUser:plan": ["free", "pro"]})
    fake.add_property("360", cardinality=2, analytics_360=True)
    fake.set_today("2026-11-21")
    fake.realtime_clock = lambda: NOW
    return fake


@pytest.fixture
def client(fake: FakeGoogle) -> Iterator[BetaAnalyticsDataClient]:
    with fake.serve_in_thread() as base_url, requests.Session() as http:
        credentials = Credentials(
            token=None,
            refresh_token="rt-alice",
            token_uri=base_url + "/token",
            client_id="c",
            client_secret="s",
        )
        credentials.refresh(Request(session=http))
        with BetaAnalyticsDataClient(
            transport="rest", client_options={"api_endpoint": base_url}, credentials=credentials
        ) as client:
            yield client


def realtime(property_id: str = "123", **fields: object) -> RunRealtimeReportRequest:
    values: dict[str, object] = {
        "property": f"properties/{property_id}",
        "metrics": [Metric(name="activeUsers")],
        "return_property_quota": True,
    }
    values.update(fields)
    return RunRealtimeReportRequest(**values)


def values(response) -> list[tuple[list[str], list[str]]]:
    return [
        ([v.value for v in row.dimension_values], [v.value for v in row.metric_values])
        for row in response.rows
    ]


def test_a_realtime_report_parses_with_headers_rows_and_the_realtime_quota(client, fake):
    response = client.run_realtime_report(
        realtime(
            dimensions=[Dimension(name="country"), Dimension(name="deviceCategory")],
            metrics=[
                Metric(name="activeUsers"),
                Metric(name="eventCount"),
                Metric(name="screenPageViews"),
                Metric(name="keyEvents"),
            ],
        )
    )

    assert response.kind == "analyticsData#runRealtimeReport"
    assert [h.name for h in response.dimension_headers] == ["country", "deviceCategory"]
    assert [(h.name, h.type_) for h in response.metric_headers] == [
        ("activeUsers", MetricType.TYPE_INTEGER),
        ("eventCount", MetricType.TYPE_INTEGER),
        ("screenPageViews", MetricType.TYPE_INTEGER),
        ("keyEvents", MetricType.TYPE_FLOAT),
    ]
    rows = values(response)
    assert 0 < len(rows) <= 3 * 3 == 9 and response.row_count == len(rows)
    users = [int(m[0]) for _, m in rows]
    assert users == sorted(users, reverse=True)  # by the first metric, largest first
    for _, (active, events, views, _key) in rows:
        assert int(events) >= int(views) >= int(active) > 0
    quota = response.property_quota
    assert (quota.tokens_per_day.consumed, quota.tokens_per_day.remaining) == (1, 199_999)
    assert (quota.tokens_per_hour.consumed, quota.tokens_per_hour.remaining) == (1, 39_999)
    assert quota.tokens_per_project_per_hour.remaining == 13_999
    assert quota.concurrent_requests.remaining == 10
    # what the test can compare stored rows with: the answer as it was sent
    ((property_id, answer),) = fake.realtime_answers
    assert property_id == "123" and answer["rowCount"] == len(rows)


def test_realtime_spends_the_realtime_quota_and_never_the_core_one(client, fake):
    core = client.run_report(
        RunReportRequest(
            property="properties/123",
            metrics=[Metric(name="sessions")],
            date_ranges=[DateRange(start_date="today", end_date="today")],
            return_property_quota=True,
        )
    )
    assert core.property_quota.tokens_per_day.remaining == 199_999
    for _ in range(3):
        client.run_realtime_report(realtime())
    assert fake.realtime_quota_used == {"123": 3}
    assert fake.quota_used == {"123": 1}
    again = client.run_report(
        RunReportRequest(
            property="properties/123",
            metrics=[Metric(name="sessions")],
            date_ranges=[DateRange(start_date="today", end_date="today")],
            return_property_quota=True,
        )
    )
    assert again.property_quota.tokens_per_day.remaining == 199_998  # the core bucket's own
    last = client.run_realtime_report(realtime()).property_quota
    assert last.tokens_per_day.remaining == 200_000 - 4


def test_a_spent_realtime_bucket_refuses_realtime_only(client, fake):
    fake.set_realtime_quota_limits("123", {"tokensPerHour": 2})
    client.run_realtime_report(realtime())
    last = client.run_realtime_report(realtime())
    assert last.property_quota.tokens_per_hour.remaining == 0
    with pytest.raises(api_exceptions.TooManyRequests, match="Exhausted property tokens per hour"):
        client.run_realtime_report(realtime())
    # the core quota is another bucket: runReport still answers
    client.run_report(
        RunReportRequest(
            property="properties/123",
            metrics=[Metric(name="sessions")],
            date_ranges=[DateRange(start_date="today", end_date="today")],
        )
    )
    fake.refill_quota("123")  # a new core hour leaves the realtime one as it was
    with pytest.raises(api_exceptions.TooManyRequests):
        client.run_realtime_report(realtime())
    fake.refill_realtime_quota("123")
    client.run_realtime_report(realtime())


def test_minutes_ago_counts_back_from_now_and_moves_with_the_clock(client, fake):
    by_minute = realtime(
        dimensions=[Dimension(name="minutesAgo")],
        metrics=[Metric(name="eventCount")],
        minute_ranges=[MinuteRange(start_minutes_ago=5, end_minutes_ago=0)],
    )
    first = dict((d[0], m[0]) for d, m in values(client.run_realtime_report(by_minute)))
    assert set(first) <= {f"{n:02d}" for n in range(6)} and first
    fake.realtime_clock = lambda: NOW + 60
    later = dict((d[0], m[0]) for d, m in values(client.run_realtime_report(by_minute)))
    # what was this minute is a minute ago now, with the same figures
    for ago in range(5):
        assert later.get(f"{ago + 1:02d}") == first.get(f"{ago:02d}")
    fake.realtime_clock = lambda: NOW
    assert values(client.run_realtime_report(by_minute)) == values(
        client.run_realtime_report(by_minute)
    )


def test_two_minute_ranges_answer_a_date_range_per_row(client):
    response = client.run_realtime_report(
        realtime(
            dimensions=[Dimension(name="platform")],
            minute_ranges=[
                MinuteRange(start_minutes_ago=4, end_minutes_ago=0, name="last_5"),
                MinuteRange(start_minutes_ago=29, end_minutes_ago=5),
            ],
        )
    )
    assert [h.name for h in response.dimension_headers] == ["platform", "dateRange"]
    assert {d[1] for d, _ in values(response)} == {"last_5", "date_range_1"}


def test_user_scoped_custom_dimensions_the_property_has(client):
    response = client.run_realtime_report(realtime(dimensions=[Dimension(name="customUser:plan")]))
    assert {d[0] for d, _ in values(response)} <= {"free", "pro"}
    with pytest.raises(api_exceptions.BadRequest, match="customUser:tier is not a valid dimension"):
        client.run_realtime_report(realtime(dimensions=[Dimension(name="customUser:tier")]))


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"metrics": [Metric(name="sessions")]}, "Field sessions is not a valid metric."),
        ({"dimensions": [Dimension(name="pagePath")]}, "Field pagePath is not a valid dimension."),
        ({"dimensions": [Dimension(name="date")]}, "Field date is not a valid dimension."),
        (
            {"dimensions": [Dimension(name="customEvent:plan")]},
            "Field customEvent:plan is not a valid dimension.",
        ),
    ],
)
def test_fields_of_core_reports_are_refused_naming_the_realtime_schema(client, fields, says):
    with pytest.raises(api_exceptions.BadRequest) as refused:
        client.run_realtime_report(realtime(**fields))
    assert says in str(refused.value) and REALTIME_SCHEMA in str(refused.value)


def test_minute_ranges_as_ga4_allows_them(client):
    with pytest.raises(api_exceptions.BadRequest, match="too far back"):
        client.run_realtime_report(
            realtime(minute_ranges=[MinuteRange(start_minutes_ago=30, end_minutes_ago=0)])
        )
    # an Analytics 360 property's realtime reaches back an hour
    client.run_realtime_report(
        realtime("360", minute_ranges=[MinuteRange(start_minutes_ago=59, end_minutes_ago=0)])
    )
    with pytest.raises(api_exceptions.BadRequest, match="at most 2 minuteRanges"):
        client.run_realtime_report(realtime(minute_ranges=[MinuteRange()] * 3))
    with pytest.raises(api_exceptions.BadRequest, match="cannot be after endMinutesAgo"):
        client.run_realtime_report(
            realtime(minute_ranges=[MinuteRange(start_minutes_ago=2, end_minutes_ago=5)])
        )
    with pytest.raises(api_exceptions.BadRequest, match="date_range_"):
        client.run_realtime_report(realtime(minute_ranges=[MinuteRange(name="date_range_9")]))


def test_a_core_request_field_is_unknown_to_the_realtime_method(fake):
    with fake.serve_in_thread() as base_url:
        token = fake.issue_access_token("rt-alice")
        answer = requests.post(
            f"{base_url}/v1beta/properties/123:runRealtimeReport",
            json={
                "metrics": [{"name": "activeUsers"}],
                "dateRanges": [{"startDate": "today", "endDate": "today"}],
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert answer.status_code == 400
    assert 'Unknown name "dateRanges"' in answer.json()["error"]["message"]
    assert fake.realtime_requests[-1][0] == "123"


def test_failures_can_be_injected_like_runreport_s(client, fake):
    fake.fail_next_realtime("123", 429, quota="daily")
    with pytest.raises(api_exceptions.TooManyRequests, match="tokens per day"):
        client.run_realtime_report(realtime())
    fake.fail_next_realtime("123", 503)
    with pytest.raises(api_exceptions.ServiceUnavailable):
        client.run_realtime_report(realtime())
    client.run_realtime_report(realtime())
    fake.remove_property("123")
    with pytest.raises(api_exceptions.Forbidden, match="sufficient permissions"):
        client.run_realtime_report(realtime())
