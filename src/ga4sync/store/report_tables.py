"""Report tables: one table per report definition with typed columns, read
through the view ``ga4_<report>``; pages of rows upserted through COPY and a
staging table; complete reads recorded with their coverage.

The SQL is in ``sql/queries/report_tables.sql``, with the definition's
identifiers filled in (quoted) once per definition and query.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from asyncpg.pgproto.pgproto import UUID as PgUUID

from ga4sync.errors import ConfigError, Ga4SyncError
from ga4sync.queries import query
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.reports.realtime import RealtimeSpec
from ga4sync.store.coverage import Conn, connection
from ga4sync.store.exposure import apply_exposure
from ga4sync.store.privileges import revoke_api_role_grants

logger = logging.getLogger(__name__)

SCHEMA = "ga4sync_reports"
# (first dimension's value as GA4 sends it, the other dimensions' values as
# ``staged_dimensions`` writes them, metric values joined by SEPARATOR)
StagedRow = tuple[str, str, str]
SEPARATOR = "\x1f"


def staged_dimensions(values: Sequence[str]) -> str:
    """A row's dimension values (all but the first) as staged and keyed.

    Joined by SEPARATOR, unless a value holds SEPARATOR itself: then SEPARATOR once
    per value followed by the values as a JSON array. A plain join of n values holds
    exactly n - 1 separators, so it never starts with n of them: the two forms never
    meet, each is one-to-one, and rows whose values differ only in where a separator
    falls keep distinct keys (``dimension_values`` reads either form back).
    """
    joined = SEPARATOR.join(values)
    if joined.count(SEPARATOR) == max(len(values) - 1, 0):
        return joined
    return SEPARATOR * len(values) + json.dumps(list(values), ensure_ascii=False)


def period_date(grain: str, period: str) -> date:
    """The date a GA4 period value is stored under, its first day (as ``_PERIOD``)."""
    if grain == "week":  # isoYearIsoWeek: 202653
        return date.fromisocalendar(int(period[:4]), int(period[4:]), 1)
    if grain == "month":  # yearMonth: 202612
        return date(int(period[:4]), int(period[4:6]), 1)
    return date(int(period[:4]), int(period[4:6]), int(period[6:8]))


_TYPED: dict[str, Callable[[str], Any]] = {
    "bigint": int,
    "double precision": float,
    "numeric": Decimal,
}


def typed_records(
    spec: ReportSpec, property_ref: int, rows: Sequence[StagedRow]
) -> list[tuple[Any, ...]]:
    """Staged rows as the report table's rows: property_ref, date, dimension_key
    (``md5(dims)::uuid``, as the upsert computes it), the dimension values (as
    ``_dimension_values`` reads them back) and the metrics, typed."""
    count = sum(1 for c in spec.columns if c.kind == "dimension")
    typed = [_TYPED[c.sql_type] for c in spec.columns if c.kind == "metric"]
    dates: dict[str, date] = {}
    records: list[tuple[Any, ...]] = []
    for period, dims, vals in rows:
        day = dates.get(period)
        if day is None:
            day = dates[period] = period_date(spec.grain, period)
        if count and dims.startswith(SEPARATOR * count):
            values = json.loads(dims[count:])
        else:
            values = dims.split(SEPARATOR) if count else []
        values += [""] * (count - len(values))
        metrics = [convert(v) for convert, v in zip(typed, vals.split(SEPARATOR), strict=True)]
        key = PgUUID(hashlib.md5(dims.encode()).digest())
        records.append((property_ref, day, key, *values, *metrics))
    return records


def _dimension_values(count: int) -> str:
    """SQL: the staged ``dims`` of a row with ``count`` dimension values, as a text[]."""
    joined = "string_to_array(dims, chr(31))"
    if count == 0:
        return joined
    return (
        f"case when left(dims, {count}) = repeat(chr(31), {count}) then array("
        f"select e from jsonb_array_elements_text(substr(dims, {count + 1})::jsonb)"
        f" with ordinality as j (e, i) order by i) else {joined} end"
    )


_PERIOD = {
    "day": "day::date",
    "week": "to_date(day, 'IYYYIW')",
    "month": "to_date(day || '01', 'YYYYMMDD')",
}
_STEP = {"day": "'1 day'", "week": "'7 days'", "month": "'1 month'"}
_UNIT = {"day": "'day'", "week": "'week'", "month": "'month'"}
# Roles a hosted Postgres may grant new relations to by default (Supabase's API roles).
_API_ROLES = ("anon", "authenticated")


class ReportTableConflict(ConfigError):
    """A report's relation name is taken by something ga4sync did not make."""


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_name(key: str) -> str:
    return f"{SCHEMA}.{ident(key)}"


