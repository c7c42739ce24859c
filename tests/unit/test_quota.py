"""Judging a GA4 429 by what Google said: the message, else the last propertyQuota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ga4sync.fake_google.errors import QUOTA_MESSAGES
from ga4sync.ga4 import quota
from ga4sync.ga4.quota import QuotaSnapshot, classify_exhausted, judge_exhausted

GENERIC = "Resource has been exhausted (e.g. check quota)."
NOW = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)  # 22:30 Pacific on the 20th


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Exhausted concurrent requests quota.", quota.CONCURRENT),
        ("Exhausted property tokens per hour.", quota.HOURLY),
        ("Exhausted property tokens per day.", quota.DAILY),
        ("Exhausted property tokens for a project per hour.", quota.PROJECT_HOURLY),
        ("Exhausted potentially thresholded requests quota.", quota.THRESHOLDED),
        ("Exhausted server errors per project per hour quota.", quota.SERVER_ERRORS),
        (GENERIC, None),
        ("Resource has been exhausted.", None),
        (
            "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of "
            "service 'analyticsdata.googleapis.com' for consumer 'project_number:1'.",
            None,
        ),
        ("", None),
    ],
)
def test_the_message_names_the_quota_or_none(message, expected):
    assert classify_exhausted(message) == expected


def test_every_429_the_fake_google_sends_is_read_as_the_quota_it_names():
    expected = {
        "generic": None,
        "concurrent": quota.CONCURRENT,
        "hourly": quota.HOURLY,
        "daily": quota.DAILY,
        "project_hourly": quota.PROJECT_HOURLY,
        "thresholded": quota.THRESHOLDED,
        "server_errors": quota.SERVER_ERRORS,
    }
    assert {kind: classify_exhausted(text) for kind, text in QUOTA_MESSAGES.items()} == expected


def snapshot(seen_at: datetime = NOW, **remaining: int) -> QuotaSnapshot:
    full = {name: 100 for name in quota.BLOCKING_QUOTAS} | {"concurrentRequests": 10}
    return QuotaSnapshot(seen_at=seen_at, remaining=full | remaining)


@pytest.mark.parametrize("last", [None, snapshot(), snapshot(concurrentRequests=0)])
def test_a_generic_429_with_nothing_spent_is_passing(last):
    assert judge_exhausted(GENERIC, last, NOW) is None


def test_a_concurrent_requests_429_is_passing_whatever_the_figures():
    assert judge_exhausted(QUOTA_MESSAGES["concurrent"], snapshot(tokensPerHour=0), NOW) is None


@pytest.mark.parametrize(
    ("name", "expected", "retry_after_s"),
    [
        ("tokensPerHour", quota.HOURLY, 1800),
        ("tokensPerProjectPerHour", quota.PROJECT_HOURLY, 1800),
        ("serverErrorsPerProjectPerHour", quota.SERVER_ERRORS, 1800),
        ("potentiallyThresholdedRequestsPerHour", quota.THRESHOLDED, 1800),
        ("tokensPerDay", quota.DAILY, 5400),  # midnight Pacific is 08:00 UTC
    ],
)
def test_a_generic_429_after_a_blocking_quota_read_zero_defers_until_it_returns(
    name, expected, retry_after_s
):
    last = snapshot(NOW - timedelta(minutes=10), **{name: 0})
    exhausted = judge_exhausted(GENERIC, last, NOW)
    assert exhausted is not None
    assert (exhausted.quota, exhausted.retry_after_s) == (expected, retry_after_s)
    assert name in str(exhausted) and GENERIC in str(exhausted)


def test_the_longest_wait_wins_when_several_quotas_read_zero():
    exhausted = judge_exhausted(GENERIC, snapshot(tokensPerHour=0, tokensPerDay=0), NOW)
    assert exhausted is not None and exhausted.quota == quota.DAILY


def test_a_zero_from_an_earlier_window_says_nothing_about_this_one():
    # 05:59 UTC: the previous hour; the hourly quotas started again at 06:00.
    earlier_hour = NOW.replace(minute=0) - timedelta(minutes=1)
    assert judge_exhausted(GENERIC, snapshot(earlier_hour, tokensPerHour=0), NOW) is None
    # The daily quota's day (Pacific) is the same: still spent.
    daily = judge_exhausted(GENERIC, snapshot(earlier_hour, tokensPerDay=0), NOW)
    assert daily is not None and daily.quota == quota.DAILY
    # 07:59 UTC on the 20th is the 19th in Pacific time: a day ago.
    yesterday = datetime(2026, 11, 20, 7, 59, tzinfo=UTC)
    assert judge_exhausted(GENERIC, snapshot(yesterday, tokensPerDay=0), NOW) is None
    # A hourly zero read in a later tick of the same hour still counts.
    same_hour = NOW.replace(minute=1)
    assert judge_exhausted(GENERIC, snapshot(same_hour, tokensPerHour=0), NOW) is not None


@pytest.mark.parametrize(
    ("kind", "expected", "retry_after_s"),
    [
        ("hourly", quota.HOURLY, 1800),
        ("project_hourly", quota.PROJECT_HOURLY, 1800),
        ("daily", quota.DAILY, 5400),
        ("thresholded", quota.THRESHOLDED, 1800),
        ("server_errors", quota.SERVER_ERRORS, 1800),
    ],
)
def test_a_named_quota_defers_whatever_the_figures_say(kind, expected, retry_after_s):
    for last in (None, snapshot()):
        exhausted = judge_exhausted(QUOTA_MESSAGES[kind], last, NOW)
        assert exhausted is not None
        assert (exhausted.quota, exhausted.retry_after_s) == (expected, retry_after_s)
        assert f"GA4 {expected} quota exhausted" in str(exhausted)


def test_quota_return_times_are_at_least_a_minute():
    just_before = datetime(2026, 11, 21, 6, 59, 50, tzinfo=UTC)
    assert quota.seconds_until_quota_returns(quota.HOURLY, just_before) == 60
    assert quota.seconds_until_quota_returns(quota.UNNAMED, NOW) == 1800
