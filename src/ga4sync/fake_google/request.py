"""Parse and validate a RunReportRequest JSON body the way the GA4 Data API does."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .errors import SCHEMA_URL
from .filters import Expression, FilterError, parse_filter
from .schema import STANDARD, PropertySchema, incompatibility_message

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 250_000
MAX_DIMENSIONS = 9
MAX_METRICS = 10
MAX_DATE_RANGES = 4

_FIELDS = (
    "property",
    "dimensions",
    "metrics",
    "dateRanges",
    "dimensionFilter",
    "metricFilter",
    "offset",
    "limit",
    "metricAggregations",
    "orderBys",
    "currencyCode",
    "cohortSpec",
    "keepEmptyRows",
    "returnPropertyQuota",
    "comparisons",
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")
_ORDER_TYPES = {
    0: "ALPHANUMERIC",
    1: "ALPHANUMERIC",
    2: "CASE_INSENSITIVE_ALPHANUMERIC",
    3: "NUMERIC",
}


class InvalidArgument(Exception):
    """The request is malformed; the message is what the API answers with."""


@dataclass(frozen=True)
class DateSpan:
    """One requested date range, with its days clipped to the property's today."""

    name: str
    start: date
    end: date
    days: tuple[date, ...]


@dataclass(frozen=True)
class Order:
    """One orderBys entry: by a dimension (with an order type) or by a metric."""

    dimension: str | None
    metric: str | None
    desc: bool
    order_type: str = "ALPHANUMERIC"


