"""The JSON error middleware: a Google failure that reaches it is never a 500."""

from __future__ import annotations

import pytest
from aiohttp import web

from ga4sync.errors import GoogleError, GoogleUnavailable
from ga4sync.web.errors import json_errors


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (
            GoogleUnavailable("Google's token endpoint could not be reached"),
            502,
            "google_unavailable",
        ),
        (GoogleUnavailable("did not answer within 1 s", timed_out=True), 504, "google_unavailable"),
        (GoogleError("Google answered without an access token"), 502, "google_error"),
    ],
)
async def test_google_failures_are_bad_gateway_answers(aiohttp_client, failure, status, code):
    async def handler(request: web.Request) -> web.Response:
        raise failure

    app = web.Application(middlewares=[json_errors])
    app.router.add_get("/", handler)
    response = await (await aiohttp_client(app)).get("/")
    assert response.status == status
    body = await response.json()
    assert body["error"] == code and str(failure) in body["message"]
