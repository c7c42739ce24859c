"""The aiohttp application key under which routes find their FakeGoogle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .fake import FakeGoogle

FAKE_KEY: web.AppKey[FakeGoogle] = web.AppKey("fake_google")