_PAGE_WRITES = ("upsert_report_rows",)

# A first-load page this large is typed off the event loop (tens of ms of Python
# a page): the loop meanwhile reads answers and sends the next requests.
TYPE_IN_THREAD_ROWS = 5_000


@functools.lru_cache(maxsize=512)
def report_sql(spec: ReportSpec, name: str, options: str = "", seen: str = "seen_read_keys") -> str:
    """Query ``name`` of ``report_tables.sql`` for the definition ``spec`` (``seen``:
    where ``finish_read`` finds the keys the read returned)."""
    dimensions = [c for c in spec.columns if c.kind == "dimension"]
    metrics = [c for c in spec.columns if c.kind == "metric"]
    values = [f"coalesce(d[{n}], '')" for n in range(1, len(dimensions) + 1)]
    values += [f"(v[{n}])::{c.sql_type}" for n, c in enumerate(metrics, start=1)]
    legacy = [f"coalesce(dimensions->>{literal(c.field)}, '')" for c in dimensions]
    legacy += [f"(metrics->>{literal(c.field)})::{c.sql_type}" for c in metrics]
    return query(name).format(
        seen=report_sql(spec, seen) if name == "finish_read" else "",
        page=report_sql(spec, "staged_page") if name in _PAGE_WRITES else "",
        table=table_name(spec.key),
        view=f"public.{ident(spec.relation)}",
        key=literal(spec.key),
        period=_PERIOD[spec.grain],
        step=_STEP[spec.grain],
        unit=_UNIT[spec.grain],
        columns=", ".join(ident(c.name) for c in spec.columns),
        column_definitions=",\n    ".join(f"{ident(c.name)} {c.sql_type}" for c in spec.columns),
        values=", ".join(values),
        legacy_values=", ".join(legacy),
        assignments=", ".join(f"{ident(c.name)} = excluded.{ident(c.name)}" for c in metrics),
        stored_metrics=", ".join(f"r.{ident(c.name)}" for c in metrics),
        new_metrics=", ".join(f"excluded.{ident(c.name)}" for c in metrics),
        options=options,
        dimension_values=_dimension_values(len(dimensions)),
    )


@dataclass(frozen=True)
class AnswerDigests:
    """What a complete read found of each period: ``digests`` of GA4's answer per
    period; the periods ``unchanged`` (with their rows) since the last read, none
    of whose rows were written; and the periods first ``loaded`` (with their
    rows), which held no row before. Neither kept keys: completion deletes
    nothing of them."""

    unchanged: Mapping[date, int] = field(default_factory=dict)
    digests: Mapping[date, int] = field(default_factory=dict)
    loaded: Mapping[date, int] = field(default_factory=dict)

    def arguments(self) -> tuple[list[date], list[int], list[date], list[int]]:
        unkeyed = {**self.loaded, **self.unchanged}
        return (
            list(unkeyed),
            list(unkeyed.values()),
            list(self.digests),
            list(self.digests.values()),
        )


class PropertyGone(Ga4SyncError):
    """The property whose rows were being written was deleted meanwhile."""


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
    spec: ReportSpec,
    property_ref: int,
    rows: Sequence[StagedRow],
    *,
    read: tuple[int, int] | None = None,
    first_load: bool = False,
) -> UpsertCounts:
    """Upsert one page of a report in one transaction; unchanged rows are not rewritten.

    ``rows`` must hold each (period, dimension values) once: one statement cannot
    update the same row twice. ``read`` (run id, read number) keeps the page's
    keys for the read it belongs to, so that its completion can delete the rows
    GA4 no longer returns. ``first_load``: the page's periods held no row when
    its read began (``rows_stored``): plainly inserted, no key kept.
    """
    if not rows:
        return UpsertCounts(0, 0, 0)
    async with conn.transaction():
        return await _stage_and_upsert(conn, spec, property_ref, rows, read, first_load)


