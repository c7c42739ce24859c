"""Coverage: which dates of a property's reports were read completely, when, and
under which lookback; and the keys a read in progress has seen, so that a
complete read can delete the rows GA4 no longer returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import TypeAlias

import asyncpg

from ga4sync.queries import query

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool
# report -> date -> instant of its last complete read
Coverage = dict[str, dict[date, datetime]]
# report -> date -> the lookback that read was made under (reads made before it
# was kept have none)
Lookbacks = dict[str, dict[date, int]]


async def get_coverage_reads(
    conn: Conn, property_ref: int, since: date
) -> tuple[Coverage, Lookbacks]:
    """The dates on or after ``since`` read completely, per report, and the
    lookback each read was made under."""
    coverage: Coverage = defaultdict(dict)
    lookbacks: Lookbacks = defaultdict(dict)
    for row in await conn.fetch(query("get_coverage"), property_ref, since):
        coverage[row["report"]][row["date"]] = row["read_at"]
        if row["lookback_days"] is not None:
            lookbacks[row["report"]][row["date"]] = row["lookback_days"]
    return dict(coverage), dict(lookbacks)


async def get_coverage(conn: Conn, property_ref: int, since: date) -> Coverage:
    """The dates on or after ``since`` read completely, per report."""
    return (await get_coverage_reads(conn, property_ref, since))[0]


async def get_coverage_of_properties(
    conn: Conn, property_refs: list[int], since: date
) -> tuple[dict[int, Coverage], dict[int, Lookbacks]]:
    """``get_coverage_reads`` of each property in ``property_refs``."""
    found: dict[int, Coverage] = defaultdict(lambda: defaultdict(dict))
    lookbacks: dict[int, Lookbacks] = defaultdict(lambda: defaultdict(dict))
    for row in await conn.fetch(query("get_coverage_of_properties"), property_refs, since):
        ref, report, day = row["property_ref"], row["report"], row["date"]
        found[ref][report][day] = row["read_at"]
        if row["lookback_days"] is not None:
            lookbacks[ref][report][day] = row["lookback_days"]
    return (
        {ref: dict(reports) for ref, reports in found.items()},
        {ref: dict(reports) for ref, reports in lookbacks.items()},
    )


@asynccontextmanager
async def connection(conn: Conn) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as acquired:
            yield acquired
    else:
        yield conn


async def abandon_read(conn: Conn, run_id: int, read_no: int) -> None:
    """Forget an incomplete read's keys: nothing is deleted, nothing covered."""
    await conn.execute(query("abandon_read"), run_id, read_no)


async def prune_read_keys(conn: Conn) -> int:
    """Drop keys left by reads of runs that are over (a worker died mid-read)."""
    status: str = await conn.execute(query("prune_read_keys"))
    return int(status.split()[-1])
