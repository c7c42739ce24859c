"""The exception hierarchy: one root, and a class for each way a sync can fail."""

from __future__ import annotations


class Ga4SyncError(Exception):
    """Root of every error ga4sync raises on purpose."""


class ConfigError(Ga4SyncError):
    """A setting is missing or malformed; the message names the variable."""


class PortUnavailable(Ga4SyncError):
    """The web port cannot be listened on (another program holds it, or it is
    privileged); the message says how to choose another."""


class GoogleError(Ga4SyncError):
    """Google (OAuth or the GA4 Data API) refused or failed a request."""


class GoogleUnavailable(GoogleError):
    """Google could not be reached, did not answer in time (``timed_out``) or failed with
    a server error: what it was asked did not happen, and a later try may work."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class GrantRevoked(GoogleError):
    """The user's refresh token no longer works: the connection needs re-auth."""


class QuotaExhausted(GoogleError):
    """A GA4 quota ran out; the request may be retried after ``retry_after_s``."""

    def __init__(self, message: str, *, quota: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.quota = quota
        self.retry_after_s = retry_after_s


class Ga4RequestError(GoogleError):
    """GA4 rejected a request for good (bad argument, no permission, ...)."""

    def __init__(self, message: str, *, http_status: int, google_status: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.google_status = google_status


class PropertyAccessDenied(Ga4RequestError):
    """GA4 refused this grant for this property (403 PERMISSION_DENIED): the Google
    account behind it cannot read the property (any more). Other grants may."""


class Ga4Unavailable(GoogleUnavailable):
    """GA4 kept failing with server or network errors after every retry."""


class MissingCredentials(Ga4SyncError):
    """A property's owner has no stored Google tokens."""


class ReportsRefused(GoogleError):
    """GA4 refused the requests of some reports (400); the others were synced."""
