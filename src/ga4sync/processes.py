"""The long-running processes: ``web``, ``worker`` and ``serve`` (both in one process).

Each runs until SIGTERM or SIGINT. The web server stops accepting requests and
finishes those in flight; the worker stops taking jobs and gives running ones
``WORKER_SHUTDOWN_TIMEOUT_S`` to finish, after which they are aborted and
retried by the next worker, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from ga4sync.errors import PortUnavailable
from ga4sync.runtime import Runtime, open_runtime, run_worker
from ga4sync.settings import Settings
from ga4sync.sync.ingest import check_ingestion_settings
from ga4sync.web.app import create_app

logger = logging.getLogger(__name__)


async def until_stopped() -> None:
    """Return at SIGTERM or SIGINT (Ctrl-C)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        logger.info("stop requested", extra={"action": "stopping"})
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


@dataclass
class Running:
    """What ``running`` started: the web address (if any) and the worker task (if any)."""

    base_url: str | None
    worker: asyncio.Task[None] | None


@asynccontextmanager
async def running(
    runtime: Runtime, *, web_app: web.Application | None, worker: bool
) -> AsyncIterator[Running]:
    """Serve ``web_app`` on ``PORT`` and/or run a worker; stop both on exit (web first,
    then the worker, gracefully)."""
    runner = None
    base_url = None
    if web_app is not None:
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=10.0)
        await runner.setup()
        host = runtime.settings.host
        site = web.TCPSite(runner, host, runtime.settings.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            port = runtime.settings.port
            why = (
                f"port {port} on {host} is already in use by another program"
                if exc.errno == errno.EADDRINUSE
                else f"cannot listen on {host} port {port} ({exc.strerror or exc})"
            )
            raise PortUnavailable(
                f"{why}: stop that program, or choose another port with PORT "
                "(or `ga4sync demo --port N`; 0 picks a free one)"
            ) from exc
        port = runner.addresses[0][1]
        base_url = f"http://127.0.0.1:{port}"
        logger.info("web listening on http://%s:%d", host, port, extra={"action": "web_started"})
        if not runtime.settings.auth_configured:
            logger.warning(
                "sign-in is not configured: set SUPABASE_JWT_SECRET or SUPABASE_URL. Until "
                "then every call that needs a signed-in user, the status page's included, "
                "answers 401 auth_not_configured",
                extra={"action": "auth_not_configured"},
            )
    worker_task = asyncio.create_task(run_worker(runtime), name="worker") if worker else None
    try:
        yield Running(base_url=base_url, worker=worker_task)
    finally:
        if runner is not None:
            await runner.cleanup()
        if worker_task is not None and not worker_task.done():
            worker_task.cancel()  # procrastinate turns cancellation into a graceful stop
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task


async def _serve(runtime: Runtime, *, web_app: web.Application | None, worker: bool) -> None:
    async with running(runtime, web_app=web_app, worker=worker) as started:
        stopped = asyncio.create_task(until_stopped())
        waiting: set[asyncio.Task[None]] = {stopped}
        if started.worker is not None:
            waiting.add(started.worker)
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if started.worker is not None and started.worker in done:
            started.worker.result()  # a worker that died on its own: surface why


async def serve_web(settings: Settings, database_url: str) -> None:
    async with open_runtime(settings, database_url) as runtime:
        app = create_app(settings, runtime=runtime)
        await _serve(runtime, web_app=app, worker=False)


async def serve_worker(settings: Settings, database_url: str) -> None:
    check_ingestion_settings(settings)  # a configuration error ends it before it starts
    async with open_runtime(settings, database_url) as runtime:
        await _serve(runtime, web_app=None, worker=True)


async def serve_all(settings: Settings, database_url: str) -> None:
    """Web and worker in one process, for hosts that run a single process."""
    check_ingestion_settings(settings)  # before the port is bound: nothing half-starts
    async with open_runtime(settings, database_url) as runtime:
        app = create_app(settings, runtime=runtime)
        await _serve(runtime, web_app=app, worker=True)
