"""The long-running processes: ``web``, ``worker`` and ``serve`` (both in one process).

Each runs until SIGTERM or SIGINT. The web server stops accepting requests and
finishes those in flight; the worker stops taking jobs and gives running ones
``WORKER_SHUTDOWN_TIMEOUT_S`` to finish, after which they are aborted and
retried by the next worker, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from ga4sync.runtime import Runtime, open_runtime, run_worker
from ga4sync.settings import Settings
from ga4sync.web.app import create_app

logger = logging.getLogger(__name__)


async def _until_stopped() -> None:
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


async def _start_site(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=10.0)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    logger.info("web listening on http://0.0.0.0:%d", port, extra={"action": "web_started"})
    return runner


async def _stop_worker(task: asyncio.Task[None]) -> None:
    task.cancel()  # procrastinate turns cancellation into a graceful stop
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _run_until_stopped(
    runtime: Runtime, *, web_app: web.Application | None, worker: bool
) -> None:
    runner = await _start_site(web_app, runtime.settings.port) if web_app is not None else None
    worker_task = (
        asyncio.create_task(run_worker(runtime, install_signal_handlers=False), name="worker")
        if worker
        else None
    )
    stopped = asyncio.create_task(_until_stopped())
    try:
        waiting = {stopped} | ({worker_task} if worker_task else set())
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if worker_task in done:
            worker_task.result()  # a worker that died on its own: surface why
    finally:
        stopped.cancel()
        if runner is not None:
            await runner.cleanup()
        if worker_task is not None and not worker_task.done():
            await _stop_worker(worker_task)


async def serve_web(settings: Settings, database_url: str) -> None:
    async with open_runtime(settings, database_url) as runtime:
        app = create_app(settings, runtime=runtime)
        await _run_until_stopped(runtime, web_app=app, worker=False)


async def serve_worker(settings: Settings, database_url: str) -> None:
    async with open_runtime(settings, database_url) as runtime:
        await _run_until_stopped(runtime, web_app=None, worker=True)


async def serve_all(settings: Settings, database_url: str) -> None:
    """Web and worker in one process, for hosts that run a single process."""
    async with open_runtime(settings, database_url) as runtime:
        app = create_app(settings, runtime=runtime)
        await _run_until_stopped(runtime, web_app=app, worker=True)
