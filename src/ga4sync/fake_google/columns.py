"""Sorted dimension columns and metric value tables, cached across requests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .catalog import MASK64, METRICS, custom_metric, dimension_values, hash64, mix64
from .plausible import BASE_METRIC, DERIVED_METRICS, derived_table

# (JSON fragment ``{"value":"..."}``, 64-bit hash, raw value)
Entry = tuple[str, int, str]

TABLE_SIZE = 4096  # a power of two: values are looked up at ``sum & (TABLE_SIZE - 1)``
_MULT = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class Column:
    """One dimension's values for a report, in sort order, with per-metric components.

    A row's value of metric ``m`` is ``table_m[sum(column.parts[m][i]) & mask]`` over the
    row's entries, so it depends only on the seed, the property, the metric and the
    row's dimension values.
    """

    entries: tuple[Entry, ...]
    parts: tuple[tuple[int, ...], ...]


def _safe(value: str) -> bool:
    return value.isprintable() and '"' not in value and "\\" not in value


def entry(seed: int, property_id: str, dimension: str, value: str, hashed: bool = True) -> Entry:
    """The JSON fragment, hash and raw value of one dimension value."""
    if _safe(value):
        fragment = '{"value":"' + value + '"}'
    else:
        fragment = '{"value":' + json.dumps(value, ensure_ascii=False) + "}"
    digest = hash64(str(seed), property_id, dimension, value) if hashed else 0
    return (fragment, digest, value)


def _order_key(order_type: str) -> Any:
    if order_type == "CASE_INSENSITIVE_ALPHANUMERIC":
        return lambda e: e[2].lower()
    if order_type == "NUMERIC":

        def numeric(e: Entry) -> tuple[int, float, str]:
            try:
                return (0, float(e[2]), e[2])
            except ValueError:
                return (1, 0.0, e[2])

        return numeric
    return lambda e: e[2]


@lru_cache(maxsize=256)
def cached_values(name: str, cardinality: int) -> tuple[str, ...]:
    """The values of a non-time standard dimension (cached)."""
    return tuple(dimension_values(name, cardinality))


def custom_values(name: str, cardinality: int) -> tuple[str, ...]:
    """Generated values of a custom dimension declared without values: ``plan_type 0`` ..."""
    parameter = name.partition(":")[2]
    return tuple(f"{parameter} {index}" for index in range(cardinality))


@lru_cache(maxsize=256)
def _sorted_entries(
    seed: int,
    property_id: str,
    name: str,
    values: tuple[str, ...],
    order_type: str,
    desc: bool,
    hashed: bool,
) -> tuple[Entry, ...]:
    entries = [entry(seed, property_id, name, value, hashed) for value in values]
    if len(entries) > 1:
        entries.sort(key=_order_key(order_type), reverse=desc)
    return tuple(entries)


def part(digest: int, metric: int) -> int:
    """One dimension value's component of a metric's table position (0 for no hash)."""
    return ((((digest ^ metric) * _MULT) & MASK64) >> 24) if digest else 0


@lru_cache(maxsize=1024)
def _parts(entries: tuple[Entry, ...], metric: int) -> tuple[int, ...]:
    return tuple(
        ((((digest ^ metric) * _MULT) & MASK64) >> 24) if digest else 0 for _, digest, _ in entries
    )


def sorted_column(
    seed: int,
    property_id: str,
    name: str,
    values: tuple[str, ...],
    metric_hashes: tuple[int, ...],
    order_type: str = "ALPHANUMERIC",
    desc: bool = False,
    hashed: bool = True,
) -> Column:
    """A column of ``values`` for dimension ``name``, sorted, with components per metric."""
    entries = _sorted_entries(seed, property_id, name, values, order_type, desc, hashed)
    return Column(entries, tuple(_parts(entries, metric) for metric in metric_hashes))


def metric_hash(seed: int, property_id: str, metric: str) -> int:
    """The per-(seed, property, metric) salt of a metric's components."""
    return hash64(str(seed), property_id, "metric", metric)


@lru_cache(maxsize=256)
def metric_table(
    seed: int, metric: str, custom_type: str | None = None, plausible: bool = False
) -> tuple[str, ...]:
    """``TABLE_SIZE`` wire-format values of ``metric`` to draw rows' values from; a
    custom metric is drawn by its ``custom_type``. A plausible property's metrics
    that follow from sessions are computed from the sessions table (see
    :mod:`.plausible`)."""
    if plausible and custom_type is None and metric in DERIVED_METRICS:
        return derived_table(seed, metric, metric_table(seed, BASE_METRIC))
    make = (custom_metric(metric, custom_type) if custom_type else METRICS[metric]).make
    salt = hash64(str(seed), "table", metric)
    return tuple(make(mix64((index * _MULT ^ salt) & MASK64) >> 11) for index in range(TABLE_SIZE))


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


@lru_cache(maxsize=256)
def numeric_table(
    seed: int, metric: str, custom_type: str | None = None, plausible: bool = False
) -> tuple[float, ...]:
    """:func:`metric_table` as numbers."""
    return tuple(_float(value) for value in metric_table(seed, metric, custom_type, plausible))


@lru_cache(maxsize=256)
def zero_positions(
    seed: int, metric: str, custom_type: str | None = None, plausible: bool = False
) -> tuple[int, ...]:
    """The positions of :func:`metric_table` that hold a zero."""
    numbers = numeric_table(seed, metric, custom_type, plausible)
    return tuple(i for i, value in enumerate(numbers) if not value)
