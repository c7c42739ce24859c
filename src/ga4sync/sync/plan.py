"""Which dates of which reports one sync of a GA4 property must read.

ga4sync records, per property and report, the dates it has read completely and
the instant of that read ("coverage"). GA4 keeps revising a date for a few days
after it, so a read only counts for good once it happened late enough:

* **Settled.** A date is settled when its last complete read happened on a local
  date (in the property's time zone) more than ``lookback_days`` days after it:
  ``(read_at.astimezone(zone).date() - d).days > lookback_days``. A settled
  date is never read again; every other date of the target range is. The
  lookback is the report's (its own, or the sync's), or the one the read was
  made under when that was smaller: a lookback raised later does not unsettle
  the dates read for good under the old one (it would re-read a report's whole
  history), a lookback lowered settles at once what is old enough under it.
* **Target range.** From ``today - max(backfill_days, lookback_days + 1)`` up to
  and including today, "today" being the sync's instant in the property's time
  zone; never before the property's first date with data nor before GA4's
  first possible date. A report with a backfill or lookback of its own has a
  target range of its own.
* **Chunks.** The dates to read are grouped into maximal runs of consecutive
  dates. The part of a run within ``lookback_days + 1`` days of today is one
  "recent" chunk; older parts ("history": backfill and gaps left by downtime)
  are cut into chunks of at most ``backfill_chunk_days`` days, counted back from
  the newest date, so that history fills in from today backwards.
* **Order.** Every report's recent chunks come first, so a sync that runs out of
  quota has still refreshed what users look at; then history chunks newest
  first, ties in the order the reports were given. A chunk holds one report.

Week and month reports follow the same rules with periods for dates (see
``sync/periods.py``).

Pure: no I/O, no clock of its own (``now`` is an input), stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ga4sync.sync import periods
from ga4sync.sync.periods import PeriodGrain

Grain = Literal["day", "week", "month"]

# GA4 properties exist since 2015-08-14; the Data API has no data before it.
GA4_EARLIEST_DATE = date(2015, 8, 14)

ChunkKind = Literal["recent", "history"]
RECENT: ChunkKind = "recent"
HISTORY: ChunkKind = "history"

# GA4 stops revising a date after about three days; a lookback of years is a
# typo, and one past the calendar's end would overflow date arithmetic
MAX_LOOKBACK_DAYS = 3650

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """How far back a sync reads: ``SYNC_LOOKBACK_DAYS``, ``SYNC_BACKFILL_DAYS``,
    ``SYNC_BACKFILL_CHUNK_DAYS``."""

    lookback_days: int = 3
    backfill_days: int = 365
    backfill_chunk_days: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.lookback_days <= MAX_LOOKBACK_DAYS:
            raise ValueError(
                f"lookback_days must be between 0 and {MAX_LOOKBACK_DAYS}, got {self.lookback_days}"
            )
        if self.backfill_days < 0:
            raise ValueError(f"backfill_days must be >= 0, got {self.backfill_days}")
        if self.backfill_chunk_days < 1:
            raise ValueError(f"backfill_chunk_days must be >= 1, got {self.backfill_chunk_days}")

    def for_report(self, lookback_days: int | None, backfill_days: int | None) -> PlanSettings:
        """These settings with a report's own lookback and backfill (None: these)."""
        if lookback_days is None and backfill_days is None:
            return self
        return PlanSettings(
            lookback_days=self.lookback_days if lookback_days is None else lookback_days,
            backfill_days=self.backfill_days if backfill_days is None else backfill_days,
            backfill_chunk_days=self.backfill_chunk_days,
        )


