"""Token encryption at rest, including key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from ga4sync.crypto import TokenCipher
from ga4sync.errors import ConfigError, Ga4SyncError


def test_round_trip_and_ciphertext_hides_the_token():
    cipher = TokenCipher(Fernet.generate_key().decode())
    secret = cipher.encrypt("1//refresh-token")
    assert b"refresh-token" not in secret
    assert cipher.decrypt(secret) == "1//refresh-token"


def test_rotation_reads_old_tokens_and_writes_with_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = TokenCipher(old).encrypt("t")
    rotated = TokenCipher(f"{new},{old}")
    assert rotated.decrypt(stored) == "t"
    assert TokenCipher(new).decrypt(rotated.encrypt("t")) == "t"


def test_wrong_key_and_malformed_key_are_clear_errors():
    stored = TokenCipher(Fernet.generate_key().decode()).encrypt("t")
    with pytest.raises(Ga4SyncError, match="cannot be decrypted"):
        TokenCipher(Fernet.generate_key().decode()).decrypt(stored)
    with pytest.raises(ConfigError, match="Fernet keys"):
        TokenCipher("not-a-key")
