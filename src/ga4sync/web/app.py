"""The aiohttp application: routes, CORS, JSON errors and the runtime's lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp_cors
from aiohttp import web

from ga4sync.runtime import Runtime, open_runtime
from ga4sync.settings import Settings
from ga4sync.sync.google_accounts import GoogleAccounts
from ga4sync.sync.report_rows import ReportRows
from ga4sync.web import common, connections, handlers, metrics, rows, status_page
from ga4sync.web.auth import Authenticator
from ga4sync.web.errors import json_errors

_ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-CRON-TOKEN")


def create_app(
    settings: Settings, database_url: str | None = None, *, runtime: Runtime | None = None
) -> web.Application:
    """The web app. It opens its own runtime on ``database_url`` unless one is given
    (``ga4sync serve`` shares one with the worker)."""
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[common.SETTINGS] = settings
    app[common.AUTH] = Authenticator(settings)
    app[status_page.PAGE] = status_page.render(settings)
    app[handlers.HEALTH_LOG] = handlers.HealthLog()

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if runtime is not None:
            _bind(app, runtime)
            yield
            return
        if database_url is None:
            raise ValueError("create_app needs a database_url or a runtime")
        async with open_runtime(settings, database_url) as opened:
            _bind(app, opened)
            yield

    app.cleanup_ctx.append(lifecycle)
    # GET routes answer HEAD too: a HEAD probe of /daily (UptimeRobot's default)
    # triggers the run like GET does, without a body.
    app.router.add_post("/v1/sync/ga4/run", handlers.run_sync)
    app.router.add_get("/v1/sync/ga4/job/{job_id}", handlers.get_job)
    app.router.add_get("/v1/sync/ga4/meta", handlers.get_meta)
    app.router.add_get("/v1/sync/ga4/history", handlers.list_history)
    app.router.add_get("/v1/properties", handlers.list_properties)
    app.router.add_get("/v1/reports", handlers.list_reports)
    app.router.add_get("/v1/reports/{report}/rows", rows.report_rows)
    app.router.add_get("/v1/realtime", rows.list_realtime)
    app.router.add_get("/v1/realtime/{name}/rows", rows.realtime_rows)
    app.router.add_patch("/v1/properties/{property_id}", connections.patch_property)
    app.router.add_get("/v1/properties/{property_id}/runs", handlers.list_property_runs)
    app.router.add_get("/v1/properties/{property_id}/chart", handlers.get_property_chart)
    app.router.add_post("/v1/properties/{property_id}/resync", handlers.resync_property)
    app.router.add_get("/v1/connections/google/start", connections.start)
    app.router.add_get("/v1/connections/google/callback", connections.callback)
    app.router.add_post("/v1/connections/google/complete", connections.complete)
    app.router.add_post("/v1/connections/google/tokens", connections.import_tokens)
    app.router.add_delete("/v1/connections/google", connections.disconnect)
    app.router.add_get("/v1/sync/ga4/daily", handlers.daily)
    app.router.add_post("/v1/sync/ga4/daily", handlers.daily)
    app.router.add_get("/healthz", handlers.healthz)
    app.router.add_get("/metrics", metrics.metrics)
    app.router.add_get("/", status_page.serve)
    app.router.add_get("/status", status_page.serve)
    app.router.add_get("/favicon.ico", status_page.favicon)
    app.router.add_get("/openapi.json", handlers.openapi)
    _add_cors(app, list(app.router.routes()), settings.cors_origins)
    return app


def _bind(app: web.Application, runtime: Runtime) -> None:
    app[common.SERVICE] = runtime.sync
    app[common.POOL] = runtime.pool
    # A CSV export holds a connection while its client reads: leave the other half
    # of the pool to every other request.
    settings = app[common.SETTINGS]
    app[common.ROWS] = ReportRows(
        runtime.pool,
        settings.reports,
        max_exports=max(1, runtime.pool.get_max_size() // 2),
        max_exports_per_user=settings.exports_per_user,
    )
    # The app's own settings: a web process may be configured beyond the runtime's.
    app[connections.ACCOUNTS] = GoogleAccounts(
        runtime.pool, settings, now=runtime.now, first_sync=runtime.sync
    )


def _add_cors(
    app: web.Application, routes: list[web.AbstractRoute], origins: tuple[str, ...]
) -> None:
    """CORS for the configured frontend origins on every route, preflight included;
    other origins get no CORS headers at all."""
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=False,
        expose_headers="*",
        allow_headers=_ALLOWED_HEADERS,
        allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
        max_age=3600,
    )
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in routes:
        if route.method != "OPTIONS":
            cors.add(route)
