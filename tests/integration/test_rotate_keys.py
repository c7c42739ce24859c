"""``ga4sync rotate-keys``: every stored token moves to the first key, so the old
key can be dropped; idempotent, batched, and tokens no key opens are reported."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from ga4sync.cli import main
from ga4sync.crypto import TokenCipher
from ga4sync.db import connect
from ga4sync.store.credentials import save_access_token, save_google_credentials
from ga4sync.sync.key_rotation import rotate_stored_tokens


def _stored(database_url: str) -> dict[uuid.UUID, tuple[bytes, bytes | None]]:
    async def read() -> dict[uuid.UUID, tuple[bytes, bytes | None]]:
        async with connect(database_url) as conn:
            rows = await conn.fetch(
                "select user_id, refresh_token_encrypted, access_token_encrypted"
                " from google_credentials"
            )
        return {
            r["user_id"]: (
                bytes(r["refresh_token_encrypted"]),
                None if r["access_token_encrypted"] is None else bytes(r["access_token_encrypted"]),
            )
            for r in rows
        }

    return asyncio.run(read())


def test_rotate_keys_moves_every_token_to_the_first_key(database_url, monkeypatch, capsys):
    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))
    users = {f"u{n}": uuid.UUID(int=n + 1) for n in range(5)}

    async def seed() -> None:
        async with connect(database_url) as conn:
            later = datetime(2030, 1, 1, tzinfo=UTC)
            for name, key, access_key in [
                ("u0", old, old),  # both tokens under the old key
                ("u1", new, old),  # refresh already moved, access token not
                ("u2", old, None),  # no access token
                ("u3", lost, lost),  # a key nobody has any more
                ("u4", new, new),  # nothing to do
            ]:
                user = users[name]
                await save_google_credentials(
                    conn, user, TokenCipher(key).encrypt(f"refresh-{name}"), []
                )
                if access_key:
                    access = TokenCipher(access_key).encrypt(f"access-{name}")
                    await save_access_token(conn, user, access, later)

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", f"{new},{old}")
    before = _stored(database_url)

    assert main(["rotate-keys", "--batch-size", "2", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "users": 5,
        "reencrypted": 4,  # u0 twice, u1's access token, u2
        "current": 3,  # u1's refresh token, u4 twice
        "undecryptable": 2,
        "undecryptable_users": [str(users["u3"])],
    }

    after = _stored(database_url)
    only_new = TokenCipher(new)
    for name in ("u0", "u1", "u2", "u4"):
        refresh, access = after[users[name]]
        assert only_new.decrypt(refresh) == f"refresh-{name}"
        if name != "u2":
            assert access is not None and only_new.decrypt(access) == f"access-{name}"
    assert after[users["u2"]][1] is None
    assert after[users["u3"]] == before[users["u3"]]  # left exactly as it was
    assert after[users["u4"]] == before[users["u4"]]  # not rewritten

    # Idempotent: a second run finds nothing to move and says why it still fails.
    assert main(["rotate-keys"]) == 1
    err = capsys.readouterr().err
    assert "0 re-encrypted" in err and "7 already were" in err
    assert "2 decrypt with no key" in err and str(users["u3"]) in err
    assert _stored(database_url) == after

    # Once the lost grant is gone, the old key can go too: the service runs on the new one.
    async def forget_lost() -> None:
        async with connect(database_url) as conn:
            await conn.execute("delete from google_credentials where user_id = $1", users["u3"])

    asyncio.run(forget_lost())
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", new)
    assert main(["rotate-keys"]) == 0
    assert "4 users' tokens checked: 0 re-encrypted" in capsys.readouterr().out


def test_rotate_keys_needs_the_key_and_a_sane_batch(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEY", raising=False)
    assert main(["rotate-keys"]) == 2
    assert "TOKEN_ENCRYPTION_KEY" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["rotate-keys", "--batch-size", "0"])
    assert exit_info.value.code == 2
    assert "--batch-size takes 1 to 10000" in capsys.readouterr().err


async def test_a_token_saved_during_the_rotation_is_not_overwritten(pool):
    """Each user's tokens are locked while rewritten: an access token the worker
    saves meanwhile is kept, not replaced by the re-encrypted older one."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    user = uuid.uuid4()
    later = datetime(2030, 1, 1, tzinfo=UTC)
    await save_google_credentials(pool, user, TokenCipher(old).encrypt("refresh"), [])
    await save_access_token(pool, user, TokenCipher(old).encrypt("access-1"), later)
    cipher = TokenCipher(f"{new},{old}")

    async with pool.acquire() as worker, worker.transaction():
        await worker.execute("select 1 from google_credentials where user_id = $1 for update", user)
        rotation = asyncio.create_task(rotate_stored_tokens(pool, cipher))
        await asyncio.sleep(0.3)
        assert not rotation.done()  # waiting for the worker's transaction
        await save_access_token(worker, user, cipher.encrypt("access-2"), later)
    report = await asyncio.wait_for(rotation, 10)
    assert (report.reencrypted, report.current) == (1, 1)
    access = await pool.fetchval(
        "select access_token_encrypted from google_credentials where user_id = $1", user
    )
    assert TokenCipher(new).decrypt(access) == "access-2"
