"""The reports ga4sync keeps: each a named GA4 request, defined as data.

Every report has ``date`` as its first dimension, so a re-read of the last few
days replaces exactly those days. Rows are stored per (date, other dimensions)
as GA4 returns them; ga4sync never adds rows up. Metrics such as
``activeUsers`` and ``totalUsers`` are not additive: a week's users is not the
sum of its days' users, nor is a day's users the sum over pages. Ask GA4 for
the grain you need rather than summing stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class ReportSpec:
    name: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.dimensions or self.dimensions[0] != "date":
            raise ValueError(f"report {self.name!r}: the first dimension must be 'date'")
        if len(self.dimensions) > 9 or not 1 <= len(self.metrics) <= 10:
            raise ValueError(f"report {self.name!r}: GA4 allows 9 dimensions and 10 metrics")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError(f"report {self.name!r}: duplicate dimension")

    @property
    def key_dimensions(self) -> tuple[str, ...]:
        """The dimensions besides ``date`` that identify a row."""
        return self.dimensions[1:]

    @property
    def non_additive_metrics(self) -> tuple[str, ...]:
        return tuple(m for m in self.metrics if m in NON_ADDITIVE_METRICS)


BUILTIN_REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        name="daily_totals",
        dimensions=("date",),
        metrics=(
            "activeUsers",
            "totalUsers",
            "newUsers",
            "sessions",
            "engagedSessions",
            "screenPageViews",
            "eventCount",
            "averageSessionDuration",
            "bounceRate",
        ),
    ),
    ReportSpec(
        name="traffic_sources",
        dimensions=("date", "sessionSource", "sessionMedium"),
        metrics=("sessions", "activeUsers", "engagedSessions", "keyEvents"),
    ),
    ReportSpec(
        name="pages",
        dimensions=("date", "pagePath"),
        metrics=("screenPageViews", "activeUsers", "userEngagementDuration", "eventCount"),
    ),
)


def reports_by_name(names: list[str] | None = None) -> tuple[ReportSpec, ...]:
    """The built-in reports, or those named (unknown names are an error)."""
    if not names:
        return BUILTIN_REPORTS
    known = {spec.name: spec for spec in BUILTIN_REPORTS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown report(s) {unknown}; known: {sorted(known)}")
    return tuple(known[name] for name in names)
