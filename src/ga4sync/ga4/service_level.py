"""GA4 service levels: a standard property or an Analytics 360 one, and how many
requests of each GA4 lets run at once."""

from __future__ import annotations

STANDARD = "GOOGLE_ANALYTICS_STANDARD"
ANALYTICS_360 = "GOOGLE_ANALYTICS_360"

# Concurrent requests GA4 allows one property of each level.
CONCURRENT_REQUESTS = {STANDARD: 10, ANALYTICS_360: 50}


def parse_service_level(value: object) -> str | None:
    """The level the Admin API's ``serviceLevel`` names; None when it is left out
    (``SERVICE_LEVEL_UNSPECIFIED``) or names a level not known here."""
    return value if isinstance(value, str) and value in CONCURRENT_REQUESTS else None


def concurrent_requests(service_level: str | None) -> int:
    """Concurrent requests GA4 allows a property of ``service_level``; one whose level
    is not known gets a standard property's."""
    return CONCURRENT_REQUESTS.get(service_level or STANDARD, CONCURRENT_REQUESTS[STANDARD])
