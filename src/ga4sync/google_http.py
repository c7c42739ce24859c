"""One HTTP exchange with a Google endpoint over aiohttp, network failures translated.

The OAuth endpoints (code exchange, revocation) and the Admin API are called while a
user waits on a request of ours, so every call has a timeout, and a connection that
fails, a timeout and a 5xx all become ``GoogleUnavailable``: callers answer "Google
could not be reached" instead of failing in ways nobody can act on.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from ga4sync.errors import GoogleUnavailable

DEFAULT_TIMEOUT_S = 30.0


async def google_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    endpoint: str,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    **kwargs: Any,
) -> tuple[int, bytes]:
    """``(status, body)`` of a request that Google answered below 500.

    ``endpoint`` names the endpoint in error messages ("Google's token endpoint").
    """
    try:
        async with session.request(
            method, url, timeout=aiohttp.ClientTimeout(total=timeout_s), **kwargs
        ) as response:
            body = await response.read()
            status = response.status
    except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
        raise GoogleUnavailable(
            f"{endpoint} did not answer within {timeout_s:g} s", timed_out=True
        ) from exc
    except aiohttp.ClientError as exc:
        raise GoogleUnavailable(f"{endpoint} could not be reached: {exc}") from exc
    if status >= 500:
        raise GoogleUnavailable(f"{endpoint} failed with HTTP {status}")
    return status, body
