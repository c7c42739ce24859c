"""GA4's Realtime method (``runRealtimeReport``): requests out, answers in, and its quota.

Realtime is a quota category of its own in GA4: a realtime request spends the
property's realtime tokens, never the core tokens the syncs read reports with,
and its answer's ``propertyQuota`` tells the realtime buckets. This client keeps
apart from the core ``Ga4Client`` for that reason: it neither reads nor
updates the core quota figures the history reserve judges by, nor takes the
core requests-in-flight allowance of a property. A poll is not retried here: the
next one is a minute away.

Requests are built with the client library's own ``RunRealtimeReportRequest``
type; answers are parsed from plain JSON (proto3 JSON omits default values, so
every field is optional on the way in).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from google.analytics.data_v1beta.types import (
    Dimension,
    Metric,
    MinuteRange,
    RunRealtimeReportRequest,
)

from ga4sync.errors import (
    Ga4RequestError,
    Ga4Unavailable,
    GrantRevoked,
    PropertyAccessDenied,
    QuotaExhausted,
)
from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.api import COMPACT_ANSWERS
from ga4sync.ga4.wire import QuotaStatus, error_reason, parse_error, parse_quota
from ga4sync.reports.realtime import RealtimeSpec

# force_refresh -> access token
TokenSource = Callable[[bool], Awaitable[str]]

# Rows one answer may hold (GA4's most; realtime reports are small).
REALTIME_LIMIT = 250_000


def build_realtime_request(spec: RealtimeSpec, *, limit: int = REALTIME_LIMIT) -> dict[str, Any]:
    """The JSON body of the definition's runRealtimeReport request."""
    request = RunRealtimeReportRequest(
        property="properties/0",
        dimensions=[Dimension(name=name) for name in spec.dimensions],
        metrics=[Metric(name=name) for name in spec.metrics],
        minute_ranges=[
            MinuteRange(
                start_minutes_ago=r.start_minutes_ago,
                end_minutes_ago=r.end_minutes_ago,
                **({"name": r.name} if r.name is not None else {}),
            )
            for r in spec.minute_ranges
        ],
        limit=limit,
        return_property_quota=True,
    )
    body: dict[str, Any] = RunRealtimeReportRequest.to_dict(
        request,
        preserving_proto_field_name=False,
        use_integers_for_enums=False,
        always_print_fields_with_no_presence=False,
    )
    body.pop("property")  # bound in the URL path, not the body
    # 0 minutes ago is proto3's default, which to_dict leaves out: GA4 reads a
    # missing endMinutesAgo as 0 and a missing startMinutesAgo as 29, so a range
    # "from now back to now" must say its start.
    for sent, asked in zip(body.get("minuteRanges", []), spec.minute_ranges, strict=True):
        sent["startMinutesAgo"] = asked.start_minutes_ago
        sent["endMinutesAgo"] = asked.end_minutes_ago
    return body


@dataclass(frozen=True)
class RealtimeAnswer:
    """One runRealtimeReport answer: each row its dimension values (``dateRange``
    last when there are two minute ranges) then its metric values, as GA4 sent them."""

    dimension_names: list[str]
    metric_names: list[str]
    rows: list[list[str]]
    row_count: int
    quota: dict[str, QuotaStatus] = field(default_factory=dict)

    @property
    def tokens_consumed(self) -> int:
        status = self.quota.get("tokensPerDay")
        return status.consumed if status else 0

    def quota_json(self) -> dict[str, dict[str, int]]:
        return {
            name: {"consumed": status.consumed, "remaining": status.remaining}
            for name, status in self.quota.items()
        }


def parse_realtime_answer(body: bytes | str) -> RealtimeAnswer:
    data = json.loads(body)
    rows = [
        [d.get("value", "") for d in row.get("dimensionValues", ())]
        + [m.get("value", "") for m in row.get("metricValues", ())]
        for row in data.get("rows", ())
    ]
    return RealtimeAnswer(
        dimension_names=[h["name"] for h in data.get("dimensionHeaders", ())],
        metric_names=[h["name"] for h in data.get("metricHeaders", ())],
        rows=rows,
        row_count=int(data.get("rowCount", 0)),
        quota=parse_quota(data.get("propertyQuota")),
    )


