"""Report definitions from a TOML file (``GA4SYNC_REPORTS``), checked before use.

Each ``[[report]]`` table defines one report::

    [[report]]
    name = "signups_by_plan"          # snake_case, unique: the relation is ga4_signups_by_plan
    grain = "week"                    # "day" (default), "week" or "month"
    dimensions = ["customEvent:plan_type"]
    metrics = ["activeUsers", "eventCount"]
    properties = ["123456789"]        # optional: only these GA4 properties
    keep_empty_rows = false           # optional
    lookback_days = 7                 # optional: default SYNC_LOOKBACK_DAYS
    backfill_days = 90                # optional: default SYNC_BACKFILL_DAYS
    [report.dimension_filter]         # optional: GA4's FilterExpression, as in its JSON
    filter = { fieldName = "eventName", stringFilter = { value = "sign_up" } }

A report can start from an entry of the catalogue of GA4's standard reports
(``ga4sync reports catalog``; see ``reports/standard.py``)::

    [[report]]
    use = "traffic_acquisition"       # the entry's dimensions and metrics, by day
    name = "channels"                 # optional: default the entry's name
    properties = ["123456789"]        # and any other key, which replaces the entry's

The grain's dimension (``date``, ``isoYearIsoWeek``, ``yearMonth``) comes first
by itself; listing it is allowed. Every error names the file, the report and the
field, and is raised as ``ConfigError``: a process that cannot use its
definitions does not start.

The same file holds the ``[[realtime]]`` definitions (``ga4sync.reports.realtime``).
A file with realtime definitions and no ``[[report]]`` keeps the built-in reports.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from google.analytics.data_v1beta.types import FilterExpression

from ga4sync.errors import ConfigError
from ga4sync.ga4.fields import (
    STANDARD_DIMENSIONS,
    STANDARD_METRICS,
    is_custom_dimension,
    is_custom_metric,
)
from ga4sync.reports.builtin import BUILTIN_REPORTS
from ga4sync.reports.realtime import RealtimeInvalid, RealtimeSpec, parse_realtime
from ga4sync.reports.spec import (
    GRAIN_DIMENSIONS,
    GRAINS,
    MAX_BACKFILL_DAYS,
    MAX_LOOKBACK_DAYS,
    ReportSpec,
    SpecError,
)
from ga4sync.reports.standard import STANDARD_REPORTS

REPORT_KEYS = frozenset(
    {
        "name",
        "grain",
        "dimensions",
        "metrics",
        "dimension_filter",
        "metric_filter",
        "properties",
        "keep_empty_rows",
        "lookback_days",
        "backfill_days",
        "use",
    }
)
_CONDITIONS = ("stringFilter", "inListFilter", "numericFilter", "betweenFilter", "emptyFilter")


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_SpecT = TypeVar("_SpecT", bound=_Named)


class _Invalid(Exception):
    """One problem with one field of one report."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Definitions:
    """What a definitions file defines: the reports synced, and the realtime reports polled."""

    reports: tuple[ReportSpec, ...]
    realtime: tuple[RealtimeSpec, ...] = ()


def load_reports(path: Path) -> tuple[ReportSpec, ...]:
    """The report definitions in the TOML file at ``path``; ``ConfigError`` names what
    is wrong."""
    return load_definitions(path).reports


