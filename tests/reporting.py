"""Reading what the built-in reports stored, through their typed relations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ga4sync.reports import BUILTIN_REPORTS, ReportSpec


def _select(spec: ReportSpec) -> str:
    return f"select {spec.name!r} as report, property_id, date from {spec.relation}".replace(
        '"', "'"
    )


# Every stored row of the built-in reports: (report, property_id, date); alias it.
ALL_ROWS = "(" + " union all ".join(_select(spec) for spec in BUILTIN_REPORTS) + ")"


async def count_rows(conn: Any, property_id: str | None = None) -> int:
    return await conn.fetchval(
        f"select count(*) from {ALL_ROWS} r where $1::text is null or property_id = $1",
        property_id,
    )


async def row_versions(conn: Any, property_id: str | None = None) -> dict[tuple, tuple]:
    """``{(report, property_id, date, dimension values): (metric values, synced_at)}``."""
    versions: dict[tuple, tuple] = {}
    for spec in BUILTIN_REPORTS:
        dimensions = [c.name for c in spec.columns if c.kind == "dimension"]
        metrics = [c.name for c in spec.columns if c.kind == "metric"]
        rows = await conn.fetch(
            f"select * from {spec.relation} where $1::text is null or property_id = $1",
            property_id,
        )
        for r in rows:
            key = (spec.name, r["property_id"], r["date"], *(r[d] for d in dimensions))
            versions[key] = (tuple(r[m] for m in metrics), r["synced_at"])
    return versions


def typed_value(sql_type: str, text: str) -> Any:
    """A GA4 metric value (a string) as its column gives it back."""
    if sql_type == "bigint":
        return int(text)
    if sql_type == "numeric":
        return Decimal(text)
    return float(text)


def row_key(report: str, day: date, dimensions: dict[str, str]) -> tuple[str, date, str]:
    return report, day, json.dumps(dimensions, sort_keys=True)


async def stored_rows(
    conn: Any, property_id: str, reports: Sequence[ReportSpec] = BUILTIN_REPORTS
) -> dict[tuple[str, date, str], dict[str, Any]]:
    """``{(report, date, dimensions as sorted JSON by API name): {metric: value}}``."""
    rows: dict[tuple[str, date, str], dict[str, Any]] = {}
    for spec in reports:
        records = await conn.fetch(
            f"select * from {spec.relation} where property_id = $1", property_id
        )
        for r in records:
            dimensions = {c.field: r[c.name] for c in spec.columns if c.kind == "dimension"}
            metrics = {c.field: r[c.name] for c in spec.columns if c.kind == "metric"}
            rows[row_key(spec.name, r["date"], dimensions)] = metrics
    return rows
