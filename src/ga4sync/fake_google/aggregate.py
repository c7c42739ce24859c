"""Reports that add days up: weeks, months and other time dimensions, reports without
``date``, filtered reports.

The data underneath is the same as the lazy path's: one value per metric for each
day and combination of dimension values (an "atom"), drawn exactly as a report of
``date`` and those dimensions draws it. A row of this report adds up the atoms it
covers, each metric by its kind:

* ``sum`` metrics (sessions, eventCount, revenue ...) add up;
* ``mean`` metrics (rates, averages) average the atoms' values;
* ``users`` metrics (activeUsers, totalUsers ...) count distinct users. Each
  combination of dimension values has a circular pool of ``USER_POOL`` users; the
  users active on a day are a run of the pool as long as that day's value, starting
  ``USER_STEP`` users further on each day, so users come back on the next days and
  a week's users are the size of the union of its days' runs: never fewer than its
  busiest day's, fewer than the sum of its days' whenever two runs overlap. Pools
  of different combinations are disjoint.

The dimension filter keeps or drops atoms before they are added up (it may test
dimensions the report does not return); the metric filter then tests the rows.
Rows whose metrics are all zero are left out unless ``keepEmptyRows``; ``rowCount``
counts what is left.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .catalog import (
    DATE_DIMENSION,
    DAY_DIMENSIONS,
    SUB_DAY_DIMENSIONS,
    Metric,
    decimal_string,
)
from .columns import entry, metric_hash, metric_table, numeric_table, part
from .filters import Expression, conjuncts
from .plausible import position_metric
from .report import OTHER, Page, PropertyConfig, ReportBuilder
from .request import DateSpan, Order, ReportRequest
from .timegrid import day_value, sub_day_value

USER_POOL = 8192
USER_STEP = 61
# The rows of the last few reports built, for the next pages of the same report.
_BUILT: OrderedDict[Hashable, tuple[list[_Row], _Row | None]] = OrderedDict()
_BUILT_SIZE = 2


def _fragment(value: str) -> str:
    if value.isprintable() and '"' not in value and "\\" not in value:
        return '{"value":"' + value + '"}'
    return '{"value":' + json.dumps(value, ensure_ascii=False) + "}"


def _covered(starts: Sequence[int], per_day: list[list[float]], pool: int) -> list[float] | None:
    """:func:`_union` of every combination at once, when no run wraps around the pool
    (None otherwise): each day adds what its run reaches beyond the runs before it."""
    longest = max(map(max, per_day))
    if starts[-1] - starts[0] + longest > pool:
        return None
    count = len(per_day[0])
    covered = [0] * count
    reached = [starts[0]] * count
    for start, values in zip(starts, per_day, strict=True):
        ends = [start + int(v) for v in values]
        covered = [
            c + (e - (r if r > start else start) if e > r else 0)
            for c, e, r in zip(covered, ends, reached, strict=True)
        ]
        reached = [e if e > r else r for e, r in zip(ends, reached, strict=True)]
    return [float(c) for c in covered]


def _union(starts: Sequence[int], lengths: Sequence[float], pool: int) -> int:
    """How many positions of a circle of ``pool`` the runs ``[start, start + length)``
    cover; ``starts`` ascend."""
    runs = [(s, int(n)) for s, n in zip(starts, lengths, strict=True) if n > 0]
    if not runs:
        return 0
    if runs[-1][0] - runs[0][0] + max(n for _, n in runs) <= pool:
        covered, end = 0, None
        for start, length in runs:
            if end is None or start >= end:
                covered += length
                end = start + length
            elif start + length > end:
                covered += start + length - end
                end = start + length
        return covered
    pieces: list[tuple[int, int]] = []
    for start, length in runs:
        if length >= pool:
            return pool
        first = start % pool
        if first + length <= pool:
            pieces.append((first, first + length))
        else:
            pieces.extend([(first, pool), (0, first + length - pool)])
    pieces.sort()
    covered, end = 0, -1
    for low, high in pieces:
        if low >= end:
            covered += high - low
            end = high
        elif high > end:
            covered += high - end
            end = high
    return covered


def _format(metric: Metric, value: float) -> str:
    """An added-up value in the metric's wire format."""
    if metric.type == "TYPE_INTEGER":
        return str(round(value))
    if metric.type == "TYPE_CURRENCY":
        return decimal_string(round(value, 2))
    if metric.kind == "sum":
        return decimal_string(round(value, 6))
    return decimal_string(value)


