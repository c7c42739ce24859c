"""Realtime definitions: ``[[realtime]]`` tables of the definitions file (``GA4SYNC_REPORTS``).

Each one names a GA4 realtime report (``runRealtimeReport``) that a worker polls
for every property whose realtime is turned on, and the typed relation
``ga4_realtime_<name>`` its snapshots land in::

    [[realtime]]
    name = "active_users"             # snake_case, unique: ga4_realtime_active_users
    dimensions = ["deviceCategory"]   # optional: GA4's realtime dimensions
    metrics = ["activeUsers"]         # GA4's realtime metrics
    every_minutes = 1                 # optional (default 1): how often it is polled
    history_minutes = 0               # optional (default 0): the latest snapshot only
    minute_ranges = [                 # optional, at most 2 (default: GA4's last 30 minutes)
        { name = "last_5", startMinutesAgo = 4, endMinutesAgo = 0 },
    ]
    properties = ["123456789"]        # optional: only these GA4 properties

A snapshot is what GA4 answered at one poll (``captured_at``): each poll replaces
the property's snapshot, keeping those of the last ``history_minutes`` minutes
when that is set. The realtime field list is GA4's own (see
:mod:`ga4sync.ga4.realtime_fields`): an unknown or core-only field is an error
that names it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ga4sync.ga4.fields import STANDARD_DIMENSIONS, STANDARD_METRICS
from ga4sync.ga4.realtime_fields import (
    ANALYTICS_360_MAX_MINUTES_AGO,
    DEFAULT_END_MINUTES_AGO,
    DEFAULT_START_MINUTES_AGO,
    MAX_MINUTE_RANGES,
    REALTIME_DIMENSIONS,
    REALTIME_METRICS,
    STANDARD_MAX_MINUTES_AGO,
    is_realtime_custom_dimension,
)
from ga4sync.reports.columns import MAX_IDENTIFIER, Column, metric_sql_type, snake_case
from ga4sync.reports.spec import MAX_DIMENSIONS, MAX_METRICS, NAME_PATTERN, SpecError

REALTIME_KEYS = frozenset(
    {
        "name",
        "dimensions",
        "metrics",
        "every_minutes",
        "history_minutes",
        "minute_ranges",
        "properties",
    }
)
MINUTE_RANGE_KEYS = frozenset({"name", "startMinutesAgo", "endMinutesAgo"})
MAX_EVERY_MINUTES = 1440  # a day
MAX_HISTORY_MINUTES = 10080  # a week
# The relation's own columns: never a field's.
RESERVED_COLUMNS = frozenset({"property_id", "property_ref", "captured_at", "minute_range"})
# The column that says which minute range a row counts, when there are two
# (GA4 answers them as the dimension dateRange, valued with the range's name).
MINUTE_RANGE_COLUMN = Column("minute_range", "dateRange", "dimension", "text")


class RealtimeInvalid(ValueError):
    """One problem with one field of one realtime definition."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MinuteRange:
    """Minutes ``start_minutes_ago`` back to ``end_minutes_ago`` (inclusive), as GA4's
    MinuteRange; ``name`` is what the answer's ``dateRange`` says for its rows."""

    start_minutes_ago: int = DEFAULT_START_MINUTES_AGO
    end_minutes_ago: int = DEFAULT_END_MINUTES_AGO
    name: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "startMinutesAgo": self.start_minutes_ago,
            "endMinutesAgo": self.end_minutes_ago,
        }
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class RealtimeSpec:
    """A realtime definition (see the module docstring)."""

    name: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    every_minutes: int = 1
    history_minutes: int = 0
    minute_ranges: tuple[MinuteRange, ...] = ()
    # the GA4 property ids it is limited to (None: every property)
    properties: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise SpecError(
                self.name,
                "name",
                "a name is snake_case: a lowercase letter, then lowercase letters, digits"
                " or _ (at most 40)",
            )
        if len(self.dimensions) > MAX_DIMENSIONS:
            raise SpecError(
                self.name,
                "dimensions",
                f"GA4 allows {MAX_DIMENSIONS} dimensions per request, got {len(self.dimensions)}",
            )
        if not 1 <= len(self.metrics) <= MAX_METRICS:
            raise SpecError(
                self.name,
                "metrics",
                f"GA4 allows 1 to {MAX_METRICS} metrics per request, got {len(self.metrics)}",
            )
        for kind, names in (("dimensions", self.dimensions), ("metrics", self.metrics)):
            if len(set(names)) != len(names):
                twice = next(n for n in names if names.count(n) > 1)
                raise SpecError(self.name, kind, f"{twice!r} is listed twice")
        if not 1 <= self.every_minutes <= MAX_EVERY_MINUTES:
            raise SpecError(
                self.name, "every_minutes", f"a whole number of minutes, 1 to {MAX_EVERY_MINUTES}"
            )
        if not 0 <= self.history_minutes <= MAX_HISTORY_MINUTES:
            raise SpecError(
                self.name,
                "history_minutes",
                f"a whole number of minutes, 0 to {MAX_HISTORY_MINUTES} (0: the latest only)",
            )
        if len(self.minute_ranges) > MAX_MINUTE_RANGES:
            raise SpecError(
                self.name,
                "minute_ranges",
                f"GA4 allows at most {MAX_MINUTE_RANGES} minute ranges, got"
                f" {len(self.minute_ranges)}",
            )

    @property
    def relation(self) -> str:
        """The typed relation users query: ``ga4_realtime_<name>``."""
        return f"ga4_realtime_{self.name}"

    def applies_to(self, property_id: str) -> bool:
        return self.properties is None or property_id in self.properties

    @property
    def max_minutes_ago(self) -> int:
        """The furthest minute its ranges reach back (GA4's default range: 29)."""
        if not self.minute_ranges:
            return DEFAULT_START_MINUTES_AGO
        return max(r.start_minutes_ago for r in self.minute_ranges)

    @property
    def split_by_range(self) -> bool:
        """Whether GA4 answers a ``dateRange`` per row: with two minute ranges."""
        return len(self.minute_ranges) > 1

    def definition(self) -> dict[str, Any]:
        """What decides the meaning of its rows, as plain JSON (not how often it is
        polled nor how long snapshots are kept)."""
        return {
            "realtime": True,
            "dimensions": list(self.dimensions),
            "metrics": list(self.metrics),
            "minute_ranges": [r.as_json() for r in self.minute_ranges],
        }

    @cached_property
    def digest(self) -> str:
        canonical = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]

    @cached_property
    def key(self) -> str:
        """Its table's name in ``ga4sync_reports``: never a report definition's, whose
        names end in their digest."""
        return f"realtime_{self.name}_{self.digest}"

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The relation's columns after ``property_id`` and ``captured_at``: the range's
        name (two minute ranges), the dimensions (text) and the metrics (typed)."""
        taken = set(RESERVED_COLUMNS)
        columns = [MINUTE_RANGE_COLUMN] if self.split_by_range else []
        columns += [
            Column(_unique(snake_case(d), taken), d, "dimension", "text") for d in self.dimensions
        ]
        columns += [
            Column(_unique(snake_case(m), taken), m, "metric", metric_sql_type(m))
            for m in self.metrics
        ]
        return tuple(columns)


def _unique(base: str, taken: set[str]) -> str:
    name = base[:MAX_IDENTIFIER]
    number = 1
    while name in taken:
        number += 1
        suffix = f"_{number}"
        name = base[: MAX_IDENTIFIER - len(suffix)] + suffix
    taken.add(name)
    return name


# -- parsing a [[realtime]] table -------------------------------------------------------


def parse_realtime(entry: Any) -> RealtimeSpec:
    """One ``[[realtime]]`` table; ``RealtimeInvalid`` names the field at fault."""
    if not isinstance(entry, dict):
        raise RealtimeInvalid("realtime", "must be a table ([[realtime]])")
    unknown = sorted(set(entry) - REALTIME_KEYS)
    if unknown:
        raise RealtimeInvalid(unknown[0], f"unknown key; known: {', '.join(sorted(REALTIME_KEYS))}")
    name = entry.get("name")
    if not isinstance(name, str):
        raise RealtimeInvalid("name", "required, a string")
    dimensions = _names(entry, "dimensions", required=False)
    metrics = _names(entry, "metrics", required=True)
    for dimension in dimensions:
        _check_dimension(dimension)
    for metric in metrics:
        _check_metric(metric)
    every = _minutes(entry, "every_minutes", 1, low=1, high=MAX_EVERY_MINUTES)
    history = _minutes(entry, "history_minutes", 0, low=0, high=MAX_HISTORY_MINUTES)
    ranges = _minute_ranges(entry.get("minute_ranges"))
    properties = entry.get("properties")
    if properties is not None:
        if not isinstance(properties, list) or not properties:
            raise RealtimeInvalid("properties", "a non-empty list of GA4 property ids")
        for value in properties:
            plain = isinstance(value, str | int) and not isinstance(value, bool)
            text = str(value) if plain else ""
            if not (text.isascii() and text.isdigit()):
                raise RealtimeInvalid("properties", f"{value!r} is not a GA4 property id (digits)")
    try:
        return RealtimeSpec(
            name=name,
            dimensions=tuple(dimensions),
            metrics=tuple(metrics),
            every_minutes=every,
            history_minutes=history,
            minute_ranges=ranges,
            properties=None if properties is None else frozenset(str(p) for p in properties),
        )
    except SpecError as exc:
        raise RealtimeInvalid(exc.field, exc.detail) from None


def _names(entry: Mapping[str, Any], key: str, *, required: bool) -> list[str]:
    value = entry.get(key, [] if not required else None)
    if value is None:
        raise RealtimeInvalid(key, "required, a list of GA4 realtime API names")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RealtimeInvalid(key, "a list of GA4 realtime API names (strings)")
    return list(value)


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_dimension(name: str) -> None:
    if name in REALTIME_DIMENSIONS or is_realtime_custom_dimension(name):
        return
    if name in REALTIME_METRICS:
        raise RealtimeInvalid("dimensions", f"{name!r} is a realtime metric, not a dimension")
    if name in STANDARD_DIMENSIONS or name.startswith(("customEvent:", "customItem:")):
        why = "a core report dimension GA4's Realtime method does not have"
    else:
        why = "not a GA4 realtime dimension"
    raise RealtimeInvalid(
        "dimensions",
        f"{name!r} is {why}{_suggest(name, REALTIME_DIMENSIONS)} (realtime dimensions:"
        f" {', '.join(REALTIME_DIMENSIONS)}, and customUser:NAME)",
    )


def _check_metric(name: str) -> None:
    if name in REALTIME_METRICS:
        return
    if name in REALTIME_DIMENSIONS:
        raise RealtimeInvalid("metrics", f"{name!r} is a realtime dimension, not a metric")
    if name in STANDARD_METRICS or name.startswith("customEvent:"):
        why = "a core report metric GA4's Realtime method does not have"
    else:
        why = "not a GA4 realtime metric"
    raise RealtimeInvalid(
        "metrics",
        f"{name!r} is {why}{_suggest(name, REALTIME_METRICS)} (realtime metrics:"
        f" {', '.join(REALTIME_METRICS)})",
    )


def _minutes(entry: Mapping[str, Any], key: str, default: int, *, low: int, high: int) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RealtimeInvalid(key, f"a whole number of minutes, {low} to {high}, got {value!r}")
    return value


def _minute_ranges(value: Any) -> tuple[MinuteRange, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise RealtimeInvalid(
            "minute_ranges",
            "a list of 1 or 2 tables { name, startMinutesAgo, endMinutesAgo } (GA4's MinuteRange)",
        )
    if len(value) > MAX_MINUTE_RANGES:
        raise RealtimeInvalid(
            "minute_ranges",
            f"GA4 allows at most {MAX_MINUTE_RANGES} minute ranges, got {len(value)}",
        )
    ranges: list[MinuteRange] = []
    for number, item in enumerate(value):
        where = f"minute_ranges[{number}]"
        if not isinstance(item, dict):
            raise RealtimeInvalid(where, "a table { name, startMinutesAgo, endMinutesAgo }")
        unknown = sorted(set(item) - MINUTE_RANGE_KEYS)
        if unknown:
            raise RealtimeInvalid(
                f"{where}.{unknown[0]}",
                f"unknown key; known: {', '.join(sorted(MINUTE_RANGE_KEYS))} (GA4's MinuteRange)",
            )
        bounds = {}
        for key, default in (
            ("startMinutesAgo", DEFAULT_START_MINUTES_AGO),
            ("endMinutesAgo", DEFAULT_END_MINUTES_AGO),
        ):
            bound = item.get(key, default)
            if (
                isinstance(bound, bool)
                or not isinstance(bound, int)
                or not 0 <= bound <= ANALYTICS_360_MAX_MINUTES_AGO
            ):
                raise RealtimeInvalid(
                    f"{where}.{key}",
                    f"minutes ago, 0 to {STANDARD_MAX_MINUTES_AGO} (Analytics 360 properties:"
                    f" {ANALYTICS_360_MAX_MINUTES_AGO}), got {bound!r}",
                )
            bounds[key] = bound
        if bounds["startMinutesAgo"] < bounds["endMinutesAgo"]:
            raise RealtimeInvalid(
                where,
                f"startMinutesAgo ({bounds['startMinutesAgo']}) is the range's first minute and"
                f" cannot be after endMinutesAgo ({bounds['endMinutesAgo']}): count back from"
                " now, start >= end",
            )
        name = item.get("name")
        if name is not None:
            if not isinstance(name, str) or not name:
                raise RealtimeInvalid(f"{where}.name", "a non-empty string")
            if name.startswith(("date_range_", "RESERVED_")):
                raise RealtimeInvalid(
                    f"{where}.name", "GA4 refuses names that begin with date_range_ or RESERVED_"
                )
        ranges.append(MinuteRange(bounds["startMinutesAgo"], bounds["endMinutesAgo"], name))
    names = [r.name for r in ranges if r.name is not None]
    if len(set(names)) != len(names):
        raise RealtimeInvalid("minute_ranges", f"two ranges are named {names[0]!r}")
    return tuple(ranges)
