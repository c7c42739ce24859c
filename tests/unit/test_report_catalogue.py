"""The catalogue of GA4's standard reports: its entries, ``use`` in a definitions file,
and ``ga4sync reports catalog``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ga4sync.cli import main
from ga4sync.errors import ConfigError
from ga4sync.ga4 import fields
from ga4sync.reports.config import load_reports
from ga4sync.reports.spec import MAX_DIMENSIONS, MAX_METRICS
from ga4sync.reports.standard import STANDARD_REPORTS

# The reports BigQuery's GA4 transfer service copies.
BIGQUERY_TRANSFER = {
    "audiences",
    "demographic_details",
    "ecommerce_purchases",
    "events",
    "landing_page",
    "pages_and_screens",
    "promotions",
    "tech_details",
    "traffic_acquisition",
    "user_acquisition",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reports.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_catalogue_has_every_report_of_bigquery_s_transfer_service():
    assert set(STANDARD_REPORTS) >= BIGQUERY_TRANSFER
    assert list(STANDARD_REPORTS) == sorted(STANDARD_REPORTS)


@pytest.mark.parametrize("name", sorted(STANDARD_REPORTS))
def test_each_entry_is_one_request_ga4_can_answer(name):
    entry = STANDARD_REPORTS[name]
    spec = entry.spec()  # the definition's own checks: names, limits, duplicates
    assert spec.name == name and spec.relation == f"ga4_{name}" and spec.grain == "day"
    assert spec.dimensions[0] == "date"
    assert len(spec.dimensions) <= MAX_DIMENSIONS and 1 <= len(spec.metrics) <= MAX_METRICS
    assert all(d in fields.STANDARD_DIMENSIONS for d in (*entry.dimensions, *entry.also_by))
    assert all(m in fields.STANDARD_METRICS for m in entry.metrics)
    assert not set(entry.also_by) & set(entry.dimensions)
    # GA4 reports item-scoped dimensions with item-scoped metrics only: an entry by
    # items has item metrics only, its other dimensions too.
    for dimension in (*entry.dimensions, *entry.also_by):
        if fields.dimension_scope(dimension) == "item":
            assert all(fields.metric_scope(m) == "item" for m in entry.metrics), dimension
    assert entry.thresholded == (name in {"audiences", "demographic_details"})


def test_use_makes_the_entry_s_definition_under_its_name(tmp_path):
    (channels,) = load_reports(write(tmp_path, '[[report]]\nuse = "traffic_acquisition"\n'))
    entry = STANDARD_REPORTS["traffic_acquisition"]
    assert channels == entry.spec()
    assert channels.relation == "ga4_traffic_acquisition"
    assert channels.key == entry.spec().key


def test_what_a_definition_sets_replaces_the_entry_s(tmp_path):
    text = """
[[report]]
use = "traffic_acquisition"
name = "weekly_sources"
grain = "week"
dimensions = ["sessionSource", "sessionMedium"]
properties = ["123"]
lookback_days = 7
backfill_days = 90
[report.dimension_filter]
filter = { fieldName = "sessionMedium", stringFilter = { value = "organic" } }

[[report]]
use = "events"
metrics = ["eventCount"]
"""
    weekly, events = load_reports(write(tmp_path, text))
    entry = STANDARD_REPORTS["traffic_acquisition"]
    assert weekly.name == "weekly_sources" and weekly.grain == "week"
    assert weekly.dimensions == ("isoYearIsoWeek", "sessionSource", "sessionMedium")
    assert weekly.metrics == entry.metrics
    assert weekly.properties == frozenset({"123"})
    assert (weekly.lookback_days, weekly.backfill_days) == (7, 90)
    assert weekly.dimension_filter is not None
    assert events.name == "events" and events.dimensions == ("date", "eventName")
    assert events.metrics == ("eventCount",)


@pytest.mark.parametrize(
    ("text", "report", "field", "says"),
    [
        (
            '[[report]]\nuse = "trafic_acquisition"',
            "'trafic_acquisition'",
            "use",
            "not in the catalogue of GA4's standard reports; did you mean 'traffic_acquisition'?",
        ),
        ("[[report]]\nuse = 3", "#1", "use", "the name of a catalogue entry"),
        (
            '[[report]]\nuse = "events"\nmetrics = ["sesions"]',
            "'events'",
            "metrics",
            "did you mean 'sessions'",
        ),
        (
            '[[report]]\nuse = "events"\n[[report]]\nuse = "events"',
            "'events'",
            "name",
            "also the name of report #1",
        ),
    ],
)
def test_use_errors_name_the_entry_and_the_field(tmp_path, text, report, field, says):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_reports(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: report {report}: {field}: "), message
    assert says in message


def test_reports_catalog_lists_each_entry_with_its_fields(capsys, monkeypatch):
    # No database and no settings: a broken definitions file does not hide it.
    monkeypatch.setenv("GA4SYNC_REPORTS", "/nonexistent/reports.toml")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["reports", "catalog"]) == 0
    text = capsys.readouterr().out
    assert 'use = "<name>"' in text
    for name, entry in STANDARD_REPORTS.items():
        assert f"\n{name}  (GA4: {entry.title})" in text
        assert f"  dimensions  date, {', '.join(entry.dimensions)}\n" in text
        assert f"  metrics     {', '.join(entry.metrics)}\n" in text
    assert text.count("ga4_coverage.quality") == 2  # audiences, demographic details

    assert main(["reports", "catalog", "--json"]) == 0
    described = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert set(described) == set(STANDARD_REPORTS)
    demographics = described["demographic_details"]
    assert demographics["relation"] == "ga4_demographic_details"
    assert demographics["thresholded"] is True and "ga4_coverage" in demographics["data_quality"]
    assert [c["name"] for c in demographics["columns"]][:3] == [
        "country",
        "user_age_bracket",
        "user_gender",
    ]
    assert described["events"]["thresholded"] is False
    assert described["events"]["data_quality"] is None
