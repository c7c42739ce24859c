"""A server for bench/api.py, in its own process: the real web app, or a bare handler."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web


async def _constant(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "bare":
        app = web.Application()
        app.router.add_get("/", _constant)
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
        return
    from ga4sync.processes import serve_web
    from ga4sync.settings import Settings

    settings = Settings.from_env()
    assert settings.database_url
    asyncio.run(serve_web(settings, settings.database_url))


if __name__ == "__main__":
    main()
