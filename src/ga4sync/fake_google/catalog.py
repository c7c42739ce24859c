"""Dimensions and metrics the fake GA4 property knows, and their deterministic values.

Every standard field of :mod:`ga4sync.ga4.fields` is served. A non-time
dimension has ``cardinality`` values (realistic leading ones, then a pattern),
except those with a fixed set of values (``hour``, ``minute``, true/false
flags, age brackets and genders), which always have them all. Time dimensions
(``date``, ``isoYearIsoWeek``, ``yearMonth`` ...) are functions of the day (see
:mod:`.timegrid`). A metric's
value is drawn from a per-metric table of wire-format strings; how values of
several days (or of rolled-up dimension values) combine is the metric's
``kind``: ``sum`` (counts, amounts, durations), ``users`` (distinct users:
fewer than the sum when the same users come back) or ``mean`` (rates, ratios,
averages).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ga4sync.ga4 import fields

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

# Further standard dimensions with realistic leading values.
_MORE_DIMENSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "sessionCampaignId": (("(organic)", "(direct)", "(referral)"), "{}"),
    "sessionSourcePlatform": (("Manual", "Google Ads", "(not set)"), "platform-{}"),
    "sessionManualAdContent": (("(not set)", "banner_a", "banner_b"), "content_{}"),
    "sessionManualTerm": (("(not set)", "running shoes", "trail shoes"), "term {}"),
    "sessionPrimaryChannelGroup": (("Organic Search", "Direct", "Referral"), "Channel {}"),
    "firstUserMedium": (("organic", "(none)", "referral", "cpc", "email"), "medium-{}"),
    "firstUserSourceMedium": (
        ("google / organic", "(direct) / (none)", "facebook.com / referral"),
        "src-{0} / medium-{0}",
    ),
    "firstUserDefaultChannelGroup": (
        ("Organic Search", "Direct", "Referral", "Paid Search", "Email"),
        "Channel {}",
    ),
    "firstUserPrimaryChannelGroup": (("Organic Search", "Direct", "Referral"), "Channel {}"),
    "firstUserCampaignName": (
        ("(organic)", "(direct)", "(referral)", "spring_sale"),
        "campaign_{}",
    ),
    "firstUserCampaignId": (("(organic)", "(direct)", "(referral)"), "{}"),
    "firstUserSourcePlatform": (("Manual", "Google Ads", "(not set)"), "platform-{}"),
    "source": (("google", "(direct)", "facebook.com", "bing"), "src-{}"),
    "medium": (("organic", "(none)", "referral", "cpc"), "medium-{}"),
    "sourceMedium": (
        ("google / organic", "(direct) / (none)", "facebook.com / referral"),
        "src-{0} / medium-{0}",
    ),
    "defaultChannelGroup": (("Organic Search", "Direct", "Referral", "Paid Search"), "Channel {}"),
    "primaryChannelGroup": (("Organic Search", "Direct", "Referral"), "Channel {}"),
    "campaignName": (("(organic)", "(direct)", "(referral)", "spring_sale"), "campaign_{}"),
    "campaignId": (("(organic)", "(direct)", "(referral)"), "{}"),
    "landingPagePlusQueryString": ((), "/landing/{}?utm_source=news"),
    "pageLocation": ((), "https://www.example.com/p/{}"),
    "pageReferrer": (("https://www.google.com/", "(not set)"), "https://ref{}.example.org/"),
    "unifiedPagePathScreen": ((), "/p/{}"),
    "unifiedPageScreen": ((), "/p/{}?ref=nav"),
    "unifiedScreenClass": ((), "Page {}"),
    "unifiedScreenName": ((), "Page {}"),
    "contentGroup": (("(not set)", "blog", "docs", "shop"), "group-{}"),
    "continent": (("Americas", "Asia", "Europe", "Africa", "Oceania", "(not set)"), "Continent {}"),
    "continentId": (("019", "142", "150", "002", "009"), "9{:02d}"),
    "countryId": (("US", "IN", "GB", "DE", "CA", "FR", "BR", "JP", "AU", "ES"), "X{}"),
    "cityId": ((), "10{:05d}"),
    "languageCode": (("en-us", "es", "de", "fr", "ja"), "xx-{}"),
    "operatingSystemVersion": (("10", "17.4", "14", "14.4", "(not set)"), "{}.0"),
    "operatingSystemWithVersion": (
        ("Windows 10", "iOS 17.4", "Android 14", "Macintosh 14.4"),
        "OS {}",
    ),
    "platformDeviceCategory": (("web / desktop", "web / mobile", "iOS / mobile"), "platform-{}"),
    "screenResolution": (("1920x1080", "390x844", "1536x864", "414x896"), "{}x768"),
    "mobileDeviceBranding": (("Apple", "Samsung", "Google", "Xiaomi"), "Brand {}"),
    "mobileDeviceMarketingName": (("iPhone", "Galaxy S23", "Pixel 8"), "Device {}"),
    "mobileDeviceModel": (("iPhone", "SM-S911B", "Pixel 8"), "Model {}"),
    "deviceModel": (("iPhone", "SM-S911B", "Pixel 8"), "Model {}"),
    "appVersion": (("(not set)", "1.0.0", "1.1.0"), "1.{}.0"),
    "streamId": ((), "31{:07d}"),
    "streamName": (("Website", "iOS app", "Android app"), "Stream {}"),
    "itemName": (("T-Shirt", "Hoodie", "Mug", "Sticker Pack", "Water Bottle"), "Item {}"),
    "itemId": ((), "SKU_{:05d}"),
    "itemBrand": (("Acme", "Globex", "Initech", "(not set)"), "Brand {}"),
    "itemCategory": (("Apparel", "Drinkware", "Stationery", "Bags"), "Category {}"),
    "itemCategory2": (("Men", "Women", "Kids", "(not set)"), "Category2 {}"),
    "itemVariant": (("(not set)", "red", "blue", "green"), "variant-{}"),
    "itemListName": (("Related products", "Search results", "Home page"), "List {}"),
    "itemListId": (("related_products", "search_results", "home"), "list_{}"),
    "itemPromotionName": (("Summer sale", "Free shipping"), "Promotion {}"),
    "itemPromotionId": (("summer_sale", "free_shipping"), "promo_{}"),
    "itemListPosition": ((), "{}"),
    "transactionId": ((), "T{:06d}"),
    "orderCoupon": (("(not set)", "WELCOME10", "SUMMER"), "COUPON{}"),
    "shippingTier": (("Ground", "Express", "Next Day"), "Tier {}"),
    "currencyCode": (("USD", "EUR", "GBP", "JPY"), "C{:02d}"),
    "searchTerm": (("shoes", "returns", "gift card"), "term {}"),
    "percentScrolled": (("90", "(not set)"), "{}"),
    "linkUrl": ((), "https://partner{}.example.org/"),
    "linkDomain": ((), "partner{}.example.org"),
    "fileName": ((), "/files/report-{}.pdf"),
    "fileExtension": (("pdf", "zip", "docx", "csv"), "ext{}"),
    "videoTitle": ((), "Video {}"),
    "videoProvider": (("youtube", "vimeo"), "provider-{}"),
    "videoUrl": ((), "https://www.youtube.com/watch?v=v{}"),
    "audienceName": (("All Users", "Purchasers", "Engaged Users"), "Audience {}"),
    "audienceId": ((), "1{:08d}"),
    "brandingInterest": (("Technology", "Travel", "Shoppers"), "Interest {}"),
    "firstSessionDate": (
        tuple(f"2025{month:02d}{day:02d}" for month in range(1, 13) for day in range(1, 29)),
        "2024{:04d}",
    ),
}

# Dimensions with a fixed set of values: all of them are served whatever the cardinality.
_FIXED: dict[str, tuple[str, ...]] = {
    "hour": tuple(f"{h:02d}" for h in range(24)),
    "minute": tuple(f"{m:02d}" for m in range(60)),
    "isKeyEvent": ("false", "true"),
    "outbound": ("false", "true"),
    "visible": ("false", "true"),
    "signedInWithUserId": ("no", "yes"),
    # GA4's own brackets and genders, as its demographics report them
    "userAgeBracket": ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"),
    "userGender": ("female", "male", "unknown"),
}

DATE_DIMENSION = "date"
# Dimensions that depend on the day only; the sub-day ones combine a day with an hour
# (and minute) value, which are ordinary fixed-value dimensions.
DAY_DIMENSIONS: frozenset[str] = frozenset(
    {
        "date",
        "day",
        "dayOfWeek",
        "dayOfWeekName",
        "isoWeek",
        "isoYear",
        "isoYearIsoWeek",
        "month",
        "nthDay",
        "nthMonth",
        "nthWeek",
        "nthYear",
        "week",
        "year",
        "yearMonth",
        "yearWeek",
    }
)
SUB_DAY_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "dateHour": ("hour",),
    "dateHourMinute": ("hour", "minute"),
    "nthHour": ("hour",),
    "nthMinute": ("hour", "minute"),
}
# Standard dimensions served from generated values.
CATEGORICAL_DIMENSIONS: frozenset[str] = (
    fields.STANDARD_DIMENSIONS - DAY_DIMENSIONS - frozenset(SUB_DAY_DIMENSIONS)
)
DIMENSIONS: frozenset[str] = fields.STANDARD_DIMENSIONS


def dimension_values(name: str, cardinality: int) -> list[str]:
    """The first ``cardinality`` distinct values of a non-time standard dimension
    (all values of a fixed-value one)."""
    if name in _FIXED:
        return list(_FIXED[name])
    leading, pattern = _DIMENSIONS.get(name) or _MORE_DIMENSIONS.get(name) or ((), name + "-{}")
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


def decimal_string(value: float) -> str:
    """A number as GA4 writes a float metric (see ``_decimal``)."""
    return _decimal(float(value))


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


def _measure(x: int) -> str:
    return _decimal(x % 1_000_000 / 100)


Kind = Literal["sum", "users", "mean"]


@dataclass(frozen=True)
class Metric:
    """One metric: its wire type, how a value is drawn from a mixed 64-bit number, and
    how values of several days or dimension values combine (see the module docstring)."""

    name: str
    type: str
    make: Callable[[int], str]
    kind: Kind = "sum"


METRIC_TYPE_NUMBERS: dict[str, int] = dict(fields.METRIC_TYPES)

# The first metrics the fake served, with the values they always had.
_FIRST_METRICS = (
    Metric("sessions", "TYPE_INTEGER", _count(500)),
    Metric("activeUsers", "TYPE_INTEGER", _count(400), "users"),
    Metric("totalUsers", "TYPE_INTEGER", _count(450), "users"),
    Metric("newUsers", "TYPE_INTEGER", _count(200)),
    Metric("screenPageViews", "TYPE_INTEGER", _count(2000)),
    Metric("eventCount", "TYPE_INTEGER", _count(6000)),
    Metric("engagedSessions", "TYPE_INTEGER", _count(300)),
    Metric("conversions", "TYPE_FLOAT", _count(20)),
    Metric("keyEvents", "TYPE_FLOAT", _count(20)),
    Metric("transactions", "TYPE_INTEGER", _count(15)),
    Metric("ecommercePurchases", "TYPE_INTEGER", _count(15)),
    Metric("engagementRate", "TYPE_FLOAT", _ratio(0.0), "mean"),
    Metric("bounceRate", "TYPE_FLOAT", _ratio(0.0), "mean"),
    Metric("sessionsPerUser", "TYPE_FLOAT", _ratio(1.0), "mean"),
    Metric("screenPageViewsPerSession", "TYPE_FLOAT", _ratio(1.0), "mean"),
    Metric("averageSessionDuration", "TYPE_SECONDS", _seconds, "mean"),
    Metric("userEngagementDuration", "TYPE_SECONDS", _count(100_000)),
    Metric("totalRevenue", "TYPE_CURRENCY", _currency),
    Metric("purchaseRevenue", "TYPE_CURRENCY", _currency),
)

# Metrics that count distinct users: a period's value is not the sum of its days'.
_USER_COUNTS = frozenset(
    {
        "active1DayUsers",
        "active7DayUsers",
        "active28DayUsers",
        "crashAffectedUsers",
        "scrolledUsers",
        "totalPurchasers",
    }
)
# Float metrics that are counts or amounts, and so add up.
_FLOAT_SUMS = frozenset({"conversions", "eventValue", "keyEvents"})


def _kind(name: str, kind: str) -> Kind:
    if name in _USER_COUNTS:
        return "users"
    if name.startswith("average") or "Per" in name:
        return "mean"
    if kind == "TYPE_FLOAT" and name not in _FLOAT_SUMS:
        return "mean"
    return "sum"


def _make(name: str, kind: str, how: Kind) -> Callable[[int], str]:
    """A value generator for a metric of this type and kind."""
    if kind == "TYPE_INTEGER":
        if how == "users":
            return _count(300)
        return _count(20 if name.startswith(("item", "checkouts", "addToCarts")) else 100)
    if kind == "TYPE_CURRENCY":
        return _currency
    if kind == "TYPE_SECONDS":
        return _seconds if how == "mean" else _count(100_000)
    if kind == "TYPE_MILLISECONDS":
        return _count(1_000_000)
    if kind == "TYPE_FLOAT":
        if how == "sum":
            return _count(20)
        return _ratio(0.0 if "Rate" in name or name.endswith("Mau") or "Wau" in name else 1.0)
    return _measure


def custom_metric(name: str, kind: str) -> Metric:
    """A property's custom metric (event-scoped, so its values add up)."""
    return Metric(name, kind, _make(name, kind, "sum"))


def _metrics() -> dict[str, Metric]:
    metrics = {metric.name: metric for metric in _FIRST_METRICS}
    for name, kind in fields.STANDARD_METRICS.items():
        if name in metrics:
            if metrics[name].type != kind:
                raise AssertionError(f"{name}: {metrics[name].type} != {kind}")
            continue
        how = _kind(name, kind)
        metrics[name] = Metric(name, kind, _make(name, kind, how), how)
    return metrics


METRICS: dict[str, Metric] = _metrics()
