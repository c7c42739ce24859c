"""Realtime tables and polls: one table per ``[[realtime]]`` definition, read
through the view ``ga4_realtime_<name>``; each poll's snapshot replacing the
property's last one in one transaction; the polls' schedule; GA4's realtime
quota of each property.

The SQL is in ``sql/queries/realtime.sql``, with the definition's identifiers
filled in (quoted) once per definition and query.
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from ga4sync.queries import query
from ga4sync.reports.realtime import RealtimeSpec
from ga4sync.store.coverage import Conn
from ga4sync.store.report_tables import (
    PropertyGone,
    ReportTableConflict,
    ident,
    literal,
    table_name,
)

logger = logging.getLogger(__name__)

_TYPED: dict[str, Callable[[str], Any]] = {
    "bigint": int,
    "double precision": float,
    "numeric": Decimal,
}


def view_name(name: str) -> str:
    """``public."ga4_realtime_<name>"``, quoted."""
    return f"public.{ident('ga4_realtime_' + name)}"


@functools.lru_cache(maxsize=256)
def realtime_sql(spec: RealtimeSpec, name: str, options: str = "") -> str:
    """Query ``name`` of ``realtime.sql`` for the definition ``spec``."""
    dimensions = [c for c in spec.columns if c.kind == "dimension"]
    order = [f't.{ident(c.name)} collate "C"' for c in dimensions] or ["1"]
    return query(name).format(
        table=table_name(spec.key),
        view=view_name(spec.name),
        key=literal(spec.key),
        columns=", ".join(f"t.{ident(c.name)}" for c in spec.columns),
        column_definitions=",\n    ".join(f"{ident(c.name)} {c.sql_type}" for c in spec.columns),
        json_fields=", ".join(f"{literal(c.name)}, t.{ident(c.name)}" for c in spec.columns),
        order=", ".join(order),
        options=options,
    )


# -- tables and views ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRealtime:
    name: str
    key: str
    definition: dict[str, Any]
    columns: list[dict[str, str]]


async def list_realtime_definitions(conn: Conn) -> list[StoredRealtime]:
    return [
        StoredRealtime(
            name=row["name"], key=row["key"], definition=row["definition"], columns=row["columns"]
        )
        for row in await conn.fetch(query("list_realtime_definitions"))
    ]


@dataclass
class RealtimeChanged:
    created: list[str] = field(default_factory=list)  # keys
    dropped: list[str] = field(default_factory=list)  # keys


async def ensure_realtime_tables(
    conn: asyncpg.Connection,
    specs: Sequence[RealtimeSpec],
    *,
    invoker: bool,
    roles: Sequence[str],
) -> RealtimeChanged:
    """Make the tables and views of ``specs`` exist, and drop those of definitions
    changed or gone (their snapshots are minutes old). Runs in the caller's
    transaction, under its lock (``ensure_report_tables``)."""
    changed = RealtimeChanged()
    stored = {d.name: d for d in await list_realtime_definitions(conn)}
    wanted = {spec.name: spec for spec in specs}
    for name, old in stored.items():
        kept = wanted.get(name)
        if kept is not None and kept.key == old.key:
            continue
        view = view_name(name)
        if await conn.fetchval(query("report_view_key"), view) == old.key:
            await conn.execute(query("drop_report_view").format(view=view))
        await conn.execute(query("drop_realtime_table").format(table=table_name(old.key)))
        await conn.execute(query("forget_realtime_definition"), name)
        changed.dropped.append(old.key)
    for spec in specs:
        known = stored.get(spec.name)
        view = view_name(spec.name)
        current = await conn.fetchval(query("report_view_key"), view)
        if known is None or known.key != spec.key:
            kind = await conn.fetchval(query("relation_kind"), view)
            if kind is not None and current != spec.key:
                raise ReportTableConflict(
                    f"realtime {spec.name!r}: the relation {spec.relation} exists and is not"
                    " one of ga4sync's realtime relations (a report named"
                    f" 'realtime_{spec.name}'? `ga4sync reports prune realtime_{spec.name}`"
                    " removes one no longer in use); rename the realtime report or that relation"
                )
            await conn.execute(realtime_sql(spec, "create_realtime_table"))
            columns = [
                {"name": c.name, "field": c.field, "kind": c.kind, "type": c.sql_type}
                for c in spec.columns
            ]
            await conn.execute(
                query("record_realtime_definition"),
                spec.name,
                spec.key,
                spec.definition(),
                columns,
            )
            changed.created.append(spec.key)
            current = None
        if current != spec.key:
            await conn.execute(query("drop_report_view").format(view=view))
            options = "with (security_invoker = true)" if invoker else ""
            await conn.execute(realtime_sql(spec, "create_realtime_view", options))
            for role in roles:
                await conn.execute(query("revoke_report_view").format(view=view, role=ident(role)))
    for key in changed.created:
        logger.info("realtime table %s created", key, extra={"action": "realtime_table_created"})
    for key in changed.dropped:
        logger.info("realtime table %s dropped", key, extra={"action": "realtime_table_dropped"})
    return changed


async def realtime_relations(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
    """The tables and the views (quoted, qualified) of the realtime definitions."""
    tables: list[str] = []
    views: list[str] = []
    for stored in await list_realtime_definitions(conn):
        tables.append(table_name(stored.key))
        view = view_name(stored.name)
        if await conn.fetchval(query("relation_kind"), view) == "v":
            views.append(view)
    return tables, views


# -- snapshots -----------------------------------------------------------------------------


def typed_snapshot(
    spec: RealtimeSpec, property_ref: int, captured_at: datetime, rows: Sequence[Sequence[str]]
) -> list[tuple[Any, ...]]:
    """GA4's rows (each its dimension values as GA4 ordered them, ``dateRange`` last
    when there are two ranges, then its metric values) as the table's rows."""
    dimensions = len(spec.dimensions)
    typed = [_TYPED[c.sql_type] for c in spec.columns if c.kind == "metric"]
    records: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(row)
        dims = values[:dimensions]
        metrics = values[dimensions + (1 if spec.split_by_range else 0) :]
        if spec.split_by_range:
            dims = [values[dimensions], *dims]
        converted = [convert(v) for convert, v in zip(typed, metrics, strict=True)]
        records.append((property_ref, captured_at, *dims, *converted))
    return records