# per report, the lookback each read was made under (a date without: the report's own)
ReadLookbacks = Mapping[str, Mapping[date, int]]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One runReport date range (both ends included) of one report."""

    report: str
    start_date: date
    end_date: date
    kind: ChunkKind

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1


@dataclass(frozen=True, slots=True)
class CoverageStatus:
    """How far a report's history is read, for progress reporting.

    All of it is about the target range, the dates a sync may read, so the
    store can leave older dates out. ``oldest_settled``/``newest_settled`` are
    its oldest and newest settled dates (there may be gaps between them).
    ``days_missing`` and ``backfill_percent`` count only its history part: the
    recent window is re-read on every sync, so it says nothing about progress.
    """

    oldest_settled: date | None
    newest_settled: date | None
    days_missing: int
    backfill_percent: float


def load_zone(time_zone: str) -> ZoneInfo:
    """The property's IANA time zone; ``ValueError`` when there is no such zone."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        # ZoneInfoNotFoundError is a KeyError; one error type is easier to map
        raise ValueError(f"unknown time zone {time_zone!r}") from exc


def _require_aware(name: str, instant: datetime) -> None:
    # a naive instant would silently be read in the machine's own zone
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {instant!r}")


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The property's date at the instant ``now``."""
    _require_aware("now", now)
    return now.astimezone(zone).date()


def is_settled(day: date, read_at: datetime, zone: ZoneInfo, lookback_days: int) -> bool:
    """Whether a complete read of ``day`` at ``read_at`` is final.

    Counted in the property's local dates, the calendar its reports are in, not
    in hours or UTC dates: a read at 23:30 local is a day earlier than one at
    00:30 the next local day.
    """
    _require_aware("read_at", read_at)
    return (read_at.astimezone(zone).date() - day).days > lookback_days


def recent_start(today: date, lookback_days: int) -> date:
    """The oldest date of the recent window (``today - d <= lookback_days + 1``)."""
    return today - timedelta(days=lookback_days + 1)


def target_start(today: date, settings: PlanSettings, earliest: date | None = None) -> date:
    """The oldest date a sync on ``today`` may read.

    Even with ``backfill_days=0`` the range reaches back over the recent window:
    those days are re-read until they settle, which is lookback, not history.
    The result is after ``today`` when ``earliest`` is (nothing to read yet).
    """
    floor = GA4_EARLIEST_DATE if earliest is None else max(earliest, GA4_EARLIEST_DATE)
    reach_days = max(settings.backfill_days, settings.lookback_days + 1)
    # compare day counts first: a huge backfill_days would overflow date arithmetic
    if reach_days >= (today - floor).days:
        return floor
    return today - timedelta(days=reach_days)


def _settle_instants(
    zone: ZoneInfo, start: date, end: date, lookback_days: int
) -> tuple[datetime | None, ...]:
    """Per date of ``[start, end]``, the first instant (UTC) at which a read settles it.

    That is the start of the local day ``lookback_days + 1`` after the date:
    local midnight minus its UTC offset. Comparing a read instant with it gives
    :func:`is_settled`'s answer without converting every read to local time,
    a time zone conversion per date and report that would make up most of a
    plan's cost.

    That is exact unless the midnight falls in a gap or fold of an offset
    change (Toronto sprang from 23:30 to 00:30 in 1919). Then the offset that
    zoneinfo gives for it is the one before the change, so it differs from the
    offset at the next midnight: the entry is ``None`` and the caller asks
    :func:`is_settled`. Midnights next to a plain DST change take that path
    too, which costs a conversion on two days a year. (This holds as long as a
    zone changes its offset at most once a day, as every zone in the tz
    database does.)
    """
    count = (end - start).days + 1
    if count <= 0:
        return ()
    # each midnight twice: on the zone's wall clock, to ask for its offset, and
    # as the same wall time labelled UTC, which less the offset is the instant
    # (datetime.replace or astimezone per date would cost more than the rest)
    first_settle_day = start + timedelta(days=lookback_days + 1)
    wall = datetime.combine(first_settle_day, time(tzinfo=zone))
    wall_as_utc = datetime.combine(first_settle_day, time(tzinfo=UTC))
    offsets: list[timedelta | None] = []
    midnights: list[datetime] = []
    # every settle day, and the day after the last one
    for _ in range(count + 1):
        offsets.append(zone.utcoffset(wall))
        midnights.append(wall_as_utc)
        wall += _ONE_DAY
        wall_as_utc += _ONE_DAY
    instants: list[datetime | None] = []
    for n in range(count):
        offset = offsets[n]
        if offset is None or offset != offsets[n + 1]:
            instants.append(None)
        else:
            instants.append(midnights[n] - offset)
    return tuple(instants)


