"""Periods of a read, split by PeriodSplitter: unchanged ones skipped whole,
changed ones written, memory bounded by a page."""

from __future__ import annotations

from datetime import date

import pytest

from ga4sync.errors import Ga4RequestError
from ga4sync.store.report_tables import period_date
from ga4sync.sync.digests import PeriodSplitter

ROWS = [
    ("20261101", "/a", "1"),
    ("20261101", "/b", "2"),
    ("20261102", "/a", "3"),
    ("20261103", "/a", "4"),
    ("20261103", "/b", "5"),
]


def digests_of(rows) -> dict[date, tuple[int, int]]:
    """What a first complete read stores: each period's digest and rows."""
    first = PeriodSplitter("day", {}, hold_at_most=100)
    written = first.add(rows) + first.finish()
    assert written == list(rows) and not first.unchanged
    counts = {d: sum(1 for r in rows if period_date("day", r[0]) == d) for d in first.digests}
    return {d: (digest, counts[d]) for d, digest in first.digests.items()}


def test_an_unchanged_reread_writes_nothing_across_pages():
    stored = digests_of(ROWS)
    again = PeriodSplitter("day", stored, hold_at_most=100)
    written = again.add(ROWS[:3]) + again.add(ROWS[3:]) + again.finish()
    assert written == []
    assert again.unchanged == {date(2026, 11, d): n for d, n in ((1, 2), (2, 1), (3, 2))}


def test_the_digest_ignores_row_order_but_not_a_value_or_a_row():
    stored = digests_of(ROWS)
    reordered = [ROWS[1], ROWS[0], *ROWS[2:]]
    again = PeriodSplitter("day", stored, hold_at_most=100)
    assert again.add(reordered) + again.finish() == []

    changed = [*ROWS[:2], ("20261102", "/a", "30"), *ROWS[3:]]
    again = PeriodSplitter("day", stored, hold_at_most=100)
    assert again.add(changed) + again.finish() == [changed[2]]
    assert date(2026, 11, 2) not in again.unchanged

    fewer = [r for r in ROWS if r[1] != "/b" or r[0] != "20261103"]
    again = PeriodSplitter("day", stored, hold_at_most=100)
    assert again.add(fewer) + again.finish() == [("20261103", "/a", "4")]


def test_a_period_larger_than_a_page_is_written_as_it_comes_and_never_skipped():
    rows = [("20261101", f"/p{n}", "1") for n in range(5)]
    stored = digests_of(rows)
    again = PeriodSplitter("day", stored, hold_at_most=2)
    first = again.add(rows[:2])
    assert first == rows[:2]  # held no more than a page
    assert again.add(rows[2:]) + again.finish() == rows[2:]
    assert again.unchanged == {}


def test_a_period_coming_back_after_it_ended_is_refused():
    splitter = PeriodSplitter("day", {}, hold_at_most=100)
    splitter.add(ROWS[:3])
    with pytest.raises(Ga4RequestError, match="not ordered by period"):
        splitter.add([("20261101", "/c", "1")])


@pytest.mark.parametrize(
    ("grain", "period", "stored_as"),
    [
        ("day", "20261231", date(2026, 12, 31)),
        ("week", "202653", date(2026, 12, 28)),
        ("month", "202612", date(2026, 12, 1)),
    ],
)
def test_periods_are_stored_under_their_first_day(grain, period, stored_as):
    assert period_date(grain, period) == stored_as


def test_a_first_load_writes_every_period_and_names_them_loaded():
    splitter = PeriodSplitter("day", {}, hold_at_most=100, first_load=True)
    assert splitter.add(ROWS) + splitter.finish() == ROWS
    assert splitter.loaded == {date(2026, 11, d): n for d, n in ((1, 2), (2, 1), (3, 2))}
    assert splitter.unchanged == {} and set(splitter.digests) == set(splitter.loaded)


def test_a_digest_that_matches_with_another_row_count_is_not_taken_for_unchanged():
    # The guard against a colliding digest: the stored row count must match too.
    stored = digests_of(ROWS)
    day = date(2026, 11, 2)
    digest, rows = stored[day]
    colliding = {**stored, day: (digest, rows + 1)}
    again = PeriodSplitter("day", colliding, hold_at_most=100)
    assert again.add(ROWS) + again.finish() == [("20261102", "/a", "3")]
    assert day not in again.unchanged and len(again.unchanged) == 2


def test_no_period_is_skipped_without_a_stored_digest():
    # Covered before digests were kept (digest null): read, compared and written.
    stored = {d: v for d, v in digests_of(ROWS).items() if d != date(2026, 11, 1)}
    again = PeriodSplitter("day", stored, hold_at_most=100)
    assert again.add(ROWS) + again.finish() == ROWS[:2]