def _dimension_key(order_type: str) -> Callable[[str], Any]:
    if order_type == "CASE_INSENSITIVE_ALPHANUMERIC":
        return str.lower
    if order_type == "NUMERIC":

        def numeric(value: str) -> tuple[int, float, str]:
            try:
                return (0, float(value), value)
            except ValueError:
                return (1, 0.0, value)

        return numeric
    return str


@dataclass
class _Row:
    span: int
    dimensions: list[str]  # the request's dimensions, in request order
    strings: list[str]  # every computed metric, request's first
    numbers: list[float]


class _Columns:
    """The dimension columns whose values make the atoms of one report.

    ``names`` are the row columns (the report's non-time dimensions, with ``hour`` and
    ``minute`` when a sub-day dimension needs them) then the columns only the filter
    names, which are added up.
    """

    def __init__(self, names: list[str], values: list[tuple[str, ...]], row_width: int) -> None:
        self.names = names
        self.values = values
        self.row_width = row_width
        self.hidden = 1
        for column in values[row_width:]:
            self.hidden *= len(column)
        self.count = 1
        for column in values:
            self.count *= len(column)

    def combos(self) -> list[tuple[str, ...]]:
        return list(itertools.product(*self.values))

    def index_of(self, values: dict[str, str]) -> int | None:
        index = 0
        for name, column in zip(self.names, self.values, strict=True):
            if values.get(name) not in column:
                return None
            index = index * len(column) + column.index(values[name])
        return index


