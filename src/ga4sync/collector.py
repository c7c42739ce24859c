"""Python's cycle collector in a process that reads GA4 pages.

A page parses into hundreds of thousands of containers (dicts, lists, tuples),
none of them in a cycle. With Python's default thresholds a young collection
starts every 700 of them, and the rows a read keeps until they are stored are
promoted and walked again and again: a third of a sync's client CPU. Measured
with ``python -m bench.backfill`` (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# Containers allocated (less those freed) between young collections; Python's is 700.
YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """For a process once it has started: what its imports made stays out of every
    collection (``gc.freeze``), and young collections start every
    ``YOUNG_THRESHOLD`` containers. Cyclic garbage lives a little longer; nothing
    else changes."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector paused while a page parses: the JSON tree it builds is freed
    before the parse returns, so no collection needs to walk it. One the program
    paused stays paused."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
