"""A job as one user sees it: the run counted over the properties they can access.

A daily run (or an admin's run) covers every tenant's properties, and its stored
counts and message are the whole run's. A user who is not an admin sees none of
that: of any job, the progress, the message and the per-property outcomes are
computed again from the job's properties they can access, with the same rules
the run used for its own summary. The job's times and kind are the run's; so is
its status, except that a finished run in which every one of the user's
properties failed is ``failed`` for them.

Whoever looks, a finished run is never shown as fully synced while a property
they can see failed: its ``outcome`` is ``complete`` (every property synced),
``partial`` (some failed) or ``failed`` (the run failed: no property synced).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from ga4sync.store.jobs import Job
from ga4sync.sync.summary import IngestSummary, PropertyResult

Outcome = Literal["complete", "partial", "failed"]


def outcome_of(job: Job) -> Outcome | None:
    """How the finished ``job`` went over the properties it counts (None: still active)."""
    if job.active:
        return None
    if job.status == "failed":
        return "failed"
    return "partial" if job.properties_failed else "complete"


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
    # Every one of the user's properties failed: for them the run failed, whatever
    # other users' properties did.
    all_failed = summary.properties_failed > 0 and summary.properties_succeeded == 0
    return dataclasses.replace(
        job,
        status="failed" if not job.active and all_failed else job.status,
        properties_total=len(rows),
        properties_done=summary.properties_total,
        properties_failed=summary.properties_failed,
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
