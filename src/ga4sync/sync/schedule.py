"""The daily schedule in local time: when today's run is due and when the next one is.

The daily run belongs to a local date and is due from ``daily_at`` (00:15) in
``SYNC_TIMEZONE`` on that date. Computing this with zoneinfo (rather than a
cron in UTC) keeps it right across both DST changes.
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


def due_run_date(now: datetime, zone: ZoneInfo, daily_at: time) -> date:
    """The local date of the latest daily run whose time has come at ``now``."""
    today = now.astimezone(zone).date()
    if now >= run_instant(today, zone, daily_at):
        return today
    return today - timedelta(days=1)


def next_run_at(now: datetime, zone: ZoneInfo, daily_at: time) -> datetime:
    """The next daily run time strictly after ``now``, as an aware local datetime."""
    run_date = due_run_date(now, zone, daily_at) + timedelta(days=1)
    return run_instant(run_date, zone, daily_at).astimezone(zone)
