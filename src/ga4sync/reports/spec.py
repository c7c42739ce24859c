"""One report: a named GA4 request at a grain, and the typed relation it fills.

A report asks GA4 for its grain's dimension first (``date``, ``isoYearIsoWeek``
or ``yearMonth``), then its own dimensions, and its metrics. Rows are keyed by
the period's first day and the other dimensions' values, as GA4 returns them;
ga4sync never adds rows up. Metrics such as ``activeUsers`` are not additive: a
week's users is not the sum of its days' users, so a week report asks GA4 for
the week.

A definition is identified by its name and a digest of everything that decides
what its rows mean (dimensions, metrics, filters, grain, empty rows). Changing
any of it makes a new definition with a table of its own: rows of two
definitions never share a relation. How a report is synced is not part of it:
the properties it applies to, and how far back it is re-read (``lookback_days``)
and read at all (``backfill_days``), change which dates are read, never what a
row means.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from ga4sync.reports.columns import Column, report_columns

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
# The dimension that carries each grain's period, always the first one asked for.
GRAIN_DIMENSIONS: dict[Grain, str] = {"day": "date", "week": "isoYearIsoWeek", "month": "yearMonth"}
PERIOD_DIMENSIONS = frozenset(GRAIN_DIMENSIONS.values())

MAX_DIMENSIONS = 9  # GA4's limits per request, the grain's dimension included
MAX_METRICS = 10
# the bounds of SYNC_LOOKBACK_DAYS and SYNC_BACKFILL_DAYS, which a report's own follow
MAX_LOOKBACK_DAYS = 365
MAX_BACKFILL_DAYS = 5000
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

# Metrics whose values cannot be summed across dates or dimension values.
NON_ADDITIVE_METRICS = frozenset(
    {
        "activeUsers",
        "totalUsers",
        "newUsers",
        "active1DayUsers",
        "active7DayUsers",
        "active28DayUsers",
        "engagementRate",
        "bounceRate",
        "averageSessionDuration",
        "sessionsPerUser",
    }
)


# ga4_<name> must not be one of ga4sync's own relations
RESERVED_NAMES = frozenset(
    {
        "coverage",
        "my_properties",
        "properties",
        "property_access",
        "property_runs",
        "read_keys",
        "report_definitions",
        "report_rows",
        "sync_job_properties",
        "sync_jobs",
    }
)


class SpecError(ValueError):
    """A definition GA4 or ga4sync cannot use; ``field`` is the part at fault."""

    def __init__(self, report: str, field: str, message: str) -> None:
        super().__init__(f"report {report!r}: {message}")
        self.field = field
        self.detail = message


@dataclass(frozen=True)
class ReportSpec:
    """A report definition. ``dimensions`` are the request's, the grain's first."""

    name: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    grain: Grain = "day"
    # GA4 FilterExpressions in the API's JSON shape
    dimension_filter: Mapping[str, Any] | None = field(default=None, hash=False)
    metric_filter: Mapping[str, Any] | None = field(default=None, hash=False)
    keep_empty_rows: bool = False
    # the GA4 property ids the report is limited to (None: every property)
    properties: frozenset[str] | None = None
    # a date read when it was this many days old or younger is read again, and
    # history reaches this many days back (None: SYNC_LOOKBACK_DAYS, SYNC_BACKFILL_DAYS)
    lookback_days: int | None = None
    backfill_days: int | None = None

    def __post_init__(self) -> None:
        name = self.name
        if not NAME_PATTERN.match(name):
            raise SpecError(
                name,
                "name",
                "a name is snake_case: a lowercase letter, then lowercase letters, digits"
                " or _ (at most 40)",
            )
        if name in RESERVED_NAMES:
            raise SpecError(name, "name", f"ga4_{name} is one of ga4sync's own tables")
        if self.grain not in GRAINS:
            raise SpecError(name, "grain", f"grain must be one of {', '.join(GRAINS)}")
        period = GRAIN_DIMENSIONS[self.grain]
        if not self.dimensions or self.dimensions[0] != period:
            raise SpecError(
                name, "dimensions", f"a {self.grain} report's first dimension is {period!r}"
            )
        if len(self.dimensions) > MAX_DIMENSIONS:
            raise SpecError(
                name,
                "dimensions",
                f"GA4 allows {MAX_DIMENSIONS} dimensions per request (the grain's {period!r}"
                f" included), got {len(self.dimensions)}",
            )
        if not 1 <= len(self.metrics) <= MAX_METRICS:
            raise SpecError(
                name,
                "metrics",
                f"GA4 allows 1 to {MAX_METRICS} metrics per request, got {len(self.metrics)}",
            )
        for kind, names in (("dimensions", self.dimensions), ("metrics", self.metrics)):
            seen: set[str] = set()
            for field_name in names:
                if field_name in seen:
                    raise SpecError(name, kind, f"{field_name!r} is listed twice")
                seen.add(field_name)
        for days_field, value, most in (
            ("lookback_days", self.lookback_days, MAX_LOOKBACK_DAYS),
            ("backfill_days", self.backfill_days, MAX_BACKFILL_DAYS),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most
            ):
                raise SpecError(
                    name, days_field, f"a whole number of days from 0 to {most}, got {value!r}"
                )
        others = [d for d in self.key_dimensions if d in PERIOD_DIMENSIONS]
        if others:
            raise SpecError(
                name,
                "dimensions",
                f"{others[0]!r} is a grain's period; a {self.grain} report has one period"
                f" dimension, {period!r} (use grain = ... for another)",
            )

    @property
    def key_dimensions(self) -> tuple[str, ...]:
        """The dimensions besides the period that identify a row."""
        return self.dimensions[1:]

    @property
    def non_additive_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m in NON_ADDITIVE_METRICS)

    def applies_to(self, property_id: str) -> bool:
        return self.properties is None or property_id in self.properties

    def definition(self) -> dict[str, Any]:
        """What decides the meaning of the report's rows, as plain JSON (not how it
        is synced: its properties, lookback and backfill)."""
        return {
            "grain": self.grain,
            "dimensions": list(self.dimensions),
            "metrics": list(self.metrics),
            "dimension_filter": self.dimension_filter,
            "metric_filter": self.metric_filter,
            "keep_empty_rows": self.keep_empty_rows,
        }

    @cached_property
    def digest(self) -> str:
        canonical = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]

    @cached_property
    def key(self) -> str:
        """The definition's identity: its name and digest; also its table's name."""
        return f"{self.name}_{self.digest}"

    @property
    def relation(self) -> str:
        """The typed relation users query: ``ga4_<name>``."""
        return f"ga4_{self.name}"

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        """The relation's dimension and metric columns, in the definition's order."""
        return report_columns(self.key_dimensions, self.metrics)
