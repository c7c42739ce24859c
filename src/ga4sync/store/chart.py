"""The days of a chart: chosen metrics of one day-grain report, one value a day.

The SQL is ``chart_days`` in ``sql/queries/chart.sql``, with the definition's
table and metric columns filled in (quoted) once per definition and metrics.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ga4sync.queries import query
from ga4sync.reports import Column, ReportSpec
from ga4sync.store.coverage import Conn
from ga4sync.store.report_tables import ident, table_name


@functools.lru_cache(maxsize=128)
def chart_sql(spec: ReportSpec, metrics: tuple[Column, ...]) -> str:
    """``chart_days`` for ``metrics`` of ``spec``: each summed over a day's rows and
    given back in its own SQL type, under its column name."""
    values = ", ".join(f"sum(t.{ident(c.name)})::{c.sql_type} as {ident(c.name)}" for c in metrics)
    return query("chart_days").format(table=table_name(spec.key), values=values)


def _number(value: Any) -> int | float | None:
    # numeric (currency, custom metrics) arrives as Decimal; JSON has one number type
    return float(value) if isinstance(value, Decimal) else value


async def chart_days(
    conn: Conn,
    spec: ReportSpec,
    metrics: Sequence[Column],
    property_ref: int,
    start: date,
    end: date,
) -> list[dict[str, Any]]:
    """``[{"date": day, <column>: value, ...}]`` for the days from ``start`` to
    ``end`` that have rows, oldest first."""
    chosen = tuple(metrics)
    rows = await conn.fetch(chart_sql(spec, chosen), property_ref, start, end)
    return [{"date": row["date"], **{c.name: _number(row[c.name]) for c in chosen}} for row in rows]
