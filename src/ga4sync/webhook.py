"""Posting alerts to a Slack/Teams-compatible incoming webhook. Never raises."""

from __future__ import annotations

import logging

import aiohttp

logger = logging.getLogger(__name__)


class Webhook:
    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def post(self, text: str) -> bool:
        """Send ``{"text": ...}``; a failing webhook is logged, never raised: an alert
        that cannot be delivered must not break the sync that raised it."""
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(self._url, json={"text": text}) as response:
                    if response.status < 300:
                        return True
                    logger.warning(
                        "alert webhook answered %d",
                        response.status,
                        extra={"action": "alert_failed"},
                    )
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning("alert webhook unreachable: %r", exc, extra={"action": "alert_failed"})
        return False
