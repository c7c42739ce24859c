"""The status page as the server renders it: the configured consent screen written
into it, and a policy that names exactly its own inline script and style."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace

from ga4sync.settings import Settings
from ga4sync.web.status_page import render


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_policy_names_the_pages_own_script_and_style_and_nothing_else():
    page = render(Settings())
    html = page.body.decode()
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )
    assert policy == {
        "default-src": "'none'",
        "script-src": _sha256(script),
        "style-src": _sha256(style),
        "connect-src": "'self'",
        "img-src": "'self' data:",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # Nothing a policy by hash would not cover: no handler or style in an attribute.
    assert not re.search(r"\s(on[a-z]+|style)=", html)
    assert "<script src" not in html and "<link" not in html


def test_the_configured_consent_screen_is_written_into_the_page():
    default = render(Settings()).body.decode()
    assert (
        '<meta name="ga4sync-google-auth" content="https://accounts.google.com/o/oauth2/v2/auth">'
        in default
    )
    fake = render(replace(Settings(), google_auth_uri='http://127.0.0.1:9/auth?a=1&b="x"'))
    assert (
        '<meta name="ga4sync-google-auth" content="http://127.0.0.1:9/auth?a=1&amp;b=&quot;x&quot;">'
        in fake.body.decode()
    )
    # The API is the page's own origin unless a hosted copy names another.
    assert '<meta name="ga4sync-api" content="">' in default
    assert "?api=" not in default and 'get("api")' not in default
