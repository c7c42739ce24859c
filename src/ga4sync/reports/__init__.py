"""The reports ga4sync keeps: definitions, their typed columns, the built-ins."""

from __future__ import annotations

from collections.abc import Sequence

from ga4sync.reports.builtin import BUILTIN_REPORTS
from ga4sync.reports.columns import Column
from ga4sync.reports.spec import NON_ADDITIVE_METRICS, Grain, ReportSpec

__all__ = [
    "BUILTIN_REPORTS",
    "NON_ADDITIVE_METRICS",
    "Column",
    "Grain",
    "ReportSpec",
    "reports_by_name",
]


def reports_by_name(
    names: list[str] | None = None, reports: Sequence[ReportSpec] = BUILTIN_REPORTS
) -> tuple[ReportSpec, ...]:
    """The reports, or those named (unknown names are an error)."""
    if not names:
        return tuple(reports)
    known = {spec.name: spec for spec in reports}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown report(s) {unknown}; known: {sorted(known)}")
    return tuple(known[name] for name in names)
