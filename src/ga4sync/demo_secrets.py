"""The secrets ``ga4sync demo`` generates, kept with its data.

The demo needs a token encryption key (the Google grants it stores) and a JWT
secret (the access token its status page holds). Generated afresh on every
start, a restart would leave the grants it stored undecryptable and the open
status page's token refused; so the first start writes them to a file in the
data directory, readable by its owner only, and later starts read them back.
Variables set in the environment still win over the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from ga4sync.embedded import default_data_dir
from ga4sync.errors import ConfigError
from ga4sync.settings import Settings

SECRETS_FILE = "ga4sync-demo.json"


@dataclass(frozen=True)
class DemoSecrets:
    token_encryption_key: str
    supabase_jwt_secret: str


def demo_data_dir(settings: Settings) -> Path:
    """The data directory the demo's secrets live in: the embedded Postgres's."""
    return (settings.embedded_pg_dir or default_data_dir()).expanduser().resolve()


def secrets_path(settings: Settings) -> Path:
    return demo_data_dir(settings) / SECRETS_FILE


def load_demo_secrets(settings: Settings) -> DemoSecrets | None:
    """The secrets an earlier demo run kept in this data directory, if any."""
    path = secrets_path(settings)
    try:
        raw = json.loads(path.read_text())
        return DemoSecrets(
            token_encryption_key=str(raw["token_encryption_key"]),
            supabase_jwt_secret=str(raw["supabase_jwt_secret"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} cannot be read ({exc}): it holds the demo's secrets; delete the data "
            f"directory {path.parent} to start the demo afresh"
        ) from None


def demo_secrets(settings: Settings) -> DemoSecrets:
    """This data directory's demo secrets, generated and kept (mode 0600) on first use."""
    found = load_demo_secrets(settings)
    if found is not None:
        return found
    made = DemoSecrets(
        token_encryption_key=Fernet.generate_key().decode(),
        supabase_jwt_secret=secrets.token_urlsafe(32),
    )
    path = secrets_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {
            "token_encryption_key": made.token_encryption_key,
            "supabase_jwt_secret": made.supabase_jwt_secret,
        }
    )
    try:
        # Created with its mode, never readable by others even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another demo on the same data wrote it first: use theirs.
        kept = load_demo_secrets(settings)
        assert kept is not None
        return kept
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return made
