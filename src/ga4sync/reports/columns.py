"""Column names and SQL types of a report's typed relation.

A column is named after its GA4 field in snake_case (``sessionSource`` →
``session_source``, ``customEvent:plan_type`` → ``custom_event_plan_type``).
Names that would collide with each other or with the relation's own columns
(``property_id``, ``date``, ``synced_at``) take ``_2``, ``_3``, … in the order
the definition lists them, dimensions first.

A metric's SQL type follows its GA4 type: integers are ``bigint``; currency is
``numeric``, kept exactly as GA4 sends it; floats, durations and distances are
``double precision`` (GA4 computes them as doubles and prints them so that they
read back to the same double). A custom metric, whose type only the property's
metadata tells, is ``numeric``: exact for whatever GA4 sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ga4sync.ga4.fields import STANDARD_METRICS

# the relation's own columns, never a field's
RESERVED_COLUMNS = frozenset({"property_id", "property_ref", "date", "dimension_key", "synced_at"})
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1, in bytes

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^a-z0-9]+")

SQL_TYPES = {
    "TYPE_INTEGER": "bigint",
    "TYPE_CURRENCY": "numeric",
}
FLOAT_SQL_TYPE = "double precision"
CUSTOM_SQL_TYPE = "numeric"


@dataclass(frozen=True)
class Column:
    name: str  # the SQL column
    field: str  # the GA4 API name
    kind: Literal["dimension", "metric"]
    sql_type: str


def snake_case(api_name: str) -> str:
    """``customEvent:plan_type`` → ``custom_event_plan_type``; never empty, never a digit first."""
    words = _NOT_WORD.sub("_", _CAMEL.sub("_", api_name).lower()).strip("_")
    if not words or words[0].isdigit():
        words = f"f_{words}".rstrip("_")
    return words


def metric_sql_type(metric: str) -> str:
    ga4_type = STANDARD_METRICS.get(metric)
    if ga4_type is None:
        return CUSTOM_SQL_TYPE
    return SQL_TYPES.get(ga4_type, FLOAT_SQL_TYPE)


def _unique(base: str, taken: set[str]) -> str:
    name = base[:MAX_IDENTIFIER]
    number = 1
    while name in taken:
        number += 1
        suffix = f"_{number}"
        name = base[: MAX_IDENTIFIER - len(suffix)] + suffix
    taken.add(name)
    return name


def report_columns(dimensions: Sequence[str], metrics: Iterable[str]) -> tuple[Column, ...]:
    """Columns for the non-period dimensions (text) and the metrics (typed)."""
    taken = set(RESERVED_COLUMNS)
    columns = [Column(_unique(snake_case(d), taken), d, "dimension", "text") for d in dimensions]
    columns += [
        Column(_unique(snake_case(m), taken), m, "metric", metric_sql_type(m)) for m in metrics
    ]
    return tuple(columns)
