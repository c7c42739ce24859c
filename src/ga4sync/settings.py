"""Settings: read once from the environment, validated, passed down explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ga4sync.errors import ConfigError
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.reports.config import load_definitions
from ga4sync.reports.realtime import RealtimeSpec

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_REVOKE_URI = "https://oauth2.googleapis.com/revoke"
GA4_ADMIN_API_BASE_URL = "https://analyticsadmin.googleapis.com"
GA4_API_BASE_URL = "https://analyticsdata.googleapis.com"
# The most concurrent requests GA4 allows any property (Analytics 360; standard: 10).
GA4_MAX_PROPERTY_CONCURRENCY = 50
GA4_MAX_PAGE_SIZE = 250_000


def obscure_password(url: str) -> str:
    """Return ``url`` with its password replaced, for logs and error messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:********@{netloc}"))


@dataclass(frozen=True)
class Settings:
    """Everything ga4sync reads from its environment.

    ``database_url`` is ``None`` when ``DATABASE_URL`` is unset: entry points then
    start the embedded Postgres in ``embedded_pg_dir``.
    """

    database_url: str | None = field(default=None, repr=False)
    token_encryption_key: str | None = field(default=None, repr=False)
    google_client_id: str | None = None
    google_client_secret: str | None = field(default=None, repr=False)
    google_token_uri: str = GOOGLE_TOKEN_URI
    google_auth_uri: str = GOOGLE_AUTH_URI
    google_revoke_uri: str = GOOGLE_REVOKE_URI
    ga4_admin_api_base_url: str = GA4_ADMIN_API_BASE_URL
    oauth_redirect_uri: str | None = None
    frontend_url: str = "/"
    oauth_state_ttl_s: int = 600
    google_timeout_s: float = 30.0
    ga4_api_base_url: str = GA4_API_BASE_URL
    # GA4 requests in flight per process, and tasks a worker runs at once: chosen
    # by bench.fanout (docs/queue.md, "Requests in flight").
    ga4_max_concurrency: int = 40
    ga4_property_concurrency: int = 3
    ga4_page_size: int = 25_000
    ga4_max_retries: int = 5
    ga4_retry_base_s: float = 1.0
    ga4_request_timeout_s: float = 120.0
    # Share of each GA4 token bucket that history reads leave to daily and manual syncs.
    ga4_quota_reserve: float = 0.25
    # Share of each of GA4's realtime token buckets (a category of its own) that
    # realtime polling leaves unspent: below it, polls wait for the hour or day.
    ga4_realtime_quota_reserve: float = 0.1
    # Days GA4 data keeps changing: a date is settled once read when it was older.
    sync_lookback_days: int = 3
    # History read for a new property (0: none) and how many days one chunk holds.
    sync_backfill_days: int = 365
    sync_backfill_chunk_days: int = 30
    sync_property_concurrency: int = 4
    sync_timezone: str = "America/Los_Angeles"
    sync_daily_at: time = time(0, 15)
    embedded_pg_dir: Path | None = None
    # web
    host: str = "0.0.0.0"
    port: int = 8000
    cors_origins: tuple[str, ...] = ()
    cron_token: str | None = field(default=None, repr=False)
    supabase_jwt_secret: str | None = field(default=None, repr=False)
    supabase_jwks_url: str | None = None
    supabase_jwt_audience: str = "authenticated"
    admin_user_ids: frozenset[str] = frozenset()
    admin_emails: frozenset[str] = frozenset()
    max_body_bytes: int = 64 * 1024
    run_rate_limit: int = 30
    metrics_token: str | None = field(default=None, repr=False)
    # CSV exports of the rows API: how many one user streams at once (per web
    # process), and how long a client may stop reading before its export is cut.
    exports_per_user: int = 2
    export_idle_timeout_s: float = 60.0
    retention_days: int = 30
    # alerts
    alert_webhook_url: str | None = field(default=None, repr=False)
    alert_failure_threshold: int = 3
    # worker
    worker_concurrency: int = 16
    worker_shutdown_timeout_s: float = 25.0
    worker_heartbeat_s: float = 10.0
    stalled_after_s: float = 60.0
    # what to sync: the definitions in GA4SYNC_REPORTS, or the built-in reports
    reports: tuple[ReportSpec, ...] = BUILTIN_REPORTS
    reports_file: Path | None = None
    # the [[realtime]] definitions of that file: polled for properties whose realtime is on
    realtime: tuple[RealtimeSpec, ...] = ()
    # Let Supabase's signed-in users read their own properties' report rows.
    supabase_expose_reports: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(os.environ if environ is None else environ)
        settings = cls(
            database_url=env.text("DATABASE_URL"),
            token_encryption_key=env.text("TOKEN_ENCRYPTION_KEY"),
            google_client_id=env.text("GOOGLE_CLIENT_ID"),
            google_client_secret=env.text("GOOGLE_CLIENT_SECRET"),
            google_token_uri=env.url("GOOGLE_TOKEN_URI", GOOGLE_TOKEN_URI),
            ga4_api_base_url=env.url("GA4_API_BASE_URL", GA4_API_BASE_URL).rstrip("/"),
            google_auth_uri=env.https_url("GOOGLE_AUTH_URI", GOOGLE_AUTH_URI),
            google_revoke_uri=env.url("GOOGLE_REVOKE_URI", GOOGLE_REVOKE_URI),
            ga4_admin_api_base_url=env.url("GA4_ADMIN_API_BASE_URL", GA4_ADMIN_API_BASE_URL).rstrip(
                "/"
            ),
            oauth_redirect_uri=env.optional_url("OAUTH_REDIRECT_URI"),
            frontend_url=env.text("FRONTEND_URL") or "/",
            oauth_state_ttl_s=env.integer("OAUTH_STATE_TTL_S", 600, low=60, high=3600),
            google_timeout_s=env.number("GOOGLE_TIMEOUT_S", 30.0, low=1.0, high=300.0),
            ga4_max_concurrency=env.integer("GA4_MAX_CONCURRENCY", 40, low=1, high=1000),
            ga4_property_concurrency=env.integer(
                "GA4_PROPERTY_CONCURRENCY", 3, low=1, high=GA4_MAX_PROPERTY_CONCURRENCY
            ),
            ga4_page_size=env.integer("GA4_PAGE_SIZE", 25_000, low=1, high=GA4_MAX_PAGE_SIZE),
            ga4_max_retries=env.integer("GA4_MAX_RETRIES", 5, low=0, high=20),
            ga4_retry_base_s=env.number("GA4_RETRY_BASE_S", 1.0, low=0.0, high=60.0),
            ga4_request_timeout_s=env.number("GA4_REQUEST_TIMEOUT_S", 120.0, low=1.0, high=3600.0),
            ga4_quota_reserve=env.number("GA4_QUOTA_RESERVE", 0.25, low=0.0, high=0.9),
            ga4_realtime_quota_reserve=env.number(
                "GA4_REALTIME_QUOTA_RESERVE", 0.1, low=0.0, high=0.9
            ),
            # SYNC_SINCE_DAYS, the fixed window's length before coverage, names the lookback.
            sync_lookback_days=env.integer(
                "SYNC_LOOKBACK_DAYS" if env.text("SYNC_LOOKBACK_DAYS") else "SYNC_SINCE_DAYS",
                3,
                low=0,
                high=365,
            ),
            sync_backfill_days=env.integer("SYNC_BACKFILL_DAYS", 365, low=0, high=5000),
            sync_backfill_chunk_days=env.integer("SYNC_BACKFILL_CHUNK_DAYS", 30, low=1, high=366),
            sync_property_concurrency=env.integer("SYNC_PROPERTY_CONCURRENCY", 4, low=1, high=100),
            sync_timezone=env.timezone("SYNC_TIMEZONE", "America/Los_Angeles"),
            sync_daily_at=env.clock_time("SYNC_DAILY_AT", time(0, 15)),
            embedded_pg_dir=env.path("GA4SYNC_EMBEDDED_PG_DIR"),
            host=env.text("HOST") or "0.0.0.0",
            port=env.integer("PORT", 8000, low=1, high=65535),
            cors_origins=tuple(env.items("CORS_ORIGINS")),
            cron_token=env.text("CRON_TOKEN"),
            supabase_jwt_secret=env.text("SUPABASE_JWT_SECRET"),
            supabase_jwks_url=env.jwks_url(),
            supabase_jwt_audience=env.text("SUPABASE_JWT_AUDIENCE") or "authenticated",
            admin_user_ids=frozenset(item.lower() for item in env.items("ADMIN_USER_IDS")),
            admin_emails=frozenset(item.lower() for item in env.items("ADMIN_EMAILS")),
            max_body_bytes=env.integer("MAX_BODY_BYTES", 64 * 1024, low=1024, high=1 << 24),
            run_rate_limit=env.integer("RUN_RATE_LIMIT", 30, low=0, high=100_000),
            metrics_token=env.text("METRICS_TOKEN"),
            exports_per_user=env.integer("EXPORTS_PER_USER", 2, low=1, high=100),
            export_idle_timeout_s=env.number("EXPORT_IDLE_TIMEOUT_S", 60.0, low=1.0, high=3600.0),
            retention_days=env.integer("RETENTION_DAYS", 30, low=1, high=3650),
            alert_webhook_url=env.optional_url("ALERT_WEBHOOK_URL"),
            alert_failure_threshold=env.integer("ALERT_FAILURE_THRESHOLD", 3, low=1, high=1000),
            worker_concurrency=env.integer("WORKER_CONCURRENCY", 16, low=1, high=200),
            worker_shutdown_timeout_s=env.number(
                "WORKER_SHUTDOWN_TIMEOUT_S", 25.0, low=0.0, high=3600.0
            ),
            worker_heartbeat_s=env.number("WORKER_HEARTBEAT_S", 10.0, low=0.1, high=300.0),
            stalled_after_s=env.number("STALLED_AFTER_S", 60.0, low=0.5, high=86400.0),
            supabase_expose_reports=env.flag("SUPABASE_EXPOSE_REPORTS", False),
        )
        reports_file = env.text("GA4SYNC_REPORTS")
        if reports_file is not None:
            path = Path(reports_file).expanduser()
            definitions = load_definitions(path)
            settings = replace(
                settings,
                reports=definitions.reports,
                realtime=definitions.realtime,
                reports_file=path,
            )
        return settings

    @property
    def takeover_after_s(self) -> float:
        """Heartbeat age after which a starting worker takes over a worker's tasks:
        three missed heartbeats, never later than ``STALLED_AFTER_S``. A live worker
        writes its heartbeat every ``WORKER_HEARTBEAT_S``, so one this late is dead."""
        return min(self.stalled_after_s, 3 * self.worker_heartbeat_s)

    @property
    def auth_configured(self) -> bool:
        return bool(self.supabase_jwt_secret or self.supabase_jwks_url)

    def require_google_client(self) -> tuple[str, str]:
        """The OAuth client that refresh tokens were issued to (needed to refresh them)."""
        missing = [
            name
            for name, value in (
                ("GOOGLE_CLIENT_ID", self.google_client_id),
                ("GOOGLE_CLIENT_SECRET", self.google_client_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set: refreshing users' Google tokens needs the "
                "OAuth client they were issued to (Google Cloud console > Credentials)"
            )
        assert self.google_client_id and self.google_client_secret
        return self.google_client_id, self.google_client_secret

    def require_oauth_redirect(self) -> str:
        if not self.oauth_redirect_uri:
            raise ConfigError(
                "OAUTH_REDIRECT_URI is not set: the public URL of "
                "/v1/connections/google/callback, registered with your Google OAuth client"
            )
        return self.oauth_redirect_uri

    def require_encryption_key(self) -> str:
        if not self.token_encryption_key:
            raise ConfigError(
                "TOKEN_ENCRYPTION_KEY is not set: it encrypts Google refresh tokens at rest. "
                "Create one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        return self.token_encryption_key


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class _Env:
    """Typed, validated reads of environment variables; errors name the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    def url(self, name: str, default: str) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
        return raw

    def https_url(self, name: str, default: str) -> str:
        """An https URL; plain http only to this machine (a local fake Google)."""
        raw = self.url(name, default)
        parts = urlsplit(raw)
        if parts.scheme != "https" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ConfigError(
                f"{name} must be an https URL (http only on 127.0.0.1 or localhost), got {raw!r}"
            )
        return raw

    def optional_url(self, name: str) -> str | None:
        raw = self.text(name)
        return None if raw is None else self.url(name, raw)

    def timezone(self, name: str, default: str) -> str:
        raw = self.text(name) or default
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name} must be an IANA time zone name, got {raw!r}") from None
        return raw

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        value = raw.lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def items(self, name: str) -> list[str]:
        """A comma-separated list, blanks dropped."""
        return [item.strip() for item in (self.text(name) or "").split(",") if item.strip()]

    def clock_time(self, name: str, default: time) -> time:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            hours, minutes = (int(part) for part in raw.split(":"))
            return time(hours, minutes)
        except ValueError:
            raise ConfigError(f"{name} must be a time of day as HH:MM, got {raw!r}") from None

    def jwks_url(self) -> str | None:
        """SUPABASE_JWKS_URL, or the JWKS endpoint of SUPABASE_URL."""
        explicit = self.text("SUPABASE_JWKS_URL")
        if explicit:
            return self.url("SUPABASE_JWKS_URL", explicit)
        project = self.text("SUPABASE_URL")
        if project:
            return self.url("SUPABASE_URL", project).rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None

    def path(self, name: str) -> Path | None:
        raw = self.text(name)
        return Path(raw).expanduser() if raw else None
