"""One call to a GA4 REST API (Admin or Data) that answers a JSON object.

Network failures and 5xx are ``GoogleUnavailable`` (see ``google_http``); a 401
is ``GrantRevoked``; any other refusal is ``Ga4RequestError`` with Google's
status and message.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from ga4sync.errors import Ga4RequestError, GoogleError, GrantRevoked
from ga4sync.ga4.wire import parse_error
from ga4sync.google_http import google_request

# Google's APIs indent every JSON answer unless asked not to (a standard query
# parameter of them all): compact answers are under half the bytes to read and
# parse.
COMPACT_ANSWERS = {"prettyPrint": "false"}


async def call_ga4_api(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    access_token: str,
    *,
    endpoint: str,
    timeout_s: float,
    **kwargs: Any,
) -> dict[str, Any]:
    """The JSON object GA4 answered; ``endpoint`` names the API in error messages."""
    params = {**(kwargs.pop("params", None) or {}), **COMPACT_ANSWERS}
    status, payload = await google_request(
        session,
        method,
        url,
        endpoint=endpoint,
        timeout_s=timeout_s,
        headers={"Authorization": f"Bearer {access_token}"},
        params=params,
        **kwargs,
    )
    if status == 200:
        try:
            body = json.loads(payload)
        except ValueError:
            raise GoogleError(f"{endpoint} answered with something that is not JSON") from None
        return body if isinstance(body, dict) else {}
    google_status, message = parse_error(payload)
    if status == 401:
        raise GrantRevoked(f"{endpoint} rejected the access token: {message}")
    raise Ga4RequestError(
        f"{endpoint} answered {status} {google_status}: {message}",
        http_status=status,
        google_status=google_status,
    )
