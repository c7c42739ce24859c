"""The plan's invariants on random coverage, instants and settings, against the rules as
written (one date at a time, with the exact local-date conversion)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ga4sync.sync.plan import (
    GA4_EARLIEST_DATE,
    HISTORY,
    RECENT,
    Chunk,
    PlanSettings,
    coverage_status,
    is_settled,
    plan_sync,
)

ZONES = [
    "UTC",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",  # half-hour DST
    "Etc/GMT+12",  # UTC-12
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kathmandu",  # +05:45
    "America/Santiago",  # DST changes at midnight
    "America/Havana",  # DST changes at midnight
    "Asia/Gaza",
    "Pacific/Apia",  # dropped its DST in 2021
    "Africa/Juba",  # moved from +03 to +02 at midnight in 2021
    "Asia/Pyongyang",  # moved from +08:30 to +09 at 23:30 in 2018
    "America/Caracas",  # moved from -04:30 to -04 in 2016
]
REPORTS = ["pages", "events", "devices"]


def at_local_midnight(zone: ZoneInfo, day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@st.composite
def report_coverage(
    draw: st.DrawFn, zone: ZoneInfo, today: date, plan_settings: PlanSettings
) -> dict[date, datetime]:
    """Reads of dates in and around the target range: a share of them, less a few gaps,
    each read by a daily sync or at a random instant near a local midnight (where
    settling changes), handed over in any zone (the instant is what counts)."""
    lookback = plan_settings.lookback_days
    oldest_age = plan_settings.backfill_days + 20
    share = draw(st.sampled_from([0.0, 0.3, 0.9, 1.0, 1.0]))
    daily = draw(st.booleans())
    gaps = draw(st.lists(st.tuples(st.integers(-3, oldest_age), st.integers(1, 60)), max_size=3))
    # per-date choices come from a seeded generator: thousands of draws per example
    # would make hypothesis slow, and the seed still replays a failure
    rng = random.Random(draw(st.integers(0, 2**32)))
    last_sync = today - timedelta(days=draw(st.integers(0, 12)))
    reads: dict[date, datetime] = {}
    for age in range(-3, oldest_age + 1):
        if rng.random() >= share or any(0 <= age - newest < length for newest, length in gaps):
            continue
        d = today - timedelta(days=age)
        if d < date(2015, 1, 1):
            continue
        if daily:
            read_on = min(d + timedelta(days=lookback + 1), last_sync)
            read_at = datetime.combine(read_on, time(0, 15), tzinfo=zone).astimezone(UTC)
        else:
            after_days = rng.randint(-1, lookback + 3)
            jitter = timedelta(minutes=rng.randint(-180, 180))
            read_at = at_local_midnight(zone, d + timedelta(days=after_days)) + jitter
        offset = timedelta(minutes=rng.choice([0, 0, 0, -720, -330, 345, 840]))
        reads[d] = read_at.astimezone(timezone(offset))
    return reads


@st.composite
def sync_inputs(draw: st.DrawFn) -> dict:
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    now = draw(
        st.datetimes(
            min_value=datetime(2015, 8, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
        )
    )
    plan_settings = PlanSettings(
        lookback_days=draw(st.integers(0, 8)),
        backfill_days=draw(st.integers(0, 400)),
        backfill_chunk_days=draw(st.integers(1, 45)),
    )
    today = now.astimezone(zone).date()
    earliest = draw(st.none() | st.integers(-500, 3).map(lambda n: today + timedelta(days=n)))
    coverage = {
        report: draw(report_coverage(zone, today, plan_settings))
        for report in REPORTS[: draw(st.integers(1, len(REPORTS)))]
    }
    return {
        "time_zone": zone_name,
        "now": now,
        "coverage": coverage,
        "settings": plan_settings,
        "earliest": earliest,
    }


def days_of(chunk: Chunk) -> list[date]:
    return [chunk.start_date + timedelta(days=n) for n in range(chunk.days)]


def expected_unsettled(inputs: dict) -> tuple[date, date, dict[str, set[date]]]:
    """The rules as the product states them, one date at a time."""
    zone = ZoneInfo(inputs["time_zone"])
    plan_settings: PlanSettings = inputs["settings"]
    today = inputs["now"].astimezone(zone).date()
    reach = max(plan_settings.backfill_days, plan_settings.lookback_days + 1)
    start = max(today - timedelta(days=reach), inputs["earliest"] or date.min, GA4_EARLIEST_DATE)
    unsettled: dict[str, set[date]] = {}
    for report, reads in inputs["coverage"].items():
        unsettled[report] = set()
        d = start
        while d <= today:
            read_at = reads.get(d)
            if read_at is None or not is_settled(d, read_at, zone, plan_settings.lookback_days):
                unsettled[report].add(d)
            d += timedelta(days=1)
    return start, today, unsettled


@settings(max_examples=300, deadline=None)
@given(sync_inputs())
def test_plan_invariants(inputs):
    chunks = plan_sync(**inputs)
    plan_settings: PlanSettings = inputs["settings"]
    start, today, unsettled = expected_unsettled(inputs)
    recent_from = today - timedelta(days=plan_settings.lookback_days + 1)
    rank = {report: n for n, report in enumerate(inputs["coverage"])}

    # planned dates are exactly the unsettled dates of the target range, each once
    for report, expected in unsettled.items():
        dates = [d for c in chunks if c.report == report for d in days_of(c)]
        assert len(dates) == len(set(dates))
        assert set(dates) == expected

    for chunk in chunks:
        assert chunk.report in rank
        assert start <= chunk.start_date <= chunk.end_date <= today
        if chunk.kind == RECENT:
            assert chunk.start_date >= recent_from
        else:
            assert chunk.kind == HISTORY
            assert chunk.end_date < recent_from
            assert chunk.days <= plan_settings.backfill_chunk_days

    # recent before history; each newest first, ties in report order
    kinds = [c.kind for c in chunks]
    assert kinds == sorted(kinds, key=lambda kind: kind != RECENT)
    keys = [(c.kind != RECENT, -c.end_date.toordinal(), rank[c.report]) for c in chunks]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)

    # runs are maximal: a recent run is one chunk; a history run is cut only into
    # full chunks counted back from its newest date
    for report in rank:
        for kind in (RECENT, HISTORY):
            mine = sorted(
                (c for c in chunks if c.report == report and c.kind == kind),
                key=lambda c: c.end_date,
                reverse=True,
            )
            for newer, older in itertools.pairwise(mine):
                if older.end_date + timedelta(days=1) == newer.start_date:
                    assert kind == HISTORY
                    assert newer.days == plan_settings.backfill_chunk_days


@settings(max_examples=150, deadline=None)
@given(sync_inputs())
def test_status_invariants(inputs):
    chunks = plan_sync(**inputs)
    statuses = coverage_status(**inputs)
    start, today, unsettled = expected_unsettled(inputs)
    history_end = today - timedelta(days=inputs["settings"].lookback_days + 2)
    history = {start + timedelta(days=n) for n in range((history_end - start).days + 1)}
    target = {start + timedelta(days=n) for n in range((today - start).days + 1)}
    assert list(statuses) == list(inputs["coverage"])
    for report, status in statuses.items():
        settled = target - unsettled[report]
        assert status.oldest_settled == (min(settled) if settled else None)
        assert status.newest_settled == (max(settled) if settled else None)
        assert status.days_missing == len(history & unsettled[report])
        assert status.days_missing == sum(
            c.days for c in chunks if c.report == report and c.kind == HISTORY
        )
        assert 0.0 <= status.backfill_percent <= 100.0
        if history:
            assert status.backfill_percent == 100.0 * len(history - unsettled[report]) / len(
                history
            )
        else:
            assert status.backfill_percent == 100.0


def read_all(coverage: dict, chunks: list[Chunk], at: datetime) -> dict:
    updated = {report: dict(reads) for report, reads in coverage.items()}
    for chunk in chunks:
        for d in days_of(chunk):
            updated[chunk.report][d] = at
    return updated


@settings(max_examples=75, deadline=None)
@given(sync_inputs(), st.integers(0, 12))
def test_a_read_plan_leaves_only_the_days_too_young_to_settle(inputs, days_later):
    """Read every planned chunk at now and plan again some days later: only dates that
    read could not settle come back (and days never read), never history already read."""
    zone = ZoneInfo(inputs["time_zone"])
    lookback = inputs["settings"].lookback_days
    now = inputs["now"]
    coverage = read_all(inputs["coverage"], plan_sync(**inputs), now)
    again = plan_sync(**{**inputs, "coverage": coverage, "now": now + timedelta(days=days_later)})
    today = now.astimezone(zone).date()
    for chunk in again:
        for d in days_of(chunk):
            assert d >= today - timedelta(days=lookback) or d not in coverage[chunk.report]


@settings(max_examples=75, deadline=None)
@given(sync_inputs())
def test_reading_the_plan_lookback_plus_one_days_later_leaves_only_recent_days(inputs):
    later = inputs["now"] + timedelta(days=inputs["settings"].lookback_days + 1)
    coverage = read_all(inputs["coverage"], plan_sync(**inputs), later)
    again = plan_sync(**{**inputs, "coverage": coverage, "now": later})
    assert {c.kind for c in again} <= {RECENT}
