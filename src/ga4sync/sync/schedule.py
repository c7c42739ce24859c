"""The daily schedule in local time: when today's run is due and when the next one is.

The daily run belongs to a local date and is due from ``daily_at`` (00:15) in
``SYNC_TIMEZONE`` on that date until the date ends: a run that did not start
at its time (no worker was up) is caught up later the same local day, never
on the next one. Between local midnight and ``daily_at`` nothing is due: the
run of the day before, if it never happened, is not started minutes before
today's, which re-reads the same days. Computing this with zoneinfo (rather
than a cron in UTC) keeps it right across both DST changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY_LOCK_PREFIX = "ga4_daily:"


def daily_lock_key(run_date: date) -> str:
    return f"{DAILY_LOCK_PREFIX}{run_date.isoformat()}"


def run_instant(run_date: date, zone: ZoneInfo, daily_at: time) -> datetime:
    """The instant (UTC) of ``daily_at`` on ``run_date`` in ``zone``.

    A local time that a DST gap skips maps to the instant just after the gap.
    """
    local = datetime.combine(run_date, daily_at, tzinfo=zone)
    return local.astimezone(UTC)


def due_run_date(now: datetime, zone: ZoneInfo, daily_at: time) -> date | None:
    """The local date whose daily run is due at ``now``: today once today's run
    time has come, else None (nothing is due before it)."""
    today = now.astimezone(zone).date()
    if now >= run_instant(today, zone, daily_at):
        return today
    return None


def next_run_at(now: datetime, zone: ZoneInfo, daily_at: time) -> datetime:
    """The next daily run time strictly after ``now``, as an aware local datetime."""
    today = now.astimezone(zone).date()
    run_date = today if due_run_date(now, zone, daily_at) is None else today + timedelta(days=1)
    return run_instant(run_date, zone, daily_at).astimezone(zone)
