"""Report definitions from TOML: what loads, and errors that name file, report and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ga4sync.errors import ConfigError
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.reports.config import load_reports
from ga4sync.settings import Settings

GOOD = """
[[report]]
name = "signups_by_plan"
grain = "week"
dimensions = ["customEvent:plan_type"]
metrics = ["activeUsers", "eventCount"]
properties = ["123", 456]
[report.dimension_filter]
filter = { fieldName = "eventName", stringFilter = { value = "sign_up", matchType = "EXACT" } }

[[report]]
name = "landing"
dimensions = ["date", "pagePath", "deviceCategory"]
metrics = ["sessions"]
keep_empty_rows = true
[report.metric_filter.filter]
fieldName = "sessions"
numericFilter = { operation = "GREATER_THAN", value = { int64Value = "10" } }
"""
# a valid report "a", for the errors that follow it
A = '[[report]]\nname = "a"\nmetrics = ["sessions"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reports.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_definitions_file_loads_with_the_grain_dimension_first(tmp_path):
    weekly, landing = load_reports(write(tmp_path, GOOD))
    assert weekly.name == "signups_by_plan" and weekly.grain == "week"
    assert weekly.dimensions == ("isoYearIsoWeek", "customEvent:plan_type")
    assert weekly.properties == frozenset({"123", "456"})
    assert weekly.dimension_filter == {
        "filter": {
            "fieldName": "eventName",
            "stringFilter": {"value": "sign_up", "matchType": "EXACT"},
        }
    }
    assert [c.name for c in weekly.columns] == [
        "custom_event_plan_type",
        "active_users",
        "event_count",
    ]
    assert landing.dimensions == ("date", "pagePath", "deviceCategory")  # date listed: kept once
    assert landing.keep_empty_rows and landing.metric_filter is not None
    assert weekly.applies_to("123") and not weekly.applies_to("999")


def test_settings_read_the_file_named_by_ga4sync_reports(tmp_path):
    path = write(tmp_path, GOOD)
    settings = Settings.from_env({"GA4SYNC_REPORTS": str(path)})
    assert [s.name for s in settings.reports] == ["signups_by_plan", "landing"]
    assert Settings.from_env({}).reports == BUILTIN_REPORTS


def test_the_digest_follows_what_the_rows_mean(tmp_path):
    one = load_reports(write(tmp_path, GOOD))[0]
    again = load_reports(write(tmp_path, GOOD.replace('"123", 456', '"123"')))[0]
    assert one.key == again.key  # the properties a report applies to do not change its rows
    other = load_reports(write(tmp_path, GOOD.replace('"sign_up"', '"purchase"')))[0]
    assert other.key != one.key


def test_a_report_s_own_lookback_and_history_are_sync_settings_not_its_identity(tmp_path):
    plain = load_reports(write(tmp_path, A))[0]
    own = load_reports(write(tmp_path, A + "lookback_days = 7\nbackfill_days = 30\n"))[0]
    assert (plain.lookback_days, plain.backfill_days) == (None, None)
    assert (own.lookback_days, own.backfill_days) == (7, 30)
    # the same rows, so the same definition and table: changing them makes none new
    assert own.key == plain.key and own.relation == plain.relation
    assert "lookback_days" not in own.definition()


@pytest.mark.parametrize(
    ("line", "field", "says"),
    [
        ("lookback_days = -1", "lookback_days", "from 0 to 365 (leave it out for SYNC_LOOKBACK"),
        ("lookback_days = 366", "lookback_days", "got 366"),
        ('lookback_days = "7"', "lookback_days", "got '7'"),
        ("lookback_days = true", "lookback_days", "got True"),
        ("lookback_days = 7.5", "lookback_days", "whole number of days"),
        ("backfill_days = 5001", "backfill_days", "from 0 to 5000 (leave it out for SYNC_BACKFILL"),
    ],
)
def test_a_report_s_own_days_are_checked(tmp_path, line, field, says):
    path = write(tmp_path, A + line + "\n")
    with pytest.raises(ConfigError) as raised:
        load_reports(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: report 'a': {field}: "), message
    assert says in message


@pytest.mark.parametrize(
    ("text", "report", "field", "says"),
    [
        (
            '[[report]]\nname = "a"\nmetrics = ["sessions"]\ncolour = 1',
            "'a'",
            "colour",
            "unknown key",
        ),
        (
            '[[report]]\nname = "Bad-Name"\nmetrics = ["sessions"]',
            "'Bad-Name'",
            "name",
            "snake_case",
        ),
        (
            '[[report]]\nname = "properties"\nmetrics = ["sessions"]',
            "'properties'",
            "name",
            "own tables",
        ),
        ('[[report]]\nmetrics = ["sessions"]', "#1", "name", "required"),
        ('[[report]]\nname = "a"', "'a'", "metrics", "required"),
        (
            '[[report]]\nname = "a"\nmetrics = ["sesions"]',
            "'a'",
            "metrics",
            "did you mean 'sessions'",
        ),
        (
            '[[report]]\nname = "a"\ndimensions = ["sessions"]\nmetrics = ["sessions"]',
            "'a'",
            "dimensions",
            "is a metric",
        ),
        (
            '[[report]]\nname = "a"\ndimensions = ["pagePathh"]\nmetrics = ["sessions"]',
            "'a'",
            "dimensions",
            "not a GA4 dimension",
        ),
        (
            '[[report]]\nname = "a"\ngrain = "year"\nmetrics = ["sessions"]',
            "'a'",
            "grain",
            "one of day, week, month",
        ),
        (
            '[[report]]\nname = "a"\ngrain = "week"\ndimensions = ["date"]\nmetrics = ["sessions"]',
            "'a'",
            "dimensions",
            "grain's period",
        ),
        (
            '[[report]]\nname = "a"\nmetrics = ["sessions", "sessions"]',
            "'a'",
            "metrics",
            "listed twice",
        ),
        (
            '[[report]]\nname = "a"\nmetrics = ["sessions"]\nproperties = ["12x"]',
            "'a'",
            "properties",
            "not a GA4 property id",
        ),
        (
            '[[report]]\nname = "a"\nmetrics = ["sessions"]\nkeep_empty_rows = "yes"',
            "'a'",
            "keep_empty_rows",
            "true or false",
        ),
        (
            '[[report]]\nname = "a"\nmetrics = ["sessions"]\n[report.dimension_filter]\nfiltr = {}',
            "'a'",
            "dimension_filter",
            'no field named "filtr"',
        ),
        (
            A + '[report.dimension_filter.filter]\nfieldName = "country"',
            "'a'",
            "dimension_filter.filter",
            "needs one of stringFilter",
        ),
        (
            A
            + '[report.dimension_filter.filter]\nfieldName = "country"\n'
            + 'stringFilter = { matchType = "X" }',
            "'a'",
            "dimension_filter",
            "Invalid enum value X",
        ),
        (
            A + '[report.metric_filter.filter]\nfieldName = "country"\nemptyFilter = {}',
            "'a'",
            "metric_filter.filter.fieldName",
            "is a dimension",
        ),
    ],
)
def test_each_error_names_the_file_the_report_and_the_field(tmp_path, text, report, field, says):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_reports(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: report {report}: {field}: "), message
    assert says in message


def test_more_than_ga4_allows_in_one_request(tmp_path):
    dims = ", ".join(f'"customEvent:d{n}"' for n in range(9))
    path = write(
        tmp_path, f'[[report]]\nname = "wide"\ndimensions = [{dims}]\nmetrics = ["sessions"]'
    )
    with pytest.raises(ConfigError, match="report 'wide': dimensions: GA4 allows 9 dimensions"):
        load_reports(path)
    metrics = ", ".join(f'"customEvent:m{n}"' for n in range(11))
    path = write(tmp_path, f'[[report]]\nname = "many"\nmetrics = [{metrics}]')
    with pytest.raises(ConfigError, match="report 'many': metrics: GA4 allows 1 to 10 metrics"):
        load_reports(path)


def test_file_level_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_reports(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_reports(write(tmp_path, "[[report]\nname ="))
    with pytest.raises(ConfigError, match="no \\[\\[report\\]\\] tables"):
        load_reports(write(tmp_path, ""))
    with pytest.raises(ConfigError, match="unknown key 'reports'"):
        load_reports(write(tmp_path, "[[reports]]\nname = 'a'"))
    two = '[[report]]\nname = "a"\nmetrics = ["sessions"]\n' * 2
    with pytest.raises(ConfigError, match="report 'a': name: also the name of report #1"):
        load_reports(write(tmp_path, two))