@dataclass(frozen=True)
class ReportRequest:
    """A validated runReport request."""

    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    date_ranges: tuple[DateSpan, ...]
    limit: int
    offset: int
    order_bys: tuple[Order, ...]
    return_property_quota: bool
    currency_code: str | None
    dimension_filter: Expression | None = None
    metric_filter: Expression | None = None
    keep_empty_rows: bool = False

    def filter_dimensions(self) -> frozenset[str]:
        """Dimensions the dimension filter tests."""
        return self.dimension_filter.fields() if self.dimension_filter else frozenset()

    def filter_metrics(self) -> frozenset[str]:
        """Metrics the metric filter tests."""
        return self.metric_filter.fields() if self.metric_filter else frozenset()


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _get(obj: dict[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    return obj.get(_snake(name))


def _int64(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise InvalidArgument(f"Invalid value at '{_snake(field)}' (TYPE_INT64), {value}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise InvalidArgument(f"Invalid value at '{_snake(field)}' (TYPE_INT64), \"{value}\"")


def _bool(value: Any, field: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise InvalidArgument(f"Invalid value at '{_snake(field)}' (TYPE_BOOL), \"{value}\"")


def _objects(value: Any, field: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidArgument(
            f"Invalid JSON payload received. Expected a list of objects for '{field}'."
        )
    return value


def field_names(
    body: dict[str, Any], field: str, known: Callable[[str], bool], kind: str, spacing: str
) -> list[str]:
    names: list[str] = []
    for item in _objects(_get(body, field), field):
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"Every entry of {field} needs a name.")
        if not known(name):
            raise InvalidArgument(
                f"Field {name} is not a valid {kind}.{spacing}For a list of valid dimensions "
                f"and metrics, see {SCHEMA_URL} "
            )
        if name in names:
            raise InvalidArgument(f"Field {name} appears more than once in {field}.")
        names.append(name)
    return names


def resolve_date(value: Any, today: date, where: str) -> date:
    """A date from ``YYYY-MM-DD``, ``today``, ``yesterday`` or ``NdaysAgo``."""
    if isinstance(value, str):
        if value == "today":
            return today
        if value == "yesterday":
            return today - timedelta(days=1)
        match = _DAYS_AGO.match(value)
        if match:
            return today - timedelta(days=int(match.group(1)))
        if _ISO_DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    raise InvalidArgument(
        f'Invalid {where}: "{value}". Dates must be YYYY-MM-DD, "today", "yesterday" or "NdaysAgo".'
    )


def _date_ranges(body: dict[str, Any], today: date) -> list[DateSpan]:
    raw = _objects(_get(body, "dateRanges"), "dateRanges")
    if not raw:
        raise InvalidArgument("A report request must specify at least one dateRange.")
    if len(raw) > MAX_DATE_RANGES:
        raise InvalidArgument(
            f"A report request can have at most {MAX_DATE_RANGES} dateRanges; "
            f"this one has {len(raw)}."
        )
    spans: list[DateSpan] = []
    for index, item in enumerate(raw):
        where = f"dateRanges[{index}]"
        start = resolve_date(_get(item, "startDate"), today, f"{where}.startDate")
        end = resolve_date(_get(item, "endDate"), today, f"{where}.endDate")
        if start > end:
            raise InvalidArgument(
                f"Invalid {where}: startDate {start.isoformat()} is after endDate "
                f"{end.isoformat()}. The startDate must be on or before the endDate."
            )
        last = min(end, today)
        count = max(0, (last - start).days + 1)
        days = tuple(start + timedelta(days=offset) for offset in range(count))
        name = item.get("name") or f"date_range_{index}"
        spans.append(DateSpan(str(name), start, end, days))
    return spans


def _order_type(dimension: dict[str, Any]) -> str:
    kind = _get(dimension, "orderType") or 0
    if kind == "ORDER_TYPE_UNSPECIFIED":
        kind = 0
    if isinstance(kind, int) and kind in _ORDER_TYPES:
        return _ORDER_TYPES[kind]
    if kind in _ORDER_TYPES.values():
        return str(kind)
    raise InvalidArgument(f"Invalid value at 'order_bys.dimension.order_type', \"{kind}\"")


def _order_bys(body: dict[str, Any], dimensions: list[str], metrics: list[str]) -> list[Order]:
    orders: list[Order] = []
    for item in _objects(_get(body, "orderBys"), "orderBys"):
        desc = _bool(item.get("desc"), "desc")
        dimension = item.get("dimension")
        metric = item.get("metric")
        if isinstance(dimension, dict):
            name = _get(dimension, "dimensionName")
            if name not in dimensions:
                raise InvalidArgument(
                    f"orderBys names dimension {name}, which is not among the request's "
                    "dimensions. Order by a dimension that the request includes."
                )
            orders.append(Order(str(name), None, desc, _order_type(dimension)))
        elif isinstance(metric, dict):
            name = _get(metric, "metricName")
            if name not in metrics:
                raise InvalidArgument(
                    f"orderBys names metric {name}, which is not among the request's "
                    "metrics. Order by a metric that the request includes."
                )
            orders.append(Order(None, str(name), desc))
        else:
            raise InvalidArgument("Each orderBys entry must order by a dimension or a metric.")
    return orders


def filter_expression(
    body: dict[str, Any], name: str, schema: PropertySchema, metric: bool
) -> Expression | None:
    """The body's ``dimensionFilter`` or ``metricFilter`` (``name``), validated."""
    value = _get(body, name)
    if value is None:
        return None
    kind = "metric" if metric else "dimension"
    is_field = schema.is_metric if metric else schema.is_dimension
    try:
        return parse_filter(value, _snake(name), is_field, kind, metric)
    except FilterError as exc:
        raise InvalidArgument(str(exc)) from None


def parse_report_request(
    body: Any, today: date, schema: PropertySchema = STANDARD
) -> ReportRequest:
    """Validate a parsed JSON body; ``today`` anchors relative dates, ``schema`` holds the
    property's fields (its custom definitions too).

    Fields are read in proto3 JSON form: lowerCamelCase or the original snake_case
    names, int64 values as JSON numbers or strings. Filters and keepEmptyRows are
    applied; metric aggregations, comparisons and cohorts are accepted and not applied.
    A report whose fields (its filters' included) cannot go together is refused as
    GA4 refuses it.
    """
    if not isinstance(body, dict):
        raise InvalidArgument("Invalid JSON payload received. Expected an object at the root.")
    for key in body:
        if key not in _FIELDS and key not in {_snake(field) for field in _FIELDS}:
            raise InvalidArgument(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
            )
    dimensions = field_names(body, "dimensions", schema.is_dimension, "dimension", " ")
    metrics = field_names(body, "metrics", schema.is_metric, "metric", "  ")
    if not dimensions and not metrics:
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
    date_ranges = _date_ranges(body, today)
    limit = _int64(_get(body, "limit"), "limit")
    offset = _int64(_get(body, "offset"), "offset")
    if limit < 0:
        raise InvalidArgument(f"limit must be positive; got {limit}.")
    if offset < 0:
        raise InvalidArgument(f"offset must not be negative; got {offset}.")
    currency = _get(body, "currencyCode")
    dimension_filter = filter_expression(body, "dimensionFilter", schema, metric=False)
    metric_filter = filter_expression(body, "metricFilter", schema, metric=True)
    all_dimensions = [*dimensions, *(dimension_filter.fields() if dimension_filter else ())]
    all_metrics = [*metrics, *(metric_filter.fields() if metric_filter else ())]
    conflicting = schema.incompatible_fields(dict.fromkeys(all_dimensions), all_metrics)
    if conflicting:
        raise InvalidArgument(incompatibility_message(conflicting))
    return ReportRequest(
        dimensions=tuple(dimensions),
        metrics=tuple(metrics),
        date_ranges=tuple(date_ranges),
        limit=min(limit or DEFAULT_LIMIT, MAX_LIMIT),
        offset=offset,
        order_bys=tuple(_order_bys(body, dimensions, metrics)),
        return_property_quota=_bool(_get(body, "returnPropertyQuota"), "returnPropertyQuota"),
        currency_code=str(currency) if currency else None,
        dimension_filter=dimension_filter,
        metric_filter=metric_filter,
        keep_empty_rows=_bool(_get(body, "keepEmptyRows"), "keepEmptyRows"),
    )
