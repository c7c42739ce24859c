"""GA4's standard fields (provisional: the metric types the built-in reports use)."""

from __future__ import annotations

from collections.abc import Mapping

STANDARD_METRICS: Mapping[str, str] = {
    "activeUsers": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "newUsers": "TYPE_INTEGER",
    "sessions": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "screenPageViews": "TYPE_INTEGER",
    "eventCount": "TYPE_INTEGER",
    "averageSessionDuration": "TYPE_SECONDS",
    "bounceRate": "TYPE_FLOAT",
    "keyEvents": "TYPE_FLOAT",
    "userEngagementDuration": "TYPE_SECONDS",
}

STANDARD_DIMENSIONS: frozenset[str] = frozenset(
    {
        "date",
        "isoYearIsoWeek",
        "yearMonth",
        "pagePath",
        "sessionSource",
        "sessionMedium",
        "eventName",
        "country",
        "deviceCategory",
    }
)


def is_custom_dimension(name: str) -> bool:
    scope, _, rest = name.partition(":")
    return scope in ("customEvent", "customUser", "customItem") and bool(rest)


def is_custom_metric(name: str) -> bool:
    scope, _, rest = name.partition(":")
    return scope == "customEvent" and bool(rest)