async def _stage_and_upsert(
    conn: asyncpg.Connection,
    spec: ReportSpec,
    property_ref: int,
    rows: Sequence[StagedRow],
    read: tuple[int, int] | None,
    first_load: bool = False,
) -> UpsertCounts:
    await conn.execute(query("create_report_rows_staging"))
    if not rows:
        return UpsertCounts(0, 0, 0)
    if await conn.fetchval(query("lock_property_for_rows"), property_ref) is None:
        raise PropertyGone(f"property {property_ref} was deleted while its rows were read")
    if first_load:
        # Straight into the report's table, typed here: no staging, no conflict
        # clause, no key. A row another writer stored meanwhile fails the page,
        # and the read, retried, finds rows and upserts.
        if len(rows) >= TYPE_IN_THREAD_ROWS:
            records = await asyncio.to_thread(typed_records, spec, property_ref, rows)
        else:
            records = typed_records(spec, property_ref, rows)
        await conn.copy_records_to_table(
            spec.key,
            schema_name=SCHEMA,
            columns=["property_ref", "date", "dimension_key", *(c.name for c in spec.columns)],
            records=records,
        )
        return UpsertCounts(len(rows), len(rows), 0)
    await conn.copy_records_to_table("ga4_report_rows_staging", records=rows)
    row = await conn.fetchrow(
        report_sql(spec, "upsert_report_rows"),
        property_ref,
        read[0] if read else None,
        read[1] if read else None,
    )
    assert row is not None
    return UpsertCounts(len(rows), row["inserted"], row["updated"])


async def store_whole_read(
    conn: asyncpg.Connection,
    spec: ReportSpec,
    rows: Sequence[StagedRow],
    *,
    property_ref: int,
    start_date: date,
    end_date: date,
    run_id: int,
    read_no: int,
    read_at: datetime,
    answer: AnswerDigests | None = None,
    first_load: bool = False,
    lookback_days: int | None = None,
    quality: Mapping[str, object] | None = None,
) -> tuple[UpsertCounts, int]:
    """Store a read GA4 answered in one page and record it complete, in one
    transaction: the page is the read's every key, so none is kept. ``rows``
    leave out the periods ``answer`` found unchanged. Returns the rows' counts
    and the rows deleted (those GA4 no longer returned). ``lookback_days`` is
    the lookback the read was made under and ``quality`` what GA4 said of its
    data (its flags), both recorded with its coverage."""
    async with conn.transaction():
        counts = await _stage_and_upsert(conn, spec, property_ref, rows, None, first_load)
        await conn.execute(query("plan_without_nested_loops"))
        deleted: int = await conn.fetchval(
            report_sql(spec, "finish_read", seen="seen_page_keys"),
            property_ref,
            start_date,
            end_date,
            run_id,
            read_no,
            read_at,
            spec.key,
            *(answer or AnswerDigests()).arguments(),
            lookback_days,
            quality or None,
        )
    return counts, deleted


async def finish_read(
    conn: Conn,
    spec: ReportSpec,
    *,
    property_ref: int,
    start_date: date,
    end_date: date,
    run_id: int,
    read_no: int,
    read_at: datetime,
    answer: AnswerDigests | None = None,
    lookback_days: int | None = None,
    quality: Mapping[str, object] | None = None,
) -> int:
    """Record a complete read of the periods from ``start_date`` to ``end_date``:
    delete the rows of those periods that the read did not return (but those of
    the periods ``answer`` found unchanged), mark them covered with their
    digests, the lookback the read was made under and what GA4 said of its data
    (``quality``, its flags). Returns rows deleted.

    Planned without nested loops: the read's keys are not analyzed yet, and a
    nested loop over them costs the product of the read's rows and its keys.
    """
    async with connection(conn) as conn_, conn_.transaction():
        await conn_.execute(query("plan_without_nested_loops"))
        deleted: int = await conn_.fetchval(
            report_sql(spec, "finish_read"),
            property_ref,
            start_date,
            end_date,
            run_id,
            read_no,
            read_at,
            spec.key,
            *(answer or AnswerDigests()).arguments(),
            lookback_days,
            quality or None,
        )
    return deleted