async def store_snapshot(
    conn: asyncpg.Connection,
    spec: RealtimeSpec,
    property_ref: int,
    captured_at: datetime,
    rows: Sequence[Sequence[str]],
) -> bool:
    """Replace the property's snapshot with ``rows`` captured at ``captured_at`` in one
    transaction (keeping ``history_minutes`` of them when set); ``False`` when a
    later snapshot was stored meanwhile (this one is then dropped)."""
    records = typed_snapshot(spec, property_ref, captured_at, rows)
    async with conn.transaction():
        if await conn.fetchval(query("lock_property_for_rows"), property_ref) is None:
            raise PropertyGone(f"property {property_ref} was deleted while it was polled")
        newest = await conn.fetchval(
            query("lock_realtime_poll"), property_ref, spec.name, captured_at, len(records)
        )
        if not newest:
            return False
        await conn.execute(
            realtime_sql(spec, "delete_old_snapshots"),
            property_ref,
            captured_at,
            spec.history_minutes,
        )
        if records:
            await conn.copy_records_to_table(
                spec.key,
                schema_name="ga4sync_reports",
                columns=["property_ref", "captured_at", *(c.name for c in spec.columns)],
                records=records,
            )
    return True


async def realtime_polled(conn: Conn, property_ref: int) -> bool:
    """Whether some user with access has the property's realtime on."""
    polled: bool = await conn.fetchval(query("realtime_polled"), property_ref)
    return polled


async def forget_property_realtime(conn: asyncpg.Connection, property_ref: int) -> None:
    """Delete the property's snapshots and polls (nobody polls its realtime any more)."""
    async with conn.transaction():
        for stored in await list_realtime_definitions(conn):
            await conn.execute(
                query("forget_property_snapshots").format(table=table_name(stored.key)),
                property_ref,
            )
        await conn.execute(query("forget_property_polls"), property_ref)


async def forget_unpolled(pool: asyncpg.Pool) -> int:
    """Delete the snapshots and polls of every property whose realtime nobody has on
    any more; return how many properties."""
    refs = [row["property_ref"] for row in await pool.fetch(query("unpolled_properties"))]
    for ref in refs:
        async with pool.acquire() as conn:
            await forget_property_realtime(conn, ref)
    return len(refs)


# -- polls ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealtimeProperty:
    id: int
    property_id: str
    service_level: str | None
    grant_users: tuple[uuid.UUID, ...]
    has_credentials: bool


async def list_realtime_properties(conn: Conn) -> list[RealtimeProperty]:
    """Properties whose realtime some user with access has turned on."""
    return [
        RealtimeProperty(
            id=row["id"],
            property_id=row["property_id"],
            service_level=row["service_level"],
            grant_users=tuple(row["grant_users"]),
            has_credentials=row["has_credentials"],
        )
        for row in await conn.fetch(query("list_realtime_properties"))
    ]


