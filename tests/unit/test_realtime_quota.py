"""When realtime polls wait for GA4's realtime quota: a bucket below the reserve, a
quota that blocks every request at zero, a 429 that names a spent quota."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.realtime import judge_refusal, realtime_pause

SEEN = datetime(2026, 11, 21, 18, 20, tzinfo=UTC)  # 10:20 in Los Angeles
FULL = {
    "tokensPerDay": 199_000,
    "tokensPerHour": 39_000,
    "tokensPerProjectPerHour": 13_000,
    "concurrentRequests": 10,
    "serverErrorsPerProjectPerHour": 10,
    "potentiallyThresholdedRequestsPerHour": 120,
}


def test_plenty_left_polls_on():
    assert realtime_pause(FULL, SEEN, reserve=0.1) is None
    # no reserve: only an empty bucket waits
    assert realtime_pause({**FULL, "tokensPerHour": 1}, SEEN, reserve=0) is None


def test_an_hourly_bucket_below_the_reserve_waits_for_the_next_hour():
    pause = realtime_pause({**FULL, "tokensPerHour": 3_999}, SEEN, reserve=0.1)
    assert pause is not None
    assert pause.until == datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
    assert "tokensPerHour has 3999 left (keeping 4000)" in pause.reason


def test_the_day_s_tokens_wait_for_midnight_pacific_the_longest_wait_wins():
    pause = realtime_pause({**FULL, "tokensPerDay": 10, "tokensPerHour": 10}, SEEN, reserve=0.1)
    assert pause is not None
    midnight = datetime(2026, 11, 22, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert pause.until == midnight
    assert "tokensPerDay" in pause.reason


def test_an_analytics_360_bucket_is_judged_by_its_own_size():
    # 300,000 left of an hour is a 360 property's (400,000): well above its reserve
    assert realtime_pause({**FULL, "tokensPerHour": 300_000}, SEEN, reserve=0.1) is None
    assert realtime_pause({**FULL, "tokensPerHour": 39_000}, SEEN, reserve=0.1) is None


def test_a_blocking_quota_at_zero_waits():
    pause = realtime_pause({**FULL, "serverErrorsPerProjectPerHour": 0}, SEEN, reserve=0.1)
    assert pause is not None and "server_errors" in pause.reason
    # concurrent requests at zero pass with the request: nothing to wait for
    assert realtime_pause({**FULL, "concurrentRequests": 0}, SEEN, reserve=0.1) is None


def test_a_429_is_judged_by_its_message_then_by_the_realtime_figures():
    named = judge_refusal("Exhausted property tokens per hour. ...", None, SEEN)
    assert named is not None and named.quota == quota_policy.HOURLY
    assert judge_refusal("Exhausted concurrent requests quota.", None, SEEN) is None
    generic = "Resource has been exhausted (e.g. check quota)."
    assert judge_refusal(generic, None, SEEN) is None
    spent = quota_policy.QuotaSnapshot(seen_at=SEEN, remaining={**FULL, "tokensPerDay": 0})
    judged = judge_refusal(generic, spent, SEEN)
    assert judged is not None and judged.quota == quota_policy.DAILY
