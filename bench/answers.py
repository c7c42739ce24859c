"""Answer format benchmark: one page of a large report, as Google sends it
indented by default and compact when asked (``prettyPrint=false``), and what
parsing it costs with each JSON parser installed here.

    python -m bench.answers [--rows 25000]

The page is the ingest benchmark's report (date x pagePath, five metrics) from
the fake Google in its own process, ``--rows`` rows (GA4_PAGE_SIZE's default).
Baseline: the indented page parsed with the standard library's ``json``, the
cycle collector running. Each parser is also measured with the collector paused,
as ga4sync parses a page (ga4sync/collector.py). orjson and msgspec are measured
when they are installed (``pip install orjson msgspec``); ga4sync itself uses
``json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.common import fake_google_process
from bench.ingest import CARDINALITY, PROPERTY_ID, REPORT, access_token, report_window
from ga4sync.collector import collector_paused
from ga4sync.ga4.api import COMPACT_ANSWERS
from ga4sync.ga4.wire import build_request


def parsers() -> dict[str, Callable[[bytes], Any]]:
    found: dict[str, Callable[[bytes], Any]] = {"json": json.loads}
    for name, attribute in (("orjson", "loads"), ("msgspec", "json.decode")):
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue
        for part in attribute.split("."):
            module = getattr(module, part)
        found[name] = module
    return found


def best_of(
    parse: Callable[[bytes], Any], payload: bytes, times: int = 5, *, paused: bool = True
) -> float:
    """The least time ``parse`` took over ``times`` parses, freeing what it built
    included (a sync frees every page), each started from a collected heap; with
    the cycle collector paused as ga4sync parses a page (``paused``), or running."""
    best = float("inf")
    for _ in range(times):
        gc.collect()
        with collector_paused() if paused else contextlib.nullcontext():
            started = time.perf_counter()
            parse(payload)
            best = min(best, time.perf_counter() - started)
    return best


async def fetch(rows: int) -> dict[str, bytes]:
    start, end = report_window()
    body = build_request(PROPERTY_ID, REPORT, start, end, page_size=rows)
    pages: dict[str, bytes] = {}
    async with (
        fake_google_process(cardinality=CARDINALITY) as base_url,
        aiohttp.ClientSession() as session,
    ):
        token = await access_token(session, base_url)
        url = f"{base_url}/v1beta/properties/{PROPERTY_ID}:runReport"
        headers = {"Authorization": f"Bearer {token}"}
        for form, params in (("indented", {}), ("compact", COMPACT_ANSWERS)):
            async with session.post(url, params=params, json=body, headers=headers) as response:
                assert response.status == 200, await response.text()
                pages[form] = await response.read()
    return pages


def main(args: argparse.Namespace) -> None:
    pages = asyncio.run(fetch(args.rows))
    indented, compact = (json.loads(page) for page in pages.values())
    assert indented["rows"] == compact["rows"]  # the same rows (the quota left moved on)
    found = parsers()
    # Best of many, each parser in turn: the least disturbed figure of each.
    cases = [(form, name, paused) for form in pages for name in found for paused in (False, True)]
    times = dict.fromkeys(cases, float("inf"))
    for _ in range(args.repeat):
        for form, name, paused in cases:
            took = best_of(found[name], pages[form], 1, paused=paused)
            times[form, name, paused] = min(times[form, name, paused], took)
    baseline = times["indented", "json", False]
    print(f"\none page of {args.rows:,} rows (date x pagePath, five metrics)\n")
    print("| form | bytes | x indented | parser | cycle collector | parse ms | x baseline |")
    print("|---|---:|---:|---|---|---:|---:|")
    for (form, name, paused), seconds in times.items():
        ratio = len(pages[form]) / len(pages["indented"])
        collector = "paused (as ga4sync parses)" if paused else "running"
        print(
            f"| {form} | {len(pages[form]) / 1e6:.1f} MB | {ratio:.2f} | {name} | {collector}"
            f" | {seconds * 1000:.0f} | {seconds / baseline:.2f} |"
        )
    print("\nbaseline: the indented page parsed with json, the collector running")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=15, help="parses of each, best kept")
    main(parser.parse_args())
