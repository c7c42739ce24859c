"""Week and month reports: periods as a whole, settled by their last day, recent first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ga4sync.sync.periods import next_period, period_end, period_start, periods
from ga4sync.sync.plan import (
    GA4_EARLIEST_DATE,
    HISTORY,
    RECENT,
    Chunk,
    PlanSettings,
    coverage_status,
    plan_sync,
)

LA = "America/Los_Angeles"
TODAY = date(2026, 12, 2)  # a Wednesday


def local(zone: str, on: date, hour: int = 0, minute: int = 15) -> datetime:
    return datetime.combine(on, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


DEFAULT = PlanSettings()


def plan(coverage, grain, settings=DEFAULT, zone=LA, now=None):
    return plan_sync(
        time_zone=zone,
        now=now or local(zone, TODAY, 10),
        coverage={"r": coverage},
        settings=settings,
        grains={"r": grain},
    )


@pytest.mark.parametrize(
    ("day", "week", "month"),
    [
        (date(2026, 12, 2), date(2026, 11, 30), date(2026, 12, 1)),
        (date(2026, 11, 29), date(2026, 11, 23), date(2026, 11, 1)),  # a Sunday
        (date(2021, 1, 3), date(2020, 12, 28), date(2021, 1, 1)),  # ISO week 53 of 2020
        (date(2024, 2, 29), date(2024, 2, 26), date(2024, 2, 1)),
    ],
)
def test_period_boundaries(day, week, month):
    assert period_start(day, "week") == week and period_start(day, "month") == month
    assert period_end(week, "week") == week + timedelta(days=6)
    assert next_period(date(2026, 12, 1), "month") == date(2027, 1, 1)
    assert period_end(date(2024, 2, 1), "month") == date(2024, 2, 29)


def test_a_new_week_report_reads_whole_weeks_newest_first():
    settings = PlanSettings(lookback_days=3, backfill_days=60, backfill_chunk_days=30)
    chunks = plan({}, "week", settings)
    # Recent: the weeks that end within the recent window (Nov 28 on), up to today.
    assert chunks[0] == Chunk("r", date(2026, 11, 23), TODAY, RECENT)
    history = [c for c in chunks if c.kind == HISTORY]
    # 60 days back is 2026-10-03, a Saturday: its whole week (from Monday 09-28) is read.
    assert history == [
        Chunk("r", date(2026, 10, 26), date(2026, 11, 22), HISTORY),  # 4 weeks = 28 days
        Chunk("r", date(2026, 9, 28), date(2026, 10, 25), HISTORY),
    ]
    for chunk in chunks:
        assert chunk.start_date.weekday() == 0
        assert chunk.end_date == TODAY or chunk.end_date.weekday() == 6


def test_a_week_is_settled_once_read_after_its_last_day_and_the_lookback():
    settings = PlanSettings(lookback_days=3, backfill_days=0)
    week = date(2026, 11, 23)  # ends Sunday the 29th
    too_early = {week: local(LA, date(2026, 12, 2))}  # 3 days after: not yet
    assert [c.start_date for c in plan(too_early, "week", settings)] == [week]
    settled = {week: local(LA, date(2026, 12, 3))}
    later = plan(settled, "week", settings, now=local(LA, date(2026, 12, 3), 10))
    assert [c.start_date for c in later] == [date(2026, 11, 30)]  # only the current week


def test_month_reports_read_whole_months():
    settings = PlanSettings(lookback_days=3, backfill_days=100, backfill_chunk_days=60)
    chunks = plan({}, "month", settings)
    assert chunks == [
        Chunk("r", date(2026, 11, 1), TODAY, RECENT),  # November ends within the lookback
        Chunk("r", date(2026, 9, 1), date(2026, 10, 31), HISTORY),  # two months a chunk
        Chunk("r", date(2026, 8, 1), date(2026, 8, 31), HISTORY),
    ]


def test_a_gap_of_weeks_left_by_downtime_is_read_and_nothing_else():
    settings = PlanSettings(lookback_days=3, backfill_days=120, backfill_chunk_days=365)
    read_at = local(LA, TODAY)
    coverage = {p.start: read_at for p in periods(date(2026, 8, 1), TODAY, "week")}
    missing = [date(2026, 10, 5), date(2026, 10, 12)]
    for start in missing:
        del coverage[start]
    chunks = plan(coverage, "week", settings)
    assert [(c.start_date, c.end_date, c.kind) for c in chunks] == [
        (date(2026, 11, 23), TODAY, RECENT),
        (date(2026, 10, 5), date(2026, 10, 18), HISTORY),
    ]


def test_the_first_week_never_starts_before_ga4s_first_date():
    chunks = plan({}, "week", PlanSettings(backfill_days=100_000, backfill_chunk_days=100_000))
    assert min(c.start_date for c in chunks) == GA4_EARLIEST_DATE


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12", "Europe/London"])
def test_week_status_counts_days_of_history_weeks(zone):
    settings = PlanSettings(lookback_days=3, backfill_days=60, backfill_chunk_days=30)
    now = local(zone, TODAY, 10)
    inputs = dict(time_zone=zone, now=now, settings=settings, grains={"r": "week"})
    fresh = coverage_status(coverage={"r": {}}, **inputs)["r"]
    assert fresh.days_missing > 0 and fresh.backfill_percent == 0.0
    assert fresh.oldest_settled is None
    done = {  # as a complete read records it: each period of each chunk
        p.start: now
        for c in plan_sync(coverage={"r": {}}, **inputs)
        for p in periods(c.start_date, c.end_date, "week")
    }
    # read at now: the history weeks settle, the recent one does not
    status = coverage_status(coverage={"r": done}, **inputs)["r"]
    assert status.days_missing == 0 and status.backfill_percent == 100.0
    assert status.newest_settled == date(2026, 11, 22)
    again = plan_sync(coverage={"r": done}, **inputs)
    assert [c.kind for c in again] == [RECENT]
