"""Encryption at rest for Google tokens (Fernet; several keys allow rotation)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ga4sync.errors import ConfigError, Ga4SyncError


def fernet_keys(keys: str) -> MultiFernet:
    """``TOKEN_ENCRYPTION_KEY`` as a MultiFernet: the first key encrypts, any decrypts."""
    try:
        fernets = [Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()]
    except ValueError:
        raise ConfigError(
            "TOKEN_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes)"
        ) from None
    if not fernets:
        raise ConfigError("TOKEN_ENCRYPTION_KEY is empty")
    return MultiFernet(fernets)


class TokenCipher:
    """Encrypts with the first key of ``TOKEN_ENCRYPTION_KEY``, decrypts with any of them.

    Rotate by putting a new key first (``new,old``), re-saving tokens, then dropping ``old``.
    """

    def __init__(self, keys: str) -> None:
        self._fernet = fernet_keys(keys)

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(ciphertext)).decode()
        except InvalidToken:
            raise Ga4SyncError(
                "a stored Google token cannot be decrypted with TOKEN_ENCRYPTION_KEY "
                "(was the key changed without keeping the old one?)"
            ) from None
