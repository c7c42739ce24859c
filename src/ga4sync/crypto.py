"""Encryption at rest for Google tokens (Fernet; several keys allow rotation), and
keys derived from ``TOKEN_ENCRYPTION_KEY`` for other purposes.

One key, one purpose: what seals a consent ``state`` is derived from each
configured key with HKDF and a label of its own, so nothing the service
encrypts as a token can ever be opened as a state, nor the other way round.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ga4sync.errors import ConfigError, Ga4SyncError


class UndecryptableToken(Ga4SyncError):
    """A stored token that none of the keys in ``TOKEN_ENCRYPTION_KEY`` decrypts."""


def _fernets(keys: str) -> list[Fernet]:
    try:
        fernets = [Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()]
    except ValueError:
        raise ConfigError(
            "TOKEN_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes)"
        ) from None
    if not fernets:
        raise ConfigError("TOKEN_ENCRYPTION_KEY is empty")
    return fernets


def fernet_keys(keys: str) -> MultiFernet:
    """``TOKEN_ENCRYPTION_KEY`` as a MultiFernet: the first key encrypts, any decrypts."""
    return MultiFernet(_fernets(keys))


def derived_fernet(keys: str, purpose: bytes) -> MultiFernet:
    """Keys for ``purpose`` only: each key of ``TOKEN_ENCRYPTION_KEY`` put through
    HKDF-SHA256 with ``purpose`` as its info label, in the same order (the first
    encrypts, any decrypts, so rotating the token keys rotates these too)."""
    _fernets(keys)  # the same checks and messages as the token keys
    derived = []
    for key in (k.strip() for k in keys.split(",") if k.strip()):
        material = base64.urlsafe_b64decode(key.encode())
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
        derived.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(material))))
    return MultiFernet(derived)


class TokenCipher:
    """Encrypts with the first key of ``TOKEN_ENCRYPTION_KEY``, decrypts with any of them.

    Rotate by putting a new key first (``new,old``), running ``ga4sync rotate-keys``
    (``reencrypt`` on every stored token), then dropping ``old``.
    """

    def __init__(self, keys: str) -> None:
        fernets = _fernets(keys)
        self._first = fernets[0]
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(ciphertext)).decode()
        except InvalidToken:
            raise UndecryptableToken(
                "a stored Google token cannot be decrypted with TOKEN_ENCRYPTION_KEY "
                "(was the key changed without keeping the old one?)"
            ) from None

    def reencrypt(self, ciphertext: bytes) -> bytes | None:
        """``ciphertext`` encrypted with the first key instead, or ``None`` when it
        already is. Raises ``UndecryptableToken`` when no key decrypts it."""
        token = bytes(ciphertext)
        try:
            self._first.decrypt(token)
            return None
        except InvalidToken:
            pass
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise UndecryptableToken(
                "no key of TOKEN_ENCRYPTION_KEY decrypts this stored token"
            ) from None