def _unsettled_runs(
    coverage: Mapping[date, datetime],
    start: date,
    settle_at: Sequence[datetime | None],
    zone: ZoneInfo,
    lookback_days: int,
    made_under: Mapping[date, int] | None = None,
) -> Iterator[tuple[date, date]]:
    """Maximal runs ``(first, last)`` of unsettled dates from ``start``, oldest first.

    ``settle_at`` comes from :func:`_settle_instants` and fixes the range. One
    lookup per date of the range, so the cost follows the range, not the size
    of the coverage (which grows by a date every day, forever). ``made_under``
    gives the lookback reads were made under: a date unsettled under
    ``lookback_days`` is settled when its read was made under a smaller
    lookback that settles it.
    """
    get = coverage.get
    under = made_under.get if made_under else None
    run_first: date | None = None
    day = start
    for threshold in settle_at:
        read_at = get(day)
        if read_at is None:
            settled = False
        elif read_at.tzinfo is None:
            raise ValueError(f"the read of {day} must be an aware datetime, got {read_at!r}")
        elif threshold is None:
            settled = is_settled(day, read_at, zone, lookback_days)
        else:
            settled = read_at >= threshold
        if not settled and read_at is not None and under is not None:
            then = under(day)
            if then is not None and then < lookback_days:
                settled = is_settled(day, read_at, zone, then)
        if not settled:
            if run_first is None:
                run_first = day
        elif run_first is not None:
            yield run_first, day - _ONE_DAY
            run_first = None
        day += _ONE_DAY
    if run_first is not None:
        yield run_first, day - _ONE_DAY


def missing_dates(
    coverage: Mapping[date, datetime],
    *,
    start: date,
    end: date,
    zone: ZoneInfo,
    lookback_days: int,
    made_under: Mapping[date, int] | None = None,
) -> list[date]:
    """The dates in ``[start, end]`` that are not settled, oldest first."""
    settle_at = _settle_instants(zone, start, end, lookback_days)
    dates: list[date] = []
    runs = _unsettled_runs(coverage, start, settle_at, zone, lookback_days, made_under)
    for first, last in runs:
        dates.extend(first + timedelta(days=n) for n in range((last - first).days + 1))
    return dates


def _history_chunks(report: str, first: date, last: date, chunk_days: int) -> Iterator[Chunk]:
    """``[first, last]`` cut into chunks of ``chunk_days``, newest first.

    Counted back from ``last`` so that the newest history is complete after the
    first chunk, and only the oldest chunk of a run can be short.
    """
    # capped by the run's length: a huge chunk_days would overflow timedelta
    span = timedelta(days=min(chunk_days, (last - first).days + 1) - 1)
    end = last
    while end >= first:
        start = max(first, end - span)
        yield Chunk(report, start, end, HISTORY)
        end = start - _ONE_DAY


@dataclass(frozen=True, slots=True)
class _Window:
    """The dates one sync looks at, from its inputs."""

    zone: ZoneInfo
    today: date
    start: date  # oldest date of the target range; after today when nothing is
    recent_from: date  # oldest date of the recent window
    settle_at: tuple[datetime | None, ...]

    @classmethod
    def of(
        cls, time_zone: str, now: datetime, settings: PlanSettings, earliest: date | None
    ) -> _Window:
        zone = load_zone(time_zone)
        today = local_today(now, zone)
        start = target_start(today, settings, earliest)
        recent_from = recent_start(today, settings.lookback_days)
        # computed once and shared by every report of the property
        settle_at = _settle_instants(zone, start, today, settings.lookback_days)
        return cls(zone, today, start, recent_from, settle_at)


class _Windows:
    """The window of each report's settings: one per distinct settings, shared."""

    def __init__(
        self,
        time_zone: str,
        now: datetime,
        settings: PlanSettings,
        earliest: date | None,
        report_settings: Mapping[str, PlanSettings] | None,
    ) -> None:
        self._args = (time_zone, now, earliest)
        self._settings = settings
        self._report_settings = report_settings or {}
        self._made: dict[PlanSettings, _Window] = {}
        self.of(settings)  # an unknown time zone fails even without reports

    def of(self, settings: PlanSettings) -> _Window:
        window = self._made.get(settings)
        if window is None:
            time_zone, now, earliest = self._args
            window = self._made[settings] = _Window.of(time_zone, now, settings, earliest)
        return window

    def settings(self, report: str) -> PlanSettings:
        return self._report_settings.get(report, self._settings)


