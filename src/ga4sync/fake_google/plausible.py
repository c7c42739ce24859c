"""Values that look like a real GA4 property's, for properties added ``plausible``
(the demo's, which is what people screenshot).

The default fake draws every metric on its own and names dimension values by a
pattern past a few real ones (``device-31``, ``src-12``), which tests rely on. A
plausible property instead has GA4's own device categories, platforms and
mediums, real-looking countries, sources and pages, and metrics that hang
together: in every row, users are fewer than sessions, new users fewer than
users, engaged sessions fewer than sessions, views and events more than sessions,
and the rates and averages follow from them. Each derived metric shares its row's
draw with ``sessions`` (the same table position) and is computed from that
sessions value and a deterministic fraction, so a row's metrics agree whatever
report they are asked in.
"""

from __future__ import annotations

import math
from functools import lru_cache

from .catalog import MASK64, dimension_values, hash64, mix64

BASE_METRIC = "sessions"

# Dimensions with a fixed set of values in GA4 (or nearly): all of them, whatever
# the cardinality.
_FIXED: dict[str, tuple[str, ...]] = {
    "deviceCategory": ("desktop", "mobile", "tablet"),
    "platform": ("web", "iOS", "Android"),
    "platformDeviceCategory": ("web / desktop", "web / mobile", "web / tablet"),
    "newVsReturning": ("new", "returning"),
    "operatingSystem": ("Windows", "iOS", "Android", "Macintosh", "Linux", "Chrome OS"),
    "sessionMedium": (
        "organic",
        "(none)",
        "referral",
        "cpc",
        "email",
        "social",
        "display",
        "affiliate",
    ),
}

# Real-looking values, in roughly the order a site sees them; a cardinality past
# the list takes the default fake's values after it.
_LEADING: dict[str, tuple[str, ...]] = {
    "browser": (
        "Chrome",
        "Safari",
        "Edge",
        "Firefox",
        "Samsung Internet",
        "Safari (in-app)",
        "Android Webview",
        "Opera",
    ),
    "sessionSource": (
        "google",
        "(direct)",
        "bing",
        "facebook.com",
        "newsletter",
        "t.co",
        "duckduckgo",
        "linkedin.com",
        "youtube.com",
        "instagram.com",
        "reddit.com",
        "yahoo",
        "chatgpt.com",
        "github.com",
        "news.ycombinator.com",
        "baidu",
        "yandex",
        "ecosia.org",
        "pinterest.com",
        "m.facebook.com",
        "l.instagram.com",
        "lnkd.in",
        "medium.com",
        "stackoverflow.com",
        "quora.com",
        "wikipedia.org",
        "producthunt.com",
        "substack.com",
        "tiktok.com",
        "mail.google.com",
        "outlook.live.com",
        "search.brave.com",
        "perplexity.ai",
        "naver",
        "flipboard.com",
        "feedly.com",
        "slack.com",
        "teams.microsoft.com",
        "discord.com",
        "dev.to",
    ),
    "country": (
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
        "Netherlands",
        "Italy",
        "Mexico",
        "Poland",
        "Sweden",
        "Indonesia",
        "Turkey",
        "South Korea",
        "Philippines",
        "Switzerland",
        "Vietnam",
        "Nigeria",
        "Pakistan",
        "Argentina",
        "Belgium",
        "Singapore",
        "Ireland",
        "Israel",
        "Austria",
        "Denmark",
        "Norway",
        "Portugal",
        "Colombia",
        "South Africa",
        "Egypt",
        "Thailand",
        "Malaysia",
        "New Zealand",
        "Finland",
        "Czechia",
    ),
    "city": (
        "New York",
        "London",
        "Bengaluru",
        "Los Angeles",
        "Berlin",
        "Toronto",
        "Paris",
        "São Paulo",
        "Tokyo",
        "Sydney",
        "Madrid",
        "Chicago",
        "San Francisco",
        "Mumbai",
        "Amsterdam",
        "Seattle",
        "Melbourne",
        "Munich",
        "Singapore",
        "Dublin",
        "Stockholm",
        "Austin",
        "Vancouver",
        "Warsaw",
        "Zurich",
        "Boston",
        "Delhi",
        "Hamburg",
        "Barcelona",
        "Milan",
        "Seoul",
        "Jakarta",
        "Mexico City",
        "Lagos",
        "Istanbul",
        "Manila",
        "Tel Aviv",
        "Vienna",
        "Copenhagen",
        "Oslo",
    ),
    "pagePath": (
        "/",
        "/pricing",
        "/blog",
        "/docs",
        "/about",
        "/contact",
        "/signup",
        "/login",
        "/features",
        "/blog/getting-started",
        "/docs/quickstart",
        "/docs/api",
        "/blog/release-notes",
        "/careers",
        "/customers",
        "/integrations",
        "/security",
        "/privacy",
        "/terms",
        "/changelog",
        "/blog/how-we-sync-ga4",
        "/docs/install",
        "/docs/configuration",
        "/docs/faq",
        "/blog/postgres-tips",
        "/products",
        "/products/starter",
        "/products/team",
        "/cart",
        "/checkout",
        "/account",
        "/search",
        "/support",
        "/status",
        "/partners",
        "/press",
        "/events",
        "/webinars",
        "/blog/dashboards",
        "/docs/troubleshooting",
    ),
}
_LEADING["pageTitle"] = tuple(
    "Home" if path == "/" else path.rsplit("/", 1)[1].replace("-", " ").capitalize()
    for path in _LEADING["pagePath"]
)


