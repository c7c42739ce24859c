"""Generate the rows of a runReport page lazily, by row index, as proto3 JSON.

Reports of ``date`` and other non-time dimensions without filters take this path;
:func:`build_report` sends every other report to :mod:`.aggregate`, which adds
days up into weeks and months and applies filters.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from .catalog import DATE_DIMENSION
from .columns import (
    Column,
    cached_values,
    custom_values,
    metric_hash,
    metric_table,
    numeric_table,
    sorted_column,
    zero_positions,
)
from .plausible import plausible_values, position_metric
from .request import DateSpan, ReportRequest
from .schema import PropertySchema

OTHER = "(other)"
_HIDDEN = ""
# Inner blocks aim for at least _MIN_BLOCK rows, but stop growing at _MAX_BLOCK once
# they hold a few dozen: a block is laid out in full for every request.
_MIN_BLOCK = 1024
_MAX_BLOCK = 65_536
_FEW = 32


@dataclass
class PropertyConfig:
    """How one fake property behaves."""

    time_zone: str = "America/Los_Angeles"
    cardinality: int = 10
    currency_code: str = "USD"
    thresholded: bool = False
    sampled: bool = False
    other_row: bool = False
    # An Analytics 360 property: its Admin API resource says so and its quotas are 360's.
    analytics_360: bool = False
    today: date | None = None
    # The property's first date with data: no rows exist for the dates before it.
    first_date: date | None = None
    # (date YYYYMMDD, ((dimension, value), ...) sorted, metric) -> value
    overrides: dict[tuple[str, tuple[tuple[str, str], ...], str], str] = field(default_factory=dict)
    # Rows GA4 no longer returns: (date YYYYMMDD, ((dimension, value), ...) sorted)
    hidden_rows: set[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=set)
    # Rows left out at the end of every report while rowCount still counts them.
    short_rows: int = 0
    # Values that look like a real property's (see .plausible): the demo's.
    plausible: bool = False
    # Custom dimensions (apiName -> their values, None for generated ones) and custom
    # metrics (apiName -> MetricType name).
    custom_dimensions: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    custom_metrics: dict[str, str] = field(default_factory=dict)

    @property
    def schema(self) -> PropertySchema:
        """The property's fields: the standard ones and its custom definitions."""
        return PropertySchema(
            MappingProxyType(dict(self.custom_dimensions)),
            MappingProxyType(dict(self.custom_metrics)),
        )

    def values(self, dimension: str) -> tuple[str, ...]:
        """The values of a non-time dimension of this property."""
        if dimension in self.custom_dimensions:
            declared = self.custom_dimensions[dimension]
            return declared if declared is not None else custom_values(dimension, self.cardinality)
        if self.plausible:
            return plausible_values(dimension, self.cardinality)
        return cached_values(dimension, self.cardinality)

    def fingerprint(self) -> tuple[object, ...]:
        """Everything about the property that a report's rows depend on."""
        return (
            self.cardinality,
            self.plausible,
            self.first_date,
            self.other_row,
            tuple(sorted(self.overrides.items())),
            tuple(sorted(self.hidden_rows)),
            tuple(self.custom_dimensions.items()),
            tuple(self.custom_metrics.items()),
        )

    def metric_type(self, metric: str) -> str | None:
        """The declared type of a custom metric; None for a standard one."""
        return self.custom_metrics.get(metric)


@dataclass(frozen=True)
class Page:
    """One rendered page: the rows' JSON (without brackets) and the counts around it."""

    rows_json: str
    rows_returned: int
    row_count: int


def _size(columns: Sequence[Column]) -> int:
    return math.prod(len(column.entries) for column in columns)


def _expand(values: list[str], sizes: list[int], index: int) -> list[str]:
    """Column ``index``'s values laid out along ``itertools.product`` of ``sizes``."""
    after = math.prod(sizes[index + 1 :])
    before = math.prod(sizes[:index])
    spread = values if after == 1 else [v for v in values for _ in range(after)]
    return spread * before


def _find(column: Column, value: str) -> int:
    """The position of ``value`` in the column, -1 when it has no such value."""
    for index, (_, _, raw) in enumerate(column.entries):
        if raw == value:
            return index
    return -1


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


