"""Requests of one GA4 property in flight: gates, the service level's allowance and what
answers prove about the limit."""

from __future__ import annotations

import asyncio

import pytest

from ga4sync.ga4.concurrency import Gate, PropertyConcurrency, allowance_after
from ga4sync.ga4.service_level import (
    ANALYTICS_360,
    STANDARD,
    concurrent_requests,
    parse_service_level,
)
from ga4sync.ga4.wire import QuotaStatus

from ..waiting import eventually


def test_service_levels_as_the_admin_api_names_them():
    assert parse_service_level("GOOGLE_ANALYTICS_360") == ANALYTICS_360
    assert parse_service_level("GOOGLE_ANALYTICS_STANDARD") == STANDARD
    assert parse_service_level("SERVICE_LEVEL_UNSPECIFIED") is None
    assert parse_service_level(None) is None and parse_service_level(2) is None
    assert (concurrent_requests(STANDARD), concurrent_requests(ANALYTICS_360)) == (10, 50)
    assert concurrent_requests(None) == 10


@pytest.mark.parametrize(
    ("service_level", "cap", "limit"),
    [(STANDARD, 20, 10), (None, 20, 10), (ANALYTICS_360, 20, 20), (ANALYTICS_360, 50, 50)],
)
def test_the_limit_is_what_ga4_allows_under_the_cap(service_level, cap, limit):
    assert PropertyConcurrency("1", cap, service_level).limit() == limit


@pytest.mark.parametrize(
    ("allowed", "consumed", "remaining", "overlapped", "after"),
    [
        (10, 0, 10, 0, 10),  # alone: the limit itself
        (10, 0, 1, 9, 10),  # nine others in flight: consistent with 10, kept
        (10, 0, 50, 0, 50),  # more than the service level's: a 360 property
        (10, 0, 41, 9, 41),  # at least 41, and nothing says more yet
        (10, 0, 3, 0, 3),  # alone and only 3: held to 3
        (10, 0, 2, 1, 3),  # one other of ours: at most 3 left to us
        (4, 0, 4, 2, 4),  # two others may not have been in flight at GA4: not raised
        (10, 0, 0, 0, 0),  # nothing left, nothing of ours running: others hold it all
    ],
)
def test_an_answer_moves_the_allowance_only_as_far_as_it_proves(
    allowed, consumed, remaining, overlapped, after
):
    assert allowance_after(allowed, QuotaStatus(consumed, remaining), overlapped) == after


async def test_a_gate_lets_in_first_come_first_served_and_follows_its_limit():
    limit = 2
    gate = Gate(lambda: limit)
    order: list[int] = []
    release = asyncio.Event()

    async def hold(n: int) -> None:
        async with gate:
            order.append(n)
            await release.wait()

    tasks = [asyncio.create_task(hold(n)) for n in range(5)]
    await eventually(lambda: order == [0, 1], "two let in")
    limit = 4
    gate.reopen()
    await eventually(lambda: order == [0, 1, 2, 3], "two more once the limit rose")
    assert gate.holders == 4
    limit = 1
    release.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4] and gate.holders == 0


async def test_a_waiter_cancelled_leaves_no_place_taken():
    gate = Gate(lambda: 1)
    await gate.__aenter__()
    cancelled_waiting = asyncio.create_task(gate.__aenter__())
    cancelled_let_in = asyncio.create_task(gate.__aenter__())
    last = asyncio.create_task(gate.__aenter__())
    await asyncio.sleep(0)  # all three wait at the gate
    cancelled_waiting.cancel()
    await gate.__aexit__(None, None, None)  # the place goes to the next in line...
    cancelled_let_in.cancel()  # ...cancelled before it could take it: passed on
    for task in (cancelled_waiting, cancelled_let_in):
        with pytest.raises(asyncio.CancelledError):
            await task
    await last
    assert gate.holders == 1
    await gate.__aexit__(None, None, None)
    assert gate.holders == 0


async def test_overlapping_requests_bound_what_an_answer_proves():
    concurrency = PropertyConcurrency("1", cap=50)
    # Four requests at once; the two started last are refused for concurrency.
    places = [concurrency.attempt() for _ in range(4)]
    first, second, third, fourth = [await place.__aenter__() for place in places]
    concurrency.answered(third, 429)
    concurrency.refused(third)
    assert concurrency.allowed == 3  # refused while three others of ours were in flight
    await places[2].__aexit__(None, None, None)
    concurrency.answered(fourth, 429)
    concurrency.refused(fourth)
    assert concurrency.allowed == 2  # the third held nothing: two were running
    await places[3].__aexit__(None, None, None)
    # The first answer: one other (the second) may have been in flight at GA4.
    concurrency.answered(first, 200)
    assert first.overlapped == 1
    concurrency.learn(first, QuotaStatus(0, 1))
    assert concurrency.allowed == 2
    await places[0].__aexit__(None, None, None)
    concurrency.answered(second, 200)
    assert second.overlapped == 1  # the first, answered while it was in flight
    concurrency.learn(second, QuotaStatus(0, 2))
    await places[1].__aexit__(None, None, None)
    assert (concurrency.allowed, concurrency.limit()) == (2, 2)

    # Alone, an answer shows the whole limit.
    async with concurrency.attempt() as alone:
        concurrency.answered(alone, 200)
    assert alone.overlapped == 0
    concurrency.learn(alone, QuotaStatus(0, 10))
    assert concurrency.allowed == 10


async def test_an_answer_without_concurrent_requests_changes_nothing():
    concurrency = PropertyConcurrency("1", cap=20, service_level=ANALYTICS_360)
    async with concurrency.attempt() as attempt:
        concurrency.answered(attempt, 200)
    concurrency.learn(attempt, None)
    assert concurrency.limit() == 20
    concurrency.set_service_level(STANDARD)
    assert concurrency.limit() == 10


async def test_followers_are_let_in_when_the_allowance_rises():
    concurrency = PropertyConcurrency("1", cap=20, service_level=STANDARD)
    chunks = concurrency.follower()
    release = asyncio.Event()
    inside = 0

    async def chunk() -> None:
        nonlocal inside
        async with chunks:
            inside += 1
            await release.wait()

    tasks = [asyncio.create_task(chunk()) for _ in range(25)]
    await eventually(lambda: inside == 10, "a standard property's ten")
    async with concurrency.attempt() as attempt:
        concurrency.answered(attempt, 200)
    concurrency.learn(attempt, QuotaStatus(0, 50))  # GA4 shows a 360 property
    await eventually(lambda: inside == 20, "up to the cap")
    release.set()
    await asyncio.gather(*tasks)
