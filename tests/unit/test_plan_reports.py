"""A report's own lookback and history: each report planned with its settings, and a
lookback changed later never re-reading what was settled."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ga4sync.sync.plan import (
    HISTORY,
    RECENT,
    PlanSettings,
    coverage_status,
    plan_sync,
)
from tests.unit.test_plan import LA, TODAY, day, local, planned, read, span, synced_daily

DEFAULT = PlanSettings(lookback_days=3, backfill_days=60)
NOW = local(LA, TODAY)


def plan(coverage, **kwargs):
    kwargs.setdefault("time_zone", LA)
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("settings", DEFAULT)
    return plan_sync(coverage=coverage, **kwargs)


def test_for_report_keeps_the_settings_a_report_does_not_set():
    assert DEFAULT.for_report(None, None) is DEFAULT
    assert DEFAULT.for_report(7, None) == PlanSettings(lookback_days=7, backfill_days=60)
    assert DEFAULT.for_report(None, 30) == PlanSettings(lookback_days=3, backfill_days=30)
    with pytest.raises(ValueError, match="lookback_days"):
        DEFAULT.for_report(-1, None)


def test_a_report_with_a_lookback_of_7_rereads_8_days_while_another_keeps_3():
    own = {"weekly_revised": DEFAULT.for_report(7, None)}
    first = plan({"weekly_revised": {}, "pages": {}}, report_settings=own)
    # A second sync the same day: every date was read today.
    coverage = read({"weekly_revised": {}, "pages": {}}, first, NOW)
    second = plan(coverage, report_settings=own)
    assert planned(second, "weekly_revised") == span(day(7), TODAY)  # 7 days and today
    assert planned(second, "pages") == span(day(3), TODAY)  # 3 days and today
    assert {c.kind for c in second} == {RECENT}


def test_a_report_with_a_backfill_of_30_stops_its_history_there():
    own = {"short": DEFAULT.for_report(None, 30)}
    chunks = plan({"short": {}, "pages": {}}, report_settings=own)
    assert min(planned(chunks, "short")) == day(30)
    assert min(planned(chunks, "pages")) == day(60)
    # Its history chunks sort with the others', newest first.
    history = [c for c in chunks if c.kind == HISTORY]
    assert [c.end_date for c in history] == sorted((c.end_date for c in history), reverse=True)
    statuses = coverage_status(
        time_zone=LA,
        now=NOW,
        coverage=read({"short": {}, "pages": {}}, [c for c in chunks if c.report == "short"], NOW),
        settings=DEFAULT,
        report_settings=own,
    )
    assert statuses["short"].days_missing == 0 and statuses["short"].backfill_percent == 100.0
    assert statuses["short"].oldest_settled == day(30)
    assert statuses["pages"].days_missing == 60 - 4


def test_a_raised_lookback_does_not_reread_what_the_old_one_settled():
    """A year synced day by day under a lookback of 3: each date last read when 4 days
    old. Raised to 7, only the dates not settled yet are read; taken as settled or not
    by the new lookback alone, the whole year would be read again."""
    coverage = {"pages": synced_daily(LA, day(365), TODAY, lookback_days=3)}
    made_under = {"pages": {d: 3 for d in coverage["pages"]}}
    raised = {"pages": DEFAULT.for_report(7, None)}
    chunks = plan(coverage, report_settings=raised, read_lookbacks=made_under)
    assert planned(chunks) == span(day(3), TODAY)
    without = plan(coverage, report_settings=raised)
    assert len(planned(without)) > 60  # the history read again, for nothing
    # From then on the dates are read under 7 and re-read until 8 days old.
    after = read(coverage, chunks, NOW)
    made_under = {"pages": {**made_under["pages"], **dict.fromkeys(planned(chunks), 7)}}
    tomorrow = TODAY + timedelta(days=1)
    next_day = plan(
        after,
        now=local(LA, tomorrow),
        report_settings=raised,
        read_lookbacks=made_under,
    )
    assert planned(next_day) == span(day(3), tomorrow)


def test_a_lowered_lookback_settles_what_is_old_enough_under_it():
    coverage = {"pages": synced_daily(LA, day(90), TODAY, lookback_days=7)}
    made_under = {"pages": {d: 7 for d in coverage["pages"]}}
    lowered = {"pages": DEFAULT.for_report(2, None)}
    chunks = plan(coverage, report_settings=lowered, read_lookbacks=made_under)
    assert planned(chunks) == span(day(2), TODAY)


def test_a_read_made_under_a_smaller_lookback_than_today_s_counts_with_it():
    """A date read once when 2 days old under a lookback of 1 is settled; the same read
    under a lookback of 3 is not (a gap downtime left), and is read again."""
    old = day(20)
    read_at: dict[date, datetime] = {old: local(LA, old + timedelta(days=2), hour=9)}
    coverage = {"pages": {**synced_daily(LA, day(60), TODAY), **read_at}}
    for made, expected in ((1, set()), (3, {old}), (None, {old})):
        lookbacks = {"pages": {old: made}} if made is not None else None
        chunks = plan(coverage, read_lookbacks=lookbacks)
        assert planned(chunks, kind=HISTORY) == expected, made


def test_a_week_report_follows_its_own_lookback_and_the_one_its_reads_were_made_under():
    monday = TODAY - timedelta(days=TODAY.weekday())
    weeks = [monday - timedelta(weeks=n) for n in range(2, 9)]
    # Each past week read once, 5 days after its Sunday, under a lookback of 3.
    coverage = {"weekly": {w: local(LA, w + timedelta(days=11)) for w in weeks}}
    raised = {"weekly": DEFAULT.for_report(7, 50)}
    grains = {"weekly": "week"}
    unsettled = plan(coverage, report_settings=raised, grains=grains)
    assert planned(unsettled, kind=HISTORY)  # under 7 alone: read again
    made_under = {"weekly": dict.fromkeys(weeks, 3)}
    settled = plan(coverage, report_settings=raised, grains=grains, read_lookbacks=made_under)
    assert planned(settled, kind=HISTORY) == set()
    assert {c.kind for c in settled} == {RECENT}