async def rows_stored(
    conn: Conn, spec: ReportSpec, property_ref: int, start_date: date, end_date: date
) -> bool:
    """Whether any row of the periods from ``start_date`` to ``end_date`` is stored."""
    stored: bool = await conn.fetchval(
        report_sql(spec, "rows_stored"), property_ref, start_date, end_date
    )
    return stored


async def stored_digests(
    conn: Conn, spec: ReportSpec, property_ref: int, start_date: date, end_date: date
) -> dict[date, tuple[int, int]]:
    """``period -> (digest, rows)`` of the periods from ``start_date`` to
    ``end_date`` covered with a digest."""
    rows = await conn.fetch(
        report_sql(spec, "stored_digests"), property_ref, start_date, end_date, spec.key
    )
    return {row["date"]: (row["digest"], row["rows"]) for row in rows}


@dataclass(frozen=True)
class StoredDefinition:
    key: str
    name: str
    definition: dict[str, Any]
    columns: list[dict[str, str]]
    created_at: datetime
    retired_at: datetime | None


async def list_report_definitions(conn: Conn) -> list[StoredDefinition]:
    """Every definition that has a table, current and retired, by name then age."""
    return [
        StoredDefinition(
            key=row["key"],
            name=row["name"],
            definition=row["definition"],
            columns=row["columns"],
            created_at=row["created_at"],
            retired_at=row["retired_at"],
        )
        for row in await conn.fetch(query("list_report_definitions"))
    ]


@dataclass
class TablesChanged:
    created: list[str] = field(default_factory=list)  # definition keys
    views: list[str] = field(default_factory=list)  # relations (re)pointed
    adopted_rows: int = 0


async def ensure_report_tables(
    conn: asyncpg.Connection,
    reports: Sequence[ReportSpec],
    *,
    expose: bool = False,
    realtime: Sequence[RealtimeSpec] | None = None,
) -> TablesChanged:
    """Make the tables and views of ``reports`` exist; retire other definitions.
    With ``realtime`` (the ``[[realtime]]`` definitions in use), make theirs too and
    drop those of realtime definitions changed or gone (None: leave them as they are).

    Idempotent, and serialised by a transaction-level advisory lock, so that
    processes starting at once make each table once. ``expose`` grants Supabase's
    signed-in users their own properties' rows (``SUPABASE_EXPOSE_REPORTS``);
    without it whatever was granted is revoked. A new definition gets a
    new table (a built-in one adopts the rows kept before reports had tables);
    a definition gone from ``reports`` keeps its table and view but no longer
    syncs.
    """
    changed = TablesChanged()
    async with conn.transaction():
        await conn.execute(query("lock_report_tables"))
        stored = {d.key: d for d in await list_report_definitions(conn)}
        await conn.execute(query("retire_report_definitions"), [spec.key for spec in reports])
        invoker = await conn.fetchval(query("server_version")) >= 150000
        roles = [r["rolname"] for r in await conn.fetch(query("roles_present"), list(_API_ROLES))]
        for spec in reports:
            known = stored.get(spec.key)
            if known is None:
                await _create_table(conn, spec, changed)
            elif known.retired_at is not None:
                await conn.execute(query("revive_report_definition"), spec.key)
            current = await conn.fetchval(query("report_view_key"), f"public.{spec.relation}")
            if current != spec.key:
                await _point_view(conn, spec, stored, current, invoker=invoker, roles=roles)
                changed.views.append(spec.relation)
        if realtime is not None:
            # imported here: ga4sync.store.realtime imports this module
            from ga4sync.store.realtime import ensure_realtime_tables

            await ensure_realtime_tables(conn, realtime, invoker=invoker, roles=roles)
        await revoke_api_role_grants(conn, expose=expose)
        await _apply_exposure(conn, expose)
    for key in changed.created:
        logger.info("report table %s created", key, extra={"action": "report_table_created"})
    return changed


async def _apply_exposure(conn: asyncpg.Connection, expose: bool) -> None:
    from ga4sync.store.realtime import realtime_relations

    definitions = await list_report_definitions(conn)
    views = []
    for name in dict.fromkeys(d.name for d in definitions):
        view = f"public.{ident('ga4_' + name)}"
        if await conn.fetchval(query("relation_kind"), view) == "v":
            views.append(view)
    tables = [table_name(d.key) for d in definitions]
    # Realtime snapshots are exposed like report rows: each user their own properties'.
    realtime_tables, realtime_views = await realtime_relations(conn)
    await apply_exposure(
        conn, expose=expose, tables=tables + realtime_tables, views=views + realtime_views
    )


