"""How far each property's history is read, as every view of it shows it.

The status page and ``GET /v1/properties`` (per property, over its reports),
``ga4sync reports list`` and ``GET /v1/reports`` (per report) read the
coverage and the queued history steps once here and compute the figures with
the same settings, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.coverage import get_coverage_of_properties
from ga4sync.store.queue_state import history_steps
from ga4sync.sync.ingest import plan_settings
from ga4sync.sync.plan import PlanSettings, ReadLookbacks
from ga4sync.sync.progress import Coverage, coverage_since, property_progress


@dataclass(frozen=True)
class HistoryProgress:
    """The coverage and queued steps of some properties at ``now``."""

    now: datetime
    settings: PlanSettings
    coverage: Mapping[int, Coverage]
    steps: Mapping[int, Mapping[str, Any]]
    lookbacks: Mapping[int, ReadLookbacks] = field(default_factory=dict)

    def of(self, prop: Mapping[str, Any], reports: Sequence[ReportSpec]) -> dict[str, Any]:
        """The progress of ``prop`` (a row with ``id`` and ``time_zone``, and its
        history's failures when it has them) over ``reports``."""
        return property_progress(
            time_zone=prop["time_zone"],
            now=self.now,
            coverage=self.coverage.get(prop["id"], {}),
            reports=reports,
            settings=self.settings,
            step=self.steps.get(prop["id"]),
            failures=prop.get("history_failures") or 0,
            error=prop.get("history_error"),
            retry_at=prop.get("history_retry_at"),
            lookbacks=self.lookbacks.get(prop["id"]),
        )


async def read_history_progress(
    pool: asyncpg.Pool, settings: Settings, property_refs: list[int], now: datetime
) -> HistoryProgress:
    plan = plan_settings(settings)
    since = coverage_since(now, plan, settings.reports)
    coverage, lookbacks = await get_coverage_of_properties(pool, property_refs, since)
    return HistoryProgress(
        now=now,
        settings=plan,
        coverage=coverage,
        steps=await history_steps(pool),
        lookbacks=lookbacks,
    )
