"""Report rows: bulk upsert of one page through COPY and a staging table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ga4sync.queries import query

# (day as 'YYYYMMDD', non-date dimension values, metric values) as GA4 sends them,
# values joined by SEPARATOR
StagedRow = tuple[str, str, str]
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class UpsertCounts:
    distinct_rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.distinct_rows - self.inserted - self.updated


async def upsert_report_rows(
    conn: asyncpg.Connection,
    property_ref: int,
    report: str,
    dimension_names: Sequence[str],
    metric_names: Sequence[str],
    rows: Sequence[StagedRow],
    *,
    read: tuple[int, int] | None = None,
) -> UpsertCounts:
    """Upsert one page of a report in one transaction; unchanged rows are not rewritten.

    ``rows`` must hold each (day, dimension values) once: one statement cannot
    update the same row twice. ``read`` (run id, read number) keeps the page's
    keys for the read it belongs to, so that its completion can delete the rows
    GA4 no longer returns.
    """
    if not rows:
        return UpsertCounts(0, 0, 0)
    async with conn.transaction():
        await conn.execute(query("create_report_rows_staging"))
        await conn.copy_records_to_table("ga4_report_rows_staging", records=rows)
        row = await conn.fetchrow(
            query("upsert_report_rows"),
            property_ref,
            report,
            list(dimension_names),
            list(metric_names),
            read[0] if read else None,
            read[1] if read else None,
        )
    assert row is not None
    return UpsertCounts(len(rows), row["inserted"], row["updated"])
