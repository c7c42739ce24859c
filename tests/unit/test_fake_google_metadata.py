"""Google's own client library parses the fake's Metadata, checkCompatibility and the
runReport answers of custom report definitions (blocking REST client)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import (
    CheckCompatibilityRequest,
    Compatibility,
    DateRange,
    Dimension,
    Filter,
    FilterExpression,
    FilterExpressionList,
    GetMetadataRequest,
    Metric,
    MetricType,
    NumericValue,
    OrderBy,
    RunReportRequest,
    RunReportResponse,
)
from google.api_core import exceptions as api_exceptions
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from ga4sync.fake_google import FakeGoogle
from ga4sync.ga4 import fields

CUSTOM_DIMENSIONS = {
    "customEvent:plan_type": ["free", "pro", "team"],
    "customUser:tier": None,
    "customItem:colour": ["red", "blue"],
}
CUSTOM_METRICS = {"customEvent:credits": "TYPE_INTEGER", "customEvent:distance": "TYPE_KILOMETERS"}


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=0)
    fake.add_refresh_token("rt-alice")
    fake.add_property(
        "123",
        cardinality=5,
        custom_dimensions=CUSTOM_DIMENSIONS,
        custom_metrics=CUSTOM_METRICS,
    )
    fake.add_property("456")
    fake.set_today("2026-11-30")
    return fake


@pytest.fixture
def base_url(fake: FakeGoogle) -> Iterator[str]:
    with fake.serve_in_thread() as base_url:
        yield base_url


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def token(base_url: str, http: requests.Session) -> str:
    credentials = Credentials(
        token=None,
        refresh_token="rt-alice",
        token_uri=base_url + "/token",
        client_id="c",
        client_secret="s",
    )
    credentials.refresh(Request(session=http))
    return str(credentials.token)


@pytest.fixture
def client(base_url: str, token: str) -> Iterator[BetaAnalyticsDataClient]:
    with BetaAnalyticsDataClient(
        transport="rest",
        client_options={"api_endpoint": base_url},
        credentials=Credentials(token=token),
    ) as client:
        yield client


def string_filter(field: str, value: str, match: str = "EXACT") -> FilterExpression:
    match_type = Filter.StringFilter.MatchType[match]
    return FilterExpression(
        filter=Filter(
            field_name=field,
            string_filter=Filter.StringFilter(match_type=match_type, value=value),
        )
    )


def report(**fields_: object) -> RunReportRequest:
    values: dict[str, object] = {
        "property": "properties/123",
        "date_ranges": [DateRange(start_date="2026-11-16", end_date="2026-11-29")],
        "limit": 100_000,
    }
    values.update(fields_)
    return RunReportRequest(**values)


def keys(response: RunReportResponse) -> list[tuple[str, ...]]:
    return [tuple(v.value for v in row.dimension_values) for row in response.rows]


def test_metadata_of_property_0_lists_the_standard_fields(client: BetaAnalyticsDataClient) -> None:
    metadata = client.get_metadata(GetMetadataRequest(name="properties/0/metadata"))

    assert metadata.name == "properties/0/metadata"
    assert {d.api_name for d in metadata.dimensions} == fields.STANDARD_DIMENSIONS
    types = {m.api_name: m.type_ for m in metadata.metrics}
    assert types.keys() == fields.STANDARD_METRICS.keys()
    assert types["activeUsers"] == MetricType.TYPE_INTEGER
    assert types["bounceRate"] == MetricType.TYPE_FLOAT
    assert types["averageSessionDuration"] == MetricType.TYPE_SECONDS
    assert types["totalRevenue"] == MetricType.TYPE_CURRENCY
    assert types["keyEvents"] == MetricType.TYPE_FLOAT
    country = next(d for d in metadata.dimensions if d.api_name == "country")
    assert (country.ui_name, country.category) == ("Country", "Geography")
    assert country.description and not country.custom_definition
    assert not any(m.custom_definition for m in metadata.metrics)


def test_metadata_of_a_property_adds_its_custom_fields(client: BetaAnalyticsDataClient) -> None:
    metadata = client.get_metadata(name="properties/123/metadata")

    custom = {d.api_name: d for d in metadata.dimensions if d.custom_definition}
    assert custom.keys() == CUSTOM_DIMENSIONS.keys()
    assert custom["customEvent:plan_type"].ui_name == "plan_type"
    assert custom["customUser:tier"].category == "Custom"
    assert "user scoped" in custom["customUser:tier"].description
    metrics = {m.api_name: m.type_ for m in metadata.metrics if m.custom_definition}
    assert metrics == {
        "customEvent:credits": MetricType.TYPE_INTEGER,
        "customEvent:distance": MetricType.TYPE_KILOMETERS,
    }
    assert len(metadata.dimensions) == len(fields.STANDARD_DIMENSIONS) + 3
    plain = client.get_metadata(name="properties/456/metadata")
    assert not any(d.custom_definition for d in plain.dimensions)


def test_metadata_is_proto3_json(base_url: str, http: requests.Session, token: str) -> None:
    answer = http.get(
        f"{base_url}/v1beta/properties/123/metadata", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    body = answer.json()
    country = next(d for d in body["dimensions"] if d["apiName"] == "country")
    assert sorted(country) == ["apiName", "category", "description", "uiName"]  # false left out
    credits = next(m for m in body["metrics"] if m["apiName"] == "customEvent:credits")
    assert credits["customDefinition"] is True and credits["type"] == "TYPE_INTEGER"


def test_metadata_errors(fake: FakeGoogle, client: BetaAnalyticsDataClient) -> None:
    fake.remove_property("456")
    with pytest.raises(api_exceptions.Forbidden, match="sufficient permissions"):
        client.get_metadata(name="properties/456/metadata")
    with pytest.raises(api_exceptions.BadRequest, match="Invalid property ID: abc"):
        client.get_metadata(name="properties/abc/metadata")
    fake.add_property("456")
    assert client.get_metadata(name="properties/456/metadata").dimensions
    assert fake.metadata_requests == ["456", "abc", "456"]


def test_check_compatibility_of_fields_that_go_together(client: BetaAnalyticsDataClient) -> None:
    answer = client.check_compatibility(
        CheckCompatibilityRequest(
            property="properties/123",
            dimensions=[Dimension(name="date"), Dimension(name="customEvent:plan_type")],
            metrics=[Metric(name="sessions"), Metric(name="customEvent:credits")],
        )
    )

    dimensions = {
        c.dimension_metadata.api_name: c.compatibility for c in answer.dimension_compatibilities
    }
    metrics = {c.metric_metadata.api_name: c.compatibility for c in answer.metric_compatibilities}
    assert dimensions["date"] == dimensions["customEvent:plan_type"] == Compatibility.COMPATIBLE
    assert metrics["sessions"] == metrics["customEvent:credits"] == Compatibility.COMPATIBLE
    # Item-scoped dimensions cannot join a report of session and custom metrics.
    assert dimensions["itemName"] == dimensions["customItem:colour"] == Compatibility.INCOMPATIBLE
    assert metrics["itemRevenue"] == Compatibility.COMPATIBLE
    assert len(dimensions) == len(fields.STANDARD_DIMENSIONS) + 3
    credits = next(
        c.metric_metadata
        for c in answer.metric_compatibilities
        if c.metric_metadata.api_name == "customEvent:credits"
    )
    assert credits.custom_definition and credits.type_ == MetricType.TYPE_INTEGER


def test_check_compatibility_of_fields_that_do_not(client: BetaAnalyticsDataClient) -> None:
    answer = client.check_compatibility(
        CheckCompatibilityRequest(
            property="properties/123",
            dimensions=[Dimension(name="itemName")],
            metrics=[Metric(name="itemRevenue"), Metric(name="sessions")],
            compatibility_filter=Compatibility.INCOMPATIBLE,
        )
    )

    dimensions = {c.dimension_metadata.api_name for c in answer.dimension_compatibilities}
    metrics = {c.metric_metadata.api_name for c in answer.metric_compatibilities}
    assert "itemName" in dimensions and "customItem:colour" in dimensions
    assert "country" not in dimensions
    assert "sessions" in metrics and "activeUsers" in metrics and "itemRevenue" not in metrics
    assert {c.compatibility for c in answer.metric_compatibilities} == {Compatibility.INCOMPATIBLE}


def test_check_compatibility_counts_the_filters_fields(client: BetaAnalyticsDataClient) -> None:
    answer = client.check_compatibility(
        CheckCompatibilityRequest(
            property="properties/123",
            metrics=[Metric(name="sessions")],
            dimension_filter=string_filter("itemName", "Mug"),
            compatibility_filter=Compatibility.COMPATIBLE,
        )
    )
    assert "sessions" not in {c.metric_metadata.api_name for c in answer.metric_compatibilities}
    with pytest.raises(api_exceptions.BadRequest, match="Field nope is not a valid dimension"):
        client.check_compatibility(
            CheckCompatibilityRequest(
                property="properties/123", dimensions=[Dimension(name="nope")]
            )
        )


def test_an_incompatible_report_is_a_bad_request(client: BetaAnalyticsDataClient) -> None:
    request = report(
        dimensions=[Dimension(name="date"), Dimension(name="itemName")],
        metrics=[Metric(name="itemRevenue"), Metric(name="sessions")],
    )
    with pytest.raises(api_exceptions.BadRequest) as refused:
        client.run_report(request)
    assert "Please remove itemName to make the request compatible" in refused.value.message
    assert refused.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"
    with pytest.raises(api_exceptions.BadRequest, match="Field customEvent:nope is not a valid"):
        client.run_report(report(dimensions=[Dimension(name="customEvent:nope")]))


def test_a_week_report_of_a_custom_dimension_with_both_filters(
    client: BetaAnalyticsDataClient,
) -> None:
    dimensions = [Dimension(name="isoYearIsoWeek"), Dimension(name="customEvent:plan_type")]
    metrics = [
        Metric(name="activeUsers"),
        Metric(name="sessions"),
        Metric(name="customEvent:credits"),
    ]
    days = client.run_report(
        report(dimensions=[Dimension(name="date"), dimensions[1]], metrics=metrics)
    )
    weeks = client.run_report(report(dimensions=dimensions, metrics=metrics))

    assert [(h.name, h.type_) for h in weeks.metric_headers] == [
        ("activeUsers", MetricType.TYPE_INTEGER),
        ("sessions", MetricType.TYPE_INTEGER),
        ("customEvent:credits", MetricType.TYPE_INTEGER),
    ]
    assert keys(weeks) == [(w, p) for w in ("202647", "202648") for p in ("free", "pro", "team")]
    assert weeks.row_count == 6
    for row in weeks.rows:
        week, plan = (v.value for v in row.dimension_values)
        daily = [
            [int(v.value) for v in day.metric_values]
            for day in days.rows
            if day.dimension_values[1].value == plan
            and ("202647" if day.dimension_values[0].value <= "20261122" else "202648") == week
        ]
        users, sessions, credits = (int(v.value) for v in row.metric_values)
        assert users < sum(d[0] for d in daily)
        assert (sessions, credits) == (sum(d[1] for d in daily), sum(d[2] for d in daily))

    paying = FilterExpression(
        or_group=FilterExpressionList(
            expressions=[
                string_filter("customEvent:plan_type", "pro"),
                string_filter("customEvent:plan_type", "TE", "BEGINS_WITH"),
            ]
        )
    )
    busy = FilterExpression(
        filter=Filter(
            field_name="sessions",
            numeric_filter=Filter.NumericFilter(
                operation=Filter.NumericFilter.Operation.GREATER_THAN,
                value=NumericValue(int64_value=0),
            ),
        )
    )
    filtered = client.run_report(
        report(
            dimensions=dimensions,
            metrics=metrics,
            dimension_filter=paying,
            metric_filter=busy,
            order_bys=[OrderBy(metric=OrderBy.MetricOrderBy(metric_name="sessions"), desc=True)],
        )
    )
    assert sorted(keys(filtered)) == [k for k in keys(weeks) if k[1] != "free"]
    assert filtered.row_count == len(filtered.rows) == 4
    sessions = [int(row.metric_values[1].value) for row in filtered.rows]
    assert sessions == sorted(sessions, reverse=True)


def test_metric_filter_leaves_rows_out_and_row_count_agrees(
    client: BetaAnalyticsDataClient,
) -> None:
    request = report(
        dimensions=[Dimension(name="date"), Dimension(name="city")],
        metrics=[Metric(name="sessions")],
    )
    full = client.run_report(request)
    threshold = sorted(int(r.metric_values[0].value) for r in full.rows)[len(full.rows) // 2]
    below = FilterExpression(
        filter=Filter(
            field_name="sessions",
            numeric_filter=Filter.NumericFilter(
                operation=Filter.NumericFilter.Operation.LESS_THAN,
                value=NumericValue(double_value=threshold),
            ),
        )
    )
    request.metric_filter = below
    request.limit = 10
    first = client.run_report(request)
    expected = [
        k
        for k, r in zip(keys(full), full.rows, strict=True)
        if int(r.metric_values[0].value) < threshold
    ]
    assert first.row_count == len(expected) < full.row_count
    assert keys(first) == expected[:10]


def test_command_line_declares_custom_fields_of_every_property() -> None:
    command = [sys.executable, "-m", "ga4sync.fake_google", "--port", "0", "--refresh-token", "x"]
    command += ["--custom-dimension", "customEvent:plan_type=free,pro"]
    command += ["--custom-dimension", "customUser:tier", "--custom-metric", "customEvent:credits"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            form = {"grant_type": "refresh_token", "refresh_token": "x"}
            form |= {"client_id": "c", "client_secret": "s"}
            with requests.Session() as http:
                token = http.post(base_url + "/token", data=form, timeout=10).json()
                headers = {"Authorization": f"Bearer {token['access_token']}"}
                url = base_url + "/v1beta/properties/5/metadata"
                body = http.get(url, headers=headers, timeout=10).json()
                report_url = base_url + "/v1beta/properties/5:runReport"
                answer = http.post(
                    report_url,
                    json={
                        "dimensions": [{"name": "customEvent:plan_type"}],
                        "metrics": [{"name": "customEvent:credits"}],
                        "dateRanges": [{"startDate": "today", "endDate": "today"}],
                        "keepEmptyRows": True,
                    },
                    headers=headers,
                    timeout=10,
                ).json()
        finally:
            process.terminate()
            process.wait(timeout=10)
    custom = {d["apiName"] for d in body["dimensions"] if d.get("customDefinition")}
    assert custom == {"customEvent:plan_type", "customUser:tier"}
    credits = [m for m in body["metrics"] if m["apiName"] == "customEvent:credits"]
    assert credits[0]["type"] == "TYPE_INTEGER"
    assert [r["dimensionValues"][0]["value"] for r in answer["rows"]] == ["free", "pro"]


def test_metadata_and_compatibility_need_a_live_token(
    fake: FakeGoogle, base_url: str, http: requests.Session
) -> None:
    metadata = http.get(f"{base_url}/v1beta/properties/0/metadata")
    assert metadata.status_code == 401
    [info] = metadata.json()["error"]["details"]
    assert info["reason"] == "CREDENTIALS_MISSING"
    assert info["metadata"]["method"].endswith("BetaAnalyticsData.GetMetadata")
    compatibility = http.post(
        f"{base_url}/v1beta/properties/123:checkCompatibility",
        json={"metrics": [{"name": "sessions"}]},
        headers={"Authorization": "Bearer nope"},
    )
    assert compatibility.status_code == 401
    assert fake.compatibility_requests == [("123", {"metrics": [{"name": "sessions"}]})]