class RealtimeClient:
    """runRealtimeReport over aiohttp, at most ``max_concurrency`` requests at once."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout_s: float,
        max_concurrency: int = 8,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_concurrency)

    async def run(
        self, property_id: str, body: Mapping[str, Any], token: TokenSource
    ) -> RealtimeAnswer:
        """One realtime report. A 401 is tried once more with a refreshed token; a 429
        is ``QuotaExhausted`` only when its message names the quota (the caller
        judges the others by the realtime quota it last saw, ``RealtimeRefused``);
        other failures raise as the core client's do, without retries."""
        url = f"{self._base_url}/v1beta/properties/{property_id}:runRealtimeReport"
        force_refresh = False
        for _attempt in range(2):
            access_token = await token(force_refresh)
            try:
                async with (
                    self._slots,
                    self._session.post(
                        url,
                        params=COMPACT_ANSWERS,
                        json=dict(body),
                        headers={"Authorization": f"Bearer {access_token}"},
                        timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                    ) as response,
                ):
                    status = response.status
                    payload = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise Ga4Unavailable(
                    f"GA4 realtime of property {property_id}: network error: {exc!r}"
                ) from exc
            if status == 200:
                return parse_realtime_answer(payload)
            google_status, message = parse_error(payload)
            if status == 401 and not force_refresh:
                force_refresh = True  # revoked or expired early: refresh once
                continue
            if status == 401:
                raise GrantRevoked(f"GA4 rejected a fresh access token: {message}")
            if status == 429:
                raise RealtimeRefused(message)
            if status >= 500:
                raise Ga4Unavailable(
                    f"GA4 realtime of property {property_id}: {status} {google_status}: {message}"
                )
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
        raise AssertionError("unreachable")  # pragma: no cover


class RealtimeRefused(Exception):
    """GA4 answered 429 RESOURCE_EXHAUSTED to a realtime request (``message``: why)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- the realtime quota ------------------------------------------------------------------


@dataclass(frozen=True)
class RealtimePause:
    """Polling waits until ``until``: one of the property's realtime buckets is low."""

    until: datetime
    reason: str


def realtime_pause(
    remaining: Mapping[str, int], seen_at: datetime, *, reserve: float
) -> RealtimePause | None:
    """Whether a realtime ``propertyQuota`` (name -> remaining, seen at ``seen_at``)
    calls for polls to wait: a token bucket with less than ``reserve`` of its size
    left, or a quota that blocks every request at zero. They wait for the bucket's
    window to return (the next hour, or midnight Pacific for the day's tokens);
    the longest wait wins."""
    found: list[RealtimePause] = []
    for name, (quota, standard, premium) in quota_policy.TOKEN_BUCKETS.items():
        left = remaining.get(name)
        if left is None:
            continue
        size = standard if left <= standard else premium
        keep = int(reserve * size)
        if left <= 0 or left < keep:
            wait = quota_policy.seconds_until_quota_returns(quota, seen_at)
            found.append(
                RealtimePause(
                    seen_at + timedelta(seconds=wait),
                    f"realtime {name} has {left} left (keeping {keep})",
                )
            )
    spent = quota_policy.spent_quota(
        {n: v for n, v in remaining.items() if n not in quota_policy.TOKEN_BUCKETS}
    )
    if spent is not None:
        wait = quota_policy.seconds_until_quota_returns(spent, seen_at)
        found.append(
            RealtimePause(seen_at + timedelta(seconds=wait), f"realtime {spent} quota spent")
        )
    return max(found, key=lambda p: p.until, default=None)


def judge_refusal(
    message: str, snapshot: quota_policy.QuotaSnapshot | None, now: datetime
) -> QuotaExhausted | None:
    """What a realtime 429 means, judged by its message and by the property's last
    realtime ``propertyQuota`` (``snapshot``), never by the core one: a spent quota
    (``QuotaExhausted``, with when it returns), or None for a passing refusal
    (concurrent requests, or nothing saying a quota is spent)."""
    return quota_policy.judge_exhausted(message, snapshot, now)
