"""Settings: defaults, validation messages that name the variable, secrets kept out of repr."""

from __future__ import annotations

import pytest

from ga4sync.errors import ConfigError
from ga4sync.settings import Settings, obscure_password


def test_defaults_point_at_google_and_the_embedded_database():
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert settings.google_token_uri == "https://oauth2.googleapis.com/token"
    assert settings.ga4_api_base_url == "https://analyticsdata.googleapis.com"
    assert settings.sync_lookback_days == 3
    assert settings.sync_backfill_days == 365
    assert settings.sync_backfill_chunk_days == 30
    assert settings.sync_timezone == "America/Los_Angeles"
    assert settings.ga4_property_concurrency <= 10


def test_the_property_cap_reaches_what_analytics_360_allows():
    assert Settings.from_env({"GA4_PROPERTY_CONCURRENCY": "50"}).ga4_property_concurrency == 50


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GA4_PAGE_SIZE": "lots"}, "GA4_PAGE_SIZE must be a whole number"),
        ({"GA4_PAGE_SIZE": "300000"}, "GA4_PAGE_SIZE must be between 1 and 250000"),
        ({"GA4_PROPERTY_CONCURRENCY": "51"}, "GA4_PROPERTY_CONCURRENCY must be between 1 and 50"),
        ({"GA4_RETRY_BASE_S": "soon"}, "GA4_RETRY_BASE_S must be a number"),
        ({"SYNC_TIMEZONE": "Mars/Olympus"}, "SYNC_TIMEZONE must be an IANA time zone"),
        ({"GA4_API_BASE_URL": "ftp://x"}, "GA4_API_BASE_URL must be an http(s) URL"),
        ({"GOOGLE_AUTH_URI": "javascript:alert(1)"}, "GOOGLE_AUTH_URI must be an http(s) URL"),
        (
            {"GOOGLE_AUTH_URI": "http://accounts.example.com/o/oauth2/v2/auth"},
            "GOOGLE_AUTH_URI must be an https URL (http only on 127.0.0.1 or localhost)",
        ),
    ],
)
def test_bad_values_fail_with_the_variable_name(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "uri",
    [
        "https://accounts.google.com/o/oauth2/v2/auth",
        "http://127.0.0.1:8765/o/oauth2/v2/auth",
        "http://localhost:8765/o/oauth2/v2/auth",
        "http://[::1]:8765/o/oauth2/v2/auth",
    ],
)
def test_the_consent_screen_is_https_or_on_this_machine(uri):
    assert Settings.from_env({"GOOGLE_AUTH_URI": uri}).google_auth_uri == uri


def test_secrets_are_not_in_repr():
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u:hunter2@db/x",
            "TOKEN_ENCRYPTION_KEY": "k" * 44,
            "GOOGLE_CLIENT_SECRET": "shh-secret",
        }
    )
    text = repr(settings)
    assert "hunter2" not in text and "kkkk" not in text and "shh-secret" not in text


def test_missing_encryption_key_names_the_variable():
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEY is not set"):
        Settings.from_env({}).require_encryption_key()


def test_obscure_password():
    assert obscure_password("postgresql://u:hunter2@db:5432/x") == (
        "postgresql://u:********@db:5432/x"
    )
    assert obscure_password("postgresql://db/x") == "postgresql://db/x"


def test_missing_google_client_names_both_variables():
    with pytest.raises(ConfigError, match="GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET not set"):
        Settings.from_env({}).require_google_client()
    with pytest.raises(ConfigError, match=r"^GOOGLE_CLIENT_SECRET not set"):
        Settings.from_env({"GOOGLE_CLIENT_ID": "x"}).require_google_client()


def test_sync_since_days_still_names_the_lookback():
    assert Settings.from_env({"SYNC_SINCE_DAYS": "5"}).sync_lookback_days == 5
    both = {"SYNC_SINCE_DAYS": "5", "SYNC_LOOKBACK_DAYS": "2"}
    assert Settings.from_env(both).sync_lookback_days == 2


def test_supabase_expose_reports_is_a_flag():
    assert Settings.from_env({}).supabase_expose_reports is False
    for raw, value in (("true", True), ("1", True), ("yes", True), ("off", False), ("0", False)):
        assert Settings.from_env({"SUPABASE_EXPOSE_REPORTS": raw}).supabase_expose_reports is value
    with pytest.raises(ConfigError, match="SUPABASE_EXPOSE_REPORTS must be true or false"):
        Settings.from_env({"SUPABASE_EXPOSE_REPORTS": "sometimes"})


def test_csv_export_limits():
    defaults = Settings.from_env({})
    assert (defaults.exports_per_user, defaults.export_idle_timeout_s) == (2, 60.0)
    set_ = Settings.from_env({"EXPORTS_PER_USER": "5", "EXPORT_IDLE_TIMEOUT_S": "12.5"})
    assert (set_.exports_per_user, set_.export_idle_timeout_s) == (5, 12.5)
    with pytest.raises(ConfigError, match="EXPORTS_PER_USER must be between 1 and 100"):
        Settings.from_env({"EXPORTS_PER_USER": "0"})
    with pytest.raises(
        ConfigError, match=r"EXPORT_IDLE_TIMEOUT_S must be between 1\.0 and 3600\.0"
    ):
        Settings.from_env({"EXPORT_IDLE_TIMEOUT_S": "0.5"})
