"""Dimensions and metrics the fake GA4 property knows, and their deterministic values."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

MASK64 = (1 << 64) - 1

# Realistic leading values per dimension; further values are generated from the pattern.
_DIMENSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "sessionSource": (
        (
            "google",
            "(direct)",
            "facebook.com",
            "bing",
            "newsletter",
            "t.co",
            "duckduckgo",
            "linkedin.com",
            "youtube.com",
            "instagram.com",
        ),
        "src-{}",
    ),
    "sessionMedium": (
        ("organic", "(none)", "referral", "cpc", "email", "social", "display", "affiliate"),
        "medium-{}",
    ),
    "sessionSourceMedium": (
        (
            "google / organic",
            "(direct) / (none)",
            "facebook.com / referral",
            "google / cpc",
            "newsletter / email",
            "t.co / social",
            "bing / organic",
            "linkedin.com / referral",
        ),
        "src-{0} / medium-{0}",
    ),
    "sessionDefaultChannelGroup": (
        (
            "Organic Search",
            "Direct",
            "Referral",
            "Paid Search",
            "Email",
            "Organic Social",
            "Display",
            "Affiliates",
            "Paid Social",
            "Unassigned",
            "Organic Video",
            "Cross-network",
        ),
        "Channel {}",
    ),
    "sessionCampaignName": (("(organic)", "(direct)", "(referral)", "spring_sale"), "campaign_{}"),
    "firstUserSource": (("google", "(direct)", "facebook.com", "bing"), "src-{}"),
    "pagePath": ((), "/p/{}"),
    "pagePathPlusQueryString": ((), "/p/{}?ref=nav"),
    "pageTitle": ((), "Page {}"),
    "landingPage": ((), "/landing/{}"),
    "fullPageUrl": ((), "www.example.com/p/{}"),
    "country": (
        (
            "United States",
            "India",
            "United Kingdom",
            "Germany",
            "Canada",
            "France",
            "Brazil",
            "Japan",
            "Australia",
            "Spain",
            "(not set)",
        ),
        "Country {}",
    ),
    "region": (("California", "England", "Bavaria", "Ontario", "(not set)"), "Region {}"),
    "city": (
        (
            "New York",
            "London",
            "Bengaluru",
            "Berlin",
            "Toronto",
            "Paris",
            "São Paulo",
            "Tokyo",
            "Sydney",
            "Madrid",
            "(not set)",
        ),
        "City {}",
    ),
    "language": (("English", "Spanish", "German", "French", "Japanese"), "Language {}"),
    "deviceCategory": (("desktop", "mobile", "tablet", "smart tv"), "device-{}"),
    "browser": (("Chrome", "Safari", "Edge", "Firefox", "Samsung Internet"), "Browser {}"),
    "operatingSystem": (("Windows", "iOS", "Android", "Macintosh", "Linux"), "OS {}"),
    "platform": (("web", "iOS", "Android"), "platform-{}"),
    "newVsReturning": (("new", "returning", "(not set)"), "cohort-{}"),
    "eventName": (
        (
            "page_view",
            "session_start",
            "first_visit",
            "user_engagement",
            "scroll",
            "click",
            "view_search_results",
            "file_download",
            "form_start",
            "form_submit",
        ),
        "event_{}",
    ),
    "hostName": (
        ("www.example.com", "example.com", "shop.example.com", "blog.example.com"),
        "host{}.example.com",
    ),
}

DATE_DIMENSION = "date"
DIMENSIONS: frozenset[str] = frozenset(_DIMENSIONS) | {DATE_DIMENSION}


def dimension_values(name: str, cardinality: int) -> list[str]:
    """The first ``cardinality`` distinct values of a non-date dimension."""
    leading, pattern = _DIMENSIONS[name]
    values = list(leading[:cardinality])
    index = len(values)
    seen = set(values)
    while len(values) < cardinality:
        value = pattern.format(index)
        index += 1
        if value not in seen:
            seen.add(value)
            values.append(value)
    return values


def hash64(*parts: str) -> int:
    """A stable 64-bit hash of some strings."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def mix64(value: int) -> int:
    """Spread the bits of a 64-bit integer (splitmix64 finaliser)."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def _decimal(value: float) -> str:
    """A float as GA4 writes it: shortest round-trip form, integral values without ".0"."""
    return str(int(value)) if value.is_integer() else repr(value)


def _count(top: int) -> Callable[[int], str]:
    return lambda x: str(x % top)


def _ratio(offset: float) -> Callable[[int], str]:
    def make(x: int) -> str:
        whole = x % 200 + 1
        part = (x >> 16) % (whole + 1)
        return _decimal(offset + part / whole)

    return make


def _seconds(x: int) -> str:
    total = x % 30_000
    sessions = (x >> 20) % 200 + 1
    return _decimal(total / sessions)


def _currency(x: int) -> str:
    if x % 4:
        return "0"
    return _decimal((x >> 2) % 50_000 / 100)


@dataclass(frozen=True)
class Metric:
    """One metric: its wire type and how a value is drawn from a mixed 64-bit number."""

    name: str
    type: str
    make: Callable[[int], str]


METRIC_TYPE_NUMBERS = {"TYPE_INTEGER": 1, "TYPE_FLOAT": 2, "TYPE_SECONDS": 4, "TYPE_CURRENCY": 9}

METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("sessions", "TYPE_INTEGER", _count(500)),
        Metric("activeUsers", "TYPE_INTEGER", _count(400)),
        Metric("totalUsers", "TYPE_INTEGER", _count(450)),
        Metric("newUsers", "TYPE_INTEGER", _count(200)),
        Metric("screenPageViews", "TYPE_INTEGER", _count(2000)),
        Metric("eventCount", "TYPE_INTEGER", _count(6000)),
        Metric("engagedSessions", "TYPE_INTEGER", _count(300)),
        Metric("conversions", "TYPE_INTEGER", _count(20)),
        Metric("keyEvents", "TYPE_INTEGER", _count(20)),
        Metric("transactions", "TYPE_INTEGER", _count(15)),
        Metric("ecommercePurchases", "TYPE_INTEGER", _count(15)),
        Metric("engagementRate", "TYPE_FLOAT", _ratio(0.0)),
        Metric("bounceRate", "TYPE_FLOAT", _ratio(0.0)),
        Metric("sessionsPerUser", "TYPE_FLOAT", _ratio(1.0)),
        Metric("screenPageViewsPerSession", "TYPE_FLOAT", _ratio(1.0)),
        Metric("averageSessionDuration", "TYPE_SECONDS", _seconds),
        Metric("userEngagementDuration", "TYPE_SECONDS", _count(100_000)),
        Metric("totalRevenue", "TYPE_CURRENCY", _currency),
        Metric("purchaseRevenue", "TYPE_CURRENCY", _currency),
    )
}