class AggregateReport:
    """Every row of one report, built at once (see the module docstring)."""

    def __init__(
        self,
        request: ReportRequest,
        property_id: str,
        config: PropertyConfig,
        seed: int,
        key: Hashable | None = None,
    ) -> None:
        """``key`` names the report apart from its page (offset and limit): the rows of
        a report built under the same key are reused."""
        self.request = request
        self.property_id = property_id
        self.config = config
        self.seed = seed
        schema = config.schema
        multi = len(request.date_ranges) > 1
        self.header_names = list(request.dimensions) + (["dateRange"] if multi else [])
        self.metric_types = [schema.metric(m).type for m in request.metrics]
        extra = sorted(m for m in request.filter_metrics() if m not in request.metrics)
        self.metrics = [*request.metrics, *extra]
        self.specs = [schema.metric(m) for m in self.metrics]
        kinds = [config.metric_type(m) for m in self.metrics]
        plausible = config.plausible
        self.tables = [
            metric_table(seed, m, k, plausible) for m, k in zip(self.metrics, kinds, strict=True)
        ]
        self.numbers = [
            numeric_table(seed, m, k, plausible) for m, k in zip(self.metrics, kinds, strict=True)
        ]
        self.hashes = [
            metric_hash(seed, property_id, position_metric(m, plausible)) for m in self.metrics
        ]
        self._classify()
        built = _BUILT.get(key) if key is not None else None
        if built is None:
            built = self._build()
            if key is not None:
                _BUILT[key] = built
                while len(_BUILT) > _BUILT_SIZE:
                    _BUILT.popitem(last=False)
        else:
            _BUILT.move_to_end(key)
        rows, other = built
        self.rows = rows
        self.other = other
        self.row_count = len(rows) + (1 if other else 0)

    # --- the report's shape --------------------------------------------------------------

    def _classify(self) -> None:
        request = self.request
        time = DAY_DIMENSIONS | set(SUB_DAY_DIMENSIONS)
        self.day_dimensions = [d for d in request.dimensions if d in DAY_DIMENSIONS]
        self.sub_day = [d for d in request.dimensions if d in SUB_DAY_DIMENSIONS]
        row_columns = [d for d in request.dimensions if d not in time]
        for name in self.sub_day:
            row_columns.extend(c for c in SUB_DAY_DIMENSIONS[name] if c not in row_columns)
        filtered = request.filter_dimensions()
        hidden: list[str] = []
        for name in sorted(filtered):
            needs = SUB_DAY_DIMENSIONS.get(name, () if name in DAY_DIMENSIONS else (name,))
            hidden.extend(c for c in needs if c not in row_columns and c not in hidden)
        self.row_columns = row_columns
        self.hidden_columns = hidden
        # The dimension filter's parts that test one column prune it, those that test only
        # day dimensions prune days, and the rest are tested atom by atom.
        self.column_tests: dict[str, list[Expression]] = {}
        self.day_tests: list[Expression] = []
        self.atom_tests: list[Expression] = []
        if request.dimension_filter is not None:
            for part in conjuncts(request.dimension_filter):
                names = part.fields()
                only = next(iter(names)) if len(names) == 1 else None
                if only is not None and only in row_columns + hidden:
                    self.column_tests.setdefault(only, []).append(part)
                elif names <= DAY_DIMENSIONS:
                    self.day_tests.append(part)
                else:
                    self.atom_tests.append(part)
        self.rolls_up = not self.sub_day and any(d not in time for d in request.dimensions)

    def _columns(self, other: bool = False) -> _Columns:
        names = self.row_columns + self.hidden_columns
        values: list[tuple[str, ...]] = []
        for index, name in enumerate(names):
            if other and index < len(self.row_columns):
                column: tuple[str, ...] = (OTHER,)
            else:
                column = self.config.values(name)
            tests = self.column_tests.get(name, [])
            if tests:
                column = tuple(v for v in column if all(t.matches({name: v}) for t in tests))
            values.append(column)
        return _Columns(names, values, len(self.row_columns))

    def _days(self, span: DateSpan) -> list[date]:
        first = self.config.first_date
        days = [d for d in span.days if first is None or d >= first]
        if self.day_tests:
            names = sorted(set().union(*(t.fields() for t in self.day_tests)))
            days = [
                d
                for d in days
                if all(
                    t.matches({n: day_value(n, d, span.start) for n in names})
                    for t in self.day_tests
                )
            ]
        return days

    def _groups(self, span: DateSpan, days: list[date]) -> list[tuple[tuple[str, ...], list[date]]]:
        groups: dict[tuple[str, ...], list[date]] = {}
        for day in days:
            key = tuple(day_value(d, day, span.start) for d in self.day_dimensions)
            if self.sub_day:
                key += (day.isoformat(),)
            groups.setdefault(key, []).append(day)
        return list(groups.items())

    # --- values --------------------------------------------------------------------------

    def _combo_sums(self, columns: _Columns) -> list[list[int]]:
        """Per metric, each combination's sum of components, in product order."""
        digests = [
            [entry(self.seed, self.property_id, name, value)[1] for value in values]
            for name, values in zip(columns.names, columns.values, strict=True)
        ]
        sums_by_metric = []
        for salt in self.hashes:
            sums = [0]
            for column in digests:
                parts = [part(digest, salt) for digest in column]
                sums = [a + b for a in sums for b in parts]
            sums_by_metric.append(sums)
        return sums_by_metric

    def _day_parts(self, day: date) -> list[int]:
        digest = entry(self.seed, self.property_id, DATE_DIMENSION, day.strftime("%Y%m%d"))[1]
        return [part(digest, salt) for salt in self.hashes]

    def _overrides(self, columns: _Columns) -> dict[tuple[str, int], dict[int, str]]:
        """Changed values of atoms of exactly these columns: (day, combination) -> metric."""
        found: dict[tuple[str, int], dict[int, str]] = {}
        wanted = sorted(columns.names)
        for (day, dims, metric), value in self.config.overrides.items():
            if metric not in self.metrics or sorted(d for d, _ in dims) != wanted:
                continue
            index = columns.index_of(dict(dims))
            if index is not None:
                found.setdefault((day, index), {})[self.metrics.index(metric)] = value
        return found

    def _atom_mask(
        self, columns: _Columns, combos: list[tuple[str, ...]], span: DateSpan, day: date
    ) -> list[bool] | None:
        if not self.atom_tests:
            return None
        names = columns.names
        mask = []
        for combo in combos:
            values = dict(zip(names, combo, strict=True))
            for name in DAY_DIMENSIONS:
                values[name] = day_value(name, day, span.start)
            for name in SUB_DAY_DIMENSIONS:
                if "hour" in values:
                    values[name] = sub_day_value(
                        name, day, span.start, values["hour"], values.get("minute", "00")
                    )
            mask.append(all(t.matches(values) for t in self.atom_tests))
        return mask

    def _aggregate(
        self,
        columns: _Columns,
        span_index: int,
        span: DateSpan,
        groups: list[tuple[tuple[str, ...], list[date]]],
    ) -> list[_Row]:
        """The rows of one date range: for each group of days, each combination of the
        row columns' values, its atoms added up."""
        if columns.count == 0:
            return []
        combos = columns.combos() if self.atom_tests else []
        sums = self._combo_sums(columns)
        overrides = self._overrides(columns)
        hidden = columns.hidden
        width = columns.count // hidden
        row_values = list(itertools.product(*columns.values[: columns.row_width]))
        rows: list[_Row] = []
        for key, days in groups:
            day_parts = [self._day_parts(day) for day in days]
            names = [day.strftime("%Y%m%d") for day in days]
            masks = [self._atom_mask(columns, combos, span, day) for day in days]
            present = [True] * width
            if self.atom_tests:
                present = [
                    any(m is not None and m[r * hidden + h] for m in masks for h in range(hidden))
                    for r in range(width)
                ]
            single = len(days) == 1 and hidden == 1
            strings_by_metric: list[list[str]] = []
            numbers_by_metric: list[list[float]] = []
            for m, spec in enumerate(self.specs):
                table, numbers = self.tables[m], self.numbers[m]
                mask = len(numbers) - 1
                per_day: list[list[float]] = []
                singles: list[str] = []
                for d, day_part in enumerate(day_parts):
                    offset = day_part[m]
                    values = [numbers[(offset + s) & mask] for s in sums[m]]
                    if single:
                        singles = [table[(offset + s) & mask] for s in sums[m]]
                    for (day, index), changed in overrides.items():
                        if day == names[d] and m in changed:
                            try:
                                values[index] = float(changed[m])
                            except ValueError:
                                values[index] = 0.0
                            if single:
                                singles[index] = changed[m]
                    day_mask = masks[d]
                    if day_mask is not None:
                        values = [v if ok else 0.0 for v, ok in zip(values, day_mask, strict=True)]
                    per_day.append(values)
                totals = self._combine(spec, days, per_day, masks, hidden, width)
                numbers_by_metric.append(totals)
                if single:
                    strings_by_metric.append(singles)
                else:
                    strings_by_metric.append([_format(spec, v) for v in totals])
            for r in range(width):
                if not present[r]:
                    continue
                row = dict(zip(self.row_columns, row_values[r], strict=True))
                dimensions = self._row_dimensions(key, days[0], span, row)
                rows.append(
                    _Row(
                        span_index,
                        dimensions,
                        [strings[r] for strings in strings_by_metric],
                        [numbers[r] for numbers in numbers_by_metric],
                    )
                )
        return rows

    def _combine(
        self,
        spec: Metric,
        days: list[date],
        per_day: list[list[float]],
        masks: list[list[bool] | None],
        hidden: int,
        width: int,
    ) -> list[float]:
        """Each row's value from its atoms' (days x hidden combinations)."""
        count = len(per_day[0])
        weights: list[int] | None = None
        if spec.kind == "users":
            starts = [day.toordinal() * USER_STEP for day in days]
            pool = max(USER_POOL, int(max(map(max, per_day))))
            combined = _covered(starts, per_day, pool) or [
                float(_union(starts, [values[c] for values in per_day], pool)) for c in range(count)
            ]
        elif len(per_day) == 1:
            combined = per_day[0]
        else:
            combined = [sum(column) for column in zip(*per_day, strict=True)]
        if spec.kind == "mean":
            if any(mask is not None for mask in masks):
                weights = [
                    sum(1 for mask in masks if mask is None or mask[c]) for c in range(count)
                ]
            else:
                weights = [len(per_day)] * count
            if len(per_day) > 1 or weights[0] != 1:
                combined = [v / w if w else 0.0 for v, w in zip(combined, weights, strict=True)]
        if hidden == 1:
            return combined
        folded = []
        for r in range(width):
            chunk = combined[r * hidden : (r + 1) * hidden]
            if weights is None:
                folded.append(sum(chunk))
            else:
                kept = [v for v, w in zip(chunk, weights[r * hidden :], strict=False) if w]
                folded.append(sum(kept) / len(kept) if kept else 0.0)
        return folded

    def _row_dimensions(
        self, key: tuple[str, ...], day: date, span: DateSpan, row: dict[str, str]
    ) -> list[str]:
        values = []
        for name in self.request.dimensions:
            if name in DAY_DIMENSIONS:
                values.append(key[self.day_dimensions.index(name)])
            elif name in SUB_DAY_DIMENSIONS:
                minute = row.get("minute", "00")
                values.append(sub_day_value(name, day, span.start, row["hour"], minute))
            else:
                values.append(row[name])
        return values

    # --- rows ----------------------------------------------------------------------------

    def _keep(self, row: _Row) -> bool:
        request = self.request
        metrics = len(request.metrics)
        if metrics and not request.keep_empty_rows and not any(row.numbers[:metrics]):
            return False
        if request.metric_filter is not None:
            values = dict(zip(self.metrics, row.strings, strict=True))
            if not request.metric_filter.matches(values):
                return False
        return True

    def _hidden(self) -> set[tuple[int, tuple[str, ...]]]:
        """Rows hidden with ``hide_row`` that this report would return: (range, values)."""
        request = self.request
        if DATE_DIMENSION not in request.dimensions or not self.config.hidden_rows:
            return set()
        others = sorted(d for d in request.dimensions if d != DATE_DIMENSION)
        if others != sorted(self.row_columns) or self.hidden_columns:
            return set()
        gone: set[tuple[int, tuple[str, ...]]] = set()
        for day, dims in self.config.hidden_rows:
            values = {DATE_DIMENSION: day, **dict(dims)}
            key = tuple(values[d] for d in request.dimensions)
            gone.update((span, key) for span in range(len(request.date_ranges)))
        return gone

    def _sort(self, rows: list[_Row]) -> None:
        request = self.request
        dimensions = list(request.dimensions)
        ordered = [o for o in request.order_bys if o.dimension is not None]
        rest = [d for d in dimensions if d not in {o.dimension for o in ordered}]
        for name in reversed(rest):
            index = dimensions.index(name)
            rows.sort(key=lambda r: r.dimensions[index])
        for order in reversed(ordered):
            self._sort_by(rows, order)
        rows.sort(key=lambda r: r.span)
        if any(o.metric is not None for o in request.order_bys):
            for order in reversed(request.order_bys):
                self._sort_by(rows, order)

    def _sort_by(self, rows: list[_Row], order: Order) -> None:
        if order.metric is not None:
            index = self.metrics.index(order.metric)
            rows.sort(key=lambda r: r.numbers[index], reverse=order.desc)
            return
        index = list(self.request.dimensions).index(str(order.dimension))
        key = _dimension_key(order.order_type)
        rows.sort(key=lambda r: key(r.dimensions[index]), reverse=order.desc)

    def _render(self, row: _Row, fragments: dict[str, str]) -> str:
        values = row.dimensions
        if len(self.request.date_ranges) > 1:
            values = [*values, self.request.date_ranges[row.span].name]
        parts = []
        if values:
            slots = []
            for value in values:
                fragment = fragments.get(value)
                if fragment is None:
                    fragment = fragments[value] = _fragment(value)
                slots.append(fragment)
            parts.append('"dimensionValues":[' + ",".join(slots) + "]")
        metrics = len(self.request.metrics)
        if metrics:
            strings = row.strings[:metrics]
            parts.append('"metricValues":[' + ",".join(map(_fragment, strings)) + "]")
        return "{" + ",".join(parts) + "}"

    def _build(self) -> tuple[list[_Row], _Row | None]:
        rows: list[_Row] = []
        columns = self._columns()
        last: tuple[int, DateSpan, list[tuple[tuple[str, ...], list[date]]]] | None = None
        for index, span in enumerate(self.request.date_ranges):
            groups = self._groups(span, self._days(span))
            if groups:
                rows.extend(self._aggregate(columns, index, span, groups))
                last = (index, span, groups[-1:])
        gone = self._hidden()
        rows = [r for r in rows if self._keep(r) and (r.span, tuple(r.dimensions)) not in gone]
        self._sort(rows)
        other = None
        if self.config.other_row and self.rolls_up and rows and last is not None:
            index, span, groups = last
            candidates = self._aggregate(self._columns(other=True), index, span, groups)
            if candidates and self._keep(candidates[0]):
                other = candidates[0]
        return rows, other

    def page(self) -> Page:
        """The rows ``offset .. offset + limit`` of the report (``short_rows`` leaves the
        last rows out while ``rowCount`` still counts them)."""
        served_rows = self.rows + ([self.other] if self.other else [])
        start = min(self.request.offset, self.row_count)
        served = max(0, self.row_count - self.config.short_rows)
        stop = min(start + self.request.limit, served)
        fragments: dict[str, str] = {}
        rows = [self._render(row, fragments) for row in served_rows[start:stop]]
        return Page(",".join(rows), len(rows), self.row_count)


