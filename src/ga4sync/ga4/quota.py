"""GA4 quota: which quota a 429 names, how long until it returns, and backoff delays."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ga4sync.errors import QuotaExhausted

# Google resets daily quotas at midnight Pacific Time.
_QUOTA_DAY_ZONE = ZoneInfo("America/Los_Angeles")

CONCURRENT = "concurrent"
HOURLY = "hourly"
PROJECT_HOURLY = "project_hourly"
DAILY = "daily"


def classify_exhausted(message: str) -> str:
    """Which quota a RESOURCE_EXHAUSTED message is about."""
    text = message.lower()
    if "concurrent" in text:
        return CONCURRENT
    if "per day" in text or "daily" in text:
        return DAILY
    if "project" in text:
        return PROJECT_HOURLY
    return HOURLY


def seconds_until_quota_returns(quota: str, now: datetime) -> float:
    """How long a quota takes to come back: the next hour, or Pacific midnight."""
    if quota == DAILY:
        local = now.astimezone(_QUOTA_DAY_ZONE)
        midnight = datetime.combine(
            local.date() + timedelta(days=1), datetime.min.time(), _QUOTA_DAY_ZONE
        )
        return max(60.0, (midnight - now).total_seconds())
    # Hourly token buckets refill continuously; an hour is the worst case.
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return max(60.0, (next_hour - now).total_seconds())


def quota_exhausted(message: str, now: datetime) -> QuotaExhausted:
    quota = classify_exhausted(message)
    return QuotaExhausted(
        f"GA4 {quota} quota exhausted: {message}",
        quota=quota,
        retry_after_s=seconds_until_quota_returns(quota, now),
    )


def backoff_s(attempt: int, base_s: float, *, cap_s: float = 60.0) -> float:
    """Full-jitter exponential backoff for retry ``attempt`` (0-based)."""
    return random.uniform(0, min(cap_s, base_s * (2**attempt)))


# Quotas that, once at zero, fail every further request of the property.
_BLOCKING_QUOTAS = {
    "tokensPerHour": HOURLY,
    "tokensPerDay": DAILY,
    "tokensPerProjectPerHour": PROJECT_HOURLY,
}


def spent_quota(remaining: dict[str, int]) -> str | None:
    """The first blocking quota with nothing left, by ``propertyQuota`` name -> remaining."""
    for name, quota in _BLOCKING_QUOTAS.items():
        if name in remaining and remaining[name] <= 0:
            return quota
    return None