def load_definitions(path: Path) -> Definitions:
    """The report and realtime definitions in the TOML file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"GA4SYNC_REPORTS: cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_definitions(document, source=str(path))


def parse_definitions(document: Mapping[str, Any], *, source: str) -> Definitions:
    reports = parse_reports(document, source=source)
    realtime = _parse_realtime_tables(document.get("realtime"), source)
    # ga4_realtime_<name> and a report's ga4_<name> must not be one relation.
    names = {spec.name for spec in reports}
    for spec in realtime:
        if f"realtime_{spec.name}" in names:
            raise ConfigError(
                f"{source}: realtime {spec.name!r}: name: its relation {spec.relation} is also"
                f" report 'realtime_{spec.name}''s; rename one of them"
            )
    return Definitions(reports=reports, realtime=realtime)


def _parse_realtime_tables(entries: Any, source: str) -> tuple[RealtimeSpec, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: realtime: realtime reports are [[realtime]] tables")
    return tuple(_parse_named(entries, source, "realtime", ("name",), parse_realtime))


def parse_reports(document: Mapping[str, Any], *, source: str) -> tuple[ReportSpec, ...]:
    unknown = sorted(set(document) - {"report", "realtime"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r}; reports are [[report]] tables, realtime"
            " reports [[realtime]] tables"
        )
    entries = document.get("report")
    if entries is None and document.get("realtime"):
        return BUILTIN_REPORTS  # realtime reports added to the built-in reports
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no [[report]] tables: define at least one report")
    return tuple(_parse_named(entries, source, "report", ("name", "use"), _parse_report))


def _parse_named(
    entries: list[Any],
    source: str,
    kind: str,
    label_keys: tuple[str, ...],
    parse: Callable[[Any], _SpecT],
) -> list[_SpecT]:
    """Each ``[[kind]]`` table parsed, its errors named by the table (its first
    ``label_keys`` given, else its number), and its name unique among them."""
    specs: list[_SpecT] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        label = f"{kind} #{number}"
        if isinstance(entry, dict):
            named = next((entry[key] for key in label_keys if key in entry), None)
            if isinstance(named, str):
                label = f"{kind} {named!r}"
        try:
            spec = parse(entry)
        except (_Invalid, RealtimeInvalid) as exc:
            raise ConfigError(f"{source}: {label}: {exc.field}: {exc}") from None
        if spec.name in seen:
            raise ConfigError(
                f"{source}: {label}: name: also the name of {kind} #{seen[spec.name]};"
                " names must be unique"
            )
        seen[spec.name] = number
        specs.append(spec)
    return specs


def _parse_report(entry: Any) -> ReportSpec:
    if not isinstance(entry, dict):
        raise _Invalid("report", "must be a table ([[report]])")
    unknown = sorted(set(entry) - REPORT_KEYS)
    if unknown:
        raise _Invalid(unknown[0], f"unknown key; known: {', '.join(sorted(REPORT_KEYS))}")
    if "use" in entry:
        entry = _from_catalogue(entry)
    name = entry.get("name")
    if not isinstance(name, str):
        raise _Invalid("name", "required, a string")
    grain = entry.get("grain", "day")
    if grain not in GRAINS:
        raise _Invalid("grain", f"must be one of {', '.join(GRAINS)}, got {grain!r}")
    period = GRAIN_DIMENSIONS[grain]
    dimensions = _names(entry, "dimensions", required=False)
    metrics = _names(entry, "metrics", required=True)
    if dimensions and dimensions[0] == period:
        dimensions = dimensions[1:]
    for dimension in dimensions:
        _check_dimension(dimension, "dimensions")
    for metric in metrics:
        _check_metric(metric, "metrics")
    filters = {
        key: _filter(entry[key], key, dimension=key == "dimension_filter")
        for key in ("dimension_filter", "metric_filter")
        if key in entry
    }
    properties = entry.get("properties")
    if properties is not None:
        if not isinstance(properties, list) or not properties:
            raise _Invalid("properties", "a non-empty list of GA4 property ids")
        for value in properties:
            if (
                not isinstance(value, str | int)
                or not str(value).isascii()
                or not str(value).isdigit()
            ):
                raise _Invalid("properties", f"{value!r} is not a GA4 property id (digits)")
    keep_empty_rows = entry.get("keep_empty_rows", False)
    if not isinstance(keep_empty_rows, bool):
        raise _Invalid("keep_empty_rows", "true or false")
    lookback_days = _days(entry, "lookback_days", MAX_LOOKBACK_DAYS, "SYNC_LOOKBACK_DAYS")
    backfill_days = _days(entry, "backfill_days", MAX_BACKFILL_DAYS, "SYNC_BACKFILL_DAYS")
    try:
        return ReportSpec(
            name=name,
            dimensions=(period, *dimensions),
            metrics=tuple(metrics),
            grain=grain,
            dimension_filter=filters.get("dimension_filter"),
            metric_filter=filters.get("metric_filter"),
            keep_empty_rows=keep_empty_rows,
            properties=None if properties is None else frozenset(str(p) for p in properties),
            lookback_days=lookback_days,
            backfill_days=backfill_days,
        )
    except SpecError as exc:  # the spec's own checks: name, limits, duplicates
        raise _Invalid(exc.field, exc.detail) from None


def _from_catalogue(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The catalogue entry ``use`` names, with what the definition sets instead."""
    use = entry["use"]
    if not isinstance(use, str):
        raise _Invalid("use", "the name of a catalogue entry (a string)")
    standard = STANDARD_REPORTS.get(use)
    if standard is None:
        raise _Invalid(
            "use",
            f"{use!r} is not in the catalogue of GA4's standard reports"
            f"{_suggest(use, STANDARD_REPORTS)}; `ga4sync reports catalog` lists them",
        )
    base = {
        "name": standard.name,
        "dimensions": list(standard.dimensions),
        "metrics": list(standard.metrics),
    }
    return {**base, **{key: value for key, value in entry.items() if key != "use"}}


