"""GA4 wire format: request bodies in Google's JSON, responses with omitted defaults."""

from __future__ import annotations

import gc
import json
from datetime import UTC, date, datetime

import pytest

from ga4sync.ga4 import quota
from ga4sync.ga4.wire import build_request, error_reason, parse_error, parse_page
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec, reports_by_name


def test_request_body_is_camel_case_and_ordered_for_stable_paging():
    spec = reports_by_name(["pages"])[0]
    body = build_request("123", spec, date(2026, 11, 19), date(2026, 11, 21), page_size=5000)
    assert "property" not in body  # it is in the URL
    assert body["dateRanges"] == [{"startDate": "2026-11-19", "endDate": "2026-11-21"}]
    assert body["dimensions"] == [{"name": "date"}, {"name": "pagePath"}]
    assert body["limit"] == "5000"
    assert body["returnPropertyQuota"] is True
    assert body["orderBys"] == [
        {"dimension": {"dimensionName": "date"}},
        {"dimension": {"dimensionName": "pagePath"}},
    ]


def test_parse_page_with_everything_omitted():
    page = parse_page(b'{"kind": "analyticsData#runReport"}')
    assert page.rows == [] and page.row_count == 0 and page.quota == {}
    assert page.tokens_consumed == 0 and page.quality_flags() == {}


def test_parse_page_rows_quota_and_flags():
    body = {
        "dimensionHeaders": [{"name": "date"}, {"name": "pagePath"}],
        "metricHeaders": [{"name": "screenPageViews", "type": "TYPE_INTEGER"}],
        "rows": [
            {
                "dimensionValues": [{"value": "20261120"}, {"value": "/a"}],
                "metricValues": [{"value": "5"}],
            },
            {"dimensionValues": [{"value": "20261120"}, {}], "metricValues": [{}]},
        ],
        "rowCount": 9,
        "metadata": {
            "timeZone": "Asia/Tokyo",
            "subjectToThresholding": True,
            "samplingMetadatas": [{"samplesReadCount": "10"}],
        },
        "propertyQuota": {
            "tokensPerDay": {"consumed": 3, "remaining": 199997},
            "concurrentRequests": {"remaining": 10},
        },
    }
    page = parse_page(json.dumps(body))
    assert page.rows == [("20261120", "/a", "5"), ("20261120", "", "")]
    assert page.rows_read == 2
    assert page.row_count == 9 and page.time_zone == "Asia/Tokyo"
    assert page.tokens_consumed == 3
    assert page.quota["concurrentRequests"].consumed == 0
    assert page.quality_flags() == {"sampled": True, "thresholded": True}


def test_parse_error_tolerates_non_json():
    assert parse_error(
        b'{"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}}'
    ) == ("RESOURCE_EXHAUSTED", "m")
    assert parse_error(b"<html>bad gateway</html>") == ("", "<html>bad gateway</html>")


def test_error_reason_is_the_error_infos_if_any():
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
    }
    help_link = {"@type": "type.googleapis.com/google.rpc.Help", "links": []}
    error = {"code": 403, "message": "m", "status": "PERMISSION_DENIED"}
    assert error_reason(json.dumps({"error": {**error, "details": [help_link, info]}})) == (
        "SERVICE_DISABLED"
    )
    # GA4's answer for a property the caller may not read names no reason.
    assert error_reason(json.dumps({"error": error})) is None
    assert error_reason(json.dumps({"error": {**error, "details": [help_link]}})) is None
    assert error_reason(b"<html>forbidden</html>") is None
    assert error_reason(b'{"error": "nope"}') is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Exhausted concurrent requests quota.", quota.CONCURRENT),
        ("Exhausted property tokens per hour quota.", quota.HOURLY),
        ("Exhausted property tokens per day quota.", quota.DAILY),
        ("Exhausted property tokens for a project per hour.", quota.PROJECT_HOURLY),
    ],
)
def test_classify_exhausted(message, expected):
    assert quota.classify_exhausted(message) == expected


def test_quota_return_times():
    now = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)  # 22:30 Pacific
    assert quota.seconds_until_quota_returns(quota.HOURLY, now) == 1800
    assert quota.seconds_until_quota_returns(quota.DAILY, now) == 5400
    assert quota.spent_quota({"tokensPerHour": 0}) == quota.HOURLY
    assert quota.spent_quota({"tokensPerHour": 5, "concurrentRequests": 0}) is None


def test_backoff_is_bounded_and_grows(monkeypatch):
    # Full jitter: retry n waits uniformly in [0, min(cap, base * 2**n)].
    bounds: list[tuple[float, float]] = []

    def upper_end(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(quota.random, "uniform", upper_end)
    longest = [quota.backoff_s(n, 0.5, cap_s=10) for n in range(8)]
    assert longest == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert bounds == [(0, high) for high in longest]
    monkeypatch.undo()

    # The real draws stay inside those bounds and spread over them.
    for attempt, high in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 10.0]):
        draws = [quota.backoff_s(attempt, 0.5, cap_s=10) for _ in range(400)]
        assert all(0 <= d <= high for d in draws)
        assert min(draws) < high / 4 and max(draws) > high * 3 / 4


def test_report_specs_are_validated():
    assert all(spec.dimensions[0] == "date" for spec in BUILTIN_REPORTS)
    with pytest.raises(ValueError, match="a day report's first dimension is 'date'"):
        ReportSpec("bad", ("pagePath",), ("sessions",))
    with pytest.raises(ValueError, match="unknown report"):
        reports_by_name(["nope"])
    assert "activeUsers" in reports_by_name(["daily_totals"])[0].non_additive_metrics


def test_duplicate_keys_in_a_page_are_kept_once_last_wins():
    row = {"dimensionValues": [{"value": "20261120"}, {"value": "/a"}]}
    body = {
        "rows": [
            {**row, "metricValues": [{"value": "1"}]},
            {**row, "metricValues": [{"value": "2"}]},
        ],
        "rowCount": 2,
    }
    page = parse_page(json.dumps(body))
    assert page.rows == [("20261120", "/a", "2")]
    assert page.rows_read == 2  # paging still advances past both


def test_values_are_joined_and_a_separator_inside_a_value_cannot_shift_columns():
    body = {
        "rows": [
            {
                "dimensionValues": [{"value": "20261120"}, {"value": "google"}, {"value": "cpc"}],
                "metricValues": [{"value": "3"}, {"value": "0.5"}],
            },
            {
                "dimensionValues": [{"value": "20261120"}, {"value": "a\x1fb"}, {"value": "x"}],
                "metricValues": [{"value": "1"}, {"value": "2"}],
            },
        ]
    }
    page = parse_page(json.dumps(body))
    assert page.rows == [
        ("20261120", "google\x1fcpc", "3\x1f0.5"),
        # A value holding the separator: one per value, then the values as JSON.
        ("20261120", '\x1f\x1f["a\\u001fb", "x"]', "1\x1f2"),
    ]


def test_a_page_parses_with_the_cycle_collector_paused_and_leaves_it_as_it_was(monkeypatch):
    collecting: list[bool] = []
    loads = json.loads

    def watched_loads(text, **kwargs):
        collecting.append(gc.isenabled())
        return loads(text, **kwargs)

    monkeypatch.setattr(json, "loads", watched_loads)
    body = json.dumps({"rows": [], "rowCount": 0})
    try:
        parse_page(body)
        assert collecting == [False] and gc.isenabled()
        with pytest.raises(ValueError):
            parse_page("{not json")
        assert gc.isenabled()
        gc.disable()
        parse_page(body)
        assert not gc.isenabled()  # one the program paused stays paused
    finally:
        gc.enable()
