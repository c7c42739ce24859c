"""Which dates a sync reads: the settle rule, the target range, chunks and their order."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from zoneinfo import ZoneInfo, available_timezones

import pytest

from ga4sync.sync.plan import (
    GA4_EARLIEST_DATE,
    HISTORY,
    MAX_LOOKBACK_DAYS,
    RECENT,
    Chunk,
    CoverageStatus,
    PlanSettings,
    coverage_status,
    is_settled,
    load_zone,
    local_today,
    missing_dates,
    plan_sync,
    recent_start,
    resync_chunks,
    target_start,
)

LA = "America/Los_Angeles"
TODAY = date(2026, 6, 15)
DEFAULT = PlanSettings()

Coverage = dict[date, datetime]


def day(n: int, today: date = TODAY) -> date:
    """``today - n``, the way the rules count."""
    return today - timedelta(days=n)


def span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def local(zone: str, on: date, hour: int = 0, minute: int = 15) -> datetime:
    """A local wall time as the UTC instant a database hands back."""
    return datetime.combine(on, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def planned(
    chunks: Iterable[Chunk], report: str | None = None, kind: str | None = None
) -> set[date]:
    dates: set[date] = set()
    for chunk in chunks:
        if report in (None, chunk.report) and kind in (None, chunk.kind):
            dates |= span(chunk.start_date, chunk.end_date)
    return dates


def synced_daily(zone: str, first: date, last: date, lookback_days: int = 3) -> Coverage:
    """Coverage after a daily 00:15 sync read every unsettled date from ``first`` on, up to
    and including the sync on ``last``: each date's last read is the sync that settled it,
    or the latest sync for dates not settled yet."""
    return {
        d: local(zone, min(d + timedelta(days=lookback_days + 1), last)) for d in span(first, last)
    }


def read(coverage: Mapping[str, Coverage], chunks: Iterable[Chunk], at: datetime) -> dict:
    """The coverage after every chunk was read completely at ``at``."""
    updated = {report: dict(dates) for report, dates in coverage.items()}
    for chunk in chunks:
        for d in span(chunk.start_date, chunk.end_date):
            updated[chunk.report][d] = at
    return updated


def plan(coverage: Mapping[str, Mapping[date, datetime]], **kwargs) -> list[Chunk]:
    kwargs.setdefault("time_zone", LA)
    kwargs.setdefault("now", local(LA, TODAY))
    kwargs.setdefault("settings", DEFAULT)
    return plan_sync(coverage=coverage, **kwargs)


# settings -----------------------------------------------------------------------------


def test_settings_default_to_3_365_30_and_are_frozen():
    assert (DEFAULT.lookback_days, DEFAULT.backfill_days, DEFAULT.backfill_chunk_days) == (
        3,
        365,
        30,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.lookback_days = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lookback_days": -1}, "lookback_days"),
        ({"lookback_days": MAX_LOOKBACK_DAYS + 1}, "lookback_days"),
        ({"backfill_days": -1}, "backfill_days"),
        ({"backfill_chunk_days": 0}, "backfill_chunk_days"),
        ({"backfill_chunk_days": -30}, "backfill_chunk_days"),
    ],
)
def test_settings_reject_values_that_plan_nothing_sensible(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PlanSettings(**kwargs)


def test_settings_accept_the_edges():
    PlanSettings(lookback_days=0, backfill_days=0, backfill_chunk_days=1)
    PlanSettings(lookback_days=MAX_LOOKBACK_DAYS, backfill_days=10**9, backfill_chunk_days=10**12)


def test_chunk_is_frozen_and_counts_its_days():
    chunk = Chunk("pages", date(2026, 6, 1), date(2026, 6, 30), HISTORY)
    assert chunk.days == 30
    assert Chunk("pages", TODAY, TODAY, RECENT).days == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        chunk.report = "events"  # type: ignore[misc]


# inputs that are errors ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "America/"])
def test_unknown_time_zone_is_a_value_error(name):
    with pytest.raises(ValueError, match="time zone"):
        load_zone(name)
    with pytest.raises(ValueError, match="time zone"):
        plan({}, time_zone=name)
    with pytest.raises(ValueError, match="time zone"):
        coverage_status(time_zone=name, now=local(LA, TODAY), coverage={}, settings=DEFAULT)


def test_naive_instants_are_value_errors():
    naive = datetime(2026, 6, 15, 12, 0)
    with pytest.raises(ValueError, match="aware"):
        plan({}, now=naive)
    with pytest.raises(ValueError, match="aware"):
        local_today(naive, ZoneInfo(LA))
    with pytest.raises(ValueError, match="aware"):
        is_settled(day(10), naive, ZoneInfo(LA), 3)
    # a naive read would be taken in the machine's zone: refuse it, fast path or not
    with pytest.raises(ValueError, match="aware"):
        plan({"pages": {day(10): naive}})
    with pytest.raises(ValueError, match="aware"):
        plan({"pages": {day(1): naive}})


# today --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [
        # one instant, three dates: UTC-12 is still on the 14th, UTC+14 already on the 16th
        ("Etc/GMT+12", datetime(2026, 6, 15, 11, 0, tzinfo=UTC), date(2026, 6, 14)),
        ("UTC", datetime(2026, 6, 15, 11, 0, tzinfo=UTC), date(2026, 6, 15)),
        ("Pacific/Kiritimati", datetime(2026, 6, 15, 11, 0, tzinfo=UTC), date(2026, 6, 16)),
        # just before and after local midnight
        ("Etc/GMT+12", datetime(2026, 6, 15, 11, 59, 59, tzinfo=UTC), date(2026, 6, 14)),
        ("Etc/GMT+12", datetime(2026, 6, 15, 12, 0, tzinfo=UTC), date(2026, 6, 15)),
        ("Pacific/Kiritimati", datetime(2026, 6, 15, 9, 59, 59, tzinfo=UTC), date(2026, 6, 15)),
        ("Pacific/Kiritimati", datetime(2026, 6, 15, 10, 0, tzinfo=UTC), date(2026, 6, 16)),
        # Los Angeles on both DST change days (midnight is 08:00 UTC, then 07:00 UTC)
        (LA, datetime(2026, 3, 8, 7, 59, 59, tzinfo=UTC), date(2026, 3, 7)),
        (LA, datetime(2026, 3, 8, 8, 0, tzinfo=UTC), date(2026, 3, 8)),
        (LA, datetime(2026, 3, 9, 6, 59, 59, tzinfo=UTC), date(2026, 3, 8)),  # a 23 h day
        (LA, datetime(2026, 3, 9, 7, 0, tzinfo=UTC), date(2026, 3, 9)),
        (LA, datetime(2026, 11, 1, 6, 59, 59, tzinfo=UTC), date(2026, 10, 31)),
        (LA, datetime(2026, 11, 1, 7, 0, tzinfo=UTC), date(2026, 11, 1)),
        (LA, datetime(2026, 11, 2, 7, 59, 59, tzinfo=UTC), date(2026, 11, 1)),  # a 25 h day
        (LA, datetime(2026, 11, 2, 8, 0, tzinfo=UTC), date(2026, 11, 2)),
        # London: midnight is 00:00 UTC in winter, 23:00 UTC the day before in summer
        ("Europe/London", datetime(2026, 3, 29, 0, 0, tzinfo=UTC), date(2026, 3, 29)),
        ("Europe/London", datetime(2026, 3, 29, 23, 0, tzinfo=UTC), date(2026, 3, 30)),
        ("Europe/London", datetime(2026, 10, 24, 23, 0, tzinfo=UTC), date(2026, 10, 25)),
        ("Europe/London", datetime(2026, 10, 25, 23, 59, tzinfo=UTC), date(2026, 10, 25)),
        # Lord Howe: +11 in summer, +10:30 in winter, switching by half an hour
        ("Australia/Lord_Howe", datetime(2026, 4, 4, 12, 59, tzinfo=UTC), date(2026, 4, 4)),
        ("Australia/Lord_Howe", datetime(2026, 4, 4, 13, 0, tzinfo=UTC), date(2026, 4, 5)),
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 13, 29, tzinfo=UTC), date(2026, 4, 5)),
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 13, 30, tzinfo=UTC), date(2026, 4, 6)),
        # ... and back to +11 at 02:00 on 4 October, so the 5th starts at 13:00 UTC
        ("Australia/Lord_Howe", datetime(2026, 10, 3, 13, 29, tzinfo=UTC), date(2026, 10, 3)),
        ("Australia/Lord_Howe", datetime(2026, 10, 3, 13, 30, tzinfo=UTC), date(2026, 10, 4)),
        ("Australia/Lord_Howe", datetime(2026, 10, 4, 12, 59, tzinfo=UTC), date(2026, 10, 4)),
        ("Australia/Lord_Howe", datetime(2026, 10, 4, 13, 0, tzinfo=UTC), date(2026, 10, 5)),
    ],
)
def test_today_is_the_date_in_the_property_zone(zone, now, today):
    assert local_today(now, ZoneInfo(zone)) == today
    # the same instant given in another zone is the same today
    assert local_today(now.astimezone(ZoneInfo("Asia/Tokyo")), ZoneInfo(zone)) == today
    [recent] = plan({"pages": {}}, time_zone=zone, now=now, settings=PlanSettings(backfill_days=0))
    assert (recent.start_date, recent.end_date, recent.kind) == (day(4, today), today, RECENT)


def test_the_extreme_zones_plan_two_days_apart_at_one_instant():
    now = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)
    settings = PlanSettings(backfill_days=10)
    west = plan({"pages": {}}, time_zone="Etc/GMT+12", now=now, settings=settings)
    east = plan({"pages": {}}, time_zone="Pacific/Kiritimati", now=now, settings=settings)
    assert planned(west) == span(date(2026, 6, 4), date(2026, 6, 14))
    assert planned(east) == span(date(2026, 6, 6), date(2026, 6, 16))


# the target range ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "earliest", "start"),
    [
        (DEFAULT, None, day(365)),
        (PlanSettings(backfill_days=60), None, day(60)),
        # no history still reaches over the lookback: those days are not settled yet
        (PlanSettings(backfill_days=0), None, day(4)),
        (PlanSettings(backfill_days=2), None, day(4)),
        (PlanSettings(lookback_days=0, backfill_days=0), None, day(1)),
        (PlanSettings(lookback_days=10, backfill_days=0), None, day(11)),
        # the property's first date, and GA4's, win over the backfill
        (DEFAULT, day(20), day(20)),
        (DEFAULT, day(400), day(365)),
        (PlanSettings(backfill_days=5000), None, GA4_EARLIEST_DATE),
        (PlanSettings(backfill_days=10**9), None, GA4_EARLIEST_DATE),
        (DEFAULT, date(2001, 1, 1), day(365)),
        (PlanSettings(backfill_days=5000), date(2001, 1, 1), GA4_EARLIEST_DATE),
        (PlanSettings(backfill_days=5000), date(2019, 3, 2), date(2019, 3, 2)),
        (DEFAULT, day(-3), day(-3)),  # a first date in the future: nothing to read yet
    ],
)
def test_target_start(settings, earliest, start):
    assert target_start(TODAY, settings, earliest) == start


def test_recent_window_is_lookback_plus_one_days_before_today():
    assert recent_start(TODAY, 3) == day(4)
    assert recent_start(TODAY, 0) == day(1)


def test_property_whose_data_starts_20_days_ago_plans_nothing_before_it():
    chunks = plan({"pages": {}}, earliest=day(20))
    assert chunks == [
        Chunk("pages", day(4), TODAY, RECENT),
        Chunk("pages", day(20), day(5), HISTORY),
    ]


def test_property_with_a_first_date_inside_the_recent_window_plans_from_it():
    assert plan({"pages": {}}, earliest=day(2)) == [Chunk("pages", day(2), TODAY, RECENT)]
    assert plan({"pages": {}}, earliest=TODAY) == [Chunk("pages", TODAY, TODAY, RECENT)]
    assert plan({"pages": {}}, earliest=day(-1)) == []


def test_nothing_is_planned_before_ga4_began():
    now = local(LA, date(2015, 8, 20))
    assert plan({"pages": {}}, now=now) == [
        Chunk("pages", date(2015, 8, 16), date(2015, 8, 20), RECENT),
        Chunk("pages", date(2015, 8, 14), date(2015, 8, 15), HISTORY),
    ]
    assert plan({"pages": {}}, now=local(LA, date(2015, 8, 13))) == []


def test_uncovered_dates_before_the_target_range_are_left_alone():
    coverage = {"pages": synced_daily(LA, day(100), day(1))}
    for d in span(day(100), day(90)):
        del coverage["pages"][d]
    settings = PlanSettings(backfill_days=80)
    assert planned(plan(coverage, settings=settings)) == span(day(4), TODAY)


# the settle rule ----------------------------------------------------------------------


@pytest.mark.parametrize("lookback_days", [0, 1, 3, 7])
def test_settled_once_read_more_than_lookback_local_days_later(lookback_days):
    zone = ZoneInfo(LA)
    d = date(2026, 6, 1)
    for age in range(-2, lookback_days + 4):
        for hour, minute in [(0, 0), (0, 15), (12, 0), (23, 59)]:
            read_at = local(LA, d + timedelta(days=age), hour, minute)
            assert is_settled(d, read_at, zone, lookback_days) is (age > lookback_days)


@pytest.mark.parametrize(
    ("zone", "d"),
    [
        (LA, date(2026, 6, 1)),
        ("Etc/GMT+12", date(2026, 6, 1)),
        ("Pacific/Kiritimati", date(2026, 6, 1)),
        ("Australia/Lord_Howe", date(2026, 4, 1)),  # the 4th of April is the last +11 day
        ("Australia/Lord_Howe", date(2026, 10, 1)),  # settle day 5 October is the first +11 day
        (LA, date(2026, 3, 4)),  # settled from 8 March, spring forward
        (LA, date(2026, 10, 28)),  # settled from 1 November, fall back
        ("Europe/London", date(2026, 3, 25)),
        ("Europe/London", date(2026, 10, 21)),
    ],
)
def test_settle_boundary_is_local_midnight_not_utc(zone, d):
    """A read at 23:30 local, lookback days after the date, is not final; one at 00:30 the
    next local day is, whatever their UTC dates say."""
    late = local(zone, d + timedelta(days=3), 23, 30)
    early = local(zone, d + timedelta(days=4), 0, 30)
    assert not is_settled(d, late, ZoneInfo(zone), 3)
    assert is_settled(d, early, ZoneInfo(zone), 3)
    # planning agrees, with the date inside the history part of the range
    now = local(zone, d + timedelta(days=20), 12, 0)
    assert d in planned(plan({"pages": {d: late}}, time_zone=zone, now=now))
    assert d not in planned(plan({"pages": {d: early}}, time_zone=zone, now=now))


def test_settle_boundary_differs_from_utc():
    # 23:30 in Los Angeles is already the next UTC date, 00:30 in Kiritimati still the previous
    d = date(2026, 6, 1)
    la_late = local(LA, date(2026, 6, 4), 23, 30)
    assert la_late.date() == date(2026, 6, 5)
    assert is_settled(d, la_late, ZoneInfo("UTC"), 3)
    assert not is_settled(d, la_late, ZoneInfo(LA), 3)
    kiri_early = local("Pacific/Kiritimati", date(2026, 6, 5), 0, 30)
    assert kiri_early.date() == date(2026, 6, 4)
    assert not is_settled(d, kiri_early, ZoneInfo("UTC"), 3)
    assert is_settled(d, kiri_early, ZoneInfo("Pacific/Kiritimati"), 3)


def test_oldest_recent_date_settles_when_read_today_but_not_late_yesterday():
    # today - 4 with lookback 3: a read late yesterday is 3 days after it, one today 4
    late_yesterday = local(LA, day(1), 23, 30)
    early_today = local(LA, TODAY, 0, 5)
    now = local(LA, TODAY, 0, 15)
    assert planned(plan({"pages": {day(4): late_yesterday}}, now=now)) >= {day(4)}
    assert day(4) not in planned(plan({"pages": {day(4): early_today}}, now=now))
    assert plan({"pages": {day(4): early_today}}, now=now) == [
        Chunk("pages", day(3), TODAY, RECENT),
        Chunk("pages", day(34), day(5), HISTORY),
        *[
            Chunk("pages", max(day(365), day(34 + 30 * n)), day(5 + 30 * n), HISTORY)
            for n in range(1, 13)
        ],
    ]


def test_a_read_given_in_any_zone_counts_by_its_instant():
    d = day(10)
    at = local(LA, day(6), 0, 30)
    for zone in ["UTC", "Asia/Tokyo", "Etc/GMT+12", LA]:
        coverage = {"pages": {d: at.astimezone(ZoneInfo(zone))}}
        assert d not in planned(plan(coverage))
    at = local(LA, day(7), 23, 30)
    for zone in ["UTC", "Asia/Tokyo", "Pacific/Kiritimati", LA]:
        coverage = {"pages": {d: at.astimezone(ZoneInfo(zone))}}
        assert d in planned(plan(coverage))


def test_missing_dates_lists_the_unsettled_dates_oldest_first():
    zone = ZoneInfo(LA)
    coverage = {
        day(9): local(LA, day(1)),  # settled
        day(8): local(LA, day(5)),  # read 3 days later: not settled
        day(6): local(LA, day(1)),  # settled
        day(3): local(LA, TODAY),  # too recent to settle
    }
    assert missing_dates(coverage, start=day(10), end=TODAY, zone=zone, lookback_days=3) == [
        day(10),
        day(8),
        day(7),
        *sorted(span(day(5), TODAY)),
    ]
    assert missing_dates(coverage, start=TODAY, end=day(1), zone=zone, lookback_days=3) == []


def zones_changing_offset_in(year: int) -> list[str]:
    names = []
    for name in sorted(available_timezones()):
        zone = ZoneInfo(name)
        firsts = [datetime(year, month, 1, tzinfo=zone) for month in range(1, 13)]
        if len({first.utcoffset() for first in firsts}) > 1:
            names.append(name)
    return names


@pytest.mark.parametrize(
    ("names", "year"),
    [
        (zones_changing_offset_in(2026), 2026),  # every zone with DST, both changes
        # zones that moved for good since GA4 began, some at or near midnight
        (["America/Caracas"], 2016),
        (["Asia/Pyongyang"], 2018),
        (["Europe/Volgograd", "Asia/Gaza", "Asia/Hebron"], 2020),
        (["Africa/Juba", "Pacific/Apia", "America/Santiago"], 2021),
        (["America/Mexico_City", "Asia/Amman"], 2022),
        (["America/Nuuk"], 2023),
        # a spring forward from 23:30 to 00:30: the midnight itself was skipped
        (["America/Toronto"], 1919),
    ],
)
def test_the_shortcut_agrees_with_local_dates(names, year):
    """missing_dates compares reads with precomputed settle instants; check it against
    the conversion a microsecond either side of every local midnight of the year."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    tiny = timedelta(microseconds=1)
    for name in names:
        zone = ZoneInfo(name)
        for shift in (-tiny, timedelta(0)):
            reads = {}
            d = start
            while d <= end:
                reads[d] = (
                    datetime.combine(d + timedelta(days=2), time(), tzinfo=zone).astimezone(UTC)
                    + shift
                )
                d += timedelta(days=1)
            expected = [d for d, r in reads.items() if not is_settled(d, r, zone, 1)]
            found = missing_dates(reads, start=start, end=end, zone=zone, lookback_days=1)
            assert found == expected, name


