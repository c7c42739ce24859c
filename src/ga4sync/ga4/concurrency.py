"""Requests of one GA4 property in flight: how many GA4 allows, and gates that hold to it.

GA4 allows a standard property 10 concurrent requests and an Analytics 360 one 50
(the Admin API's ``serviceLevel``); the deployer's cap (``GA4_PROPERTY_CONCURRENCY``)
may allow fewer. Every runReport answer's ``propertyQuota.concurrentRequests`` says
more, but not the limit itself: a request holds nothing once answered (``consumed``
is 0) and ``remaining`` is the limit less the property's other requests in flight
when GA4 answered. So ``consumed + remaining`` equals the limit only when nothing
else was running. What one answer proves is a range: the limit is at least
``consumed + remaining``, and what is left of it to this client is at most that
plus this client's requests of the property that overlapped the answered one (a
request refused with a 429 held nothing). A request refused for concurrent
requests proves that no more are left to this client than its requests that
overlapped it. The allowance starts at the service level's figure and each
answer moves it just inside what it proves, so it never rises past what GA4
showed, and falls only as far as an answer or a refusal leaves room for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from ga4sync.ga4.service_level import concurrent_requests
from ga4sync.ga4.wire import QuotaStatus

logger = logging.getLogger(__name__)


class Gate:
    """At most ``limit()`` holders at once, let in first come first served. The limit
    may move at any time: after it rose, :meth:`reopen` lets waiters in."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.holders = 0

    async def __aenter__(self) -> None:
        if not self._waiters and self.holders < self._limit():
            self.holders += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Let in just as it was cancelled: pass the place on.
                self.holders -= 1
                self.reopen()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.holders -= 1
        self.reopen()

    def reopen(self) -> None:
        """Let waiters in while there is room."""
        limit = self._limit()
        while self._waiters and self.holders < limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self.holders += 1


@dataclass
class Attempt:
    """One request of the property: what was in flight when it started and, once GA4
    answered, how many of this client's other requests of the property may have held
    a place at GA4 while it was in flight."""

    others: int
    started_before: int
    refused_before: int
    overlapped: int | None = None


def allowance_after(allowed: int, answer: QuotaStatus, overlapped: int) -> int:
    """The allowance moved just inside what one answer proves: at least ``consumed +
    remaining``, at most that plus the ``overlapped`` requests of this client."""
    shown = answer.consumed + answer.remaining
    return min(max(allowed, shown), shown + overlapped)


class PropertyConcurrency:
    """One property's allowance of requests in flight, the gate its requests pass, and
    the counts that say how many of them overlapped an answer."""

    def __init__(self, property_id: str, cap: int, service_level: str | None = None) -> None:
        self.property_id = property_id
        self._cap = cap
        self._service_level = service_level
        self._learned: int | None = None
        self.requests = Gate(self.limit)
        self._followers: weakref.WeakSet[Gate] = weakref.WeakSet()
        self._started = 0
        self._refused = 0

    @property
    def allowed(self) -> int:
        """What GA4 allows the property as far as its answers say, else what its
        service level allows."""
        if self._learned is not None:
            return self._learned
        return concurrent_requests(self._service_level)

    def limit(self) -> int:
        """Requests of the property allowed in flight: GA4's allowance under the cap."""
        return max(1, min(self._cap, self.allowed))

    def set_service_level(self, service_level: str | None) -> None:
        """The service level stored for the property: what the allowance is until an
        answer says more."""
        self._service_level = service_level
        self._reopen()

    def follower(self, *, beyond: int = 0) -> Gate:
        """A gate of its own (chunks in progress, say) held to the same limit, or to
        ``beyond`` more holders than that."""
        gate = Gate(lambda: self.limit() + beyond)
        self._followers.add(gate)
        return gate

    @contextlib.asynccontextmanager
    async def attempt(self) -> AsyncIterator[Attempt]:
        """Hold a place for one request while it is in flight."""
        async with self.requests:
            attempt = Attempt(self.requests.holders - 1, self._started, self._refused)
            self._started += 1
            yield attempt

    def answered(self, attempt: Attempt, status: int) -> None:
        """GA4 answered ``attempt`` with ``status`` (called before its place is given up)."""
        started_since = self._started - attempt.started_before - 1
        refused_since = self._refused - attempt.refused_before
        attempt.overlapped = attempt.others + started_since - refused_since
        if status == 429:
            self._refused += 1

    def learn(self, attempt: Attempt, answer: QuotaStatus | None) -> None:
        """Move the allowance by the ``concurrentRequests`` of an answer to ``attempt``."""
        if answer is not None and attempt.overlapped is not None:
            self._move(allowance_after(self.allowed, answer, attempt.overlapped))

    def refused(self, attempt: Attempt) -> None:
        """GA4 refused ``attempt`` for exhausted concurrent requests."""
        if attempt.overlapped is not None:
            self._move(min(self.allowed, attempt.overlapped))

    def _move(self, after: int) -> None:
        before = self.allowed
        self._learned = after
        if after != before:
            logger.info(
                "GA4 property %s allows %d requests at once (was %d): up to %d in flight",
                self.property_id,
                after,
                before,
                min(self._cap, after),
                extra={"action": "ga4_concurrency"},
            )
            self._reopen()

    def _reopen(self) -> None:
        self.requests.reopen()
        for gate in list(self._followers):
            gate.reopen()
