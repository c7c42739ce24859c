"""Waiting in tests for a condition, not for a fixed time: poll until it holds,
fail with what was awaited once a generous deadline passes."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE_S = 30.0


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    what: str,
    *,
    timeout_s: float = DEADLINE_S,
    interval_s: float = 0.01,
) -> T:
    """The first truthy value of ``condition()`` (a function or a coroutine function)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = condition()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"still waiting after {timeout_s:.0f}s for {what}")
        await asyncio.sleep(interval_s)
