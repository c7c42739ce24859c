"""Report generation and request parsing of the fake Google, without HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
import requests

from ga4sync.fake_google import FakeGoogle, token_cost
from ga4sync.fake_google.aggregate import build_report
from ga4sync.fake_google.request import InvalidArgument, parse_report_request
from ga4sync.fake_google.response import render_response

TODAY = date(2026, 11, 21)


def run(fake: FakeGoogle, body: dict[str, Any], property_id: str = "9") -> dict[str, Any]:
    config = fake.property(property_id)
    request = parse_report_request(body, fake.today(property_id), config.schema)
    builder = build_report(request, property_id, config, fake.seed)
    payload: dict[str, Any] = json.loads(render_response(builder, builder.page(), None, False))
    return payload


def dims(payload: dict[str, Any]) -> list[list[str]]:
    return [[v["value"] for v in row["dimensionValues"]] for row in payload.get("rows", [])]


def metrics(payload: dict[str, Any]) -> list[list[str]]:
    return [[v["value"] for v in row["metricValues"]] for row in payload.get("rows", [])]


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=1)
    fake.add_property("9", cardinality=3)
    fake.set_today(TODAY)
    return fake


def test_relative_dates_resolve_against_today() -> None:
    body = {
        "metrics": [{"name": "sessions"}],
        "date_ranges": [{"start_date": "7daysAgo", "end_date": "yesterday"}],
    }
    request = parse_report_request(body, TODAY)
    [span] = request.date_ranges
    assert (span.start, span.end) == (date(2026, 11, 14), date(2026, 11, 20))
    assert len(span.days) == 7
    assert request.limit == 10_000
    assert request.offset == 0


def test_ranges_are_clipped_to_today_and_limit_is_capped() -> None:
    body = {
        "metrics": [{"name": "sessions"}],
        "dateRanges": [{"startDate": "2026-11-20", "endDate": "2026-12-31"}],
        "limit": "9999999",
    }
    request = parse_report_request(body, TODAY)
    assert request.date_ranges[0].days == (date(2026, 11, 20), date(2026, 11, 21))
    assert request.limit == 250_000


def test_rejects_impossible_dates() -> None:
    body = {"metrics": [{"name": "sessions"}], "dateRanges": [{"startDate": "2026-02-30"}]}
    with pytest.raises(InvalidArgument, match="2026-02-30"):
        parse_report_request(body, TODAY)


def test_today_follows_the_property_time_zone() -> None:
    fake = FakeGoogle()
    # UTC+14 and UTC-10 all year: exactly one day apart at every instant
    fake.add_property("east", time_zone="Pacific/Kiritimati")
    fake.add_property("west", time_zone="Pacific/Honolulu")
    assert (fake.today("east") - fake.today("west")).days == 1
    fake.set_today("2026-01-01", property_id="west")
    assert fake.today("west") == date(2026, 1, 1)


def test_every_supported_dimension_and_metric_is_served(fake: FakeGoogle) -> None:
    names = (
        "sessionSource sessionMedium sessionSourceMedium sessionDefaultChannelGroup pagePath "
        "pageTitle country city deviceCategory eventName landingPage hostName"
    ).split()
    kinds = (
        "sessions activeUsers totalUsers newUsers screenPageViews eventCount engagedSessions "
        "conversions keyEvents engagementRate bounceRate sessionsPerUser averageSessionDuration "
        "userEngagementDuration totalRevenue"
    ).split()
    for start in range(0, len(names), 3):
        for first in range(0, len(kinds), 10):
            body = {
                "dimensions": [{"name": "date"}] + [{"name": n} for n in names[start : start + 3]],
                "metrics": [{"name": m} for m in kinds[first : first + 10]],
                "dateRanges": [{"startDate": "today", "endDate": "today"}],
            }
            payload = run(fake, body)
            assert payload["rowCount"] == 27
            for row in metrics(payload):
                assert all(float(value) >= 0 for value in row)


def test_order_by_metric_descending(fake: FakeGoogle) -> None:
    body = {
        "dimensions": [{"name": "date"}, {"name": "country"}],
        "metrics": [{"name": "sessions"}, {"name": "bounceRate"}],
        "dateRanges": [{"startDate": "2daysAgo", "endDate": "today"}],
        "orderBys": [{"metric": {"metricName": "sessions"}, "desc": True}],
    }
    payload = run(fake, body)
    sessions = [int(row[0]) for row in metrics(payload)]
    assert sessions == sorted(sessions, reverse=True)
    assert len(sessions) == payload["rowCount"] == 9

    page = run(fake, {**body, "offset": 3, "limit": 3})
    assert metrics(page) == metrics(payload)[3:6]


def test_order_by_dimension_then_metric(fake: FakeGoogle) -> None:
    body = {
        "dimensions": [{"name": "date"}, {"name": "country"}],
        "metrics": [{"name": "sessions"}],
        "dateRanges": [{"startDate": "2daysAgo", "endDate": "today"}],
        "orderBys": [
            {"dimension": {"dimensionName": "date"}, "desc": True},
            {"metric": {"metricName": "sessions"}},
        ],
    }
    payload = run(fake, body)
    keys = [(d[0], int(m[0])) for d, m in zip(dims(payload), metrics(payload), strict=True)]
    assert keys == sorted(keys, key=lambda k: (-int(k[0]), k[1]))


def test_case_insensitive_and_numeric_order_types(fake: FakeGoogle) -> None:
    fake.add_property("9", cardinality=12)
    body = {
        "dimensions": [{"name": "pagePath"}],
        "metrics": [{"name": "sessions"}],
        "dateRanges": [{"startDate": "today", "endDate": "today"}],
        "orderBys": [{"dimension": {"dimensionName": "pagePath", "orderType": "NUMERIC"}}],
    }
    alphanumeric = [d[0] for d in dims(run(fake, {**body, "orderBys": []}))]
    assert alphanumeric[:3] == ["/p/0", "/p/1", "/p/10"]
    order = {"dimensionName": "pagePath", "orderType": "CASE_INSENSITIVE_ALPHANUMERIC"}
    insensitive = [d[0] for d in dims(run(fake, {**body, "orderBys": [{"dimension": order}]}))]
    assert insensitive == alphanumeric


def test_multiple_date_ranges_add_a_date_range_dimension(fake: FakeGoogle) -> None:
    body = {
        "dimensions": [{"name": "deviceCategory"}],
        "metrics": [{"name": "sessions"}],
        "dateRanges": [
            {"startDate": "7daysAgo", "endDate": "yesterday", "name": "last_week"},
            {"startDate": "14daysAgo", "endDate": "8daysAgo"},
        ],
    }
    payload = run(fake, body)
    assert [h["name"] for h in payload["dimensionHeaders"]] == ["deviceCategory", "dateRange"]
    assert payload["rowCount"] == 6
    assert [d[1] for d in dims(payload)] == ["last_week"] * 3 + ["date_range_1"] * 3
    assert metrics(payload)[:3] != metrics(payload)[3:]


def test_report_without_dimensions_has_one_row_per_range(fake: FakeGoogle) -> None:
    body = {
        "metrics": [{"name": "activeUsers"}],
        "dateRanges": [{"startDate": "7daysAgo", "endDate": "today"}],
    }
    payload = run(fake, body)
    assert "dimensionHeaders" not in payload
    assert payload["rowCount"] == 1
    assert list(payload["rows"][0]) == ["metricValues"]


def test_other_row_is_the_last_row_of_the_last_page(fake: FakeGoogle) -> None:
    fake.add_property("9", cardinality=3, other_row=True)
    body = {
        "dimensions": [{"name": "date"}, {"name": "city"}],
        "metrics": [{"name": "sessions"}],
        "dateRanges": [{"startDate": "1daysAgo", "endDate": "today"}],
        "limit": 4,
    }
    first, last = run(fake, body), run(fake, {**body, "offset": 4})
    assert first["rowCount"] == last["rowCount"] == 7
    assert "(other)" not in str(dims(first))
    assert dims(last)[-1] == ["20261121", "(other)"]
    assert last["metadata"]["dataLossFromOtherRow"] is True


def test_override_values_are_json_escaped(fake: FakeGoogle) -> None:
    fake.override_metric(
        "9", date=TODAY, dimensions={"city": "London"}, metric="sessions", value='4"2%'
    )
    body = {
        "dimensions": [{"name": "city"}, {"name": "date"}],
        "metrics": [{"name": "newUsers"}, {"name": "sessions"}],
        "dateRanges": [{"startDate": "today", "endDate": "today"}],
    }
    rows = dict(zip((d[0] for d in dims(run(fake, body))), metrics(run(fake, body)), strict=True))
    assert rows["London"][1] == '4"2%'
    assert rows["New York"][1] != '4"2%'


def test_override_validation(fake: FakeGoogle) -> None:
    with pytest.raises(ValueError, match="metric"):
        fake.override_metric("9", date=TODAY, dimensions={}, metric="visits", value="1")
    with pytest.raises(ValueError, match="dimension"):
        fake.override_metric(
            "9", date=TODAY, dimensions={"date": "x"}, metric="sessions", value="1"
        )
    with pytest.raises(ValueError):
        fake.fail_next("9", status=418)
    with pytest.raises(ValueError):
        fake.fail_next("9", status=429, quota="weekly")


def test_token_cost() -> None:
    assert [token_cost(n) for n in (0, 9_999, 10_000, 100_000)] == [1, 1, 2, 11]


def test_a_100k_row_page_is_served_whole() -> None:
    fake = FakeGoogle()
    fake.add_property("9", cardinality=33_860)
    body = {
        "dimensions": [{"name": "date"}, {"name": "pagePath"}],
        "metrics": [{"name": m} for m in ("sessions", "activeUsers", "engagementRate")],
        "dateRanges": [{"startDate": "2026-11-19", "endDate": "2026-11-21"}],
        "limit": 100_000,
        "offset": 1_000,
    }
    payload = run(fake, body)
    assert payload["rowCount"] == 101_580
    assert len(payload["rows"]) == 100_000
    assert payload["rows"][0]["dimensionValues"][0]["value"] == "20261119"
    assert payload["rows"][-1]["dimensionValues"][0]["value"] == "20261121"


def test_command_line_serves_in_the_foreground() -> None:
    command = [sys.executable, "-m", "ga4sync.fake_google", "--port", "0", "--refresh-token", "x"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            form = {"grant_type": "refresh_token", "refresh_token": "x"}
            form |= {"client_id": "c", "client_secret": "s"}
            with requests.Session() as http:
                assert http.post(base_url + "/token", data=form, timeout=10).status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_command_line_sets_quota_limits() -> None:
    command = [sys.executable, "-m", "ga4sync.fake_google", "--port", "0", "--refresh-token", "x"]
    command += ["--quota", "tokensPerDay=1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            form = {"grant_type": "refresh_token", "refresh_token": "x"}
            form |= {"client_id": "c", "client_secret": "s"}
            body = {"dimensions": [{"name": "date"}], "metrics": [{"name": "sessions"}]}
            body["dateRanges"] = [{"startDate": "yesterday", "endDate": "today"}]
            with requests.Session() as http:
                token = http.post(base_url + "/token", data=form, timeout=10).json()
                headers = {"Authorization": f"Bearer {token['access_token']}"}
                url = base_url + "/v1beta/properties/9:runReport"
                statuses = [
                    http.post(url, json=body, headers=headers, timeout=10).status_code
                    for _ in range(2)
                ]
            assert statuses == [200, 429]  # the first answer spent the day's one token
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_command_line_refuses_an_unknown_quota() -> None:
    command = [sys.executable, "-m", "ga4sync.fake_google", "--quota", "tokensPerWeek=5"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert finished.returncode == 2
    assert "tokensPerWeek" in finished.stderr


@pytest.mark.parametrize("desc", [False, True])
def test_pages_are_slices_of_the_full_report(fake: FakeGoogle, desc: bool) -> None:
    fake.add_property("9", cardinality=40)
    body = {
        "dimensions": [{"name": "date"}, {"name": "pagePath"}, {"name": "country"}],
        "metrics": [{"name": "sessions"}, {"name": "engagementRate"}],
        "dateRanges": [{"startDate": "2daysAgo", "endDate": "today"}],
        "orderBys": [{"dimension": {"dimensionName": "country"}, "desc": desc}],
        "limit": 250_000,
    }
    full = run(fake, body)
    assert full["rowCount"] == len(full["rows"]) == 3 * 40 * 40
    for offset in (0, 1, 1599, 1600, 1601, 4000, 4799):
        page = run(fake, {**body, "offset": offset, "limit": 777})
        assert page["rows"] == full["rows"][offset : offset + 777]
    countries = [d[2] for d in dims(full)]
    assert countries == sorted(countries, reverse=desc)


def test_values_do_not_depend_on_dimension_order(fake: FakeGoogle) -> None:
    body = {
        "dimensions": [{"name": "date"}, {"name": "pagePath"}, {"name": "country"}],
        "metrics": [{"name": "sessions"}, {"name": "totalRevenue"}],
        "dateRanges": [{"startDate": "2daysAgo", "endDate": "today"}],
    }
    straight = run(fake, body)
    swapped = run(fake, {**body, "dimensions": body["dimensions"][::-1]})
    by_key = {tuple(d): m for d, m in zip(dims(straight), metrics(straight), strict=True)}
    for d, m in zip(dims(swapped), metrics(swapped), strict=True):
        assert by_key[tuple(d[::-1])] == m


PAGES_BODY: dict[str, Any] = {
    "dimensions": [{"name": "date"}, {"name": "pagePath"}, {"name": "country"}],
    "metrics": [{"name": "sessions"}, {"name": "engagementRate"}],
    "dateRanges": [{"startDate": "2daysAgo", "endDate": "today"}],
    "limit": 250_000,
}
# Sorted by date, pagePath, country: the first row, two neighbours and the last row.
HIDDEN = [
    ("20261119", {"pagePath": "/p/0", "country": "Germany"}),
    ("20261120", {"pagePath": "/p/1", "country": "India"}),
    ("20261120", {"pagePath": "/p/1", "country": "United Kingdom"}),
    ("20261121", {"pagePath": "/p/3", "country": "United States"}),
]


def hide_all(fake: FakeGoogle) -> set[tuple[str, ...]]:
    for day, dimensions in HIDDEN:
        fake.hide_row("9", date=day, dimensions=dimensions)
    return {(day, d["pagePath"], d["country"]) for day, d in HIDDEN}


@pytest.mark.parametrize(
    "order_bys",
    [
        [],
        [{"dimension": {"dimensionName": "country"}, "desc": True}],
        [{"metric": {"metricName": "sessions"}, "desc": True}],
    ],
)
def test_hidden_rows_are_left_out_of_every_page(
    fake: FakeGoogle, order_bys: list[dict[str, Any]]
) -> None:
    fake.add_property("9", cardinality=4)
    body = {**PAGES_BODY, "orderBys": order_bys}
    full = run(fake, body)
    gone = hide_all(fake)
    assert gone <= {tuple(d) for d in dims(full)}

    served = run(fake, body)
    assert served["rowCount"] == full["rowCount"] - 4 == len(served["rows"])
    kept = [row for row, d in zip(full["rows"], dims(full), strict=True) if tuple(d) not in gone]
    assert served["rows"] == kept
    for limit in (1, 3, 7):
        paged: list[Any] = []
        for offset in range(0, served["rowCount"], limit):
            page = run(fake, {**body, "offset": offset, "limit": limit})
            assert page["rowCount"] == served["rowCount"]
            paged.extend(page["rows"])
        assert paged == kept


def test_a_hidden_row_affects_only_reports_of_exactly_its_dimensions(fake: FakeGoogle) -> None:
    fake.add_property("9", cardinality=4, other_row=True)
    narrower = {**PAGES_BODY, "dimensions": PAGES_BODY["dimensions"][:2]}
    wider = {**PAGES_BODY, "dimensions": [*PAGES_BODY["dimensions"], {"name": "city"}]}
    two_ranges = {
        **PAGES_BODY,
        "dateRanges": [
            {"startDate": "2026-11-19", "endDate": "2026-11-20", "name": "a"},
            {"startDate": "2026-11-20", "endDate": "2026-11-21", "name": "b"},
        ],
    }
    before = {name: run(fake, body) for name, body in [("n", narrower), ("w", wider)]}
    both = run(fake, two_ranges)
    hide_all(fake)

    assert run(fake, narrower) == before["n"]
    assert run(fake, wider) == before["w"]
    # In each date range that holds its date; the "(other)" row stays last.
    after = run(fake, two_ranges)
    gone = [d for d in dims(both) if d not in dims(after)]
    assert sorted(gone) == sorted(
        [
            ["20261119", "/p/0", "Germany", "a"],
            ["20261120", "/p/1", "India", "a"],
            ["20261120", "/p/1", "United Kingdom", "a"],
            ["20261120", "/p/1", "India", "b"],
            ["20261120", "/p/1", "United Kingdom", "b"],
            ["20261121", "/p/3", "United States", "b"],
        ]
    )
    assert after["rowCount"] == both["rowCount"] - 6
    assert dims(after)[-1][1:3] == ["(other)", "(other)"]


def test_show_row_brings_a_hidden_row_back_unchanged(fake: FakeGoogle) -> None:
    fake.add_property("9", cardinality=4)
    full = run(fake, PAGES_BODY)
    hide_all(fake)
    fake.hide_row("9", date="2026-11-21", dimensions={"pagePath": "/p/9", "country": "Nowhere"})
    assert run(fake, PAGES_BODY)["rowCount"] == full["rowCount"] - 4  # no such row: no change
    for day, dimensions in HIDDEN:  # hidden as YYYYMMDD, shown as YYYY-MM-DD
        fake.show_row("9", date=f"{day[:4]}-{day[4:6]}-{day[6:]}", dimensions=dimensions)
    assert run(fake, PAGES_BODY) == full
    with pytest.raises(ValueError, match="dimension"):
        fake.hide_row("9", date=TODAY, dimensions={"date": "20261121"})


def test_no_rows_exist_before_the_first_date(fake: FakeGoogle) -> None:
    full = run(fake, PAGES_BODY)
    fake.set_first_date("9", "2026-11-20")
    later = run(fake, PAGES_BODY)
    assert dims(later) == [d for d in dims(full) if d[0] >= "20261120"]
    assert later["rowCount"] == 2 * 9
    # The values of the days that exist do not move.
    assert later["rows"] == [
        r for r, d in zip(full["rows"], dims(full), strict=True) if d[0] >= "20261120"
    ]

    fake.set_first_date("9", "2026-11-22")
    empty = run(fake, PAGES_BODY)
    assert "rows" not in empty and "rowCount" not in empty
    no_dates = run(fake, {**PAGES_BODY, "dimensions": [{"name": "pagePath"}]})
    assert "rows" not in no_dates and "rowCount" not in no_dates
    fake.add_property("9", cardinality=3, first_date=date(2026, 11, 21))
    assert {d[0] for d in dims(run(fake, PAGES_BODY))} == {"20261121"}


def test_a_short_answer_keeps_row_count_and_leaves_out_the_last_rows(fake: FakeGoogle) -> None:
    full = run(fake, PAGES_BODY)
    fake.answer_short("9", missing=2)
    short = run(fake, PAGES_BODY)
    assert short["rowCount"] == full["rowCount"] == 27
    assert short["rows"] == full["rows"][:25]
    last = run(fake, {**PAGES_BODY, "offset": 20, "limit": 10})
    assert (last["rowCount"], last["rows"]) == (27, full["rows"][20:25])
    beyond = run(fake, {**PAGES_BODY, "offset": 25, "limit": 10})
    assert beyond["rowCount"] == 27 and "rows" not in beyond
    fake.add_property("9", cardinality=3)  # kept when the property is configured again
    assert len(run(fake, PAGES_BODY)["rows"]) == 25
    fake.answer_short("9", missing=0)
    assert run(fake, PAGES_BODY) == full
