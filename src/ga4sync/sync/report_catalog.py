"""The reports in use, as ``ga4sync reports list`` and ``GET /v1/reports`` show them:
each definition with its relation's columns and types and, per property the
caller can access, how far it is read and how its last read went."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.properties import list_properties_status
from ga4sync.store.property_runs import last_report_outcomes
from ga4sync.sync.history_progress import read_history_progress


def describe_spec(spec: ReportSpec, settings: Settings | None = None) -> dict[str, Any]:
    """A definition as the API gives it: no per-property state. Its lookback and
    backfill are its own, else ``settings``' (None when neither is known)."""
    lookback = spec.lookback_days
    backfill = spec.backfill_days
    if settings is not None:
        lookback = settings.sync_lookback_days if lookback is None else lookback
        backfill = settings.sync_backfill_days if backfill is None else backfill
    return {
        "name": spec.name,
        "relation": spec.relation,
        "definition_key": spec.key,
        "grain": spec.grain,
        "dimensions": list(spec.dimensions),
        "metrics": list(spec.metrics),
        "dimension_filter": spec.dimension_filter,
        "metric_filter": spec.metric_filter,
        "keep_empty_rows": spec.keep_empty_rows,
        "properties": sorted(spec.properties) if spec.properties is not None else None,
        "lookback_days": lookback,
        "backfill_days": backfill,
        "columns": [
            {"name": "property_id", "type": "text", "field": None, "kind": "key"},
            {"name": "date", "type": "date", "field": spec.dimensions[0], "kind": "key"},
            *(
                {"name": c.name, "type": c.sql_type, "field": c.field, "kind": c.kind}
                for c in spec.columns
            ),
            {"name": "synced_at", "type": "timestamp with time zone", "field": None, "kind": "key"},
        ],
    }


def _outcome(found: dict[str, Any] | None) -> dict[str, Any] | None:
    if found is None:
        return None
    quality = found["quality"] or {}
    status = (
        "failed" if "failed" in quality else "incomplete" if quality.get("incomplete") else "ok"
    )
    return {
        "status": status,
        "error": quality.get("failed"),
        "finished_at": found["finished_at"],
        "rows_fetched": quality.get("rows_fetched"),
    }


async def describe_reports(
    pool: asyncpg.Pool,
    settings: Settings,
    *,
    user_id: uuid.UUID | None,
    now: datetime,
    reports: Sequence[ReportSpec] | None = None,
) -> list[dict[str, Any]]:
    """Every report in use, with its state on the properties ``user_id`` can access
    (None: every property)."""
    reports = settings.reports if reports is None else reports
    rows = await list_properties_status(pool, user_id)
    refs = [row["id"] for row in rows]
    progress = await read_history_progress(pool, settings, refs, now)
    outcomes = await last_report_outcomes(pool, refs)
    described = []
    for spec in reports:
        entry = describe_spec(spec, settings)
        entry["per_property"] = [
            {
                "property_id": row["property_id"],
                "display_name": row["display_name"],
                "coverage": progress.of(row, [spec]),
                "last_outcome": _outcome(outcomes.get((row["id"], spec.name))),
            }
            for row in rows
            if spec.applies_to(row["property_id"])
        ]
        described.append(entry)
    return described


def format_reports(described: Sequence[dict[str, Any]], *, source: str) -> str:
    """``ga4sync reports list`` as text: per report its relation, columns and state."""
    lines = [f"reports from {source}"]
    for report in described:
        limited = report["properties"]
        lines.append("")
        lines.append(
            f"{report['relation']}  ({report['grain']} grain"
            + (f", properties {', '.join(limited)}" if limited else "")
            + f", lookback {report['lookback_days']} days, history {report['backfill_days']} days"
            + f", definition {report['definition_key']})"
        )
        for column in report["columns"]:
            field = f"  <- {column['field']}" if column["field"] else ""
            lines.append(f"  {column['name']:32} {column['type']:26}{field}")
        for state in report["per_property"]:
            coverage = state["coverage"]
            outcome = state["last_outcome"]
            last = "never read" if outcome is None else outcome["status"]
            if outcome and outcome["error"]:
                last += f": {outcome['error']}"
            lines.append(
                f"  property {state['property_id']}: {coverage.get('state')},"
                f" {coverage.get('backfill_percent', 0)}% of history,"
                f" {coverage.get('days_missing', 0)} days missing; last read {last}"
            )
        if not report["per_property"]:
            lines.append("  no property connected")
    return "\n".join(lines)