async def claim_realtime_polls(
    conn: Conn, at: datetime, wanted: Sequence[tuple[int, str, int]]
) -> set[tuple[int, str]]:
    """Of ``wanted`` (property_ref, definition, every_minutes), claim those due at
    ``at``: ``(property_ref, definition)`` each."""
    if not wanted:
        return set()
    refs, names, every = (list(column) for column in zip(*wanted, strict=True))
    rows = await conn.fetch(query("claim_realtime_polls"), at, refs, names, every)
    return {(row["property_ref"], row["definition"]) for row in rows}


async def record_realtime_problem(
    conn: Conn,
    property_ref: int,
    definition: str,
    error: str,
    at: datetime,
    *,
    due_again: datetime | None = None,
) -> None:
    await conn.execute(
        query("record_realtime_problem"), property_ref, definition, error, at, due_again
    )


@dataclass(frozen=True)
class RealtimeQuotaState:
    """GA4's realtime propertyQuota of a property (name -> remaining), when it was
    seen, and until when polling waits for it."""

    remaining: Mapping[str, int]
    seen_at: datetime | None
    paused_until: datetime | None
    paused_reason: str | None


def _remaining(quota: Any) -> dict[str, int]:
    if isinstance(quota, str):
        quota = json.loads(quota)
    if not isinstance(quota, dict):
        return {}
    return {
        name: int(status.get("remaining", 0))
        for name, status in quota.items()
        if isinstance(status, dict)
    }


async def get_realtime_quota(conn: Conn, property_ref: int) -> RealtimeQuotaState | None:
    row = await conn.fetchrow(query("get_realtime_quota"), property_ref)
    if row is None:
        return None
    return RealtimeQuotaState(
        remaining=_remaining(row["quota"]),
        seen_at=row["seen_at"],
        paused_until=row["paused_until"],
        paused_reason=row["paused_reason"],
    )


async def save_realtime_quota(
    conn: Conn,
    property_ref: int,
    quota: Mapping[str, Mapping[str, int]] | None,
    seen_at: datetime | None,
    *,
    paused_until: datetime | None,
    paused_reason: str | None,
) -> None:
    """Keep the realtime ``quota`` (name -> {consumed, remaining}) GA4 sent at
    ``seen_at`` (None: keep the last one), and the pause it calls for."""
    await conn.execute(
        query("save_realtime_quota"),
        property_ref,
        dict(quota or {}),
        seen_at if quota is not None else None,
        paused_until,
        paused_reason,
    )


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollState:
    captured_at: datetime | None
    rows: int | None
    error: str | None
    error_at: datetime | None
    paused_until: datetime | None
    paused_reason: str | None
    quota: dict[str, int]
    quota_seen_at: datetime | None


async def realtime_overview(
    conn: Conn, property_refs: Sequence[int], definition: str
) -> dict[int, PollState]:
    """Each property's polls of ``definition`` and its realtime quota."""
    rows = await conn.fetch(query("realtime_overview"), list(property_refs), definition)
    return {
        row["property_ref"]: PollState(
            captured_at=row["captured_at"],
            rows=row["rows"],
            error=row["error"],
            error_at=row["error_at"],
            paused_until=row["paused_until"],
            paused_reason=row["paused_reason"],
            quota=_remaining(row["quota"]) if row["quota"] is not None else {},
            quota_seen_at=row["seen_at"],
        )
        for row in rows
    }


async def snapshot_totals(
    conn: Conn,
    spec: RealtimeSpec,
    column: str,
    property_refs: Sequence[int],
    *,
    minute_range: str | None = None,
) -> dict[int, float]:
    """The sum of ``column`` over each property's latest snapshot of ``spec`` (of the
    rows of ``minute_range`` only, when given); properties never polled are left out."""
    range_filter = "and t.minute_range = $3" if minute_range is not None else ""
    sql = query("snapshot_totals").format(
        table=table_name(spec.key), column=ident(column), range_filter=range_filter
    )
    args: list[Any] = [list(property_refs), spec.name]
    if minute_range is not None:
        args.append(minute_range)
    return {row["property_ref"]: row["total"] for row in await conn.fetch(sql, *args)}


async def snapshot_rows(
    conn: Conn,
    spec: RealtimeSpec,
    property_ref: int,
    property_id: str,
    *,
    captured_at: datetime | None,
    history: bool,
) -> list[str]:
    """The property's latest snapshot (captured at ``captured_at``), or every one kept:
    each row as its JSON object's text, newest first."""
    rows = await conn.fetch(
        realtime_sql(spec, "realtime_rows"), property_ref, property_id, history, captured_at
    )
    return [row["row"] for row in rows]
