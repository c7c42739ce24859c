"""Reading one property's rows of one report: JSON pages after a position, and
the whole range as CSV streamed from ``COPY ... TO STDOUT``.

The SQL is in ``sql/queries/report_rows.sql``, with the definition's identifiers
filled in (quoted) once per definition and query. Rows are ordered by date,
then each dimension column compared byte by byte (``collate "C"``: the same
order on every server, whatever its locale), then ``dimension_key``, which
makes the order total, so a position in it is exact. The CSV export writes a
dimension value that a spreadsheet would run as a formula with a leading ``'``
(``csv_text_cell``), unless the caller opts out; JSON pages keep every value
exactly.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import asyncpg

from ga4sync.queries import query
from ga4sync.reports import Column, ReportSpec
from ga4sync.store.report_tables import ident, literal, table_name

# A row's synced_at as ISO 8601 in UTC, the same in JSON and CSV.
_SYNCED_AT = """to_char(t.synced_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


@dataclass(frozen=True)
class Position:
    """Where a row stands in the order of the rows."""

    date: date
    dimensions: tuple[str, ...]
    dimension_key: uuid.UUID


@dataclass(frozen=True)
class RowsPage:
    rows: list[str]  # each row as a JSON object's text
    last: Position | None  # the position of the page's last row when more follow


def _csv_column(column: Column, *, escape: bool) -> str:
    """A column of the CSV export's select list, under its own name."""
    name = f"t.{ident(column.name)}"
    if not escape or column.kind != "dimension":
        return name
    # The fragment's comments go: it is inlined into one line of a select list.
    fragment = " ".join(
        line.strip()
        for line in query("csv_text_cell").splitlines()
        if not line.lstrip().startswith("--")
    )
    return f"{fragment.format(column=name)} as {ident(column.name)}"


@functools.lru_cache(maxsize=512)
def rows_sql(spec: ReportSpec, name: str, *, escape_csv: bool = True) -> str:
    """Query ``name`` of ``report_rows.sql`` for the definition ``spec``; ``escape_csv``:
    the CSV export's dimension values are neutralised for spreadsheets."""
    dimensions = [c for c in spec.columns if c.kind == "dimension"]
    order = ["t.date", *(f't.{ident(c.name)} collate "C"' for c in dimensions), "t.dimension_key"]
    after = ["a.date", *(f"a.dimensions[{n}]" for n in range(1, len(dimensions) + 1))]
    after.append("a.dimension_key")
    dimension_array = ", ".join(f"t.{ident(c.name)}" for c in dimensions)
    return query(name).format(
        table=table_name(spec.key),
        order=", ".join(order),
        after=", ".join(after),
        json_fields="".join(f"{literal(c.name)}, t.{ident(c.name)}, " for c in spec.columns),
        csv_columns="".join(f"{_csv_column(c, escape=escape_csv)}, " for c in spec.columns),
        dimension_array=f"array[{dimension_array}]::text[]",
        synced_at=_SYNCED_AT,
    )


async def readable_property(
    conn: asyncpg.Connection | asyncpg.Pool, property_id: str, user_id: uuid.UUID | None
) -> int | None:
    """The ``ga4_properties.id`` of GA4 property ``property_id`` if ``user_id`` can
    access it (None: anyone's); None when it does not exist or is not theirs."""
    ref: int | None = await conn.fetchval(query("readable_property"), property_id, user_id)
    return ref


async def rows_cursor_key(conn: asyncpg.Connection | asyncpg.Pool) -> bytes:
    """The key that signs cursors, the same for every process on the database."""
    for _ in range(3):
        value = await conn.fetchval(query("rows_cursor_key"))
        if value is not None:
            return bytes.fromhex(value)
    raise RuntimeError("the rows cursor key could not be read")


async def fetch_rows_page(
    conn: asyncpg.Connection | asyncpg.Pool,
    spec: ReportSpec,
    property_ref: int,
    property_id: str,
    *,
    start: date | None,
    end: date | None,
    after: Position | None,
    limit: int,
) -> RowsPage:
    """Up to ``limit`` rows after ``after`` (None: from the first); ``last`` is set
    only when more rows follow."""
    records = await conn.fetch(
        rows_sql(spec, "report_rows_page"),
        property_ref,
        property_id,
        start,
        end,
        after.date if after else None,
        list(after.dimensions) if after else None,
        after.dimension_key if after else None,
        limit + 1,
    )
    more = len(records) > limit
    records = records[:limit]
    last = None
    if more:
        final = records[-1]
        last = Position(final["date"], tuple(final["dimensions"]), final["dimension_key"])
    return RowsPage(rows=[r["row"] for r in records], last=last)


async def copy_rows_csv(
    conn: asyncpg.Connection,
    spec: ReportSpec,
    property_ref: int,
    property_id: str,
    *,
    start: date | None,
    end: date | None,
    output: Callable[[bytes], Awaitable[None]],
    escape: bool = True,
) -> int:
    """Every row from ``start`` to ``end`` as CSV with a header row, handed to
    ``output`` in the chunks Postgres sends, each awaited before the next is read
    (so a slow reader slows the query instead of filling memory). The first chunk
    leaves as soon as the first date's rows are sorted. ``escape``: a dimension
    value a spreadsheet would run as a formula gets a leading ``'``. Returns the
    rows."""
    async with conn.transaction(readonly=True):
        await conn.execute(query("export_settings"))
        status = await conn.copy_from_query(
            rows_sql(spec, "report_rows_csv", escape_csv=escape),
            property_ref,
            property_id,
            start,
            end,
            output=output,
            format="csv",
            header=True,
            encoding="utf-8",
        )
    return int(status.split()[-1])