def plan_sync(
    *,
    time_zone: str,
    now: datetime,
    coverage: Mapping[str, Mapping[date, datetime]],
    settings: PlanSettings,
    earliest: date | None = None,
    grains: Mapping[str, Grain] | None = None,
    report_settings: Mapping[str, PlanSettings] | None = None,
    read_lookbacks: ReadLookbacks | None = None,
) -> list[Chunk]:
    """The chunks a sync at ``now`` must read, in the order to read them.

    ``coverage`` maps every report to sync (a report never read maps to an empty
    mapping) to the instant of the last complete read of each date (of each
    period's first day, for a week or month report); its order breaks ties
    between reports. ``grains`` gives the reports that are not by day their
    grain (see ``sync/periods.py``), ``report_settings`` the reports with a
    lookback or backfill of their own their settings, ``read_lookbacks`` the
    lookback the reads were made under.
    """
    windows = _Windows(time_zone, now, settings, earliest, report_settings)
    # (kind rank, -end ordinal, report rank) puts recent before history, then
    # newest first, then reports as given; the three together are unique
    keyed: list[tuple[tuple[int, int, int], Chunk]] = []
    for rank, (report, dates) in enumerate(coverage.items()):
        grain = (grains or {}).get(report, "day")
        own = windows.settings(report)
        window = windows.of(own)
        made_under = (read_lookbacks or {}).get(report)
        if grain != "day":
            for chunk in _period_chunks(report, dates, grain, window, own, made_under):
                kind_rank = 0 if chunk.kind == RECENT else 1
                keyed.append(((kind_rank, -chunk.end_date.toordinal(), rank), chunk))
            continue
        recent_from = window.recent_from
        runs = _unsettled_runs(
            dates, window.start, window.settle_at, window.zone, own.lookback_days, made_under
        )
        for first, last in runs:
            if last >= recent_from:
                recent = Chunk(report, max(first, recent_from), last, RECENT)
                keyed.append(((0, -last.toordinal(), rank), recent))
            if first < recent_from:
                history_last = min(last, recent_from - _ONE_DAY)
                for chunk in _history_chunks(report, first, history_last, own.backfill_chunk_days):
                    keyed.append(((1, -chunk.end_date.toordinal(), rank), chunk))
    keyed.sort(key=lambda item: item[0])
    return [chunk for _, chunk in keyed]


def _period_chunks(
    report: str,
    coverage: Mapping[date, datetime],
    grain: PeriodGrain,
    window: _Window,
    settings: PlanSettings,
    made_under: Mapping[date, int] | None,
) -> Iterator[Chunk]:
    """The chunks of a week or month report: whole periods, recent then history."""
    if window.start > window.today:
        return
    runs = periods.unsettled_runs(
        coverage,
        window.start,
        window.today,
        grain,
        window.zone,
        settings.lookback_days,
        made_under,
    )
    for run in runs:
        recent = [p for p in run if p.end >= window.recent_from]
        old = [p for p in run if p.end < window.recent_from]
        if recent:
            start = max(recent[0].start, GA4_EARLIEST_DATE)
            yield Chunk(report, start, min(recent[-1].end, window.today), RECENT)
        for part in periods.history_chunks(old, grain, settings.backfill_chunk_days):
            yield Chunk(report, max(part[0].start, GA4_EARLIEST_DATE), part[-1].end, HISTORY)


