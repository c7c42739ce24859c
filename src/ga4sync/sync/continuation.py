"""What a property's sync leaves for later, and picking it up.

A sync run by a job or by the frequency scheduler reads the recent days and
leaves history to the background. After it, and after every step of that
background work, ``Continuation.after`` queues what comes next:

* history left to read: the next backfill step at once, as its own task, so a
  long backfill never holds the property for long (each step reads for at most
  ``BACKFILL_STEP_S``, then hands over; a daily or manual sync queued meanwhile
  goes first);
* history paused at the quota reserve: the next step when the quota returns;
* a sync deferred by an exhausted quota: a resumed sync of the recent days when
  the quota returns.

Steps are planned from coverage each time, so a step cut short by a crash, a
deploy or a quota never reads a finished chunk again.

A step that fails (GA4 kept failing past its retries, the task gave up, or its
worker was lost too often) queues nothing itself: it is recorded on the
property with the time the next one is due, after a backoff that grows with
the failures in a row (``HISTORY_BACKOFF_S``), and the minutely recovery
(``Upkeep.resume_failed_history``) queues it then. A successful step clears
the record. A failure that needs a person (re-auth, lost access, a request GA4
refuses for good, an unknown time zone) is recorded without a retry: it says
why, and the property's next successful sync starts the history again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg

from ga4sync.clock import Clock, utcnow
from ga4sync.store.properties import (
    get_property_to_sync,
    record_history_failure,
    reset_history_failures,
)
from ga4sync.sync.fair_order import tenant_ranks
from ga4sync.sync.ingest import Ingestion, sync_property
from ga4sync.sync.summary import PropertyResult

logger = logging.getLogger(__name__)

# One background step reads history for this long, then queues the next one.
BACKFILL_STEP_S = 10.0
# After the n-th failed step in a row the history waits the n-th of these (the
# last one for every failure after): 1 min, 5 min, 30 min, 2 h, then every 4 h.
HISTORY_BACKOFF_S = (60.0, 300.0, 1800.0, 7200.0, 14400.0)


class ContinuationQueue(Protocol):
    async def enqueue_continuation(
        self, property_ref: int, *, recent: bool, at: datetime | None = None, rank: int = 0
    ) -> None: ...


class Continuation:
    def __init__(
        self, pool: asyncpg.Pool, queue: ContinuationQueue, *, now: Clock = utcnow
    ) -> None:
        self._pool = pool
        self._queue = queue
        self._now = now

    async def after(self, result: PropertyResult, *, history: bool = True) -> None:
        """Queue what ``result`` left to do for its property (its history too unless
        ``history`` is False: a job queues its properties' history once it is done)."""
        await self.after_all([result], history=history)

    async def after_all(self, results: Sequence[PropertyResult], *, history: bool = True) -> None:
        """``after`` for each of ``results``, their ranks in the fair order read at once."""
        steps = [(r, step) for r in results if (step := self._next_step(r, history)) is not None]
        if not steps:
            return
        ranks = await tenant_ranks(self._pool, [result.property_ref for result, _ in steps])
        for (result, (recent, at)), rank in zip(steps, ranks, strict=True):
            await self._queue.enqueue_continuation(
                result.property_ref, recent=recent, at=at, rank=rank
            )
            if recent:
                assert at is not None
                logger.info(
                    "property %s resumes at %s",
                    result.property_id,
                    at.isoformat(),
                    extra={"action": "resume_scheduled"},
                )

    def _next_step(
        self, result: PropertyResult, history: bool
    ) -> tuple[bool, datetime | None] | None:
        """What comes after ``result``, as (recent, when): a resumed sync of the
        recent days when the quota returns, the next history step (now, or when the
        quota reserve returns), or nothing."""
        if result.status == "quota_deferred" and result.retry_after_s is not None:
            return True, self._now() + timedelta(seconds=result.retry_after_s)
        if not history or result.status != "success" or not result.history_days_left:
            return None
        if result.history_paused is not None:
            return False, self._now() + timedelta(seconds=result.history_paused.retry_after_s)
        return False, None

    async def run(self, ingestion: Ingestion, property_ref: int, *, recent: bool) -> None:
        """One step: the recent days (a sync deferred by its quota, resumed) or the
        next stretch of history; then queue what is left."""
        prop = await get_property_to_sync(self._pool, property_ref)
        if prop is None:
            return  # disabled or removed meanwhile
        if recent:
            result = await sync_property(ingestion, prop, history_chunks=0)
        else:
            result = await sync_property(
                ingestion, prop, recent=False, history_budget_s=BACKFILL_STEP_S
            )
        await self._record(result, recent=recent)
        await self.after(result)

    async def _record(self, result: PropertyResult, *, recent: bool) -> None:
        """Keep the step's outcome on the property: a history step that succeeded
        ends a run of failures; a failed step (a history step, or the resume its
        history follows) adds one. A quota stop is no failure: it is queued."""
        if result.status == "success":
            if not recent:
                await reset_history_failures(self._pool, result.property_ref)
        elif result.status != "quota_deferred":
            await self.failed(
                result.property_ref,
                result.error or result.status,
                permanent=result.permanent,
                property_id=result.property_id,
            )

    async def failed(
        self,
        property_ref: int,
        error: str,
        *,
        permanent: bool = False,
        property_id: str | None = None,
    ) -> None:
        """A background step of the property's history ended without reading on
        (failed, gave up, or lost): record it, and when the next one is due unless
        ``permanent`` (the recovery queues it then)."""
        failures, retry_at = await record_history_failure(
            self._pool,
            property_ref,
            error,
            retry=not permanent,
            now=self._now(),
            backoff_s=HISTORY_BACKOFF_S,
        )
        logger.warning(
            "property %s: history step failed (%d in a row), %s: %s",
            property_id or property_ref,
            failures,
            f"retrying at {retry_at.isoformat()}" if retry_at else "not retried",
            error,
            extra={"action": "history_failed"},
        )
