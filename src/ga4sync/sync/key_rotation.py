"""Key rotation: every stored token re-encrypted with the first key of
``TOKEN_ENCRYPTION_KEY``, so the keys after it can be dropped.

Users are taken in batches by id; each user's tokens are locked, rewritten and
committed on their own, so a rotation can be stopped and run again at any
point, runs beside the web and the worker (which encrypt with the first key
too), and a second run finds nothing to do. A token that no key decrypts is
counted and named, and left as it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ga4sync.crypto import TokenCipher, UndecryptableToken
from ga4sync.store.credentials import (
    list_credential_users,
    lock_stored_tokens,
    replace_stored_tokens,
)

DEFAULT_BATCH_SIZE = 100


@dataclass
class RotationReport:
    users: int = 0
    reencrypted: int = 0  # tokens now under the first key that were not
    current: int = 0  # tokens already under the first key
    undecryptable: int = 0  # tokens no key decrypts, left as they are
    undecryptable_users: list[uuid.UUID] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.undecryptable == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "reencrypted": self.reencrypted,
            "current": self.current,
            "undecryptable": self.undecryptable,
            "undecryptable_users": [str(user) for user in self.undecryptable_users],
        }

    def message(self) -> str:
        text = (
            f"{self.users} users' tokens checked: {self.reencrypted} re-encrypted with the "
            f"first key of TOKEN_ENCRYPTION_KEY, {self.current} already were"
        )
        if self.undecryptable:
            text += (
                f"; {self.undecryptable} decrypt with no key and were left as they are "
                f"(users {', '.join(str(u) for u in self.undecryptable_users)}): they need "
                "to connect Google again"
            )
        return text


async def rotate_stored_tokens(
    pool: asyncpg.Pool, cipher: TokenCipher, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RotationReport:
    """Re-encrypt every stored token with ``cipher``'s first key."""
    report = RotationReport()
    after: uuid.UUID | None = None
    while users := await list_credential_users(pool, after, batch_size):
        for user_id in users:
            await _rotate_user(pool, cipher, user_id, report)
        after = users[-1]
    return report


async def _rotate_user(
    pool: asyncpg.Pool, cipher: TokenCipher, user_id: uuid.UUID, report: RotationReport
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        stored = await lock_stored_tokens(conn, user_id)
        if stored is None:  # disconnected meanwhile
            return
        report.users += 1
        refresh, access = stored
        new_refresh = _reencrypted(cipher, refresh, user_id, report)
        new_access = None if access is None else _reencrypted(cipher, access, user_id, report)
        if new_refresh is not None or new_access is not None:
            await replace_stored_tokens(conn, user_id, new_refresh or refresh, new_access or access)


def _reencrypted(
    cipher: TokenCipher, token: bytes, user_id: uuid.UUID, report: RotationReport
) -> bytes | None:
    try:
        moved = cipher.reencrypt(token)
    except UndecryptableToken:
        report.undecryptable += 1
        if user_id not in report.undecryptable_users:
            report.undecryptable_users.append(user_id)
        return None
    if moved is None:
        report.current += 1
    else:
        report.reencrypted += 1
    return moved
