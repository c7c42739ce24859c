"""The dimensions and metrics GA4's Realtime method (``runRealtimeReport``) accepts.

The Realtime method has a field list of its own, much shorter than the core
reports' (Google's "Realtime Dimensions & Metrics" page,
https://developers.google.com/analytics/devguides/reporting/data/v1/realtime-api-schema):
no ``date``, no sessions, no page paths, and a dimension of its own,
``minutesAgo`` ("00" is the current minute, "01" the one before). Of the custom
definitions only user-scoped dimensions (``customUser:<property>``) are
accepted; event-scoped custom dimensions and custom metrics are not.
``conversions`` is the name ``keyEvents`` had until 2024.

Metric types are those of the same metrics in core reports, so a realtime
column has the type of the core column of the same metric.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

SCHEMA_URL = (
    "https://developers.google.com/analytics/devguides/reporting/data/v1/realtime-api-schema"
)

# apiName -> UI name
REALTIME_DIMENSIONS: Mapping[str, str] = MappingProxyType(
    {
        "appVersion": "App version",
        "audienceId": "Audience ID",
        "audienceName": "Audience name",
        "audienceResourceName": "Audience resource name",
        "city": "City",
        "cityId": "City ID",
        "country": "Country",
        "countryId": "Country ID",
        "deviceCategory": "Device category",
        "eventName": "Event name",
        "minutesAgo": "Realtime minutes ago",
        "platform": "Platform",
        "streamId": "Stream ID",
        "streamName": "Stream name",
        "unifiedScreenName": "Page title and screen name",
    }
)

# apiName -> MetricType name
REALTIME_METRICS: Mapping[str, str] = MappingProxyType(
    {
        "activeUsers": "TYPE_INTEGER",
        "conversions": "TYPE_FLOAT",
        "eventCount": "TYPE_INTEGER",
        "keyEvents": "TYPE_FLOAT",
        "screenPageViews": "TYPE_INTEGER",
    }
)

# The minutes a realtime report can reach back: GA4 keeps 30 minutes of a
# standard property's events for it and 60 of an Analytics 360 property's.
STANDARD_MAX_MINUTES_AGO = 29
ANALYTICS_360_MAX_MINUTES_AGO = 59
MAX_MINUTE_RANGES = 2
# What GA4 assumes of a minute range that leaves a bound out.
DEFAULT_START_MINUTES_AGO = 29
DEFAULT_END_MINUTES_AGO = 0

_CUSTOM_USER = re.compile(r"^customUser:[A-Za-z][A-Za-z0-9_]*$")


def is_realtime_custom_dimension(name: str) -> bool:
    """``customUser:<property>``: the only custom fields the Realtime method accepts."""
    return _CUSTOM_USER.match(name) is not None


def is_realtime_dimension(name: str) -> bool:
    return name in REALTIME_DIMENSIONS or is_realtime_custom_dimension(name)


def is_realtime_metric(name: str) -> bool:
    return name in REALTIME_METRICS


def max_minutes_ago(service_level: str | None) -> int:
    """How far back a property's realtime report reaches (unknown: standard)."""
    if service_level == "GOOGLE_ANALYTICS_360":
        return ANALYTICS_360_MAX_MINUTES_AGO
    return STANDARD_MAX_MINUTES_AGO


__all__ = [
    "ANALYTICS_360_MAX_MINUTES_AGO",
    "DEFAULT_END_MINUTES_AGO",
    "DEFAULT_START_MINUTES_AGO",
    "MAX_MINUTE_RANGES",
    "REALTIME_DIMENSIONS",
    "REALTIME_METRICS",
    "SCHEMA_URL",
    "STANDARD_MAX_MINUTES_AGO",
    "is_realtime_custom_dimension",
    "is_realtime_dimension",
    "is_realtime_metric",
    "max_minutes_ago",
]
