"""A fake of Google's GA4 Data and Admin APIs and OAuth endpoints, speaking the real wire format."""

from .fake import (
    ANALYTICS_360_QUOTA_LIMITS,
    ANALYTICS_360_REALTIME_QUOTA_LIMITS,
    DEFAULT_QUOTA_LIMITS,
    DEFAULT_REALTIME_QUOTA_LIMITS,
    FakeGoogle,
    token_cost,
)

__all__ = [
    "ANALYTICS_360_QUOTA_LIMITS",
    "ANALYTICS_360_REALTIME_QUOTA_LIMITS",
    "DEFAULT_QUOTA_LIMITS",
    "DEFAULT_REALTIME_QUOTA_LIMITS",
    "FakeGoogle",
    "token_cost",
]
