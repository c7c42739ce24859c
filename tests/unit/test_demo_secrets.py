"""The demo's generated secrets: kept with its data, readable by its owner only,
and never over what the environment sets."""

from __future__ import annotations

import stat

from cryptography.fernet import Fernet

from ga4sync.demo import demo_profile
from ga4sync.demo_secrets import SECRETS_FILE, demo_secrets, load_demo_secrets
from ga4sync.settings import Settings


def test_the_first_run_keeps_its_secrets_for_the_next(tmp_path):
    settings = Settings(embedded_pg_dir=tmp_path / "pg")
    assert load_demo_secrets(settings) is None

    made = demo_secrets(settings)

    kept = tmp_path / "pg" / SECRETS_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert demo_secrets(settings) == made == load_demo_secrets(settings)
    Fernet(made.token_encryption_key)  # a usable key


def test_variables_set_in_the_environment_win_over_the_kept_secrets(tmp_path):
    settings = Settings(embedded_pg_dir=tmp_path / "pg")
    kept = demo_secrets(settings)

    mine = Fernet.generate_key().decode()
    profile = demo_profile(Settings(token_encryption_key=mine, supabase_jwt_secret="mine"), kept)
    assert (profile.token_encryption_key, profile.supabase_jwt_secret) == (mine, "mine")
    defaulted = demo_profile(Settings(), kept)
    assert defaulted.token_encryption_key == kept.token_encryption_key
    assert defaulted.supabase_jwt_secret == kept.supabase_jwt_secret
