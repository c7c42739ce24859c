"""Weeks and months as a report's grain: their first and last days, and the plan
of which of them a sync reads.

A week report asks GA4 for ``isoYearIsoWeek`` (ISO weeks, Monday to Sunday), a
month report for ``yearMonth``. Either keys a row by its period's first day and
records coverage per period, so that a period is read as a whole: GA4's users
of a week are the week's distinct users, which no sum of days gives. The rules
are the days' rules (see ``sync/plan.py``) with periods for dates:

* **Settled.** A period is settled once read completely on a local date more
  than ``lookback_days`` days after its last day.
* **Target range.** Every period that overlaps the days' target range, the
  current one included (read up to today).
* **Chunks.** Runs of unsettled periods; the periods that end within the recent
  window form the recent chunk, older ones are history, cut into chunks of as
  many whole periods as fit in ``backfill_chunk_days`` (at least one), newest
  first. A chunk starts on a period's first day (never before GA4's first
  date) and ends on a period's last day, or today for the current period.

Pure: no I/O, no clock of its own, stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodGrain = Literal["week", "month"]
_ONE_DAY = timedelta(days=1)
# Days a period counts for when cutting history into chunks of backfill_chunk_days.
PERIOD_DAYS: dict[PeriodGrain, int] = {"week": 7, "month": 30}


def period_start(day: date, grain: PeriodGrain) -> date:
    """The first day of the period holding ``day``: its ISO week's Monday, or the 1st."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period(start: date, grain: PeriodGrain) -> date:
    """The first day of the period after the one that starts on ``start``."""
    if grain == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def period_end(start: date, grain: PeriodGrain) -> date:
    return next_period(start, grain) - _ONE_DAY


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # the period's last day (it may be after today)


def periods(first: date, last: date, grain: PeriodGrain) -> Iterator[Period]:
    """The periods that overlap ``[first, last]``, oldest first."""
    start = period_start(first, grain)
    while start <= last:
        following = next_period(start, grain)
        yield Period(start, following - _ONE_DAY)
        start = following


def is_period_settled(
    period: Period, read_at: datetime | None, zone: ZoneInfo, lookback_days: int
) -> bool:
    if read_at is None:
        return False
    if read_at.tzinfo is None or read_at.utcoffset() is None:
        raise ValueError(f"the read of {period.start} must be an aware datetime, got {read_at!r}")
    return (read_at.astimezone(zone).date() - period.end).days > lookback_days


def lookback_of(period: Period, lookback_days: int, made_under: Mapping[date, int] | None) -> int:
    """The lookback that settles the period's read: ``lookback_days``, or the one
    the read was made under when smaller (see ``sync/plan.py``)."""
    then = made_under.get(period.start) if made_under else None
    return lookback_days if then is None else min(then, lookback_days)


def unsettled_runs(
    coverage: Mapping[date, datetime],
    first: date,
    last: date,
    grain: PeriodGrain,
    zone: ZoneInfo,
    lookback_days: int,
    made_under: Mapping[date, int] | None = None,
) -> Iterator[list[Period]]:
    """Maximal runs of consecutive unsettled periods overlapping ``[first, last]``,
    oldest first; coverage (and ``made_under``, the lookback each read was made
    under) is keyed by each period's first day."""
    run: list[Period] = []
    for period in periods(first, last, grain):
        lookback = lookback_of(period, lookback_days, made_under)
        if is_period_settled(period, coverage.get(period.start), zone, lookback):
            if run:
                yield run
                run = []
        else:
            run.append(period)
    if run:
        yield run


def history_chunks(
    run: list[Period], grain: PeriodGrain, chunk_days: int
) -> Iterator[list[Period]]:
    """``run`` cut into chunks of whole periods, newest first."""
    size = max(1, chunk_days // PERIOD_DAYS[grain])
    end = len(run)
    while end > 0:
        yield run[max(0, end - size) : end]
        end -= size