def _period_status(
    coverage: Mapping[date, datetime],
    grain: PeriodGrain,
    window: _Window,
    settings: PlanSettings,
    made_under: Mapping[date, int] | None,
) -> CoverageStatus:
    """:func:`coverage_status` of a week or month report, counted in days of the
    target range; a period is history when it ends before the recent window."""
    start, today = window.start, window.today
    total = missing = 0
    settled: list[periods.Period] = []
    for period in periods.periods(start, today, grain):
        is_settled_ = periods.is_period_settled(
            period,
            coverage.get(period.start),
            window.zone,
            periods.lookback_of(period, settings.lookback_days, made_under),
        )
        if is_settled_:
            settled.append(period)
        if period.end < window.recent_from:
            days = (period.end - max(period.start, start)).days + 1
            total += days
            missing += 0 if is_settled_ else days
    return CoverageStatus(
        oldest_settled=max(settled[0].start, start) if settled else None,
        newest_settled=min(settled[-1].end, today) if settled else None,
        days_missing=missing,
        backfill_percent=100.0 if total == 0 else 100.0 * (total - missing) / total,
    )


def _settled_bounds(
    start: date, end: date, runs: Sequence[tuple[date, date]]
) -> tuple[date | None, date | None]:
    """The oldest and newest date of ``[start, end]`` outside the unsettled ``runs``.

    The runs are maximal and sorted, so only the first and last can touch the
    ends of the range.
    """
    oldest, newest = start, end
    if runs and runs[0][0] == start:
        oldest = runs[0][1] + _ONE_DAY
    if runs and runs[-1][1] == end:
        newest = runs[-1][0] - _ONE_DAY
    if oldest > newest:
        return None, None
    return oldest, newest


def coverage_status(
    *,
    time_zone: str,
    now: datetime,
    coverage: Mapping[str, Mapping[date, datetime]],
    settings: PlanSettings,
    earliest: date | None = None,
    grains: Mapping[str, Grain] | None = None,
    report_settings: Mapping[str, PlanSettings] | None = None,
    read_lookbacks: ReadLookbacks | None = None,
) -> dict[str, CoverageStatus]:
    """Per report, how much of its history is settled at ``now``.

    Takes the same inputs as :func:`plan_sync` and looks at the same dates (the
    target range), so ``days_missing`` is the number of history dates that
    :func:`plan_sync` plans, and the store may leave older dates out.
    """
    windows = _Windows(time_zone, now, settings, earliest, report_settings)
    statuses: dict[str, CoverageStatus] = {}
    for report, dates in coverage.items():
        grain = (grains or {}).get(report, "day")
        own = windows.settings(report)
        window = windows.of(own)
        made_under = (read_lookbacks or {}).get(report)
        if grain != "day":
            statuses[report] = _period_status(dates, grain, window, own, made_under)
            continue
        start, today = window.start, window.today
        history_end = window.recent_from - _ONE_DAY
        history_days = max(0, (history_end - start).days + 1)
        runs = list(
            _unsettled_runs(
                dates, start, window.settle_at, window.zone, own.lookback_days, made_under
            )
        )
        missing = sum(
            (min(last, history_end) - first).days + 1
            for first, last in runs
            if first <= history_end
        )
        oldest, newest = _settled_bounds(start, today, runs)
        settled_history = history_days - missing
        percent = 100.0 if history_days == 0 else 100.0 * settled_history / history_days
        statuses[report] = CoverageStatus(
            oldest_settled=oldest,
            newest_settled=newest,
            days_missing=missing,
            backfill_percent=percent,
        )
    return statuses


def resync_chunks(
    report: str,
    grain: Grain,
    first: date,
    last: date,
    today: date,
    chunk_days: int,
) -> list[Chunk]:
    """The chunks that read ``[first, last]`` of one report again, whatever its
    coverage says, newest first: whole periods for a week or month report (those
    overlapping the range), never past ``today`` nor before GA4's first date.
    They are the run's own reads (kind ``recent``), not background history."""
    first, last = max(first, GA4_EARLIEST_DATE), min(last, today)
    if first > last:
        return []
    if grain == "day":
        return [replace(c, kind=RECENT) for c in _history_chunks(report, first, last, chunk_days)]
    run = list(periods.periods(first, last, grain))
    return [
        Chunk(report, max(part[0].start, GA4_EARLIEST_DATE), min(part[-1].end, today), RECENT)
        for part in periods.history_chunks(run, grain, chunk_days)
    ]
