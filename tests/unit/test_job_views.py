"""A job as one user sees it: counts and message over their properties only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ga4sync.store.jobs import Job
from ga4sync.sync.job_views import outcome_of, seen_by_user

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def _job(status: str, message: str | None, total: int) -> Job:
    return Job(
        id=uuid.uuid4(),
        kind="daily",
        status=status,
        scope="all",
        requested_by=None,
        created_at=START,
        started_at=START,
        finished_at=None if message is None else START + timedelta(seconds=9),
        message=message,
        last_sync_at=None,
        lock_key="daily:2026-11-21",
        run_date=None,
        since_days=1,
        properties_total=total,
        properties_done=total,
        properties_failed=total,
        rows_fetched=900,
        rows_written=900,
        property_filter=None,
        rows_deleted=0,
    )


def _row(property_id: str, status: str, rows: int = 0, error: str | None = None) -> dict:
    return {
        "property_id": property_id,
        "property_ref": int(property_id),
        "status": status,
        "rows_fetched": rows,
        "rows_inserted": rows,
        "rows_updated": 0,
        "rows_unchanged": 0,
        "rows_deleted": 0,
        "history_days_left": 0,
        "tokens_consumed": 1,
        "duration_ms": 5,
        "error": error,
        "finished_at": None if status == "pending" else START + timedelta(seconds=2),
    }


def test_counts_cover_only_the_given_properties_and_a_running_job_has_no_message():
    job = _job("running", None, total=5)
    seen = seen_by_user(job, [_row("11", "success", rows=7), _row("12", "pending")])
    assert (seen.properties_total, seen.properties_done, seen.properties_failed) == (2, 1, 0)
    assert (seen.rows_fetched, seen.rows_written) == (7, 7)
    assert seen.message is None and seen.status == "running"


def test_the_message_is_the_users_summary_not_the_stored_one():
    job = _job("success", "Synced 4/5 properties ... Not synced: 99: failed (secret).", total=5)
    seen = seen_by_user(job, [_row("11", "success", rows=7), _row("12", "skipped")])
    assert seen.properties_failed == 0  # skipped is not a failure, as in the run's own count
    assert seen.message is not None and seen.message.startswith("Synced 1/2 properties in 2.0s")
    assert "99" not in seen.message and "secret" not in seen.message
    assert "12: skipped" in seen.message


def test_a_failed_run_without_the_users_properties_says_so_and_names_nothing():
    could_not_start = _job("failed", "the sync could not start: 99 exploded", total=0)
    assert seen_by_user(could_not_start, []).message == "The sync could not start."
    stopped = _job("failed", "the sync could not start: worker died", total=3)
    assert (
        seen_by_user(stopped, [_row("11", "pending")]).message
        == "The run failed before syncing any of your properties."
    )
    everyone_failed = _job("failed", "Synced 0/3 properties ... 99: failed (secret).", total=3)
    assert (
        seen_by_user(everyone_failed, []).message
        == "The run failed; none of your properties were in it."
    )


def test_a_finished_run_is_partial_where_any_property_seen_failed_and_failed_where_all_did():
    job = _job("success", "Synced 2/3 properties (1 failed) ... 99: failed (secret).", total=3)
    mine_ok = seen_by_user(job, [_row("11", "success", rows=7), _row("12", "skipped")])
    assert (mine_ok.status, outcome_of(mine_ok)) == ("success", "complete")
    one_failed = seen_by_user(job, [_row("11", "success"), _row("12", "failed", error="x")])
    assert (one_failed.status, outcome_of(one_failed)) == ("success", "partial")
    assert one_failed.message is not None
    assert one_failed.message.startswith("Synced 1/2 properties (1 failed) in 2.0s")
    assert "12: failed (x)" in one_failed.message
    all_failed = seen_by_user(job, [_row("12", "needs_reauth"), _row("13", "failed")])
    assert (all_failed.status, outcome_of(all_failed)) == ("failed", "failed")
    assert all_failed.properties_failed == 2
    # The whole run as stored (an admin's view) says the same of every property.
    assert outcome_of(job) == "partial"
    assert outcome_of(_job("failed", "Synced 0/3 properties", total=3)) == "failed"
    running = seen_by_user(_job("running", None, total=3), [_row("12", "failed")])
    assert (running.status, outcome_of(running)) == ("running", None)
