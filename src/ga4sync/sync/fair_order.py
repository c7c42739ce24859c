"""The order in which the queue takes work, fair between tenants.

Every unit of work (one property's sync, one step of its history) is queued
in a lane and with a rank. Lanes, first to last:

* ``interactive``: a user's Sync now, the first sync of the properties a user
  just connected, and a user's own properties of the daily run when they click
  Sync now during it;
* ``scheduled``: the daily run and the hourly / 6-hourly syncs;
* ``resume``: a sync its quota deferred, once the quota returns;
* ``history``: backfill steps.

Within a lane, a tenant's n-th unit of work ranks n, and lower ranks are
taken first, arrival order breaking ties: every tenant's first unit before
anyone's second. A user who clicks Sync now behind another user's 1,000
properties waits for the units running and at most one unit of each other
tenant, not for the 1,000. A tenant's own units keep their order. In a manual
run a unit's rank counts the user's units already waiting (a second run queues
behind the first); elsewhere it is the property's position among its tenant's
properties. A property's tenant is the first user, by id, with access to it.

Lanes are head starts, not walls, and waiting units age (docs/queue.md): no
unit waits without bound behind later ones, whoever keeps queueing.

What a lane and a rank mean to the queue (procrastinate's priorities) is
``ga4sync.queue``'s business; job-control tasks (fan-out, ticks, recovery)
come before every lane.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from ga4sync.store.fair_order import DailyShare, manual_waiting, property_ranks


class Lane(StrEnum):
    INTERACTIVE = "interactive"
    SCHEDULED = "scheduled"
    RESUME = "resume"
    HISTORY = "history"


async def manual_ranks(
    pool: asyncpg.Pool, user_id: uuid.UUID, job_id: uuid.UUID, count: int
) -> list[int]:
    """Ranks of a manual run's ``count`` units: after the user's waiting ones."""
    waiting = await manual_waiting(pool, user_id, job_id)
    return [waiting + n for n in range(count)]


async def tenant_ranks(pool: asyncpg.Pool, refs: Sequence[int]) -> list[int]:
    """Ranks of units of the properties ``refs``: each one's place in its tenant."""
    ranks = await property_ranks(pool, refs)
    return [ranks.get(ref, 0) for ref in refs]


def fresh_by(share: DailyShare, now: datetime) -> datetime | None:
    """When a user's properties of a running daily run, moved to the front, should
    all be synced: their count at the run's pace so far (properties a second, all
    workers together), and never sooner than one property takes. None before the
    run has a pace; ``now`` when nothing of theirs waits."""
    if not share.pending_refs:
        return now
    if share.run_done == 0 or share.started_at is None or share.mean_s is None:
        return None
    per_property_s = max((now - share.started_at).total_seconds(), 0.0) / share.run_done
    return now + timedelta(seconds=max(share.mean_s, len(share.pending_refs) * per_property_s))
