"""GA4 quota: what a 429 is about, how long until a quota returns, and backoff delays.

A 429 ``RESOURCE_EXHAUSTED`` is judged by what Google said: the message when it
names a quota; else the last ``propertyQuota`` seen for the property, when a
quota that blocks every request was at zero in a window still running; else
nothing says a quota is spent (Google's generic "Resource has been exhausted
(e.g. check quota)."), and the refusal is treated as passing.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ga4sync.errors import QuotaExhausted

# Google resets daily quotas at midnight Pacific Time.
_QUOTA_DAY_ZONE = ZoneInfo("America/Los_Angeles")

CONCURRENT = "concurrent"
HOURLY = "hourly"
PROJECT_HOURLY = "project_hourly"
DAILY = "daily"
THRESHOLDED = "thresholded"
SERVER_ERRORS = "server_errors"
# A refusal that named no quota, given up on after the retries.
UNNAMED = "unnamed"

# propertyQuota name -> quota, for the quotas that, once at zero, refuse every
# further request of the property until they return; the longest wait first.
BLOCKING_QUOTAS = {
    "tokensPerDay": DAILY,
    "tokensPerHour": HOURLY,
    "tokensPerProjectPerHour": PROJECT_HOURLY,
    "serverErrorsPerProjectPerHour": SERVER_ERRORS,
    "potentiallyThresholdedRequestsPerHour": THRESHOLDED,
}


def classify_exhausted(message: str) -> str | None:
    """The quota a RESOURCE_EXHAUSTED message names, or None when it names none.

    GA4 says "Exhausted concurrent requests quota.", "Exhausted property tokens per
    day / per hour / for a project per hour.", "Exhausted potentially thresholded
    requests quota." and, for server errors, names them; its generic "Resource has
    been exhausted (e.g. check quota)." says nothing about which.
    """
    text = message.lower()
    if "concurrent" in text:
        return CONCURRENT
    if "thresholded" in text:
        return THRESHOLDED
    if "server error" in text:
        return SERVER_ERRORS
    if "token" in text:
        if "per day" in text or "daily" in text:
            return DAILY
        if "project" in text:
            return PROJECT_HOURLY
        if "per hour" in text or "hourly" in text:
            return HOURLY
    return None


def _window_start(quota: str, now: datetime) -> datetime:
    """When the quota's current window began: Pacific midnight, or the hour."""
    if quota == DAILY:
        local = now.astimezone(_QUOTA_DAY_ZONE)
        return datetime.combine(local.date(), datetime.min.time(), _QUOTA_DAY_ZONE)
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def seconds_until_quota_returns(quota: str, now: datetime) -> float:
    """How long a quota takes to come back: the next hour, or Pacific midnight."""
    if quota == DAILY:
        local = now.astimezone(_QUOTA_DAY_ZONE)
        midnight = datetime.combine(
            local.date() + timedelta(days=1), datetime.min.time(), _QUOTA_DAY_ZONE
        )
        return max(60.0, (midnight - now).total_seconds())
    # Hourly quotas return within the hour: wait for the next one.
    next_hour = _window_start(quota, now) + timedelta(hours=1)
    return max(60.0, (next_hour - now).total_seconds())


def quota_exhausted(quota: str, message: str, now: datetime) -> QuotaExhausted:
    """``QuotaExhausted`` for ``quota``, retryable once it returns."""
    return QuotaExhausted(
        f"GA4 {quota} quota exhausted: {message}",
        quota=quota,
        retry_after_s=seconds_until_quota_returns(quota, now),
    )


def spent_quota(remaining: Mapping[str, int]) -> str | None:
    """The blocking quota with nothing left (the longest to return), by
    ``propertyQuota`` name -> remaining."""
    for name, quota in BLOCKING_QUOTAS.items():
        if name in remaining and remaining[name] <= 0:
            return quota
    return None


@dataclass(frozen=True)
class QuotaSnapshot:
    """A property's ``propertyQuota`` (name -> remaining) and when GA4 sent it."""

    seen_at: datetime
    remaining: Mapping[str, int]

    def spent_at(self, now: datetime) -> tuple[str, str] | None:
        """``(quota, propertyQuota name)`` of a blocking quota this snapshot showed at
        zero in a window still running at ``now`` (a zero from an earlier hour or
        day says nothing about this one); the longest to return first."""
        for name, quota in BLOCKING_QUOTAS.items():
            if self.remaining.get(name, 1) <= 0 and self.seen_at >= _window_start(quota, now):
                return quota, name
        return None


# Token buckets of a standard and of an Analytics 360 property. GA4 reports what
# is left, not the bucket's size: a figure above the standard size means 360.
TOKEN_BUCKETS = {
    "tokensPerDay": (DAILY, 200_000, 2_000_000),
    "tokensPerHour": (HOURLY, 40_000, 400_000),
    "tokensPerProjectPerHour": (PROJECT_HOURLY, 14_000, 140_000),
}


@dataclass(frozen=True)
class ReserveReached:
    """History must wait: reading on would eat into what daily and manual syncs need."""

    quota: str
    name: str
    remaining: int
    reserve: int
    retry_after_s: float


def reserve_reached(
    snapshot: QuotaSnapshot | None, *, expected_cost: int, reserve: float, now: datetime
) -> ReserveReached | None:
    """Whether a history read expected to cost ``expected_cost`` tokens would leave less
    than ``reserve`` (a share of each token bucket) of the property's last known
    ``propertyQuota``; a figure from a window that has ended since says nothing."""
    if snapshot is None or reserve <= 0:
        return None
    for name, (quota, standard, premium) in TOKEN_BUCKETS.items():
        remaining = snapshot.remaining.get(name)
        if remaining is None or snapshot.seen_at < _window_start(quota, now):
            continue
        size = standard if remaining <= standard else premium
        keep = int(reserve * size)
        if remaining - expected_cost < keep:
            return ReserveReached(
                quota, name, remaining, keep, seconds_until_quota_returns(quota, now)
            )
    return None


def judge_exhausted(
    message: str, snapshot: QuotaSnapshot | None, now: datetime
) -> QuotaExhausted | None:
    """What a 429 RESOURCE_EXHAUSTED with ``message`` means for the property:
    ``QuotaExhausted`` for a quota that is spent (named by the message, or shown at
    zero by ``snapshot``, its last ``propertyQuota``), None for a passing refusal to
    retry with backoff (concurrent requests, or a message naming no quota when no
    figure shows one spent)."""
    named = classify_exhausted(message)
    if named == CONCURRENT:
        return None
    if named is not None:
        return quota_exhausted(named, message, now)
    spent = snapshot.spent_at(now) if snapshot is not None else None
    if spent is None:
        return None
    quota, name = spent
    return quota_exhausted(quota, f"{message} ({name} was at 0 in the last answer)", now)


def backoff_s(attempt: int, base_s: float, *, cap_s: float = 60.0) -> float:
    """Full-jitter exponential backoff for retry ``attempt`` (0-based)."""
    return random.uniform(0, min(cap_s, base_s * (2**attempt)))