def _days(entry: Mapping[str, Any], key: str, most: int, setting: str) -> int | None:
    """A report's own number of days, or None for the setting's."""
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise _Invalid(
            key,
            f"a whole number of days from 0 to {most} (leave it out for {setting}), got {value!r}",
        )
    return value


def _names(entry: Mapping[str, Any], key: str, *, required: bool) -> list[str]:
    value = entry.get(key, [] if not required else None)
    if value is None:
        raise _Invalid(key, "required, a list of GA4 API names")
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid(key, "a list of GA4 API names (strings)")
    return list(value)


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_dimension(name: str, field: str) -> None:
    if name in STANDARD_DIMENSIONS or is_custom_dimension(name):
        return
    if name in STANDARD_METRICS:
        raise _Invalid(field, f"{name!r} is a metric, not a dimension")
    raise _Invalid(
        field,
        f"{name!r} is not a GA4 dimension{_suggest(name, STANDARD_DIMENSIONS)} (custom"
        " dimensions are customEvent:NAME, customUser:NAME or customItem:NAME)",
    )


def _check_metric(name: str, field: str) -> None:
    if name in STANDARD_METRICS or is_custom_metric(name):
        return
    if name in STANDARD_DIMENSIONS:
        raise _Invalid(field, f"{name!r} is a dimension, not a metric")
    raise _Invalid(
        field,
        f"{name!r} is not a GA4 metric{_suggest(name, STANDARD_METRICS)} (custom metrics"
        " are customEvent:NAME)",
    )


def _filter(value: Any, key: str, *, dimension: bool) -> dict[str, Any]:
    """A FilterExpression in GA4's JSON shape, checked by the client library's own
    parser and for what GA4 requires of it."""
    if not isinstance(value, dict):
        raise _Invalid(key, "a table in the shape of GA4's FilterExpression")
    try:
        FilterExpression.from_json(json.dumps(value))
    except Exception as exc:  # the library raises ParseError and kin
        raise _Invalid(key, f"not a GA4 FilterExpression: {exc}") from None
    _walk(value, key, dimension=dimension)
    return value


def _walk(expression: Mapping[str, Any], path: str, *, dimension: bool) -> None:
    kinds = [k for k in ("andGroup", "orGroup", "notExpression", "filter") if k in expression]
    if len(kinds) != 1:
        raise _Invalid(path, "each expression has one of andGroup, orGroup, notExpression, filter")
    kind = kinds[0]
    inner = expression[kind]
    if kind in ("andGroup", "orGroup"):
        expressions = inner.get("expressions") or []
        if not expressions:
            raise _Invalid(f"{path}.{kind}", "needs at least one expression")
        for n, sub in enumerate(expressions):
            _walk(sub, f"{path}.{kind}.expressions[{n}]", dimension=dimension)
    elif kind == "notExpression":
        _walk(inner, f"{path}.notExpression", dimension=dimension)
    else:
        field_name = inner.get("fieldName")
        if not field_name:
            raise _Invalid(f"{path}.filter", "needs fieldName")
        if dimension:
            _check_dimension(field_name, f"{path}.filter.fieldName")
        else:
            _check_metric(field_name, f"{path}.filter.fieldName")
        conditions = [c for c in _CONDITIONS if c in inner]
        if len(conditions) != 1:
            raise _Invalid(f"{path}.filter", f"needs one of {', '.join(_CONDITIONS)}")