def plausible_values(dimension: str, cardinality: int) -> tuple[str, ...]:
    """The values of a non-time standard dimension of a plausible property."""
    if dimension in _FIXED:
        return _FIXED[dimension]
    leading = _LEADING.get(dimension)
    if leading is None:
        return tuple(dimension_values(dimension, cardinality))
    values = list(leading[:cardinality])
    for value in dimension_values(dimension, cardinality + len(values)):
        if len(values) >= cardinality:
            break
        if value not in values:
            values.append(value)
    return tuple(values)


def _fractions(seed: int, index: int, count: int) -> list[float]:
    """``count`` deterministic fractions in [0, 1) for table position ``index``."""
    salt = hash64(str(seed), "plausible")
    return [
        mix64((salt ^ (index * 0x9E3779B97F4A7C15) ^ n) & MASK64) / 2.0**64 for n in range(count)
    ]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _row(sessions: int, u: list[float]) -> dict[str, str]:
    """One table position's derived metrics, from its sessions."""
    users = max(1, round(sessions * (0.58 + 0.30 * u[0]))) if sessions else 0
    total = min(sessions, users + round(users * 0.08 * u[1]))
    # A week's users are the fake's union of its days' users (see .aggregate), which
    # grows by at most USER_STEP a day: more new users a day would outnumber them.
    from .aggregate import USER_STEP

    new = min(round(users * (0.25 + 0.45 * u[2])), USER_STEP)
    engaged = round(sessions * (0.45 + 0.35 * u[3]))
    views = round(sessions * (1.3 + 2.7 * u[4]))
    events = views + round(sessions * (2.0 + 3.0 * u[5]))
    seconds = 35.0 + 260.0 * u[6]
    key_events = math.floor(sessions * 0.06 * u[7])
    rate = engaged / sessions if sessions else 0.0
    return {
        "activeUsers": str(users),
        "totalUsers": str(total),
        "newUsers": str(new),
        "engagedSessions": str(engaged),
        "screenPageViews": str(views),
        "eventCount": str(events),
        "keyEvents": str(key_events),
        "conversions": str(key_events),
        "engagementRate": _number(rate),
        "bounceRate": _number(1.0 - rate if sessions else 0.0),
        "averageSessionDuration": _number(round(seconds, 6)),
        "userEngagementDuration": str(round(engaged * seconds)),
        "sessionsPerUser": _number(sessions / users if users else 0.0),
        "screenPageViewsPerSession": _number(views / sessions if sessions else 0.0),
    }


DERIVED_METRICS = frozenset(
    {
        "activeUsers",
        "totalUsers",
        "newUsers",
        "engagedSessions",
        "screenPageViews",
        "eventCount",
        "keyEvents",
        "conversions",
        "engagementRate",
        "bounceRate",
        "averageSessionDuration",
        "userEngagementDuration",
        "sessionsPerUser",
        "screenPageViewsPerSession",
    }
)


def position_metric(metric: str, plausible: bool) -> str:
    """The metric whose table position a row's ``metric`` is drawn at."""
    return BASE_METRIC if plausible and metric in DERIVED_METRICS else metric


@lru_cache(maxsize=8)
def _rows(seed: int, sessions: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    return tuple(
        _row(int(value), _fractions(seed, index, 8)) for index, value in enumerate(sessions)
    )


def derived_table(seed: int, metric: str, sessions: tuple[str, ...]) -> tuple[str, ...]:
    """The values of a derived ``metric`` at each position of the ``sessions`` table."""
    return tuple(row[metric] for row in _rows(seed, sessions))
