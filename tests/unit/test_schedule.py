"""The daily schedule in local time, across both DST changes."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ga4sync.sync.schedule import daily_lock_key, due_run_date, next_run_at, run_instant

LA = ZoneInfo("America/Los_Angeles")
AT = time(0, 15)
# An ordinary summer day, the spring-forward day and the fall-back day in Los Angeles.
DAYS = [date(2026, 6, 14), date(2026, 3, 8), date(2026, 11, 1)]
DAY_IDS = ["ordinary", "spring-forward", "fall-back"]


def local(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), LA)


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
    # 00:15 UTC is the previous afternoon in Los Angeles: that day's run is due
    assert due_run_date(datetime(2026, 11, 1, 0, 15, tzinfo=UTC), LA, AT) == date(2026, 10, 31)
    # 00:14:59 local on the 1st: the 1st's run is not due yet, and nothing else is
    assert due_run_date(datetime(2026, 11, 1, 7, 14, 59, tzinfo=UTC), LA, AT) is None
    assert due_run_date(datetime(2026, 11, 1, 7, 15, tzinfo=UTC), LA, AT) == day


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
@pytest.mark.parametrize(
    "clock", [time(0, 0), time(0, 5), time(0, 10), time(0, 14, 40), time(0, 14, 59, 999999)]
)
def test_nothing_is_due_between_local_midnight_and_the_run_time(day, clock):
    now = datetime.combine(day, clock, LA)
    # Yesterday's run is not started minutes before today's, which re-reads yesterday.
    assert due_run_date(now, LA, AT) is None
    assert next_run_at(now, LA, AT) == local(day, 0, 15)


@pytest.mark.parametrize("day", DAYS, ids=DAY_IDS)
def test_todays_run_is_due_from_its_run_time_to_the_end_of_the_local_day(day):
    end = datetime.combine(day + timedelta(days=1), time(0), LA)
    now = local(day, 0, 15)
    while now < end:
        assert due_run_date(now, LA, AT) == day, now
        assert next_run_at(now, LA, AT) == local(day + timedelta(days=1), 0, 15)
        now = (now.astimezone(UTC) + timedelta(minutes=5)).astimezone(LA)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # the evening before spring forward: next run is 00:15 PST = 08:15 UTC
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 15, tzinfo=UTC)),
        # just after that run: the next is 00:15 PDT = 07:15 UTC
        (datetime(2026, 3, 8, 8, 16, tzinfo=UTC), datetime(2026, 3, 9, 7, 15, tzinfo=UTC)),
        (datetime(2026, 11, 1, 7, 15, tzinfo=UTC), datetime(2026, 11, 2, 8, 15, tzinfo=UTC)),
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2026, 11, 24, 8, 15, tzinfo=UTC)),
        # between local midnight and 00:15: today's run, minutes away
        (datetime(2026, 11, 1, 7, 14, 40, tzinfo=UTC), datetime(2026, 11, 1, 7, 15, tzinfo=UTC)),
        (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 15, tzinfo=UTC)),
    ],
)
def test_next_run_at_is_the_true_next_local_0015(now, expected):
    nxt = next_run_at(now, LA, AT)
    assert nxt == expected
    assert nxt.tzinfo is not None and nxt.astimezone(LA).time() == AT
    assert nxt > now


def _every(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    at = start.astimezone(UTC)
    while at < end:
        yield at
        at += step


def test_every_five_minutes_of_a_year_in_los_angeles():
    """At every tick of 2026 (and both DST nights), judged by the local wall clock alone:
    a run is due exactly when the local time is past 00:15, and it is today's."""
    start = datetime(2026, 1, 1, tzinfo=LA)
    end = datetime(2027, 1, 1, tzinfo=LA)
    for now in _every(start, end, timedelta(minutes=5)):
        wall = now.astimezone(LA)
        due = due_run_date(now, LA, AT)
        assert due == (wall.date() if wall.time() >= AT else None), wall
        nxt = next_run_at(now, LA, AT)
        expected_day = wall.date() + timedelta(days=0 if wall.time() < AT else 1)
        assert nxt.date() == expected_day and nxt.time() == AT and nxt.tzinfo is LA, wall
        assert timedelta(0) < nxt - now <= timedelta(hours=25), wall


@pytest.mark.parametrize(
    ("zone", "at"),
    [
        ("America/Los_Angeles", time(0, 15)),
        ("America/Los_Angeles", time(2, 30)),  # skipped on the spring-forward day
        ("America/Los_Angeles", time(1, 30)),  # twice on the fall-back day
        ("America/Los_Angeles", time(0, 0)),
        ("America/Santiago", time(0, 15)),  # DST starts at midnight: 00:15 is skipped once
        ("Australia/Lord_Howe", time(2, 15)),  # half-hour DST
        ("Asia/Kathmandu", time(0, 15)),  # UTC+05:45
        ("Pacific/Chatham", time(23, 45)),
        ("UTC", time(0, 15)),
    ],
)
def test_ticks_every_15_minutes_start_one_run_per_local_date_at_its_time(zone, at):
    """A scheduler ticking every 15 minutes through a year (with ``due_run_date``
    deciding, and at most one run per date): every local date gets exactly one run, at
    the first tick from its run time, never before, never a day late; ``next_run_at``
    always names the instant the next run actually starts."""
    tz = ZoneInfo(zone)
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    fired: dict[date, datetime] = {}
    promised: list[tuple[datetime, datetime]] = []
    for now in _every(start, end, timedelta(minutes=15)):
        # compared as UTC instants: a local time in a repeated hour never equals another zone's
        promised.append((now, next_run_at(now, tz, at).astimezone(UTC)))
        due = due_run_date(now, tz, at)
        if due is None:
            continue
        assert due == now.astimezone(tz).date()
        assert now >= run_instant(due, tz, at)
        fired.setdefault(due, now)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert sorted(fired) == days
    for day in days:
        instant = run_instant(day, tz, at)
        assert instant <= fired[day] < instant + timedelta(minutes=15), day
        assert instant.astimezone(tz).date() == day
    starts = sorted(run_instant(day, tz, at) for day in days)
    for now, nxt in promised:
        upcoming = bisect.bisect_right(starts, now)
        if upcoming < len(starts):
            assert nxt == starts[upcoming], now


def test_every_day_of_a_year_has_exactly_one_run_instant_a_day_apart_locally():
    start = date(2026, 1, 1)
    instants = [run_instant(start + timedelta(days=n), LA, AT) for n in range(366)]
    gaps = {(b - a) for a, b in itertools.pairwise(instants)}
    assert gaps == {timedelta(hours=24), timedelta(hours=23), timedelta(hours=25)}


def test_lock_key_is_per_local_date():
    assert daily_lock_key(date(2026, 11, 23)) == "ga4_daily:2026-11-23"
