"""How far each property's history is read: for ``GET /v1/properties``, the status
page and ``/metrics``.

Per property, over its reports: the oldest and newest date settled in every
report, the days of history still missing (the most any report misses), the
share of the history read (the least any report has), and a state:

* ``done``: nothing missing;
* ``running``: a background step is queued or reading;
* ``waiting_for_quota``: the next step waits for the quota, until ``resumes_at``;
* ``retrying``: the last step failed (or was lost); the next one is queued at
  ``resumes_at``, after a backoff that grows with ``failures`` (the failed steps
  in a row), and ``error`` says why the last one failed;
* ``stopped``: the last step failed for a cause that needs a person (re-auth,
  lost access, a request GA4 refuses for good): ``error`` says which; the
  property's next successful sync starts the history again;
* ``pending``: history is missing and the property's next sync will start it.

The step is the property's next history step or, when a quota ran out and
deferred its sync (a history step's too), that sync's resume: the history
follows it, so the property waits for the quota until then, not for its next
scheduled sync.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ga4sync.reports import ReportSpec
from ga4sync.sync.plan import PlanSettings, ReadLookbacks, coverage_status

Coverage = Mapping[str, Mapping[date, datetime]]


def property_progress(
    *,
    time_zone: str,
    now: datetime,
    coverage: Coverage,
    reports: Sequence[ReportSpec],
    settings: PlanSettings,
    step: Mapping[str, Any] | None,
    failures: int = 0,
    error: str | None = None,
    retry_at: datetime | None = None,
    lookbacks: ReadLookbacks | None = None,
) -> dict[str, Any]:
    """The progress of one property; ``step`` is the queued step its history goes on
    with (a history step, or a sync its quota deferred), if any; ``failures``,
    ``error`` and ``retry_at``: its history's failed steps in a row, why the last
    one failed and when the next is due (None: not retried); ``lookbacks``: the
    lookback each read was made under. Each report is read as far back as its
    own settings say."""
    try:
        statuses = coverage_status(
            time_zone=time_zone,
            now=now,
            coverage={spec.key: coverage.get(spec.key, {}) for spec in reports},
            settings=settings,
            grains={spec.key: spec.grain for spec in reports},
            report_settings={
                spec.key: settings.for_report(spec.lookback_days, spec.backfill_days)
                for spec in reports
            },
            read_lookbacks=lookbacks,
        )
    except ValueError:
        return {"state": "unknown", "error": f"unknown time zone {time_zone!r}"}
    values = list(statuses.values())
    oldest = [s.oldest_settled for s in values]
    newest = [s.newest_settled for s in values]
    missing = max((s.days_missing for s in values), default=0)
    progress: dict[str, Any] = {
        "oldest_settled": None if None in oldest else max(d for d in oldest if d),
        "newest_settled": None if None in newest else min(d for d in newest if d),
        "days_missing": missing,
        "backfill_percent": round(min((s.backfill_percent for s in values), default=100.0), 1),
        "resumes_at": None,
        "failures": failures if missing else 0,
        "error": error if missing and failures else None,
    }
    if missing == 0:
        progress["state"] = "done"
    elif step is not None:
        if step["status"] == "todo" and step["scheduled_at"] and step["scheduled_at"] > now:
            progress["state"] = "waiting_for_quota"
            progress["resumes_at"] = step["scheduled_at"]
        else:
            progress["state"] = "running"
    elif failures and retry_at is not None:
        progress["state"] = "retrying"
        progress["resumes_at"] = retry_at
    elif failures:
        progress["state"] = "stopped"
    else:
        progress["state"] = "pending"
    return progress


def coverage_since(
    now: datetime, settings: PlanSettings, reports: Sequence[ReportSpec] = ()
) -> date:
    """The oldest date any property's target range can start at, for any of
    ``reports`` (loose: a day of margin for the zones ahead of UTC)."""
    reach = [settings, *(settings.for_report(s.lookback_days, s.backfill_days) for s in reports)]
    back = max(max(s.backfill_days, s.lookback_days + 1) for s in reach) + 1
    return (now - timedelta(days=back)).date()
