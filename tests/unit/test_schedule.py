"""The daily schedule in local time, across both DST changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ga4sync.sync.schedule import daily_lock_key, due_run_date, next_run_at, run_instant

LA = ZoneInfo("America/Los_Angeles")
AT = time(0, 15)


@pytest.mark.parametrize(
    ("run_date", "utc"),
    [
        (date(2026, 3, 7), datetime(2026, 3, 7, 8, 15, tzinfo=UTC)),  # PST
        (date(2026, 3, 8), datetime(2026, 3, 8, 8, 15, tzinfo=UTC)),  # spring forward at 02:00
        (date(2026, 3, 9), datetime(2026, 3, 9, 7, 15, tzinfo=UTC)),  # PDT
        (date(2026, 10, 31), datetime(2026, 10, 31, 7, 15, tzinfo=UTC)),  # PDT
        (date(2026, 11, 1), datetime(2026, 11, 1, 7, 15, tzinfo=UTC)),  # fall back at 02:00
        (date(2026, 11, 2), datetime(2026, 11, 2, 8, 15, tzinfo=UTC)),  # PST
    ],
)
def test_run_instant_is_local_0015(run_date, utc):
    assert run_instant(run_date, LA, AT) == utc
    assert run_instant(run_date, LA, AT).astimezone(LA).time() == AT


def test_due_run_date_switches_at_local_0015_not_utc():
    day = date(2026, 11, 1)
    # 00:15 UTC is the previous afternoon in Los Angeles
    assert due_run_date(datetime(2026, 11, 1, 0, 15, tzinfo=UTC), LA, AT) == date(2026, 10, 31)
    assert due_run_date(datetime(2026, 11, 1, 7, 14, 59, tzinfo=UTC), LA, AT) == date(2026, 10, 31)
    assert due_run_date(datetime(2026, 11, 1, 7, 15, tzinfo=UTC), LA, AT) == day


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # the evening before spring forward: next run is 00:15 PST = 08:15 UTC
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 15, tzinfo=UTC)),
        # just after that run: the next is 00:15 PDT = 07:15 UTC
        (datetime(2026, 3, 8, 8, 16, tzinfo=UTC), datetime(2026, 3, 9, 7, 15, tzinfo=UTC)),
        (datetime(2026, 11, 1, 7, 15, tzinfo=UTC), datetime(2026, 11, 2, 8, 15, tzinfo=UTC)),
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2026, 11, 24, 8, 15, tzinfo=UTC)),
    ],
)
def test_next_run_at_is_the_true_next_local_0015(now, expected):
    nxt = next_run_at(now, LA, AT)
    assert nxt == expected
    assert nxt.tzinfo is not None and nxt.astimezone(LA).time() == AT
    assert nxt > now


def test_every_day_of_a_year_has_exactly_one_run_instant_a_day_apart_locally():
    start = date(2026, 1, 1)
    instants = [run_instant(start + timedelta(days=n), LA, AT) for n in range(366)]
    gaps = {(b - a) for a, b in itertools.pairwise(instants)}
    assert gaps == {timedelta(hours=24), timedelta(hours=23), timedelta(hours=25)}


def test_lock_key_is_per_local_date():
    assert daily_lock_key(date(2026, 11, 23)) == "ga4_daily:2026-11-23"