class ReportBuilder:
    """Everything needed to produce any page of one report.

    Rows are the cartesian product of the days in each date range and
    ``cardinality`` values per non-date dimension. Each dimension's values are
    sorted on their own, so the product taken in sort-priority order is already
    the sorted report: the page at ``offset`` is produced directly, without
    building the rows before it. A metric value is a lookup in a per-metric table
    at the sum of per-dimension-value components, so a row costs a few additions
    and one string format. Ordering by a metric is the exception and
    materialises the whole report.
    """

    def __init__(
        self, request: ReportRequest, property_id: str, config: PropertyConfig, seed: int
    ) -> None:
        self.request = request
        self.property_id = property_id
        self.config = config
        self.seed = seed
        multi = len(request.date_ranges) > 1
        self.header_names = list(request.dimensions) + (["dateRange"] if multi else [])
        # Columns in response order. A hidden column ("") keys values by date range when
        # the report has no date dimension; both it and dateRange hold one value per range
        # and lead the sort priority, where they change nothing.
        names = list(request.dimensions)
        if DATE_DIMENSION not in names:
            names.append(_HIDDEN)
        if multi:
            names.append("dateRange")
        self.names = names
        self.orders = {o.dimension: o for o in request.order_bys if o.dimension is not None}
        self.metric_orders = any(o.metric is not None for o in request.order_bys)
        constant = [i for i, n in enumerate(names) if n in (_HIDDEN, "dateRange")]
        ordered = [names.index(d) for d in self.orders]
        rest = [i for i in range(len(names)) if i not in ordered and i not in constant]
        self.priority = constant + ordered + rest
        # Priority positions of the response's dimension values, in response order.
        self.out_positions = [self.priority.index(i) for i, n in enumerate(names) if n != _HIDDEN]
        self.key_positions = [self.priority.index(names.index(d)) for d in request.dimensions]
        plausible = config.plausible
        self.hashes = tuple(
            metric_hash(seed, property_id, position_metric(m, plausible)) for m in request.metrics
        )
        kinds = [config.metric_type(m) for m in request.metrics]
        self.metric_types = [config.schema.metric(m).type for m in request.metrics]
        self.tables = [
            metric_table(seed, m, k, plausible) for m, k in zip(request.metrics, kinds, strict=True)
        ]
        self.numbers = [
            numeric_table(seed, m, k, plausible)
            for m, k in zip(request.metrics, kinds, strict=True)
        ]
        self.zeros = [
            zero_positions(seed, m, k, plausible)
            for m, k in zip(request.metrics, kinds, strict=True)
        ]
        first = config.first_date
        spans = [
            (span, tuple(d for d in span.days if first is None or d >= first))
            for span in request.date_ranges
        ]
        self.segments = [self._segment(span, days) for span, days in spans if days]
        self.overrides = self._relevant_overrides()
        # Positions of rows left out among all rows, ascending: hidden rows, and rows whose
        # metrics are all zero unless keepEmptyRows. The rows are served without them.
        self.hidden_rows = self._hidden_row_positions()
        if not request.keep_empty_rows and self.hashes:
            empty = self._empty_row_positions()
            if empty:
                self.hidden_rows = sorted(set(self.hidden_rows) | set(empty))
        self.base_count = sum(_size(segment) for segment in self.segments) - len(self.hidden_rows)
        rolls_up = any(d != DATE_DIMENSION for d in request.dimensions)
        with_other = config.other_row and rolls_up and self.base_count > 0
        self.other = self._other_segment() if with_other else None
        if self.other and not request.keep_empty_rows and self.hashes:
            if self._is_empty(self.other, [0] * len(self.other)):
                self.other = None
        self.row_count = self.base_count + (1 if self.other else 0)

    # --- columns -----------------------------------------------------------------------

    def _column(self, name: str, values: tuple[str, ...], hashed: bool = True) -> Column:
        order = self.orders.get(name)
        order_type = order.order_type if order else "ALPHANUMERIC"
        desc = bool(order and order.desc)
        return sorted_column(
            self.seed, self.property_id, name, values, self.hashes, order_type, desc, hashed
        )

    def _segment(self, span: DateSpan, days: tuple[date, ...]) -> list[Column]:
        columns: list[Column] = []
        for name in self.names:
            if name == DATE_DIMENSION:
                columns.append(self._column(name, tuple(d.strftime("%Y%m%d") for d in days)))
            elif name == _HIDDEN:
                key = f"{span.start.isoformat()}..{span.end.isoformat()}"
                columns.append(self._column("dateRange", (key,)))
            elif name == "dateRange":
                columns.append(self._column(name, (span.name,), hashed=False))
            else:
                columns.append(self._column(name, self.config.values(name)))
        return [columns[i] for i in self.priority]

    def _other_segment(self) -> list[Column]:
        last = self.segments[-1]
        columns: list[Column] = []
        for position, index in enumerate(self.priority):
            name, column = self.names[index], last[position]
            if name == DATE_DIMENSION:
                latest = max(e[2] for e in column.entries)
                columns.append(self._column(name, (latest,)))
            elif name in (_HIDDEN, "dateRange"):
                columns.append(column)
            else:
                columns.append(self._column(name, (OTHER,)))
        return columns

    def _hidden_row_positions(self) -> list[int]:
        """Where the hidden rows that this report requests would be, over all segments.

        A hidden row belongs to reports of ``date`` and exactly its other dimensions;
        with several date ranges it is left out of each range that holds its date.
        """
        request = self.request
        if DATE_DIMENSION not in request.dimensions or not self.config.hidden_rows:
            return []
        others = sorted(d for d in request.dimensions if d != DATE_DIMENSION)
        wanted = [
            {DATE_DIMENSION: day, **dict(dims)}
            for day, dims in self.config.hidden_rows
            if sorted(d for d, _ in dims) == others
        ]
        positions: list[int] = []
        base = 0
        for segment in self.segments:
            for values in wanted:
                index = 0
                for position, column in enumerate(segment):
                    name = self.names[self.priority[position]]
                    # a column not named by the row holds one value per date range
                    found = _find(column, values[name]) if name in values else 0
                    if found < 0:
                        break
                    index = index * len(column.entries) + found
                else:
                    positions.append(base + index)
            base += _size(segment)
        return sorted(positions)

    def _is_empty(self, segment: list[Column], indices: list[int]) -> bool:
        """Whether every metric of the row at these column indices is zero."""
        raw = [column.entries[i][2] for column, i in zip(segment, indices, strict=True)]
        changed = self.overrides.get(tuple(raw[p] for p in self.key_positions)) or {}
        for m, numbers in enumerate(self.numbers):
            if m in changed:
                try:
                    if float(changed[m]):
                        return False
                except ValueError:
                    return False
                continue
            total = sum(column.parts[m][i] for column, i in zip(segment, indices, strict=True))
            if numbers[total & (len(numbers) - 1)]:
                return False
        return True

    def _empty_row_positions(self) -> list[int]:
        """Where the rows whose metrics are all zero are, over all segments.

        Candidates are the rows where the metric with the fewest zeros in its table is
        zero: for each combination of the other columns, the largest column's entries
        whose component lands on one of those zeros. Rows with changed values are
        looked at too.
        """
        best = min(range(len(self.zeros)), key=lambda m: len(self.zeros[m]))
        zeros = self.zeros[best]
        mask = len(self.numbers[best]) - 1
        positions: set[int] = set()
        base = 0
        for segment in self.segments:
            sizes = [len(column.entries) for column in segment]
            strides = [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]
            if zeros:
                widest = max(range(len(sizes)), key=sizes.__getitem__)
                landing: dict[int, list[int]] = {}
                for j, component in enumerate(segment[widest].parts[best]):
                    landing.setdefault(component & mask, []).append(j)
                others = [i for i in range(len(sizes)) if i != widest]
                for combo in itertools.product(*(range(sizes[i]) for i in others)):
                    offset = sum(
                        segment[i].parts[best][c] for i, c in zip(others, combo, strict=True)
                    )
                    for zero in zeros:
                        for j in landing.get((zero - offset) & mask, ()):
                            indices = [0] * len(sizes)
                            for i, c in zip(others, combo, strict=True):
                                indices[i] = c
                            indices[widest] = j
                            if self._is_empty(segment, indices):
                                positions.add(base + sum(map(operator.mul, indices, strides)))
            for key in self.overrides:
                values = dict(zip(self.request.dimensions, key, strict=True))
                found = self._indices_of(segment, values)
                if found is not None and self._is_empty(segment, found):
                    positions.add(base + sum(map(operator.mul, found, strides)))
            base += _size(segment)
        return sorted(positions)

    def _indices_of(self, segment: list[Column], values: dict[str, str]) -> list[int] | None:
        """The column indices of the row with these values (None: no such row); a column
        not named holds one value per date range."""
        indices = []
        for position, column in enumerate(segment):
            name = self.names[self.priority[position]]
            found = _find(column, values[name]) if name in values else 0
            if found < 0:
                return None
            indices.append(found)
        return indices

    def _relevant_overrides(self) -> dict[tuple[str, ...], dict[int, str]]:
        request = self.request
        if DATE_DIMENSION not in request.dimensions or not self.config.overrides:
            return {}
        others = sorted(d for d in request.dimensions if d != DATE_DIMENSION)
        found: dict[tuple[str, ...], dict[int, str]] = {}
        for (day, dims, metric), value in self.config.overrides.items():
            if metric not in request.metrics or sorted(d for d, _ in dims) != others:
                continue
            values = dict(dims)
            key = tuple(day if d == DATE_DIMENSION else values[d] for d in request.dimensions)
            escaped = json.dumps(value, ensure_ascii=False)[1:-1]
            found.setdefault(key, {})[request.metrics.index(metric)] = escaped
        return found

    # --- rendering -----------------------------------------------------------------------

    def _template(self, fixed: dict[int, str]) -> str:
        """A row format string; ``fixed`` maps priority positions to known fragments."""
        slots = [fixed[p].replace("%", "%%") if p in fixed else "%s" for p in self.out_positions]
        parts = []
        if slots:
            parts.append('"dimensionValues":[' + ",".join(slots) + "]")
        if self.hashes:
            values = ",".join(['{"value":"%s"}'] * len(self.hashes))
            parts.append('"metricValues":[' + values + "]")
        return "{" + ",".join(parts) + "}"

    def _render_range(
        self, segment: list[Column], start: int, stop: int, collect: bool = False
    ) -> tuple[list[str], list[list[str]]]:
        """Rows ``start .. stop`` of one segment (and, if ``collect``, each metric's values).

        The trailing columns form the inner block (see ``_MIN_BLOCK``); each combination
        of the leading columns renders one slice of it.
        """
        split = len(segment)
        while split > 0:
            size = _size(segment[split:])
            grown = size * len(segment[split - 1].entries)
            if size >= _MIN_BLOCK or (size >= _FEW and grown > _MAX_BLOCK):
                break
            split -= 1
        outer, inner = segment[:split], segment[split:]
        block = _size(inner)
        sizes = [len(c.entries) for c in inner]
        inner_out = [p for p in self.out_positions if p >= split]
        inner_frags = {
            p: _expand([e[0] for e in inner[p - split].entries], sizes, p - split)
            for p in inner_out
        }
        inner_sums = []
        for m in range(len(self.hashes)):
            sums = [0]
            for column in inner:
                sums = [a + b for a in sums for b in column.parts[m]]
            inner_sums.append(sums)
        rows: list[str] = []
        values: list[list[str]] = [[] for _ in self.hashes]
        first = start // block
        prefixes = itertools.islice(
            itertools.product(*(range(len(c.entries)) for c in outer)), first, None
        )
        position = first * block
        for prefix in prefixes:
            if position >= stop:
                break
            lo, hi = max(start - position, 0), min(stop - position, block)
            template = self._template({k: outer[k].entries[i][0] for k, i in enumerate(prefix)})
            block_values = []
            for m, table in enumerate(self.tables):
                base = sum(outer[k].parts[m][i] for k, i in enumerate(prefix))
                mask = len(table) - 1
                block_values.append([table[(base + s) & mask] for s in inner_sums[m][lo:hi]])
            if self.overrides:
                combos = itertools.islice(
                    itertools.product(*(range(size) for size in sizes)), lo, hi
                )
                self._apply_overrides(outer, inner, prefix, list(combos), block_values)
            slots = [inner_frags[p][lo:hi] for p in inner_out]
            rows.extend(map(template.__mod__, zip(*slots, *block_values, strict=True)))
            for m, metric_values in enumerate(block_values if collect else ()):
                values[m].extend(metric_values)
            position += block
        return rows, values

    def _apply_overrides(
        self,
        outer: list[Column],
        inner: list[Column],
        prefix: tuple[int, ...],
        combos: list[tuple[int, ...]],
        block_values: list[list[str]],
    ) -> None:
        raw = [outer[k].entries[i][2] for k, i in enumerate(prefix)] + [""] * len(inner)
        split = len(outer)
        for j, combo in enumerate(combos):
            for k, column in enumerate(inner):
                raw[split + k] = column.entries[combo[k]][2]
            changed = self.overrides.get(tuple(raw[p] for p in self.key_positions))
            for m, value in (changed or {}).items():
                block_values[m][j] = value

    def page(self) -> Page:
        """The rows ``offset .. offset + limit`` of the report.

        Hidden rows are skipped; ``short_rows`` leaves the last rows out of every
        page while ``rowCount`` still counts them.
        """
        start = min(self.request.offset, self.row_count)
        served = max(0, self.row_count - self.config.short_rows)
        stop = min(start + self.request.limit, served)
        if stop <= start:
            rows: list[str] = []
        elif self.metric_orders:
            rows = self._sorted_by_metrics()[start:stop]
        else:
            first, last = self._position(start), self._position(stop - 1) + 1
            rows = []
            position = 0
            for segment in [*self.segments, *([self.other] if self.other else [])]:
                size = _size(segment)
                if first < position + size and last > position:
                    local_start = max(0, first - position)
                    local_stop = min(last, position + size) - position
                    rendered = self._render_range(segment, local_start, local_stop)[0]
                    rows.extend(self._visible(rendered, position + local_start))
                position += size
        return Page(",".join(rows), len(rows), self.row_count)

    def _position(self, index: int) -> int:
        """Where the ``index``-th served row is among all rows, hidden ones included."""
        for hidden in self.hidden_rows:
            if hidden > index:
                break
            index += 1
        return index

    def _visible(self, rows: list[str], first: int) -> list[str]:
        """``rows``, the rows from position ``first`` on, without the hidden ones."""
        lo = bisect.bisect_left(self.hidden_rows, first)
        hi = bisect.bisect_left(self.hidden_rows, first + len(rows))
        if lo == hi:
            return rows
        skip = {position - first for position in self.hidden_rows[lo:hi]}
        return [row for index, row in enumerate(rows) if index not in skip]

    def _sorted_by_metrics(self) -> list[str]:
        orders = self.request.order_bys
        rows: list[str] = []
        keys: list[list[float]] = [[] for _ in orders]
        for segment in self.segments:
            size = _size(segment)
            rendered, values = self._render_range(segment, 0, size, collect=True)
            rows.extend(rendered)
            for n, order in enumerate(orders):
                if order.metric is not None:
                    metric_values = values[self.request.metrics.index(order.metric)]
                    keys[n].extend(_number(v) for v in metric_values)
                else:
                    position = self.priority.index(self.names.index(str(order.dimension)))
                    stride = _size(segment[position + 1 :])
                    length = len(segment[position].entries)
                    keys[n].extend(float((i // stride) % length) for i in range(size))
        hidden = set(self.hidden_rows)
        indices = [i for i in range(len(rows)) if i not in hidden]
        for n in reversed(range(len(orders))):
            # Dimension keys are positions in columns already sorted in the wanted direction.
            descending = orders[n].metric is not None and orders[n].desc
            indices.sort(key=keys[n].__getitem__, reverse=descending)
        ordered = [rows[i] for i in indices]
        if self.other:
            ordered.extend(self._render_range(self.other, 0, 1)[0])
        return ordered


__all__ = ["OTHER", "Page", "PropertyConfig", "ReportBuilder"]
