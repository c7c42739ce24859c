"""Column names and SQL types of a report's typed relation."""

from __future__ import annotations

import pytest

from ga4sync.reports import ReportSpec
from ga4sync.reports.columns import report_columns, snake_case


@pytest.mark.parametrize(
    ("api_name", "column"),
    [
        ("sessionSource", "session_source"),
        ("customEvent:plan_type", "custom_event_plan_type"),
        ("customUser:Plan Tier", "custom_user_plan_tier"),
        ("pagePathPlusQueryString", "page_path_plus_query_string"),
        ("active28DayUsers", "active28_day_users"),
        ("customEvent:2fa", "custom_event_2fa"),
        ("customEvent:__x__", "custom_event_x"),
    ],
)
def test_snake_case_of_ga4_names(api_name, column):
    assert snake_case(api_name) == column


def test_collisions_take_numbers_in_definition_order_dimensions_first():
    columns = report_columns(
        ["customEvent:plan_type", "customEvent:planType", "customEvent:date"],
        ["customEvent:plan_type", "sessions"],
    )
    assert [c.name for c in columns] == [
        "custom_event_plan_type",
        "custom_event_plan_type_2",
        "custom_event_date",
        "custom_event_plan_type_3",
        "sessions",
    ]


def test_the_relations_own_columns_are_never_a_fields():
    columns = report_columns(["customEvent:synced_at"], ["customEvent:property_id"])
    names = [c.name for c in columns]
    assert names == ["custom_event_synced_at", "custom_event_property_id"]
    # a field whose snake case is one of them is numbered
    assert [c.name for c in report_columns([], ["date"])] == ["date_2"]


def test_long_names_fit_postgres_identifiers():
    long = "customEvent:" + "x" * 80
    first, second = report_columns([long, long + "y"], ["sessions"])[:2]
    assert len(first.name.encode()) <= 63 and len(second.name.encode()) <= 63
    assert first.name != second.name


def test_metric_types_follow_ga4s_metadata():
    spec = ReportSpec(
        "types",
        ("date",),
        ("sessions", "bounceRate", "userEngagementDuration", "totalRevenue", "customEvent:x"),
    )
    types = {c.field: c.sql_type for c in spec.columns}
    assert types == {
        "sessions": "bigint",
        "bounceRate": "double precision",
        "userEngagementDuration": "double precision",
        "totalRevenue": "numeric",
        "customEvent:x": "numeric",
    }
