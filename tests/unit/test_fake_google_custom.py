"""Custom report definitions against the fake Google, without HTTP: any standard field,
custom fields, filters, weeks and months, users who come back."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Any

import pytest

from ga4sync.fake_google import FakeGoogle
from ga4sync.fake_google.aggregate import AggregateReport, build_report
from ga4sync.fake_google.report import ReportBuilder
from ga4sync.fake_google.request import InvalidArgument, parse_report_request
from ga4sync.fake_google.response import render_response
from ga4sync.ga4 import fields

TODAY = date(2026, 11, 30)  # a Monday
TWO_WEEKS = [{"startDate": "2026-11-16", "endDate": "2026-11-29"}]  # Monday .. Sunday


def run(fake: FakeGoogle, body: dict[str, Any], property_id: str = "9") -> dict[str, Any]:
    config = fake.property(property_id)
    request = parse_report_request(body, fake.today(property_id), config.schema)
    builder = build_report(request, property_id, config, fake.seed, body, fake.today(property_id))
    payload: dict[str, Any] = json.loads(render_response(builder, builder.page(), None, False))
    return payload


def report(dimensions: list[str], metrics: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "dimensions": [{"name": d} for d in dimensions],
        "metrics": [{"name": m} for m in metrics],
        "dateRanges": TWO_WEEKS,
        "limit": 250_000,
        **extra,
    }


def rows(payload: dict[str, Any]) -> dict[tuple[str, ...], list[str]]:
    return {
        tuple(v["value"] for v in row.get("dimensionValues", [])): [
            v["value"] for v in row.get("metricValues", [])
        ]
        for row in payload.get("rows", [])
    }


def numeric(field: str, operation: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "filter": {"fieldName": field, "numericFilter": {"operation": operation, "value": value}}
    }


def iso_week(yyyymmdd: str) -> str:
    year, week, _ = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])).isocalendar()
    return f"{year}{week:02d}"


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=1)
    fake.add_property(
        "9",
        cardinality=4,
        custom_dimensions={
            "customEvent:plan_type": ["free", "pro", "team"],
            "customUser:tier": None,
            "customItem:colour": ["red", "blue"],
        },
        custom_metrics={
            "customEvent:credits": "TYPE_INTEGER",
            "customEvent:spend": "TYPE_CURRENCY",
        },
    )
    fake.set_today(TODAY)
    return fake


def test_a_week_has_fewer_users_than_its_days_added_up_and_the_sum_of_their_sessions(
    fake: FakeGoogle,
) -> None:
    metrics = ["activeUsers", "totalUsers", "sessions", "eventCount", "screenPageViews"]
    days = rows(run(fake, report(["date", "country"], metrics)))
    weeks = rows(run(fake, report(["isoYearIsoWeek", "country"], metrics)))

    added: dict[tuple[str, str], list[list[int]]] = defaultdict(list)
    for (day, country), values in days.items():
        added[(iso_week(day), country)].append([int(v) for v in values])
    assert set(weeks) == set(added) and len(weeks) == 2 * 4
    for key, week in weeks.items():
        daily = added[key]
        assert len(daily) == 7
        for m in (0, 1):  # users: at least the busiest day's, fewer than all days' together
            assert max(d[m] for d in daily) <= int(week[m]) < sum(d[m] for d in daily)
        for m in (2, 3, 4):  # sessions, events and views add up
            assert int(week[m]) == sum(d[m] for d in daily)


def test_a_month_adds_its_days_up(fake: FakeGoogle) -> None:
    span = [{"startDate": "2026-10-01", "endDate": "2026-11-30"}]
    metrics = ["sessions", "totalRevenue", "activeUsers", "bounceRate"]
    days = rows(run(fake, report(["date"], metrics, dateRanges=span)))
    months = rows(run(fake, report(["yearMonth"], metrics, dateRanges=span)))

    assert list(months) == [("202610",), ("202611",)]
    for (month,), (sessions, revenue, users, bounce) in months.items():
        daily = [values for (day,), values in days.items() if day.startswith(month)]
        assert int(sessions) == sum(int(d[0]) for d in daily)
        assert float(revenue) == pytest.approx(sum(float(d[1]) for d in daily))
        assert len(revenue.partition(".")[2]) <= 2
        assert max(int(d[2]) for d in daily) <= int(users) < sum(int(d[2]) for d in daily)
        assert 0 <= float(bounce) <= 1


def test_time_dimensions_have_ga4s_values(fake: FakeGoogle) -> None:
    span = [{"startDate": "2026-12-27", "endDate": "2027-01-02"}]  # Sunday .. Saturday
    fake.set_today(date(2027, 1, 5))
    names = "date isoYearIsoWeek isoYear isoWeek yearWeek year week yearMonth month day".split()
    names += ["dayOfWeek"]
    payload = run(fake, report(names[:9], ["sessions"], dateRanges=span))
    by_date = {row[0]: row[1:] for row in rows(payload)}
    assert by_date["20261227"] == (
        "202652",
        "2026",
        "52",
        "202653",
        "2026",
        "53",
        "202612",
        "12",
    )
    assert by_date["20261228"][:3] == ("202653", "2026", "53")
    assert by_date["20270101"] == (
        "202653",
        "2026",
        "53",
        "202701",
        "2027",
        "01",
        "202701",
        "01",
    )
    days = rows(
        run(fake, report(["day", "dayOfWeek", "dayOfWeekName"], ["sessions"], dateRanges=span))
    )
    assert ("27", "0", "Sunday") in days and ("02", "6", "Saturday") in days
    nth = rows(run(fake, report(["nthDay", "nthWeek"], ["sessions"], dateRanges=span)))
    assert sorted(nth) == [(f"{d:04d}", "0000") for d in range(7)]


def test_single_days_keep_the_values_of_the_date_report(fake: FakeGoogle) -> None:
    metrics = ["sessions", "activeUsers", "engagementRate", "totalRevenue"]
    days = rows(run(fake, report(["date", "deviceCategory"], metrics)))
    by_weekday = rows(
        run(
            fake,
            report(
                ["dayOfWeek", "deviceCategory"],
                metrics,
                dateRanges=[{"startDate": "2026-11-16", "endDate": "2026-11-22"}],
            ),
        )
    )
    for (day, device), values in days.items():
        if day <= "20261122":
            weekday = str((date(2026, 11, int(day[6:])).weekday() + 1) % 7)
            assert by_weekday[(weekday, device)] == values


def test_a_report_without_date_adds_its_range_up(fake: FakeGoogle) -> None:
    days = rows(run(fake, report(["date", "pagePath"], ["sessions", "activeUsers"])))
    pages = rows(run(fake, report(["pagePath"], ["sessions", "activeUsers"])))
    for (page,), (sessions, users) in pages.items():
        daily = [v for (_, p), v in days.items() if p == page]
        assert int(sessions) == sum(int(d[0]) for d in daily)
        assert int(users) < sum(int(d[1]) for d in daily)


def test_hour_and_date_hour(fake: FakeGoogle) -> None:
    today = [{"startDate": "today", "endDate": "today"}]
    hours = rows(run(fake, report(["date", "hour"], ["sessions"], dateRanges=today)))
    date_hours = rows(run(fake, report(["dateHour"], ["sessions"], dateRanges=today)))
    assert len(hours) == len(date_hours) == 24  # hour has all its values, whatever the cardinality
    assert date_hours[("2026113007",)] == hours[("20261130", "07")]
    assert sorted(date_hours) == [(f"20261130{h:02d}",) for h in range(24)]


@pytest.mark.parametrize(
    ("string_filter", "expected"),
    [
        ({"value": "united kingdom"}, ["United Kingdom"]),
        ({"value": "united kingdom", "caseSensitive": True}, []),
        ({"matchType": "BEGINS_WITH", "value": "united"}, ["United Kingdom", "United States"]),
        ({"matchType": "ENDS_WITH", "value": "IA"}, ["India"]),
        ({"matchType": "CONTAINS", "value": "AN"}, ["Germany"]),
        ({"matchType": "FULL_REGEXP", "value": "(india|germany)"}, ["Germany", "India"]),
        ({"matchType": "FULL_REGEXP", "value": "ind"}, []),
        ({"matchType": "PARTIAL_REGEXP", "value": "^U.*s$"}, ["United States"]),
        ({"matchType": 2, "value": "Ger"}, ["Germany"]),
    ],
)
def test_a_string_filter_keeps_the_matching_rows(
    fake: FakeGoogle, string_filter: dict[str, Any], expected: list[str]
) -> None:
    full = rows(run(fake, report(["date", "country"], ["sessions", "activeUsers"])))
    expression = {"filter": {"fieldName": "country", "stringFilter": string_filter}}
    payload = run(
        fake, report(["date", "country"], ["sessions", "activeUsers"], dimensionFilter=expression)
    )

    kept = rows(payload)
    assert sorted({country for _, country in kept}) == expected
    assert kept == {key: values for key, values in full.items() if key[1] in expected}
    assert payload.get("rowCount", 0) == len(kept) == 14 * len(expected)


def test_groups_lists_and_not(fake: FakeGoogle) -> None:
    def countries(expression: dict[str, Any]) -> list[str]:
        body = report(["country", "deviceCategory"], ["sessions"], dimensionFilter=expression)
        return sorted({key[0] for key in rows(run(fake, body))})

    in_list = {"filter": {"fieldName": "country", "inListFilter": {"values": ["india", "Germany"]}}}
    assert countries(in_list) == ["Germany", "India"]
    exact = {"fieldName": "country", "inListFilter": {"values": ["india"], "caseSensitive": True}}
    assert countries({"filter": exact}) == []
    assert countries({"notExpression": in_list}) == ["United Kingdom", "United States"]
    desktop = {"filter": {"fieldName": "deviceCategory", "stringFilter": {"value": "desktop"}}}
    both = {"andGroup": {"expressions": [in_list, desktop]}}
    body = report(["country", "deviceCategory"], ["sessions"], dimensionFilter=both)
    assert sorted(rows(run(fake, body))) == [("Germany", "desktop"), ("India", "desktop")]
    either = {"orGroup": {"expressions": [in_list, desktop]}}
    body = report(["country", "deviceCategory"], ["sessions"], dimensionFilter=either)
    kept = rows(run(fake, body))
    assert len(kept) == 2 * 4 + 2 * 1
    assert all(c in ("Germany", "India") or d == "desktop" for c, d in kept)


def test_a_filter_on_a_dimension_the_report_leaves_out_adds_up_the_matching_values(
    fake: FakeGoogle,
) -> None:
    by_country = rows(run(fake, report(["date", "country"], ["sessions", "activeUsers"])))
    only = {"filter": {"fieldName": "country", "inListFilter": {"values": ["India", "Germany"]}}}
    totals = rows(run(fake, report(["date"], ["sessions", "activeUsers"], dimensionFilter=only)))

    assert len(totals) == 14
    for (day,), (sessions, users) in totals.items():
        picked = [by_country[(day, c)] for c in ("India", "Germany")]
        assert int(sessions) == sum(int(p[0]) for p in picked)
        assert int(users) == sum(int(p[1]) for p in picked)  # different countries, other users


def test_a_filter_on_days(fake: FakeGoogle) -> None:
    weekend = {"filter": {"fieldName": "dayOfWeek", "inListFilter": {"values": ["0", "6"]}}}
    payload = run(fake, report(["date"], ["sessions"], dimensionFilter=weekend))
    assert sorted(rows(payload)) == [("20261121",), ("20261122",), ("20261128",), ("20261129",)]
    later = numeric("date", "GREATER_THAN_OR_EQUAL", {"int64Value": "20261128"})
    weeks = run(fake, report(["isoYearIsoWeek"], ["sessions"], dimensionFilter=later))
    assert sorted(rows(weeks)) == [("202648",)]


def test_a_metric_filter_tests_the_added_up_rows(fake: FakeGoogle) -> None:
    dims, metrics = ["isoYearIsoWeek", "city"], ["sessions", "activeUsers"]
    full = rows(run(fake, report(dims, metrics)))
    sessions = sorted(int(v[0]) for v in full.values())
    middle = sessions[len(sessions) // 2]

    greater = numeric("sessions", "GREATER_THAN", {"int64Value": str(middle)})
    payload = run(fake, report(dims, metrics, metricFilter=greater))
    kept = rows(payload)
    assert kept == {k: v for k, v in full.items() if int(v[0]) > middle}
    assert 0 < payload["rowCount"] == len(kept) < len(full)

    between = {
        "filter": {
            "fieldName": "sessions",
            "betweenFilter": {
                "fromValue": {"int64Value": sessions[1]},
                "toValue": {"doubleValue": sessions[-2]},
            },
        }
    }
    assert rows(run(fake, report(dims, metrics, metricFilter=between))) == {
        k: v for k, v in full.items() if sessions[1] <= int(v[0]) <= sessions[-2]
    }
    # A metric the report does not return can be tested too.
    users = numeric("activeUsers", "LESS_THAN", {"doubleValue": 1e9})
    assert rows(run(fake, report(dims, ["sessions"], metricFilter=users))) == {
        k: v[:1] for k, v in full.items()
    }


@pytest.mark.parametrize("dimension", ["date", "isoYearIsoWeek"])
def test_rows_with_only_zero_metrics_are_left_out_unless_asked_for(
    fake: FakeGoogle, dimension: str
) -> None:
    fake.add_property("9", cardinality=30)
    body = report([dimension, "pagePath"], ["totalRevenue"])
    everything = run(fake, {**body, "keepEmptyRows": True})
    some = run(fake, body)
    assert (
        everything["rowCount"] == len(everything["rows"]) == (14 if dimension == "date" else 2) * 30
    )
    zero = {k for k, v in rows(everything).items() if v == ["0"]}
    assert zero and rows(some) == {k: v for k, v in rows(everything).items() if k not in zero}
    assert some["rowCount"] == len(some["rows"]) == everything["rowCount"] - len(zero)
    pages = [run(fake, {**body, "limit": 7, "offset": o}) for o in range(0, some["rowCount"], 7)]
    assert [r for p in pages for r in p["rows"]] == some["rows"]
    assert {p["rowCount"] for p in pages} == {some["rowCount"]}


def test_custom_dimensions_and_metrics(fake: FakeGoogle) -> None:
    body = report(
        ["date", "customEvent:plan_type"], ["customEvent:credits", "customEvent:spend", "sessions"]
    )
    payload = run(fake, body)
    assert [h["type"] for h in payload["metricHeaders"]] == [
        "TYPE_INTEGER",
        "TYPE_CURRENCY",
        "TYPE_INTEGER",
    ]
    assert {k[1] for k in rows(payload)} == {"free", "pro", "team"}
    for credits, spend, _ in rows(payload).values():
        assert credits.isdigit() and float(spend) >= 0
    weeks = rows(
        run(fake, {**body, "dimensions": [{"name": "isoYearIsoWeek"}, body["dimensions"][1]]})
    )
    for (week, plan), values in weeks.items():
        days = [v for (d, p), v in rows(payload).items() if p == plan and iso_week(d) == week]
        assert int(values[0]) == sum(int(d[0]) for d in days)
    tiers = rows(run(fake, report(["customUser:tier"], ["activeUsers"])))
    assert sorted(tiers) == [(f"tier {i}",) for i in range(4)]


def test_unknown_and_incompatible_fields_are_refused(fake: FakeGoogle) -> None:
    with pytest.raises(InvalidArgument, match="Field customEvent:nope is not a valid dimension"):
        run(fake, report(["customEvent:nope"], ["sessions"]))
    with pytest.raises(InvalidArgument, match="Field customEvent:plan_type is not a valid metric"):
        run(fake, report(["date"], ["customEvent:plan_type"]))
    with pytest.raises(InvalidArgument, match="Field customEvent:plan_type is not a valid"):
        # another property has no such field
        run(fake, report(["date", "customEvent:plan_type"], ["sessions"]), "10")
    message = "Please remove itemName to make the request compatible"
    with pytest.raises(InvalidArgument, match=message):
        run(fake, report(["date", "itemName"], ["itemRevenue", "sessions"]))
    on_items = {"filter": {"fieldName": "itemName", "stringFilter": {"value": "Mug"}}}
    with pytest.raises(InvalidArgument, match=message):
        run(fake, report(["date"], ["sessions"], dimensionFilter=on_items))
    with pytest.raises(InvalidArgument, match="remove customItem:colour"):
        run(fake, report(["customItem:colour"], ["customEvent:credits"]))

    items = run(fake, report(["date", "itemName"], ["itemRevenue", "itemsViewed"]))
    assert items["rowCount"] > 0
    mugs = run(
        fake, report(["date"], ["itemRevenue"], dimensionFilter=on_items, keepEmptyRows=True)
    )
    assert mugs["rowCount"] == 14


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"filter": {"fieldName": "nope", "stringFilter": {"value": "x"}}}, "Field nope is not"),
        ({"filter": {"fieldName": "sessions", "stringFilter": {}}}, "sessions is not a valid dim"),
        (
            {
                "filter": {
                    "fieldName": "country",
                    "stringFilter": {"matchType": "FULL_REGEXP", "value": "("},
                }
            },
            "Invalid regular expression",
        ),
        (
            {"filter": {"fieldName": "country", "stringFilter": {"matchType": "SOUNDS_LIKE"}}},
            "match_type",
        ),
        ({"filter": {"fieldName": "country"}}, "must set one of"),
        ({"filter": {"fieldName": "country", "stringFilter": {}, "emptyFilter": {}}}, "Oneof"),
        ({"andGroup": {"expressions": []}, "orGroup": {"expressions": []}}, "Oneof"),
        (
            {"filter": {"fieldName": "country", "stringFilter": {"valu": "x"}}},
            'Unknown name "valu"',
        ),
        ({}, "must set one of"),
    ],
)
def test_malformed_dimension_filters_are_refused(
    fake: FakeGoogle, expression: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        run(fake, report(["date"], ["sessions"], dimensionFilter=expression))


def test_malformed_metric_filters_are_refused(fake: FakeGoogle) -> None:
    on_country = {"filter": {"fieldName": "country", "emptyFilter": {}}}
    with pytest.raises(InvalidArgument, match="Field country is not a valid metric"):
        run(fake, report(["date"], ["sessions"], metricFilter=on_country))
    no_operation = {
        "filter": {"fieldName": "sessions", "numericFilter": {"value": {"int64Value": 1}}}
    }
    with pytest.raises(InvalidArgument, match="needs an operation"):
        run(fake, report(["date"], ["sessions"], metricFilter=no_operation))
    bad = numeric("sessions", "EQUAL", {"int64Value": "1.5"})
    with pytest.raises(InvalidArgument, match="TYPE_INT64"):
        run(fake, report(["date"], ["sessions"], metricFilter=bad))


def test_not_set_values_and_the_empty_filter(fake: FakeGoogle) -> None:
    fake.add_custom_fields("9", dimensions={"customEvent:plan_type": ["(not set)", "", "pro"]})
    empty = {"filter": {"fieldName": "customEvent:plan_type", "emptyFilter": {}}}
    kept = rows(run(fake, report(["customEvent:plan_type"], ["sessions"], dimensionFilter=empty)))
    assert sorted(kept) == [("",), ("(not set)",)]


def test_changed_values_flow_into_the_weeks(fake: FakeGoogle) -> None:
    body = report(["isoYearIsoWeek", "country"], ["sessions"])
    before = rows(run(fake, body))
    fake.override_metric(
        "9", date="2026-11-18", dimensions={"country": "India"}, metric="sessions", value="100000"
    )
    after = rows(run(fake, body))
    days = rows(run(fake, report(["date", "country"], ["sessions"])))
    assert days[("20261118", "India")] == ["100000"]
    assert int(after[("202647", "India")][0]) == sum(
        int(v[0]) for (d, c), v in days.items() if c == "India" and iso_week(d) == "202647"
    )
    assert after[("202647", "India")] != before[("202647", "India")]
    assert after[("202648", "India")] == before[("202648", "India")]


def test_an_added_up_report_pages_like_the_whole(fake: FakeGoogle) -> None:
    body = report(
        ["isoYearIsoWeek", "pagePath", "deviceCategory"],
        ["sessions", "activeUsers"],
        orderBys=[{"metric": {"metricName": "sessions"}, "desc": True}],
    )
    full = run(fake, body)
    assert full["rowCount"] == len(full["rows"]) == 2 * 4 * 4
    sessions = [int(r["metricValues"][0]["value"]) for r in full["rows"]]
    assert sessions == sorted(sessions, reverse=True)
    pages = [run(fake, {**body, "offset": o, "limit": 5}) for o in range(0, 32, 5)]
    assert [r for p in pages for r in p["rows"]] == full["rows"]


def test_reports_take_the_lazy_path_only_for_date_and_plain_dimensions(fake: FakeGoogle) -> None:
    def builder(body: dict[str, Any]) -> object:
        config = fake.property("9")
        return build_report(parse_report_request(body, TODAY, config.schema), "9", config, 1)

    assert isinstance(
        builder(report(["date", "customEvent:plan_type"], ["sessions"])), ReportBuilder
    )
    assert isinstance(builder(report(["date", "hour"], ["sessions"])), ReportBuilder)
    assert isinstance(builder(report(["isoYearIsoWeek"], ["sessions"])), AggregateReport)
    assert isinstance(builder(report(["pagePath"], ["sessions"])), AggregateReport)
    on_date = {"filter": {"fieldName": "date", "stringFilter": {"value": "20261120"}}}
    assert isinstance(
        builder(report(["date"], ["sessions"], dimensionFilter=on_date)), AggregateReport
    )


def test_every_standard_field_is_served(fake: FakeGoogle) -> None:
    today = [{"startDate": "today", "endDate": "today"}]
    for name in sorted(fields.STANDARD_DIMENSIONS):
        metric = "itemsViewed" if fields.dimension_scope(name) == "item" else "eventCount"
        payload = run(fake, report([name], [metric], dateRanges=today, keepEmptyRows=True))
        assert [h["name"] for h in payload["dimensionHeaders"]] == [name]
        values = [key[0] for key in rows(payload)]
        assert len(values) == len(set(values)) == payload["rowCount"] > 0, name
    metrics = [m for m in sorted(fields.STANDARD_METRICS) if fields.metric_scope(m) != "item"]
    for start in range(0, len(metrics), 10):
        chunk = metrics[start : start + 10]
        payload = run(fake, report(["date", "country"], chunk, keepEmptyRows=True))
        types = [h["type"] for h in payload["metricHeaders"]]
        assert types == [fields.STANDARD_METRICS[m] for m in chunk]
        for values in rows(payload).values():
            for value, kind in zip(values, types, strict=True):
                assert value.isdigit() if kind == "TYPE_INTEGER" else float(value) >= 0


def test_custom_fields_of_every_property(fake: FakeGoogle) -> None:
    fake.add_custom_fields(None, dimensions={"customEvent:step": ["a", "b"]})
    fake.add_custom_fields("9", metrics={"customEvent:weight": "TYPE_STANDARD"})
    assert rows(run(fake, report(["customEvent:step"], ["sessions"]), "77")).keys() == {
        ("a",),
        ("b",),
    }
    fake.add_property("78")
    assert fake.property("78").custom_dimensions == {"customEvent:step": ("a", "b")}
    payload = run(fake, report(["date"], ["customEvent:weight"], keepEmptyRows=True))
    assert payload["metricHeaders"] == [{"name": "customEvent:weight", "type": "TYPE_STANDARD"}]
    with pytest.raises(ValueError, match="not a custom dimension"):
        fake.add_custom_fields("9", dimensions={"plan_type": None})
    with pytest.raises(ValueError, match="not a metric type"):
        fake.add_custom_fields("9", metrics={"customEvent:x": "TYPE_LITRES"})
    with pytest.raises(ValueError, match="not a custom metric"):
        fake.add_property("9", custom_metrics={"customUser:x": "TYPE_FLOAT"})
