"""The fake's Realtime method: ``POST /v1beta/properties/{id}:runRealtimeReport``.

Requests are checked as GA4 checks them: the realtime field list (a core-only
field such as ``sessions`` or ``date`` is a 400 naming it), at most two
``minuteRanges`` reaching back 29 minutes (59 on Analytics 360), no ``dateRanges``
or ``offset``. Answers are RunRealtimeReportResponse in proto3 JSON: headers
(``dateRange`` last with two minute ranges), rows, ``rowCount``, the realtime
``propertyQuota`` when asked and ``kind``; no ``metadata``.

The data: every minute has, for each combination of dimension values, a few
active users and their events, drawn from the seed, the property, the
combination and the minute itself (minutes since the epoch), so a minute's
figures move from ``minutesAgo`` 00 to 01 as time goes on and stay the same.
A row of several minutes adds events, page views and key events up and counts
its users as the busiest minute's plus half of the others' (users come back
from one minute to the next). Rows whose metrics are all zero are left out.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ga4sync.ga4.realtime_fields import (
    ANALYTICS_360_MAX_MINUTES_AGO,
    MAX_MINUTE_RANGES,
    REALTIME_DIMENSIONS,
    REALTIME_METRICS,
    SCHEMA_URL,
    STANDARD_MAX_MINUTES_AGO,
    is_realtime_custom_dimension,
)

from .catalog import METRIC_TYPE_NUMBERS, hash64
from .errors import SCHEMA_URL as CORE_SCHEMA_URL
from .filters import Expression, FilterError, parse_filter
from .report import PropertyConfig
from .request import InvalidArgument

KIND = "analyticsData#runRealtimeReport"
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
MAX_DIMENSIONS = 9
MAX_METRICS = 10
MINUTES_AGO = "minutesAgo"
_FIELDS = (
    "property",
    "dimensions",
    "metrics",
    "dimensionFilter",
    "metricFilter",
    "limit",
    "metricAggregations",
    "orderBys",
    "returnPropertyQuota",
    "minuteRanges",
)


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _get(obj: Mapping[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    return obj.get(_snake(name))


@dataclass(frozen=True)
class MinuteSpan:
    name: str
    start: int  # minutes ago, the furthest back
    end: int


@dataclass(frozen=True)
class RealtimeRequest:
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    minute_ranges: tuple[MinuteSpan, ...]
    limit: int
    return_property_quota: bool
    order_bys: tuple[tuple[str, bool, bool], ...]  # (field, is_metric, desc)
    dimension_filter: Expression | None = None
    metric_filter: Expression | None = None


def _is_dimension(custom: Mapping[str, Any]) -> Callable[[str], bool]:
    def known(name: str) -> bool:
        return name in REALTIME_DIMENSIONS or (
            is_realtime_custom_dimension(name) and name in custom
        )

    return known


def _not_valid(name: str, kind: str) -> InvalidArgument:
    spacing = " " if kind == "dimension" else "  "
    return InvalidArgument(
        f"Field {name} is not a valid {kind}.{spacing}For a list of valid dimensions and "
        f"metrics, see {SCHEMA_URL} "
    )


def _names(
    body: Mapping[str, Any], field: str, known: Callable[[str], bool], kind: str
) -> list[str]:
    value = _get(body, field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidArgument(
            f"Invalid JSON payload received. Expected a list of objects for '{field}'."
        )
    names: list[str] = []
    for item in value:
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"Every entry of {field} needs a name.")
        if not known(name):
            raise _not_valid(name, kind)
        if name in names:
            raise InvalidArgument(f"Field {name} appears more than once in {field}.")
        names.append(name)
    return names


def _minutes(value: Any, where: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidArgument(f"Invalid value at '{where}' (TYPE_INT32), {value!r}")
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"Invalid value at '{where}' (TYPE_INT32), \"{value}\"") from None


def _minute_ranges(body: Mapping[str, Any], analytics_360: bool) -> tuple[MinuteSpan, ...]:
    raw = _get(body, "minuteRanges")
    if raw is None or raw == []:
        return (MinuteSpan("date_range_0", STANDARD_MAX_MINUTES_AGO, 0),)
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InvalidArgument(
            "Invalid JSON payload received. Expected a list of objects for 'minute_ranges'."
        )
    if len(raw) > MAX_MINUTE_RANGES:
        raise InvalidArgument(
            f"A realtime report request can have at most {MAX_MINUTE_RANGES} minuteRanges; "
            f"this one has {len(raw)}."
        )
    reach = ANALYTICS_360_MAX_MINUTES_AGO if analytics_360 else STANDARD_MAX_MINUTES_AGO
    spans: list[MinuteSpan] = []
    for index, item in enumerate(raw):
        for key in item:
            if key not in ("name", "startMinutesAgo", "endMinutesAgo") and key not in (
                "start_minutes_ago",
                "end_minutes_ago",
            ):
                raise InvalidArgument(
                    f'Invalid JSON payload received. Unknown name "{key}" at '
                    f"'minute_ranges[{index}]': Cannot find field."
                )
        start = _minutes(
            _get(item, "startMinutesAgo"), f"minute_ranges[{index}].start_minutes_ago", 29
        )
        end = _minutes(_get(item, "endMinutesAgo"), f"minute_ranges[{index}].end_minutes_ago", 0)
        if start < 0 or end < 0:
            raise InvalidArgument(
                f"minuteRanges[{index}]: startMinutesAgo and endMinutesAgo must not be negative."
            )
        if start < end:
            raise InvalidArgument(
                f"minuteRanges[{index}]: startMinutesAgo ({start}) cannot be after endMinutesAgo "
                f"({end}). The start of a minute range must be at or before its end."
            )
        if start > reach:
            raise InvalidArgument(
                f"minuteRanges[{index}]: startMinutesAgo ({start}) is too far back. This property "
                f"can request the last {reach + 1} minutes of event data (minutes ago 0 to "
                f"{reach})."
            )
        name = item.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise InvalidArgument(f"Invalid value at 'minute_ranges[{index}].name'.")
            if name.startswith(("date_range_", "RESERVED_")):
                raise InvalidArgument(
                    f"minuteRanges[{index}]: the name {name} cannot begin with date_range_ or "
                    "RESERVED_."
                )
        spans.append(MinuteSpan(name or f"date_range_{index}", start, end))
    if len({span.name for span in spans}) != len(spans):
        raise InvalidArgument("Two minuteRanges have the same name.")
    return tuple(spans)


def _filter(
    body: Mapping[str, Any], name: str, known: Callable[[str], bool], metric: bool
) -> Expression | None:
    value = _get(body, name)
    if value is None:
        return None
    try:
        return parse_filter(value, _snake(name), known, "metric" if metric else "dimension", metric)
    except FilterError as exc:
        raise InvalidArgument(str(exc).replace(CORE_SCHEMA_URL, SCHEMA_URL)) from None


def _order_bys(
    body: Mapping[str, Any], dimensions: Sequence[str], metrics: Sequence[str]
) -> tuple[tuple[str, bool, bool], ...]:
    raw = _get(body, "orderBys")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InvalidArgument(
            "Invalid JSON payload received. Expected a list of objects for 'order_bys'."
        )
    orders: list[tuple[str, bool, bool]] = []
    for item in raw:
        desc = bool(item.get("desc", False))
        if isinstance(item.get("dimension"), dict):
            name = _get(item["dimension"], "dimensionName")
            if name not in dimensions:
                raise InvalidArgument(
                    f"orderBys names dimension {name}, which is not among the request's dimensions."
                )
            orders.append((str(name), False, desc))
        elif isinstance(item.get("metric"), dict):
            name = _get(item["metric"], "metricName")
            if name not in metrics:
                raise InvalidArgument(
                    f"orderBys names metric {name}, which is not among the request's metrics."
                )
            orders.append((str(name), True, desc))
        else:
            raise InvalidArgument("Each orderBys entry must order by a dimension or a metric.")
    return tuple(orders)


def parse_realtime_request(
    body: Any, *, custom_dimensions: Mapping[str, Any], analytics_360: bool
) -> RealtimeRequest:
    """Validate a parsed runRealtimeReport body as GA4 does (lowerCamelCase or
    snake_case names, int64 as numbers or strings)."""
    if not isinstance(body, dict):
        raise InvalidArgument("Invalid JSON payload received. Expected an object at the root.")
    for key in body:
        if key not in _FIELDS and key not in {_snake(field) for field in _FIELDS}:
            raise InvalidArgument(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
            )
    is_dimension = _is_dimension(custom_dimensions)
    dimensions = _names(body, "dimensions", is_dimension, "dimension")
    metrics = _names(body, "metrics", lambda name: name in REALTIME_METRICS, "metric")
    if not metrics and not dimensions:
        raise InvalidArgument("A report request must specify at least one dimension or metric.")
    if len(dimensions) > MAX_DIMENSIONS:
        raise InvalidArgument(
            f"A report request can have at most {MAX_DIMENSIONS} dimensions; "
            f"this one has {len(dimensions)}."
        )
    if len(metrics) > MAX_METRICS:
        raise InvalidArgument(
            f"A report request can have at most {MAX_METRICS} metrics; this one has {len(metrics)}."
        )
    raw_limit = _get(body, "limit")
    try:
        limit = int(raw_limit) if raw_limit is not None and not isinstance(raw_limit, bool) else 0
    except (TypeError, ValueError):
        raise InvalidArgument(f"Invalid value at 'limit' (TYPE_INT64), \"{raw_limit}\"") from None
    if limit < 0:
        raise InvalidArgument(f"limit must be positive; got {limit}.")
    quota = _get(body, "returnPropertyQuota")
    if quota is not None and not isinstance(quota, bool):
        raise InvalidArgument(f"Invalid value at 'return_property_quota' (TYPE_BOOL), \"{quota}\"")
    return RealtimeRequest(
        dimensions=tuple(dimensions),
        metrics=tuple(metrics),
        minute_ranges=_minute_ranges(body, analytics_360),
        limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
        return_property_quota=bool(quota),
        order_bys=_order_bys(body, dimensions, metrics),
        dimension_filter=_filter(body, "dimensionFilter", is_dimension, metric=False),
        metric_filter=_filter(body, "metricFilter", lambda n: n in REALTIME_METRICS, metric=True),
    )


# -- the data ---------------------------------------------------------------------------


def minute_figures(
    seed: int, property_id: str, minute: int, combo: Sequence[str]
) -> dict[str, int]:
    """One minute's figures (``minute``: minutes since the epoch) for one combination
    of dimension values: active users, events, page views, key events."""
    digest = hash64(str(seed), property_id, "realtime", str(minute), *combo)
    users = digest % 4  # 0 to 3: most combinations are quiet in most minutes
    if not users:
        return {"activeUsers": 0, "eventCount": 0, "screenPageViews": 0, "keyEvents": 0}
    views = users + (digest >> 8) % (2 * users + 1)
    events = views + users + (digest >> 16) % (3 * users + 1)
    key_events = (digest >> 24) % 2
    return {
        "activeUsers": users,
        "eventCount": events,
        "screenPageViews": views,
        "keyEvents": key_events,
    }


def _span_figures(per_minute: Sequence[Mapping[str, int]]) -> dict[str, int]:
    users = [m["activeUsers"] for m in per_minute]
    top = max(users, default=0)
    total = {
        name: sum(m[name] for m in per_minute)
        for name in ("eventCount", "screenPageViews", "keyEvents")
    }
    total["activeUsers"] = top + (sum(users) - top) // 2
    total["conversions"] = total["keyEvents"]
    return total


@dataclass(frozen=True)
class RealtimeAnswer:
    payload: dict[str, Any]  # without propertyQuota
    rows_returned: int


def _combinations(
    request: RealtimeRequest, config: PropertyConfig, property_id: str
) -> list[dict[str, str]]:
    """Every combination of values of the request's and its filter's dimensions (but
    minutesAgo), the filter applied where it tests only those."""
    names = [d for d in request.dimensions if d != MINUTES_AGO]
    if request.dimension_filter is not None:
        names += [
            f
            for f in sorted(request.dimension_filter.fields())
            if f not in names and f != MINUTES_AGO
        ]
    columns = [config.values(name) for name in names]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*columns)]


def build_realtime_answer(
    request: RealtimeRequest,
    property_id: str,
    config: PropertyConfig,
    seed: int,
    now_minute: int,
    numeric_enums: bool = False,
) -> RealtimeAnswer:
    """The answer to ``request`` at ``now_minute`` (minutes since the epoch)."""
    split = len(request.minute_ranges) > 1
    filtered = request.dimension_filter.fields() if request.dimension_filter else frozenset()
    by_minute = MINUTES_AGO in request.dimensions or MINUTES_AGO in filtered
    # dimension values -> metrics: rows that differ only in a dimension the filter
    # tests and the report does not return are one row, added up
    merged: dict[tuple[str, ...], dict[str, int]] = {}
    for span in request.minute_ranges:
        for combo in _combinations(request, config, property_id):
            key = [combo[name] for name in sorted(combo)]
            minutes = range(span.end, span.start + 1)
            figures = {
                ago: minute_figures(seed, property_id, now_minute - ago, key) for ago in minutes
            }
            groups: list[tuple[int | None, dict[str, int]]]
            if by_minute:
                groups = [(ago, _span_figures([figures[ago]])) for ago in minutes]
            else:
                groups = [(None, _span_figures(list(figures.values())))]
            for ago, totals in groups:
                values = {**combo}
                if ago is not None:
                    values[MINUTES_AGO] = f"{ago:02d}"
                if request.dimension_filter is not None and not request.dimension_filter.matches(
                    values
                ):
                    continue
                dims = tuple(
                    [values[d] for d in request.dimensions] + ([span.name] if split else [])
                )
                known = merged.setdefault(dims, dict.fromkeys(totals, 0))
                for name, value in totals.items():
                    known[name] += value
    rows: list[tuple[list[str], dict[str, int]]] = []
    for dims, totals in merged.items():
        metrics = {m: totals[m] for m in request.metrics}
        if request.metrics and not any(metrics.values()):
            continue
        if request.metric_filter is not None and not request.metric_filter.matches(
            {m: str(v) for m, v in metrics.items()}
        ):
            continue
        rows.append((list(dims), metrics))
    # GA4 orders a realtime report by its first metric, largest first, unless asked.
    orders = request.order_bys or (((request.metrics[0], True, True),) if request.metrics else ())
    names = [*request.dimensions, *(["dateRange"] if split else [])]

    def sort_key(
        order: tuple[str, bool, bool],
    ) -> Callable[[tuple[list[str], dict[str, int]]], Any]:
        field, is_metric, _desc = order
        if is_metric:
            return lambda row: row[1][field]
        index = names.index(field)
        return lambda row: row[0][index]

    rows.sort(key=lambda row: row[0])  # ties keep the dimension values' order
    for order in reversed(orders):
        rows.sort(key=sort_key(order), reverse=order[2])
    total = len(rows)
    shown = rows[: request.limit]
    payload: dict[str, Any] = {}
    if names:
        payload["dimensionHeaders"] = [{"name": name} for name in names]
    if request.metrics:
        payload["metricHeaders"] = [
            {
                "name": name,
                "type": METRIC_TYPE_NUMBERS[REALTIME_METRICS[name]]
                if numeric_enums
                else REALTIME_METRICS[name],
            }
            for name in request.metrics
        ]
    if shown:
        payload["rows"] = [
            {
                **({"dimensionValues": [{"value": v} for v in dims]} if dims else {}),
                **(
                    {"metricValues": [{"value": str(metrics[m])} for m in request.metrics]}
                    if request.metrics
                    else {}
                ),
            }
            for dims, metrics in shown
        ]
    if total:
        payload["rowCount"] = total
    return RealtimeAnswer(payload=payload, rows_returned=len(shown))
