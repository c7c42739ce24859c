"""Posting alerts to a Slack/Teams-compatible incoming webhook. Never raises.

Alert text carries names and error messages ga4sync does not control (a
property's display name is whatever its owner typed at Google). Slack reads
``<!channel>``, ``<@U123>`` and ``<url|text>`` in a message as a ping, a mention
and a link, so the text is escaped as Slack's formatting reference says: ``&``,
``<`` and ``>`` become ``&amp;``, ``&lt;`` and ``&gt;``, which Slack shows as
the characters themselves.
"""

from __future__ import annotations

import logging

import aiohttp

logger = logging.getLogger(__name__)


def slack_escape(text: str) -> str:
    """``text`` shown as is by Slack: no mention, ping or link can be formed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Webhook:
    def __init__(self, url: str, *, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def post(self, text: str) -> bool:
        """Send ``{"text": ...}`` (escaped); a failing webhook is logged, never raised: an alert
        that cannot be delivered must not break the sync that raised it."""
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(self._url, json={"text": slack_escape(text)}) as response:
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
