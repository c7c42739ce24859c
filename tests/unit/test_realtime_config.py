"""[[realtime]] definitions from TOML: what loads, GA4's realtime field list, and
errors that name the file, the realtime report and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ga4sync.errors import ConfigError
from ga4sync.ga4.realtime import build_realtime_request
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.reports.config import load_definitions
from ga4sync.reports.realtime import MinuteRange, RealtimeSpec
from ga4sync.settings import Settings

GOOD = """
[[report]]
name = "daily_totals"
metrics = ["activeUsers"]

[[realtime]]
name = "active_users"
metrics = ["activeUsers"]

[[realtime]]
name = "by_device"
dimensions = ["deviceCategory", "minutesAgo", "customUser:plan"]
metrics = ["activeUsers", "eventCount", "keyEvents"]
every_minutes = 5
history_minutes = 30
minute_ranges = [
    { name = "now", startMinutesAgo = 4, endMinutesAgo = 0 },
    { startMinutesAgo = 29, endMinutesAgo = 5 },
]
properties = ["123", 456]
"""
# a valid realtime report "r", for the errors that follow it
R = '[[realtime]]\nname = "r"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reports.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_realtime_definitions_load_beside_the_reports(tmp_path):
    loaded = load_definitions(write(tmp_path, GOOD))
    assert [spec.name for spec in loaded.reports] == ["daily_totals"]
    now, by_device = loaded.realtime
    assert now == RealtimeSpec("active_users", (), ("activeUsers",))
    assert (now.every_minutes, now.history_minutes, now.minute_ranges) == (1, 0, ())
    assert now.relation == "ga4_realtime_active_users"
    assert by_device.every_minutes == 5 and by_device.history_minutes == 30
    assert by_device.minute_ranges == (MinuteRange(4, 0, "now"), MinuteRange(29, 5, None))
    assert by_device.properties == frozenset({"123", "456"})
    # two minute ranges: GA4 says which one a row counts (dateRange), kept as minute_range
    assert [(c.name, c.sql_type) for c in by_device.columns] == [
        ("minute_range", "text"),
        ("device_category", "text"),
        ("minutes_ago", "text"),
        ("custom_user_plan", "text"),
        ("active_users", "bigint"),
        ("event_count", "bigint"),
        ("key_events", "double precision"),
    ]
    # the table's name can never be a report definition's (those end in their digest)
    assert by_device.key.startswith("realtime_by_device_")


def test_a_file_of_realtime_definitions_only_keeps_the_built_in_reports(tmp_path):
    loaded = load_definitions(write(tmp_path, R + 'metrics = ["activeUsers"]\n'))
    assert loaded.reports == BUILTIN_REPORTS
    assert [spec.name for spec in loaded.realtime] == ["r"]
    settings = Settings.from_env({"GA4SYNC_REPORTS": str(tmp_path / "reports.toml")})
    assert settings.reports == BUILTIN_REPORTS and settings.realtime == loaded.realtime


def test_what_the_polls_ask_ga4():
    spec = RealtimeSpec(
        "r",
        ("country",),
        ("activeUsers",),
        minute_ranges=(MinuteRange(0, 0, "this_minute"), MinuteRange(29, 1)),
    )
    assert build_realtime_request(spec) == {
        "dimensions": [{"name": "country"}],
        "metrics": [{"name": "activeUsers"}],
        "limit": "250000",
        "returnPropertyQuota": True,
        # 0 is proto3's default, yet a start of 0 must be said (GA4 reads none as 29)
        "minuteRanges": [
            {"startMinutesAgo": 0, "endMinutesAgo": 0, "name": "this_minute"},
            {"startMinutesAgo": 29, "endMinutesAgo": 1},
        ],
    }


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        (R + 'metrics = ["sessions"]', "metrics", "'sessions' is a core report metric GA4's"),
        (R + 'metrics = ["activeUser"]', "metrics", "did you mean 'activeUsers'?"),
        (R + 'metrics = ["country"]', "metrics", "is a realtime dimension, not a metric"),
        (R + "metrics = []", "metrics", "GA4 allows 1 to 10 metrics"),
        (R + 'dimensions = ["country"]', "metrics", "required"),
        (
            R + 'dimensions = ["pagePath"]\nmetrics = ["activeUsers"]',
            "dimensions",
            "'pagePath' is a core report dimension GA4's Realtime method does not have",
        ),
        (
            R + 'dimensions = ["date"]\nmetrics = ["activeUsers"]',
            "dimensions",
            "realtime dimensions: appVersion",
        ),
        (
            R + 'dimensions = ["customEvent:plan"]\nmetrics = ["activeUsers"]',
            "dimensions",
            "and customUser:NAME",
        ),
        (
            R + 'dimensions = ["activeUsers"]\nmetrics = ["eventCount"]',
            "dimensions",
            "is a realtime metric, not a dimension",
        ),
        (
            R + 'dimensions = ["country", "country"]\nmetrics = ["activeUsers"]',
            "dimensions",
            "listed twice",
        ),
        (R + 'metrics = ["activeUsers"]\nevery_minutes = 0', "every_minutes", "1 to 1440"),
        (R + 'metrics = ["activeUsers"]\nevery_minutes = 1.5', "every_minutes", "whole number"),
        (R + 'metrics = ["activeUsers"]\nhistory_minutes = -1', "history_minutes", "0 to 10080"),
        (
            R + 'metrics = ["activeUsers"]\nminute_ranges = [{startMinutesAgo = 60}]',
            "minute_ranges[0].startMinutesAgo",
            "0 to 29 (Analytics 360 properties: 59)",
        ),
        (
            R + 'metrics = ["activeUsers"]\nminute_ranges = [{startMinutesAgo = 3, '
            "endMinutesAgo = 5}]",
            "minute_ranges[0]",
            "start >= end",
        ),
        (
            R + 'metrics = ["activeUsers"]\nminute_ranges = [{}, {}, {}]',
            "minute_ranges",
            "at most 2 minute ranges",
        ),
        (
            R + 'metrics = ["activeUsers"]\nminute_ranges = [{name = "date_range_x"}]',
            "minute_ranges[0].name",
            "date_range_ or RESERVED_",
        ),
        (
            R + 'metrics = ["activeUsers"]\nminute_ranges = [{start = 4}]',
            "minute_ranges[0].start",
            "unknown key",
        ),
        (R + 'metrics = ["activeUsers"]\nproperties = ["12x"]', "properties", "not a GA4 property"),
        (R + 'metrics = ["activeUsers"]\nevery = 1', "every", "unknown key"),
    ],
)
def test_each_error_names_the_file_the_realtime_report_and_the_field(tmp_path, text, field, says):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_definitions(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: realtime 'r': {field}: "), message
    assert says in message


def test_names_are_unique_and_never_a_report_s_relation(tmp_path):
    two = R + 'metrics = ["activeUsers"]\n'
    with pytest.raises(ConfigError, match="realtime 'r': name: also the name of realtime #1"):
        load_definitions(write(tmp_path, two * 2))
    clash = '[[report]]\nname = "realtime_r"\nmetrics = ["sessions"]\n' + two
    with pytest.raises(ConfigError, match="its relation ga4_realtime_r is also report"):
        load_definitions(write(tmp_path, clash))
    with pytest.raises(ConfigError, match="realtime 'Bad': name: a name is snake_case"):
        load_definitions(write(tmp_path, '[[realtime]]\nname = "Bad"\nmetrics = ["activeUsers"]'))


def test_how_often_and_how_long_do_not_change_the_table():
    spec = RealtimeSpec("r", ("country",), ("activeUsers",))
    assert RealtimeSpec("r", ("country",), ("activeUsers",), every_minutes=5).key == spec.key
    assert RealtimeSpec("r", ("country",), ("activeUsers",), history_minutes=9).key == spec.key
    assert RealtimeSpec("r", ("city",), ("activeUsers",)).key != spec.key
    ranged = RealtimeSpec("r", ("country",), ("activeUsers",), minute_ranges=(MinuteRange(4, 0),))
    assert ranged.key != spec.key


def test_the_realtime_quota_reserve_is_a_share(tmp_path):
    assert Settings.from_env({}).ga4_realtime_quota_reserve == 0.1
    assert Settings.from_env({"GA4_REALTIME_QUOTA_RESERVE": "0"}).ga4_realtime_quota_reserve == 0
    with pytest.raises(ConfigError, match="GA4_REALTIME_QUOTA_RESERVE must be between"):
        Settings.from_env({"GA4_REALTIME_QUOTA_RESERVE": "1"})
