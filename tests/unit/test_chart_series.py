"""Which report and metrics a property's chart shows, and which metrics add up a day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.sync.chart import adds_up, chart_window, choose_series

DAILY_TOTALS, TRAFFIC, PAGES = BUILTIN_REPORTS


def _names(series) -> tuple[str, list[str]] | None:
    return None if series is None else (series.spec.name, [c.field for c in series.metrics])


def test_daily_totals_sessions_then_users_wherever_it_is_listed():
    assert _names(choose_series(BUILTIN_REPORTS, "1")) == (
        "daily_totals",
        ["sessions", "activeUsers"],
    )
    assert _names(choose_series((PAGES, TRAFFIC, DAILY_TOTALS), "1"))[0] == "daily_totals"


def test_a_daily_totals_without_sessions_shows_its_first_metrics():
    custom = ReportSpec("daily_totals", ("date",), ("screenPageViews", "activeUsers", "newUsers"))
    assert _names(choose_series((custom,), "1")) == (
        "daily_totals",
        ["activeUsers", "screenPageViews"],
    )


def test_else_the_first_day_report_in_use_for_the_property():
    mine = ReportSpec("mine", ("date",), ("eventCount", "bounceRate", "sessions"))
    theirs = ReportSpec("theirs", ("date",), ("sessions",), properties=frozenset({"2"}))
    weekly = ReportSpec("weekly", ("isoYearIsoWeek",), ("activeUsers",), grain="week")
    assert _names(choose_series((weekly, theirs, mine), "1")) == (
        "mine",
        ["eventCount", "bounceRate"],  # by the date alone: GA4's own values, any metric
    )
    assert _names(choose_series((weekly, theirs, mine), "2"))[0] == "theirs"
    assert choose_series((weekly,), "1") is None
    limited = replace_properties(DAILY_TOTALS, {"2"})
    assert _names(choose_series((limited, PAGES), "1"))[0] == "pages"


def replace_properties(spec: ReportSpec, properties: set[str]) -> ReportSpec:
    return ReportSpec(spec.name, spec.dimensions, spec.metrics, properties=frozenset(properties))


def test_of_a_report_with_dimensions_only_metrics_that_add_up_over_them():
    assert _names(choose_series((TRAFFIC,), "1")) == (
        "traffic_sources",
        ["sessions", "engagedSessions"],
    )
    assert _names(choose_series((PAGES,), "1")) == ("pages", ["screenPageViews", "eventCount"])
    users = ReportSpec("users_by_page", ("date", "pagePath"), ("activeUsers", "bounceRate"))
    assert choose_series((users, PAGES), "1").spec.name == "pages"


@pytest.mark.parametrize(
    ("metric", "dimensions", "expected"),
    [
        ("activeUsers", (), True),  # one row a day: GA4's own count
        ("activeUsers", ("sessionSource",), False),  # people come from two sources
        ("totalUsers", ("country",), False),
        ("activeUsers", ("deviceCategory",), False),
        ("sessions", ("country",), True),  # a session comes from one place
        ("sessions", ("deviceCategory", "browser"), True),  # on one device
        ("engagedSessions", ("city",), True),
        ("sessions", ("country", "pagePath"), False),
        ("screenPageViews", ("country",), True),
        ("sessions", ("sessionSource", "sessionMedium"), True),
        ("sessions", ("pagePath",), False),  # a session views many pages
        ("screenPageViews", ("pagePath",), True),
        ("eventCount", ("eventName", "sessionSource"), True),
        ("keyEvents", ("sessionMedium",), True),
        ("bounceRate", ("sessionSource",), False),
        ("averageSessionDuration", ("sessionSource",), False),
        ("screenPageViewsPerSession", ("sessionSource",), False),
        ("totalRevenue", ("sessionSource",), True),
        ("returnOnAdSpend", ("sessionSource",), False),
        ("organicGoogleSearchAveragePosition", ("sessionSource",), False),
        ("itemRevenue", ("itemName",), True),
        ("customEvent:points", ("customEvent:level",), True),
        ("customEvent:points", ("customItem:sku",), False),
        ("noSuchMetric", ("pagePath",), False),
    ],
)
def test_adds_up(metric, dimensions, expected):
    assert adds_up(metric, dimensions) is expected


def test_window_in_the_property_zone_and_utc_for_an_unknown_one():
    now = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert chart_window(now, "America/Los_Angeles", 30) == (
        "America/Los_Angeles",
        date(2026, 10, 22),
        date(2026, 11, 20),
    )
    assert chart_window(now, "Asia/Tokyo", 1) == (
        "Asia/Tokyo",
        date(2026, 11, 21),
        date(2026, 11, 21),
    )
    assert chart_window(now, "Mars/Olympus", 2) == ("UTC", date(2026, 11, 20), date(2026, 11, 21))