def lazy(request: ReportRequest, config: PropertyConfig) -> bool:
    """Whether the lazy path serves this report: ``date`` and other non-time
    dimensions, no filters."""
    if DATE_DIMENSION not in request.dimensions:
        return False
    if request.dimension_filter is not None or request.metric_filter is not None:
        return False
    time = DAY_DIMENSIONS | set(SUB_DAY_DIMENSIONS)
    return all(d == DATE_DIMENSION or d not in time for d in request.dimensions)


def build_report(
    request: ReportRequest,
    property_id: str,
    config: PropertyConfig,
    seed: int,
    body: dict[str, Any] | None = None,
    today: date | None = None,
) -> ReportBuilder | AggregateReport:
    """The builder that serves this report (see :func:`lazy`). Given the request's
    ``body`` and ``today``, the next pages of an added-up report reuse its rows."""
    if lazy(request, config):
        return ReportBuilder(request, property_id, config, seed)
    key = None
    if body is not None and today is not None:
        paging = {"offset", "limit", "returnPropertyQuota", "return_property_quota"}
        kept = {k: v for k, v in body.items() if k not in paging}
        canonical = json.dumps(kept, sort_keys=True, default=str)
        key = (property_id, seed, today, canonical, config.fingerprint())
    return AggregateReport(request, property_id, config, seed, key)
