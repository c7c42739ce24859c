"""Token encryption at rest, including key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from ga4sync.crypto import TokenCipher, UndecryptableToken, derived_fernet, fernet_keys
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


def test_reencrypt_moves_a_token_to_the_first_key_once():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = TokenCipher(old).encrypt("t")
    rotating = TokenCipher(f"{new},{old}")
    moved = rotating.reencrypt(stored)
    assert moved is not None and TokenCipher(new).decrypt(moved) == "t"
    assert rotating.reencrypt(moved) is None  # already under the first key
    with pytest.raises(UndecryptableToken):
        TokenCipher(new).reencrypt(TokenCipher(Fernet.generate_key().decode()).encrypt("t"))


def test_derived_keys_are_the_purposes_own_and_follow_rotation():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = derived_fernet(old, b"purpose a").encrypt(b"x")
    assert derived_fernet(f"{new},{old}", b"purpose a").decrypt(sealed) == b"x"
    for other in (fernet_keys(old), derived_fernet(old, b"purpose b")):
        with pytest.raises(InvalidToken):
            other.decrypt(sealed)
    with pytest.raises(InvalidToken):
        derived_fernet(old, b"purpose a").decrypt(fernet_keys(old).encrypt(b"x"))
    with pytest.raises(ConfigError, match="Fernet keys"):
        derived_fernet("not-a-key", b"purpose a")