# whole plans --------------------------------------------------------------------------


def test_new_property_gets_the_recent_window_then_history_newest_first():
    settings = PlanSettings(backfill_days=60)
    chunks = plan({"pages": {}}, settings=settings)
    assert chunks == [
        Chunk("pages", day(4), TODAY, RECENT),
        Chunk("pages", day(34), day(5), HISTORY),
        Chunk("pages", day(60), day(35), HISTORY),
    ]
    # exactly today-60..today, once each
    dates = [d for c in chunks for d in span(c.start_date, c.end_date)]
    assert len(dates) == len(set(dates)) == 61
    assert set(dates) == span(day(60), TODAY)
    assert all(c.days <= 30 for c in chunks if c.kind == HISTORY)


@pytest.mark.parametrize("chunk_days", [1, 7, 26, 27, 30, 56, 57, 1000])
def test_history_chunks_are_counted_back_from_the_newest_date(chunk_days):
    settings = PlanSettings(backfill_days=60, backfill_chunk_days=chunk_days)
    recent, *history = plan({"pages": {}}, settings=settings)
    assert recent == Chunk("pages", day(4), TODAY, RECENT)
    assert history[0].end_date == day(5)
    for newer, older in itertools.pairwise(history):
        assert newer.days == chunk_days
        assert older.end_date == newer.start_date - timedelta(days=1)
    assert history[-1].start_date == day(60)
    assert 1 <= history[-1].days <= chunk_days
    assert len(history) == -(-56 // chunk_days)


def test_recent_window_is_one_chunk_even_when_longer_than_a_history_chunk():
    settings = PlanSettings(lookback_days=10, backfill_days=20, backfill_chunk_days=3)
    chunks = plan({"pages": {}}, settings=settings)
    assert chunks[0] == Chunk("pages", day(11), TODAY, RECENT)
    assert [(c.start_date, c.end_date) for c in chunks[1:]] == [
        (day(14), day(12)),
        (day(17), day(15)),
        (day(20), day(18)),
    ]


def test_no_backfill_still_rereads_the_unsettled_recent_days():
    settings = PlanSettings(backfill_days=0)
    assert plan({"pages": {}}, settings=settings) == [Chunk("pages", day(4), TODAY, RECENT)]
    # with a daily sync, today - 4 settles each day and is read one last time
    coverage = {"pages": synced_daily(LA, day(30), day(1))}
    assert plan(coverage, settings=settings) == [Chunk("pages", day(4), TODAY, RECENT)]
    assert plan(coverage, settings=PlanSettings(lookback_days=0, backfill_days=0)) == [
        Chunk("pages", day(1), TODAY, RECENT)
    ]


def test_property_read_daily_reads_only_the_recent_window():
    """Yesterday's sync read everything it had to: today - 4 (read three days after it,
    not yet final) is read once more, today - 3 .. today as always, nothing older."""
    coverage = {"pages": synced_daily(LA, day(365), day(1))}
    assert plan(coverage) == [Chunk("pages", day(4), TODAY, RECENT)]
    assert coverage["pages"][day(4)] == local(LA, day(1))  # read, not settled
    assert coverage["pages"][day(5)] == local(LA, day(1))  # settled by that read


def test_worker_down_for_nine_days_reads_the_missed_and_unsettled_days():
    # the last sync ran ten days ago; the nine daily syncs since then never ran
    coverage = {"pages": synced_daily(LA, day(365), day(10))}
    chunks = plan(coverage)
    never_read = span(day(9), TODAY)
    read_too_early = span(day(13), day(10))  # read at ages 0..3 by the last sync
    assert planned(chunks) == never_read | read_too_early
    assert chunks == [
        Chunk("pages", day(4), TODAY, RECENT),
        Chunk("pages", day(13), day(5), HISTORY),
    ]


@pytest.mark.parametrize(("newest_missing", "length"), [(20, 1), (40, 31), (30, 400), (5, 1)])
def test_a_gap_in_settled_history_is_read_exactly(newest_missing, length):
    settings = PlanSettings(backfill_days=730)
    coverage = {"pages": synced_daily(LA, day(730), day(1))}
    gap = span(day(newest_missing + length - 1), day(newest_missing))
    for d in gap:
        del coverage["pages"][d]
    chunks = plan(coverage, settings=settings)
    assert chunks[0] == Chunk("pages", day(4), TODAY, RECENT)
    assert planned(chunks, kind=HISTORY) == gap
    history = chunks[1:]
    assert history[0].end_date == day(newest_missing)
    assert all(c.days == 30 for c in history[:-1])
    assert sum(c.days for c in history) == length


def test_several_gaps_are_read_newest_first():
    coverage = {"pages": synced_daily(LA, day(365), day(1))}
    for d in span(day(50), day(45)) | {day(10)} | span(day(300), day(200)):
        del coverage["pages"][d]
    assert plan(coverage) == [
        Chunk("pages", day(4), TODAY, RECENT),
        Chunk("pages", day(10), day(10), HISTORY),
        Chunk("pages", day(50), day(45), HISTORY),
        Chunk("pages", day(229), day(200), HISTORY),
        Chunk("pages", day(259), day(230), HISTORY),
        Chunk("pages", day(289), day(260), HISTORY),
        Chunk("pages", day(300), day(290), HISTORY),
    ]


def test_a_gap_that_touches_the_recent_window_is_split_at_it():
    coverage = {"pages": synced_daily(LA, day(365), day(1))}
    for d in span(day(8), day(5)):
        del coverage["pages"][d]
    assert plan(coverage) == [
        Chunk("pages", day(4), TODAY, RECENT),
        Chunk("pages", day(8), day(5), HISTORY),
    ]


def test_recent_chunks_of_every_report_come_before_any_history():
    reports = {
        "pages": synced_daily(LA, day(365), day(1)),  # up to date
        "events": {},  # added today: the whole backfill
        "devices": synced_daily(LA, day(365), day(40)),  # its reads failed for 39 days
        "sources": synced_daily(LA, day(365), day(1)),
    }
    for d in span(day(70), day(61)):
        del reports["sources"][d]
    chunks = plan(reports)
    assert chunks[:4] == [
        Chunk("pages", day(4), TODAY, RECENT),
        Chunk("events", day(4), TODAY, RECENT),
        Chunk("devices", day(4), TODAY, RECENT),
        Chunk("sources", day(4), TODAY, RECENT),
    ]
    history = chunks[4:]
    assert all(c.kind == HISTORY for c in history)
    assert history[:5] == [
        Chunk("events", day(34), day(5), HISTORY),
        Chunk("devices", day(34), day(5), HISTORY),  # same end date: reports in given order
        Chunk("events", day(64), day(35), HISTORY),
        Chunk("devices", day(43), day(35), HISTORY),
        Chunk("sources", day(70), day(61), HISTORY),
    ]
    ends = [c.end_date for c in history]
    assert ends == sorted(ends, reverse=True)
    assert planned(chunks, report="pages") == span(day(4), TODAY)
    assert planned(chunks, report="events") == span(day(365), TODAY)
    assert planned(chunks, report="devices") == span(day(43), TODAY)
    assert planned(chunks, report="sources") == span(day(4), TODAY) | span(day(70), day(61))


def test_report_order_is_the_order_given():
    one = plan({"a": {}, "b": {}}, settings=PlanSettings(backfill_days=10))
    other = plan({"b": {}, "a": {}}, settings=PlanSettings(backfill_days=10))
    assert [c.report for c in one] == ["a", "b", "a", "b"]
    assert [c.report for c in other] == ["b", "a", "b", "a"]


def test_no_reports_no_chunks():
    assert plan({}) == []


def test_reads_dated_after_now_still_follow_the_rule():
    # a clock that went back: the reads look 'from the future' and count by their local date
    coverage = {"pages": {d: local(LA, TODAY + timedelta(days=2)) for d in span(day(4), TODAY)}}
    assert plan(coverage, settings=PlanSettings(backfill_days=0)) == [
        Chunk("pages", day(1), TODAY, RECENT)
    ]
    coverage = {"pages": {day(2): local(LA, TODAY + timedelta(days=2))}}
    assert plan(coverage, settings=PlanSettings(backfill_days=0)) == [
        Chunk("pages", day(1), TODAY, RECENT),
        Chunk("pages", day(4), day(3), RECENT),
    ]


# repeating syncs ----------------------------------------------------------------------


def test_planning_again_after_reading_everything_now_leaves_only_the_unsettled_days():
    coverage: dict[str, Coverage] = {"pages": {}, "events": synced_daily(LA, day(100), day(20))}
    now = local(LA, TODAY)
    coverage = read(coverage, plan(coverage, now=now), now)
    assert plan(coverage, now=now) == [
        Chunk("pages", day(3), TODAY, RECENT),
        Chunk("events", day(3), TODAY, RECENT),
    ]


def test_reading_every_chunk_lookback_plus_one_days_later_leaves_only_recent_days():
    settings = DEFAULT
    coverage: dict[str, Coverage] = {"pages": {}, "events": synced_daily(LA, day(100), day(20))}
    first = plan(coverage)
    later = local(LA, TODAY) + timedelta(days=settings.lookback_days + 1)
    coverage = read(coverage, first, later)
    again = plan(coverage, now=later)
    assert {c.kind for c in again} == {RECENT}
    new_today = TODAY + timedelta(days=4)
    # every date read 'later' is settled; only the days since are left
    assert planned(again, "pages") == planned(again, "events") == span(day(-1), new_today)


@pytest.mark.parametrize(
    "zone", [LA, "Europe/London", "Australia/Lord_Howe", "Etc/GMT+12", "Pacific/Kiritimati"]
)
def test_a_year_of_daily_syncs_reads_each_date_until_it_settles_and_never_again(zone):
    settings = PlanSettings(backfill_days=30)
    coverage: dict[str, Coverage] = {"pages": {}}
    reads: dict[date, int] = {}
    start = date(2026, 1, 1)
    for n in range(366):
        today = start + timedelta(days=n)
        now = local(zone, today)
        chunks = plan(coverage, time_zone=zone, now=now, settings=settings)
        if n > 0:  # after the first backfill, a daily sync reads only the recent window
            assert chunks == [Chunk("pages", day(4, today), today, RECENT)]
        coverage = read(coverage, chunks, now)
        for d in planned(chunks):
            reads[d] = reads.get(d, 0) + 1
    # a date is read on each of the five days it is recent (fewer for the first ones)
    assert {reads[d] for d in span(date(2026, 1, 1), date(2026, 12, 27))} == {5}
    assert all(reads[d] == 1 for d in span(date(2025, 12, 2), date(2025, 12, 27)))


@pytest.mark.parametrize(
    ("zone", "dst_day"),
    [
        (LA, date(2026, 3, 8)),
        (LA, date(2026, 11, 1)),
        ("Europe/London", date(2026, 3, 29)),
        ("Europe/London", date(2026, 10, 25)),
        ("Australia/Lord_Howe", date(2026, 4, 5)),
        ("Australia/Lord_Howe", date(2026, 10, 4)),
    ],
)
@pytest.mark.parametrize(("hour", "minute"), [(0, 0), (0, 15), (1, 59), (3, 0), (23, 59)])
def test_syncs_around_a_dst_change_plan_only_the_recent_window(zone, dst_day, hour, minute):
    settings = PlanSettings(backfill_days=20)
    coverage: dict[str, Coverage] = {"pages": {}}
    for n in range(-8, 9):
        today = dst_day + timedelta(days=n)
        now = local(zone, today, hour, minute)
        assert local_today(now, ZoneInfo(zone)) == today
        chunks = plan(coverage, time_zone=zone, now=now, settings=settings)
        if n > -8:
            assert chunks == [Chunk("pages", day(4, today), today, RECENT)]
        coverage = read(coverage, chunks, now)


# progress -----------------------------------------------------------------------------


def status(coverage: Mapping[str, Mapping[date, datetime]], **kwargs) -> dict[str, CoverageStatus]:
    kwargs.setdefault("time_zone", LA)
    kwargs.setdefault("now", local(LA, TODAY))
    kwargs.setdefault("settings", DEFAULT)
    return coverage_status(coverage=coverage, **kwargs)


def test_status_of_a_new_report_is_all_history_missing():
    assert status({"pages": {}}, settings=PlanSettings(backfill_days=60)) == {
        "pages": CoverageStatus(None, None, days_missing=56, backfill_percent=0.0)
    }


def test_status_of_a_report_read_daily_is_complete():
    coverage = {"pages": synced_daily(LA, day(365), day(1))}
    assert status(coverage) == {
        "pages": CoverageStatus(day(365), day(5), days_missing=0, backfill_percent=100.0)
    }


def test_status_counts_history_only():
    coverage = {"pages": synced_daily(LA, day(365), day(1)), "events": {}}
    for d in span(day(104), day(15)):
        del coverage["pages"][d]
    result = status(coverage, settings=PlanSettings(backfill_days=364))
    # history is today-364 .. today-5: 360 dates, 90 of them missing
    assert result["pages"] == CoverageStatus(day(364), day(5), 90, 75.0)
    assert result["events"] == CoverageStatus(None, None, 360, 0.0)


def test_status_with_no_history_to_read_is_complete():
    coverage = {"pages": synced_daily(LA, day(10), day(1)), "events": {}}
    result = status(coverage, settings=PlanSettings(backfill_days=0))
    # the target range is the recent window; today - 4 is not settled yet
    assert result == {
        "pages": CoverageStatus(None, None, 0, 100.0),
        "events": CoverageStatus(None, None, 0, 100.0),
    }
    settled_today = {"pages": {day(4): local(LA, TODAY, 0, 5)}}
    assert status(settled_today, settings=PlanSettings(backfill_days=0)) == {
        "pages": CoverageStatus(day(4), day(4), 0, 100.0)
    }
    assert status({"pages": {}}, earliest=day(2)) == {"pages": CoverageStatus(None, None, 0, 100.0)}
    assert status({"pages": {}}, earliest=day(-5)) == {
        "pages": CoverageStatus(None, None, 0, 100.0)
    }


def test_status_looks_at_the_target_range_only():
    coverage = {"pages": synced_daily(LA, day(800), day(1))}
    for d in span(day(700), day(600)):
        del coverage["pages"][d]
    assert status(coverage, earliest=day(40)) == {
        "pages": CoverageStatus(day(40), day(5), 0, 100.0)
    }
    assert status(coverage) == {"pages": CoverageStatus(day(365), day(5), 0, 100.0)}


def test_status_agrees_with_the_plan():
    coverage = {
        "pages": synced_daily(LA, day(365), day(12)),
        "events": {},
        "devices": synced_daily(LA, day(200), day(1)),
    }
    chunks = plan(coverage)
    for report, report_status in status(coverage).items():
        assert report_status.days_missing == len(planned(chunks, report, HISTORY))


# cost ---------------------------------------------------------------------------------


class CountingReads(Mapping[date, datetime]):
    """Coverage that counts how it is used."""

    def __init__(self, reads: Mapping[date, datetime]) -> None:
        self.reads = reads
        self.lookups = 0
        self.iterations = 0

    def __getitem__(self, key: date) -> datetime:
        self.lookups += 1
        return self.reads[key]

    def __iter__(self):
        self.iterations += 1
        return iter(self.reads)

    def __len__(self) -> int:
        return len(self.reads)


def test_planning_looks_up_each_date_of_the_range_once_whatever_the_coverage_holds():
    ten_years = synced_daily(LA, day(3650), day(1))
    counted = {report: CountingReads(ten_years) for report in ["pages", "events", "devices"]}
    assert plan(counted) == [Chunk(r, day(4), TODAY, RECENT) for r in counted]
    assert coverage_status(time_zone=LA, now=local(LA, TODAY), coverage=counted, settings=DEFAULT)
    for reads in counted.values():
        assert reads.iterations == 0
        assert reads.lookups == 2 * 366  # plan and status, today - 365 .. today each


def test_a_year_of_three_reports_plans_in_well_under_a_millisecond():
    """A guard against quadratic work, not a benchmark: about 0.1-0.3 ms here, so the bound
    leaves room for a busy machine."""
    coverage = {
        "pages": synced_daily(LA, day(3650), day(1)),
        "events": synced_daily(LA, day(3650), day(30)),
        "devices": {},
    }
    runs_s = []
    for _ in range(20):
        started = perf_counter()
        plan(coverage)
        runs_s.append(perf_counter() - started)
    assert min(runs_s) < 0.005


def test_resync_chunks_read_the_range_whatever_coverage_says_in_whole_periods():
    today = date(2026, 11, 21)
    days = resync_chunks("r", "day", date(2026, 10, 1), date(2026, 10, 12), today, 5)
    assert [(c.start_date, c.end_date, c.kind) for c in days] == [
        (date(2026, 10, 8), date(2026, 10, 12), RECENT),
        (date(2026, 10, 3), date(2026, 10, 7), RECENT),
        (date(2026, 10, 1), date(2026, 10, 2), RECENT),
    ]
    # A week report reads the whole ISO weeks the range touches, never past today.
    weeks = resync_chunks("w", "week", date(2026, 11, 4), date(2026, 11, 21), today, 30)
    assert [(c.start_date, c.end_date) for c in weeks] == [(date(2026, 11, 2), date(2026, 11, 21))]
    assert resync_chunks("r", "day", date(2026, 11, 22), date(2026, 11, 23), today, 5) == []
