"""The demo's properties look like GA4's: its device categories, real-looking
countries, sources and pages, and metrics that hang together in every row, by day
and by week."""

from __future__ import annotations

import re
from datetime import date

import pytest

from ga4sync.demo import DEMO_USERS, demo_fake_google
from ga4sync.fake_google import FakeGoogle

from .test_fake_google_report import dims, metrics, run

TODAY = date(2026, 11, 21)
DEMO_PROPERTIES = [prop.property_id for props in DEMO_USERS.values() for prop in props]
METRICS = [
    "sessions",
    "activeUsers",
    "totalUsers",
    "newUsers",
    "engagedSessions",
    "screenPageViews",
    "eventCount",
    "bounceRate",
    "averageSessionDuration",
    "keyEvents",
]
# What the default fake makes past its few real values, and no real property has.
GENERATED = re.compile(r"^(device-|src-|medium-|platform-|cohort-|/p/|Country |City |Browser |OS )")


@pytest.fixture(scope="module")
def fake() -> FakeGoogle:
    fake = demo_fake_google()
    for property_id in DEMO_PROPERTIES:
        fake.set_today(TODAY, property_id)
    return fake


def _rows(fake: FakeGoogle, property_id: str, dimensions: list[str], days: int = 28):
    body = {
        "dimensions": [{"name": d} for d in dimensions],
        "metrics": [{"name": m} for m in METRICS],
        "date_ranges": [{"start_date": f"{days - 1}daysAgo", "end_date": "today"}],
        "limit": 100_000,
    }
    payload = run(fake, body, property_id)
    return [
        (row_dims, {m: float(v) for m, v in zip(METRICS, values, strict=True)})
        for row_dims, values in zip(dims(payload), metrics(payload), strict=True)
    ]


def _hangs_together(row: dict[str, float]) -> None:
    assert row["activeUsers"] <= row["totalUsers"] <= row["sessions"], row
    assert row["newUsers"] <= row["activeUsers"], row
    assert row["engagedSessions"] <= row["sessions"], row
    assert row["keyEvents"] <= row["sessions"], row
    assert (
        row["screenPageViews"] >= row["sessions"] and row["eventCount"] > row["screenPageViews"]
    ) or not row["sessions"], row
    assert 0 <= row["bounceRate"] <= 1, row
    assert 0 <= row["averageSessionDuration"] < 600, row


@pytest.mark.parametrize("property_id", DEMO_PROPERTIES)
@pytest.mark.parametrize(
    "dimensions",
    [
        ["date"],
        ["date", "sessionSource", "sessionMedium"],
        ["date", "pagePath"],
        ["date", "deviceCategory"],
        ["date", "country"],
        ["isoYearIsoWeek", "deviceCategory"],
    ],
)
def test_every_row_hangs_together(fake, property_id, dimensions):
    rows = _rows(fake, property_id, dimensions)
    assert rows
    for _, row in rows:
        _hangs_together(row)
    totals = {m: sum(row[m] for _, row in rows) for m in ("sessions", "activeUsers", "newUsers")}
    # A week's users are fewer than its days' summed: people come back.
    low = 0.55 if "date" in dimensions else 0.2
    assert low <= totals["activeUsers"] / totals["sessions"] <= 0.9
    assert 0.1 <= totals["newUsers"] / totals["activeUsers"] <= 0.75
    for values, _ in rows:
        for value in values:
            assert not GENERATED.match(value), (dimensions, value)


@pytest.mark.parametrize("property_id", DEMO_PROPERTIES)
def test_the_device_categories_are_ga4s(fake, property_id):
    devices = {values[1] for values, _ in _rows(fake, property_id, ["date", "deviceCategory"])}
    assert devices == {"desktop", "mobile", "tablet"}


def test_the_same_seed_draws_the_same_data(fake):
    again = demo_fake_google()
    again.set_today(TODAY, DEMO_PROPERTIES[0])
    dimensions = ["date", "sessionSource", "sessionMedium"]
    assert _rows(again, DEMO_PROPERTIES[0], dimensions) == _rows(
        fake, DEMO_PROPERTIES[0], dimensions
    )


def test_a_property_not_asked_to_be_plausible_is_as_it_was():
    fake = FakeGoogle(seed=2026)
    fake.add_property("9", cardinality=5)
    fake.set_today(TODAY, "9")
    devices = {values[1] for values, _ in _rows(fake, "9", ["date", "deviceCategory"])}
    assert devices == {"desktop", "mobile", "tablet", "smart tv", "device-4"}
