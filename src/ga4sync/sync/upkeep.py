"""Upkeep of the schedule and the queue: due properties, lost work, old history.

Run by the worker's ticks; each step is idempotent and safe from several
workers at once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import asyncpg

from ga4sync.clock import Clock, utcnow
from ga4sync.settings import Settings
from ga4sync.store import jobs as job_store
from ga4sync.store.coverage import prune_read_keys
from ga4sync.store.properties import claim_due_properties, get_property_to_sync
from ga4sync.store.queue_state import history_due_for_retry, orphaned_job_properties
from ga4sync.store.retention import (
    prune_oauth_states,
    prune_pending_grants,
    prune_property_runs,
    prune_sync_jobs,
)
from ga4sync.sync.continuation import Continuation
from ga4sync.sync.fair_order import Lane, tenant_ranks
from ga4sync.sync.ingest import Ingestion, sync_property
from ga4sync.sync.jobs import JobQueue

logger = logging.getLogger(__name__)


class Upkeep:
    def __init__(
        self,
        pool: asyncpg.Pool,
        queue: JobQueue,
        settings: Settings,
        *,
        now: Clock = utcnow,
    ) -> None:
        self._pool = pool
        self._queue = queue
        self._settings = settings
        self._now = now
        self._continuation = Continuation(pool, queue, now=now)

    async def schedule_due_properties(self, now: datetime | None = None, limit: int = 500) -> int:
        """Queue a sync of every hourly / 6-hourly property due at ``now``."""
        due = await claim_due_properties(self._pool, now or self._now(), limit)
        for ref, rank in zip(due, await tenant_ranks(self._pool, due), strict=True):
            await self._queue.enqueue_due_property(ref, rank=rank)
        if due:
            logger.info("%d properties due", len(due), extra={"action": "properties_due"})
        return len(due)

    async def sync_due_property(self, ingestion: Ingestion, property_ref: int) -> None:
        """Sync one property on its own schedule (no job: its run is recorded)."""
        prop = await get_property_to_sync(self._pool, property_ref)
        if prop is not None:
            result = await sync_property(ingestion, prop, history_chunks=0)
            await self._continuation.after(result)

    async def continue_property(
        self, ingestion: Ingestion, property_ref: int, *, recent: bool
    ) -> None:
        """A step of what an earlier sync left: history, or a sync its quota deferred."""
        await self._continuation.run(ingestion, property_ref, recent=recent)

    async def requeue_waiting_jobs(self, older_than_s: float = 60.0) -> int:
        """Queue again pending jobs whose queue entry may have been lost (queueing is
        deduplicated, so a job that is still queued is not queued twice)."""
        waiting = await job_store.jobs_waiting_to_start(self._pool, older_than_s)
        for job_id in waiting:
            await self._queue.enqueue_run(job_id)
        return len(waiting)

    async def resume_failed_history(self, now: datetime | None = None, limit: int = 500) -> int:
        """Queue the next history step of every property whose last step failed or
        was lost, once its backoff has passed (see ``ga4sync.sync.continuation``).
        A property with a step queued or running is left to it, so this queues a
        property's step once however often it runs."""
        due = await history_due_for_retry(self._pool, now or self._now(), limit)
        for ref, rank in zip(due, await tenant_ranks(self._pool, due), strict=True):
            await self._queue.enqueue_continuation(ref, recent=False, rank=rank)
        if due:
            logger.info(
                "history of %d properties resumes after a failure",
                len(due),
                extra={"action": "history_resumed"},
            )
        return len(due)

    # -- reading ----------------------------------------------------------------

    async def requeue_orphaned_properties(self, running_for_s: float = 60.0) -> int:
        """Queue again the properties of running jobs whose task was lost."""
        orphans = await orphaned_job_properties(self._pool, running_for_s)
        by_job: dict[uuid.UUID, list[int]] = {}
        for job_id, ref in orphans:
            by_job.setdefault(job_id, []).append(ref)
        for job_id, refs in by_job.items():
            logger.warning(
                "sync %s: queueing %d lost properties again",
                job_id,
                len(refs),
                extra={"action": "requeue_orphans"},
            )
            # They lost their place in the queue a minute or more ago: to the front.
            await self._queue.enqueue_properties(job_id, refs, lane=Lane.INTERACTIVE)
        return len(orphans)

    async def prune_history(self, now: datetime | None = None) -> dict[str, int]:
        """Delete finished jobs and property runs older than RETENTION_DAYS (each
        property keeps its latest run), expired consent states and unclaimed grants."""
        at = now or self._now()
        cutoff = at - timedelta(days=self._settings.retention_days)
        pruned = {
            "sync_jobs": await prune_sync_jobs(self._pool, cutoff),
            "property_runs": await prune_property_runs(self._pool, cutoff),
            "oauth_states": await prune_oauth_states(self._pool, at),
            "pending_grants": await prune_pending_grants(self._pool, at),
            # keys of reads whose worker died mid-read
            "read_keys": await prune_read_keys(self._pool),
        }
        logger.info(
            "pruned history older than %s: %s", cutoff.date(), pruned, extra={"action": "prune"}
        )
        return pruned
