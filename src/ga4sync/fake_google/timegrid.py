"""Values of GA4's time dimensions, as functions of the day (and hour and minute)."""

from __future__ import annotations

from datetime import date

_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _week(day: date) -> tuple[int, int]:
    """GA4's ``year`` and ``week``: weeks start on Sunday and 1 January is in week 01."""
    first = date(day.year, 1, 1)
    first_sunday_offset = (first.weekday() + 1) % 7  # days since Sunday on 1 January
    return day.year, (day.toordinal() - first.toordinal() + first_sunday_offset) // 7 + 1


def _months_between(start: date, day: date) -> int:
    return (day.year - start.year) * 12 + day.month - start.month


def day_value(name: str, day: date, start: date) -> str:
    """The value of the day-derived dimension ``name`` on ``day``; ``start`` is the
    first day of the date range (for the ``nth*`` dimensions)."""
    if name == "date":
        return day.strftime("%Y%m%d")
    if name == "year":
        return f"{day.year:04d}"
    if name == "month":
        return f"{day.month:02d}"
    if name == "day":
        return f"{day.day:02d}"
    if name == "yearMonth":
        return f"{day.year:04d}{day.month:02d}"
    if name == "dayOfWeek":
        return str((day.weekday() + 1) % 7)
    if name == "dayOfWeekName":
        return _WEEKDAYS[(day.weekday() + 1) % 7]
    if name in ("week", "yearWeek"):
        year, week = _week(day)
        return f"{week:02d}" if name == "week" else f"{year:04d}{week:02d}"
    if name in ("isoWeek", "isoYear", "isoYearIsoWeek"):
        iso_year, iso_week, _ = day.isocalendar()
        if name == "isoWeek":
            return f"{iso_week:02d}"
        if name == "isoYear":
            return f"{iso_year:04d}"
        return f"{iso_year:04d}{iso_week:02d}"
    if name == "nthDay":
        return f"{(day - start).days:04d}"
    if name == "nthWeek":
        return f"{(day - start).days // 7:04d}"
    if name == "nthMonth":
        return f"{_months_between(start, day):04d}"
    if name == "nthYear":
        return f"{_months_between(start, day) // 12:04d}"
    raise KeyError(name)


def sub_day_value(name: str, day: date, start: date, hour: str, minute: str = "00") -> str:
    """The value of ``dateHour``, ``dateHourMinute``, ``nthHour`` or ``nthMinute``."""
    if name == "dateHour":
        return day.strftime("%Y%m%d") + hour
    if name == "dateHourMinute":
        return day.strftime("%Y%m%d") + hour + minute
    hours = (day - start).days * 24 + int(hour)
    if name == "nthHour":
        return f"{hours:04d}"
    if name == "nthMinute":
        return f"{hours * 60 + int(minute):04d}"
    raise KeyError(name)