async def _create_table(conn: asyncpg.Connection, spec: ReportSpec, changed: TablesChanged) -> None:
    await conn.execute(report_sql(spec, "create_report_table"))
    columns = [
        {"name": c.name, "field": c.field, "kind": c.kind, "type": c.sql_type} for c in spec.columns
    ]
    await conn.execute(
        query("insert_report_definition"),
        spec.key,
        spec.name,
        spec.definition(),
        columns,
    )
    changed.created.append(spec.key)
    builtin = next((b for b in BUILTIN_REPORTS if b.name == spec.name), None)
    if builtin == spec and await conn.fetchval(query("legacy_rows_present")):
        changed.adopted_rows += await conn.fetchval(
            report_sql(spec, "adopt_legacy_rows"), spec.name, spec.key
        )


async def _point_view(
    conn: asyncpg.Connection,
    spec: ReportSpec,
    stored: dict[str, StoredDefinition],
    current: str | None,
    *,
    invoker: bool,
    roles: list[str],
) -> None:
    """Make ``ga4_<name>`` show ``spec``'s table; ``current`` is the key it shows now."""
    kind = await conn.fetchval(query("relation_kind"), f"public.{spec.relation}")
    if kind is not None and (kind != "v" or current not in stored):
        raise ReportTableConflict(
            f"report {spec.name!r}: the relation {spec.relation} exists and was not made by"
            " ga4sync; rename the report or that relation"
        )
    await conn.execute(report_sql(spec, "drop_report_view"))
    options = "with (security_invoker = true)" if invoker else ""
    await conn.execute(report_sql(spec, "create_report_view", options))
    for role in roles:
        await conn.execute(
            query("revoke_report_view").format(
                view=f"public.{ident(spec.relation)}", role=ident(role)
            )
        )


async def delete_unshared_report_rows(conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
    """Delete, from every report table (realtime snapshots included), the rows of
    properties only ``user_id`` accesses."""
    from ga4sync.store.realtime import list_realtime_definitions

    keys = [stored.key for stored in await list_report_definitions(conn)]
    keys += [stored.key for stored in await list_realtime_definitions(conn)]
    deleted = 0
    for key in keys:
        deleted += await conn.fetchval(
            query("delete_unshared_report_rows").format(table=table_name(key)), user_id
        )
    return deleted


class NothingToPrune(Ga4SyncError):
    """The name has no definition that is not in use."""


@dataclass(frozen=True)
class Pruned:
    keys: list[str]  # the definitions removed
    rows: int  # their rows
    view_dropped: bool


async def prune_report(conn: asyncpg.Connection, name: str, in_use: Sequence[ReportSpec]) -> Pruned:
    """Delete the definitions of report ``name`` that are not in use, with their
    tables, rows and coverage; and its view when no definition of it is in use.
    A report in use keeps its current definition (only older ones go)."""
    current = {spec.key for spec in in_use if spec.name == name}
    async with conn.transaction():
        await conn.execute(query("lock_report_tables"))
        stale = [
            d
            for d in await list_report_definitions(conn)
            if d.name == name and d.key not in current
        ]
        legacy = 0
        if not current and await conn.fetchval(query("legacy_rows_present")):
            legacy = await conn.fetchval(query("prune_legacy_rows"), name)
        if not stale and not legacy:
            if current:
                raise NothingToPrune(
                    f"report {name!r} is in use and has no older definition to prune;"
                    " remove it from the definitions first"
                )
            raise NothingToPrune(f"no report {name!r} has rows here")
        if not current:
            await conn.execute(
                query("drop_report_view").format(view=f"public.{ident('ga4_' + name)}")
            )
        rows = legacy
        for definition in stale:
            table = table_name(definition.key)
            rows += await conn.fetchval(query("count_report_rows").format(table=table))
            await conn.execute(query("drop_report_table").format(table=table))
            await conn.execute(query("forget_report_definition"), definition.key)
    logger.info(
        "report %s pruned: %d definitions, %d rows",
        name,
        len(stale),
        rows,
        extra={"action": "report_pruned"},
    )
    return Pruned(keys=[d.key for d in stale], rows=rows, view_dropped=not current)
