"""The GA4 Data API client: runReport over aiohttp, bounded concurrency, retries, paging.

Concurrency is bounded twice: by ``max_concurrency`` across all properties and,
for each property, by what GA4 allows it (10, 50 on Analytics 360, or fewer as
its answers show; see ``concurrency``) under the cap ``property_concurrency``. Transient
failures (5xx, network, a concurrent-requests 429, a 429 that names no quota
while nothing shows one spent) are retried with jittered exponential backoff.
A spent quota (named by the 429, or at zero in the last ``propertyQuota`` this
client saw for the property) is not waited for here but raised as
``QuotaExhausted`` with the time it returns; so is a 429 naming no quota that
outlasts the retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp

from ga4sync.clock import Clock, utcnow
from ga4sync.errors import (
    Ga4RequestError,
    Ga4Unavailable,
    GrantRevoked,
    PropertyAccessDenied,
    QuotaExhausted,
)
from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.api import COMPACT_ANSWERS
from ga4sync.ga4.concurrency import PropertyConcurrency
from ga4sync.ga4.wire import ReportPage, build_request, error_reason, parse_error, parse_page
from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings

logger = logging.getLogger(__name__)

# force_refresh -> access token
TokenSource = Callable[[bool], Awaitable[str]]

_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_PARSE_IN_THREAD_BYTES = 1 << 20  # parse big pages off the event loop
# Answers read and parsed at once. A request waiting for GA4 holds no memory; an
# answer being read and parsed holds its bytes and their JSON at once (about
# 10 MB for a page of 25,000 rows), and parsing holds the GIL, so more at once
# gains nothing: requests in flight can be many while memory stays bounded
# (docs/queue.md, "Requests in flight").
_PAGES_READ_AT_ONCE = 4


@dataclass(frozen=True)
class ClientLimits:
    max_concurrency: int = 10
    # The deployer's cap per property; GA4's own limit for the property may be lower.
    property_concurrency: int = 3
    max_retries: int = 5
    retry_base_s: float = 1.0
    timeout_s: float = 120.0
    page_size: int = 25_000

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientLimits:
        return cls(
            max_concurrency=settings.ga4_max_concurrency,
            property_concurrency=settings.ga4_property_concurrency,
            max_retries=settings.ga4_max_retries,
            retry_base_s=settings.ga4_retry_base_s,
            timeout_s=settings.ga4_request_timeout_s,
            page_size=settings.ga4_page_size,
        )


class Ga4Client:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        limits: ClientLimits,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Clock = utcnow,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._limits = limits
        self._all = asyncio.Semaphore(limits.max_concurrency)
        self._reading = asyncio.Semaphore(_PAGES_READ_AT_ONCE)
        self._per_property: dict[str, PropertyConcurrency] = {}
        # The last propertyQuota each property's answers carried: what a 429 that
        # names no quota is judged by.
        self._last_quota: dict[str, quota_policy.QuotaSnapshot] = {}
        self._sleep = sleep
        self._now = now

    def property_concurrency(self, property_id: str) -> PropertyConcurrency:
        """How many requests of the property may be in flight, and the gate they pass."""
        concurrency = self._per_property.get(property_id)
        if concurrency is None:
            concurrency = PropertyConcurrency(property_id, self._limits.property_concurrency)
            self._per_property[property_id] = concurrency
        return concurrency

    def last_quota(self, property_id: str) -> quota_policy.QuotaSnapshot | None:
        """The last ``propertyQuota`` GA4 sent for the property, and when."""
        return self._last_quota.get(property_id)

    def _seen(self, property_id: str, page: ReportPage) -> ReportPage:
        if page.quota:
            self._last_quota[property_id] = quota_policy.QuotaSnapshot(
                seen_at=self._now(),
                remaining={name: status.remaining for name, status in page.quota.items()},
            )
        return page

    async def report_pages(
        self,
        property_id: str,
        spec: ReportSpec,
        start_date: date,
        end_date: date,
        token: TokenSource,
    ) -> AsyncIterator[ReportPage]:
        """Every page of one report, in order, until ``rowCount`` rows were read."""
        body = build_request(
            property_id, spec, start_date, end_date, page_size=self._limits.page_size
        )
        offset = 0
        while True:
            if offset:
                body["offset"] = str(offset)
            page = await self.run_report(property_id, body, token)
            yield page
            offset += page.rows_read
            if not page.rows_read or offset >= page.row_count:
                return

    async def run_report(
        self, property_id: str, body: dict[str, Any], token: TokenSource
    ) -> ReportPage:
        """One runReport call, retried as the error calls for."""
        url = f"{self._base_url}/v1beta/properties/{property_id}:runReport"
        concurrency = self.property_concurrency(property_id)
        attempt = 0
        refreshed = False
        force_refresh = False
        while True:
            access_token = await token(force_refresh)
            force_refresh = False
            unnamed_quota = False
            try:
                async with concurrency.attempt() as in_flight, self._all:
                    async with self._session.post(
                        url,
                        params=COMPACT_ANSWERS,
                        json=body,
                        headers={"Authorization": f"Bearer {access_token}"},
                        timeout=aiohttp.ClientTimeout(total=self._limits.timeout_s),
                    ) as response:
                        status = response.status
                        async with self._reading:
                            payload = await response.read()
                            page = await _parse(payload) if status == 200 else None
                    concurrency.answered(in_flight, status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = f"network error: {exc!r}"
            else:
                if page is not None:
                    concurrency.learn(in_flight, page.quota.get("concurrentRequests"))
                    return self._seen(property_id, page)
                google_status, message = parse_error(payload)
                if status == 401 and not refreshed:
                    # The access token was revoked or expired early: refresh once.
                    refreshed = force_refresh = True
                    continue
                if status == 401:
                    raise GrantRevoked(f"GA4 rejected a fresh access token: {message}")
                if status == 429:
                    exhausted = quota_policy.judge_exhausted(
                        message, self.last_quota(property_id), self._now()
                    )
                    if exhausted is not None:
                        raise exhausted
                    failure = message
                    named = quota_policy.classify_exhausted(message)
                    if named == quota_policy.CONCURRENT:
                        concurrency.refused(in_flight)
                    unnamed_quota = named is None
                elif status not in _TRANSIENT_STATUSES:
                    # A 403 with no ErrorInfo is GA4 refusing this grant the property;
                    # with one it is about the project or the token as a whole (API
                    # disabled, scope missing), not the user's access to the property.
                    denied = (
                        status == 403
                        and google_status == "PERMISSION_DENIED"
                        and error_reason(payload) is None
                    )
                    raise (PropertyAccessDenied if denied else Ga4RequestError)(
                        f"GA4 answered {status} {google_status}: {message}",
                        http_status=status,
                        google_status=google_status,
                    )
                else:
                    failure = f"{status} {google_status}: {message}"
            if attempt >= self._limits.max_retries:
                if unnamed_quota:
                    # Refused for a quota to the last retry: deferred like a spent one.
                    raise QuotaExhausted(
                        f"GA4 quota exhausted for property {property_id}: still refused"
                        f" after {attempt + 1} attempts, and the answer names no quota: {failure}",
                        quota=quota_policy.UNNAMED,
                        retry_after_s=quota_policy.seconds_until_quota_returns(
                            quota_policy.UNNAMED, self._now()
                        ),
                    )
                raise Ga4Unavailable(
                    f"GA4 property {property_id} still failing after "
                    f"{attempt + 1} attempts: {failure}"
                )
            delay = quota_policy.backoff_s(attempt, self._limits.retry_base_s)
            logger.warning(
                "GA4 property %s: %s; retry %d in %.1fs",
                property_id,
                failure,
                attempt + 1,
                delay,
                extra={"action": "ga4_retry"},
            )
            attempt += 1
            await self._sleep(delay)


async def _parse(payload: bytes) -> ReportPage:
    if len(payload) > _PARSE_IN_THREAD_BYTES:
        return await asyncio.to_thread(parse_page, payload)
    return parse_page(payload)
