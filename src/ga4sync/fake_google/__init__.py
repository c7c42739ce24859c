"""A fake of Google's GA4 Data API and OAuth token endpoint, speaking the real wire format."""

from .fake import DEFAULT_QUOTA_LIMITS, FakeGoogle, token_cost

__all__ = ["DEFAULT_QUOTA_LIMITS", "FakeGoogle", "token_cost"]
