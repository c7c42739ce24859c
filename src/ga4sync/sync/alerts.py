"""When to alert: once when a failure streak reaches the threshold, once when it heals."""

from __future__ import annotations

import logging
from typing import Protocol

from ga4sync.settings import Settings
from ga4sync.webhook import Webhook

logger = logging.getLogger(__name__)


class AlertSink(Protocol):
    async def post(self, text: str) -> bool: ...


class Alerts:
    """Alerts for properties and for the daily run (``sink`` None: alerts are off)."""

    def __init__(self, sink: AlertSink | None, threshold: int) -> None:
        self._sink = sink
        self._threshold = threshold

    def message_for(self, what: str, before: int, after: int, error: str | None) -> str | None:
        """The alert a streak change calls for, if any."""
        if after >= self._threshold > before:
            return (
                f":rotating_light: ga4sync: {what} failed {after} times in a row. "
                f"Last error: {error or 'unknown'}"
            )
        if after == 0 and before >= self._threshold:
            return f":white_check_mark: ga4sync: {what} is syncing again after {before} failures."
        return None

    async def streak_changed(self, what: str, before: int, after: int, error: str | None) -> None:
        text = self.message_for(what, before, after, error)
        if text is None:
            return
        logger.warning(text, extra={"action": "alert"})
        if self._sink is not None:
            await self._sink.post(text)


def alerts_from_settings(settings: Settings) -> Alerts:
    """Alerts as configured: posted to ALERT_WEBHOOK_URL, or only logged."""
    sink = Webhook(settings.alert_webhook_url) if settings.alert_webhook_url else None
    return Alerts(sink, settings.alert_failure_threshold)
