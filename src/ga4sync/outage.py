"""Database outages: telling one from a bug, waiting it out, and saying so once.

A restart, failover or pooler restart of Postgres (Supabase maintenance) drops
every connection for seconds or minutes. ga4sync's processes stay up through
it. ``DatabaseWatch`` holds the process's LISTEN connection, notices when it is
lost (or is told so), reconnects with backoff and logs the outage once when it
starts and once when it ends; the worker waits on it before it starts again.
``OutageLogFilter`` turns the libraries' tracebacks for a lost database into
one line each and drops their reconnect chatter, which the watch sums up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
import psycopg

from ga4sync.queries import query

logger = logging.getLogger(__name__)

# What a database that is restarting, failing over or out of reach raises:
# refused or reset sockets, "the database system is shutting down / starting up",
# a connection closed under a query (asyncpg; its protocol can also be caught
# mid-operation by the shutdown: InternalClientError), a failed connection (psycopg).
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    psycopg.OperationalError,
)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc``, or an exception it was raised from, says the database is gone.

    procrastinate wraps psycopg's errors in its own exception, hence the walk
    down ``__cause__`` / ``__context__``.
    """
    return any(isinstance(e, DATABASE_UNAVAILABLE) for e in _chain(exc))


def describe(exc: BaseException | None) -> str:
    """A one-line reason: the text of the innermost database error in the chain."""
    reason = exc
    for inner in _chain(exc):
        if isinstance(inner, DATABASE_UNAVAILABLE) and str(inner).strip():
            reason = inner
    if reason is None:
        return "connection lost"
    return " ".join(str(reason).split()) or type(reason).__name__


OnConnect = Callable[[asyncpg.Connection], Awaitable[None]]


class DatabaseWatch:
    """The process's view of whether the database is reachable.

    It owns one long-lived connection (the process's LISTEN connection, set up
    by ``on_connect`` every time it connects). When that connection is lost, or
    another part of the process ``report``s a lost database, it logs the outage
    once, reconnects with jittered exponential backoff (``retry_base_s`` up to
    ``retry_max_s``) and logs once when the database is back.
    """

    def __init__(
        self,
        database_url: str,
        *,
        on_connect: OnConnect,
        retry_base_s: float = 0.25,
        retry_max_s: float = 2.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._url = database_url
        self._on_connect = on_connect
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._connect_timeout_s = connect_timeout_s
        self._conn: asyncpg.Connection | None = None
        self._up = asyncio.Event()
        self._down_since: float | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False
        self.outages = 0

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def start(self) -> None:
        """Connect for the first time; a database unreachable at start-up raises."""
        await self._connect()

    async def close(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        await self._drop_connection()

    async def until_up(self) -> None:
        """Return at once while the database is reachable, else once it is back."""
        await self._up.wait()

    def report(self, exc: BaseException | None = None) -> None:
        """Another part of the process lost the database: start an outage unless one is on."""
        if self._closed or not self._up.is_set():
            return
        self._up.clear()
        self._down_since = time.monotonic()
        self.outages += 1
        logger.warning(
            "database unreachable (%s): waiting for it to come back",
            describe(exc),
            extra={"action": "database_lost"},
        )
        self._reconnecting = asyncio.get_running_loop().create_task(
            self._reconnect(), name="database-reconnect"
        )

    async def check(self) -> bool:
        """Ask the database whether it answers; an unanswered question starts an outage."""
        if not self._up.is_set():
            return False
        conn = self._conn
        try:
            if conn is None or conn.is_closed():
                raise ConnectionError("the connection was closed")
            await conn.execute(query("ping"))
        except DATABASE_UNAVAILABLE as exc:
            self.report(exc)
            return False
        return True

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=self._connect_timeout_s)
        try:
            await self._on_connect(conn)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_lost)
        self._conn = conn
        self._up.set()

    def _on_lost(self, conn: asyncpg.Connection) -> None:
        if conn is self._conn:
            self.report(ConnectionError("the server closed the connection"))

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        conn.remove_termination_listener(self._on_lost)
        try:
            await asyncio.wait_for(conn.close(), timeout=2.0)
        except Exception as exc:
            if not isinstance(exc, (TimeoutError, *DATABASE_UNAVAILABLE)):
                raise
            conn.terminate()

    async def _reconnect(self) -> None:
        await self._drop_connection()
        delay_s = self._retry_base_s
        while True:
            try:
                await self._connect()
            except DATABASE_UNAVAILABLE as exc:
                logger.debug("database still unreachable: %s", describe(exc))
                await asyncio.sleep(delay_s * random.uniform(0.5, 1.0))
                delay_s = min(delay_s * 2, self._retry_max_s)
                continue
            break
        down_s = time.monotonic() - (self._down_since or time.monotonic())
        logger.warning(
            "database reachable again after %.1f s",
            down_s,
            extra={"action": "database_back", "down_s": round(down_s, 1)},
        )


# Messages the connection pools repeat while they reconnect on their own.
_RECONNECT_CHATTER = (
    ("asyncpg.pool", "Failed to restore the pool connection floor"),
    ("psycopg.pool", "error connecting in"),
)


class OutageLogFilter(logging.Filter):
    """Keeps a database outage to a few lines in the log.

    Records whose exception is a lost database keep their message and get the
    reason appended instead of a traceback; the pools' reconnect retries are
    dropped (the watch says when the outage began and ended).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for name, prefix in _RECONNECT_CHATTER:
            if record.name.startswith(name) and str(record.msg).startswith(prefix):
                return False
        exc_info = record.exc_info
        if exc_info and exc_info[1] is not None and is_database_unavailable(exc_info[1]):
            record.msg = f"{record.getMessage()}: database unavailable ({describe(exc_info[1])})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def install_outage_log_filter() -> None:
    """Add ``OutageLogFilter`` to the root logger's handlers (process entry points)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OutageLogFilter) for f in handler.filters):
            handler.addFilter(OutageLogFilter())
