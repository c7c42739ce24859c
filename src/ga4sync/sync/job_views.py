"""A job as one user sees it: the run counted over the properties they can access.

A daily run (or an admin's run) covers every tenant's properties, and its stored
counts and message are the whole run's. A user who is not an admin sees none of
that: of any job, the progress, the message and the per-property outcomes are
computed again from the job's properties they can access, with the same rules
the run used for its own summary. The job's status, times and kind are the run's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ga4sync.store.jobs import Job
from ga4sync.sync.summary import IngestSummary, PropertyResult

# A property counted in without syncing (disabled or removed meanwhile) is not a failure.
_NOT_FAILED = ("success", "skipped")


def result_of(row: dict[str, Any]) -> PropertyResult:
    """A job property's stored outcome (``job_property_results``) as a result."""
    return PropertyResult(
        property_ref=row["property_ref"],
        property_id=row["property_id"],
        status=row["status"],
        rows_fetched=row["rows_fetched"],
        rows_inserted=row["rows_inserted"],
        rows_updated=row["rows_updated"],
        rows_unchanged=row["rows_unchanged"],
        rows_deleted=row["rows_deleted"],
        history_days_left=row["history_days_left"],
        tokens_consumed=row["tokens_consumed"],
        duration_ms=row["duration_ms"],
        error=row["error"],
    )


def summary_of(job: Job, rows: Sequence[dict[str, Any]]) -> IngestSummary:
    """What the job did to the properties of ``rows`` that were counted in."""
    done = [row for row in rows if row["status"] != "pending"]
    # Both ends are database timestamps: from the start to the last property done.
    ends = [row["finished_at"] for row in done if row["finished_at"] is not None]
    duration_s = (max(ends) - job.started_at).total_seconds() if ends and job.started_at else 0
    return IngestSummary(results=[result_of(row) for row in done], duration_s=duration_s)


def seen_by_user(job: Job, rows: Sequence[dict[str, Any]]) -> Job:
    """``job`` as a user sees it whose accessible properties of the job are ``rows``."""
    summary = summary_of(job, rows)
    return dataclasses.replace(
        job,
        properties_total=len(rows),
        properties_done=summary.properties_total,
        properties_failed=sum(1 for r in summary.results if r.status not in _NOT_FAILED),
        rows_fetched=summary.rows_fetched,
        rows_written=summary.rows_written,
        rows_deleted=summary.rows_deleted,
        message=_message(job, planned=bool(rows), summary=summary),
    )


def _message(job: Job, *, planned: bool, summary: IngestSummary) -> str | None:
    if job.message is None:
        return None  # still running: a run's message is written when it finishes
    if job.status == "failed" and not summary.results:
        # The run ended without counting in any of the user's properties.
        if job.properties_total == 0:
            return "The sync could not start."
        if planned:
            return "The run failed before syncing any of your properties."
        return "The run failed; none of your properties were in it."
    return summary.message()
