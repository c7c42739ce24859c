"""The chart of a property on the status page: the last days of one day-grain
report, a value a day for each of a few metrics.

Which report: ``daily_totals`` when it is in use for the property, else the
first day-grain report in use for it. Which metrics: ``sessions`` and
``activeUsers`` of ``daily_totals`` (when it has them), else the report's first
metrics; two at most. A day's value is GA4's own when the report is by the date
alone. A report with other dimensions has many rows a day, and only a metric
that counts things each having one value of every such dimension adds up over
them (events over pages, sessions over sources, sessions over the device or the
country a session comes from, never sessions over pages and never users, rates
or averages): only those are charted from it. When nothing can be charted, the
chart says why.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from ga4sync.ga4.fields import STANDARD_METRICS, Scope, dimension_scope, metric_scope
from ga4sync.reports import NON_ADDITIVE_METRICS, Column, ReportSpec
from ga4sync.store.chart import chart_days
from ga4sync.store.properties import get_property

PREFERRED_REPORT = "daily_totals"
PREFERRED_METRICS = ("sessions", "activeUsers")
MAX_METRICS = 2
DEFAULT_DAYS = 30

# item < event < session < user: each thing of one scope has one value of a
# dimension of its own scope or a wider one
_SCOPE_RANK: dict[Scope, int] = {"item": 0, "event": 1, "session": 2, "user": 3}
# GA4's metrics of TYPE_FLOAT that count or add up rather than divide
_FLOAT_COUNTS = frozenset({"keyEvents", "conversions", "eventValue"})
# Event-scoped in GA4's catalogue, yet one value for a whole session: the device and
# app a session runs on and where it comes from. Sessions add up over them.
_SESSION_CONSTANT = frozenset(
    {
        "deviceCategory",
        "deviceModel",
        "platform",
        "platformDeviceCategory",
        "browser",
        "operatingSystem",
        "operatingSystemVersion",
        "operatingSystemWithVersion",
        "mobileDeviceBranding",
        "mobileDeviceMarketingName",
        "mobileDeviceModel",
        "screenResolution",
        "language",
        "languageCode",
        "continent",
        "continentId",
        "country",
        "countryId",
        "region",
        "city",
        "cityId",
        "streamId",
        "streamName",
    }
)


def _dimension_rank(dimension: str) -> int:
    if dimension in _SESSION_CONSTANT:
        return _SCOPE_RANK["session"]
    return _SCOPE_RANK[dimension_scope(dimension)]


def adds_up(metric: str, dimensions: Sequence[str]) -> bool:
    """Whether the sum of ``metric`` over the rows of one day by ``dimensions`` (the
    report's dimensions besides the date) is that day's value."""
    if not dimensions:
        return True
    if metric in NON_ADDITIVE_METRICS:
        return False
    if STANDARD_METRICS.get(metric) == "TYPE_FLOAT" and metric not in _FLOAT_COUNTS:
        return False  # ratios: rates, per-session and per-user figures, return on ad spend
    if "average" in metric.lower() or "Per" in metric or metric.endswith("Rate"):
        return False
    try:
        counted = _SCOPE_RANK[metric_scope(metric)]
        widest_needed = min(_dimension_rank(d) for d in dimensions)
    except KeyError:
        return False
    return counted < _SCOPE_RANK["user"] and counted <= widest_needed


@dataclass(frozen=True)
class ChartSeries:
    spec: ReportSpec
    metrics: tuple[Column, ...]


def chart_metrics(spec: ReportSpec) -> tuple[Column, ...]:
    """The metric columns of ``spec`` its chart shows (none: it cannot be charted)."""
    if spec.grain != "day":
        return ()
    metrics = [c for c in spec.columns if c.kind == "metric"]
    if spec.name == PREFERRED_REPORT:
        order = {field: n for n, field in enumerate(PREFERRED_METRICS)}
        metrics.sort(key=lambda c: order.get(c.field, len(order)))  # stable: the rest in order
    chartable = [c for c in metrics if adds_up(c.field, spec.key_dimensions)]
    return tuple(chartable[:MAX_METRICS])


def choose_series(reports: Sequence[ReportSpec], property_id: str) -> ChartSeries | None:
    """The report and metrics charted for ``property_id`` (None: no report in use
    for it can be charted a day at a time)."""
    usable = [s for s in reports if s.applies_to(property_id)]
    usable.sort(key=lambda s: s.name != PREFERRED_REPORT)  # stable: the rest in order
    for spec in usable:
        metrics = chart_metrics(spec)
        if metrics:
            return ChartSeries(spec, metrics)
    return None


def why_no_series(reports: Sequence[ReportSpec], property_id: str) -> str:
    """Why ``choose_series`` found nothing to chart for ``property_id``."""
    days = [s for s in reports if s.applies_to(property_id) and s.grain == "day"]
    if not days:
        return "No report by day is synced for this property: the chart needs one."
    first = days[0]
    metrics = ", ".join(c.field for c in first.columns if c.kind == "metric")
    over = ", ".join(first.key_dimensions)
    more = " (nor of any other report by day)" if len(days) > 1 else ""
    return (
        f"No metric of {first.name} ({metrics}){more} adds up to a day's value over "
        f"{over}: users, rates and averages do not."
    )


def chart_window(now: datetime, time_zone: str, days: int) -> tuple[str, date, date]:
    """The zone used and the first and last dates of the ``days`` days up to today
    in ``time_zone`` (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    today = now.astimezone(zone).date()
    return zone.key, today - timedelta(days=days - 1), today


async def property_chart(
    pool: asyncpg.Pool,
    reports: Sequence[ReportSpec],
    property_ref: int,
    *,
    user_id: uuid.UUID | None,
    now: datetime,
    days: int = DEFAULT_DAYS,
) -> dict[str, Any] | None:
    """The chart of a property ``user_id`` can access (None: every property), or
    None when there is no such property for them."""
    prop = await get_property(pool, property_ref)
    if prop is None or (user_id is not None and user_id not in prop["access_user_ids"]):
        return None
    zone, start, end = chart_window(now, prop["time_zone"], days)
    series = choose_series(reports, prop["property_id"])
    chart: dict[str, Any] = {
        "property_id": prop["property_id"],
        "time_zone": zone,
        "start_date": start,
        "end_date": end,
        "report": None,
        "relation": None,
        "metrics": [],
        "days": [],
        "summed_over": [],
        "reason": None,
    }
    if series is None:
        chart["reason"] = why_no_series(reports, prop["property_id"])
        return chart
    chart["report"] = series.spec.name
    chart["relation"] = series.spec.relation
    chart["metrics"] = [
        {"name": c.name, "field": c.field, "type": c.sql_type} for c in series.metrics
    ]
    chart["summed_over"] = list(series.spec.key_dimensions)
    chart["days"] = await chart_days(pool, series.spec, series.metrics, property_ref, start, end)
    return chart
