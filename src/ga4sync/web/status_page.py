"""The status page: its HTML with this deployment's Google consent URL in it, served
under a Content-Security-Policy that lets it do only what it needs.

The page holds a Supabase access token, so what it may load and where it may send
things are pinned by the server: its one inline script and one inline style by their
SHA-256 (computed here from the file, so editing the page cannot leave a stale hash),
requests only to this origin, no frames, forms, base URL or outside resources. The
page itself follows a consent URL only when it leads to the GOOGLE_AUTH_URI written
into it here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from ga4sync.settings import GOOGLE_AUTH_URI, Settings

_PAGE = Path(__file__).parent / "static" / "status.html"
_AUTH_META = '<meta name="ga4sync-google-auth" content="{}">'
_INLINE = {kind: re.compile(rf"<{kind}>(.*?)</{kind}>", re.S) for kind in ("script", "style")}


@dataclass(frozen=True)
class StatusPage:
    body: bytes
    headers: dict[str, str]


PAGE = web.AppKey("status_page", StatusPage)


def _source_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(page: str) -> str:
    """The policy for ``page``: its inline script and style by hash, nothing else
    from anywhere but requests to this origin."""
    sources = {
        kind: " ".join(_source_hash(block) for block in pattern.findall(page)) or "'none'"
        for kind, pattern in _INLINE.items()
    }
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {sources['script']}",
            f"style-src {sources['style']}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def render(settings: Settings) -> StatusPage:
    """The page as this deployment serves it, and its headers."""
    page = _PAGE.read_text(encoding="utf-8")
    default = _AUTH_META.format(GOOGLE_AUTH_URI)
    if default not in page:
        raise RuntimeError(f"{_PAGE} lost its {default!r}")
    page = page.replace(default, _AUTH_META.format(html.escape(settings.google_auth_uri)))
    return StatusPage(
        body=page.encode("utf-8"),
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": content_security_policy(page),
            "X-Content-Type-Options": "nosniff",
            # The page's URL can hold a one-time consent code: never in a Referer.
            "Referrer-Policy": "no-referrer",
        },
    )


async def serve(request: web.Request) -> web.Response:
    """GET / — the status page (plain HTML and a little JS; it calls the API)."""
    page = request.app[PAGE]
    return web.Response(
        body=page.body, content_type="text/html", charset="utf-8", headers=page.headers
    )


# The page's icon: a small bar chart, drawn inline (no file to ship or fetch elsewhere).
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="6" fill="#175cd3"/>'
    b'<rect x="7" y="17" width="4" height="8" fill="#fff"/>'
    b'<rect x="14" y="11" width="4" height="14" fill="#fff"/>'
    b'<rect x="21" y="6" width="4" height="19" fill="#fff"/>'
    b"</svg>"
)
FAVICON_HEADERS = {
    "Cache-Control": "public, max-age=86400",
    "X-Content-Type-Options": "nosniff",
}


async def favicon(request: web.Request) -> web.Response:
    """GET /favicon.ico — the status page's icon (SVG), cached for a day."""
    return web.Response(body=FAVICON, content_type="image/svg+xml", headers=FAVICON_HEADERS)
