"""The rows API's service: one property's typed rows of one report, in pages with
an opaque cursor, or the whole range as CSV.

A cursor is the position of a page's last row (its date, its dimension values
and its ``dimension_key``), compressed when that makes it shorter, and signed
with HMAC-SHA256 under a key kept in the database (the same for every web
process), bound to the report's definition and the property. A cursor that
was changed, cut short, made for another report, property or definition, or
not made here at all is refused, never read as some other position. Holding
the position itself, not a row number or a row's id, a cursor stays exact
while a sync writes or deletes rows between two pages: the next page starts
right after the position, wherever the rows now stand.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from ga4sync.errors import Ga4SyncError
from ga4sync.reports import ReportSpec
from ga4sync.store.report_rows import (
    Position,
    RowsPage,
    copy_rows_csv,
    fetch_rows_page,
    readable_property,
    rows_cursor_key,
)

_MAC_BYTES = 16
_PLAIN, _DEFLATED = b"p", b"z"
_CONTEXT = b"ga4sync rows cursor 1\x00"
# A cursor inflates to at most this much; the MAC is checked first anyway.
_MAX_POSITION_BYTES = 1 << 20


class UnknownReport(Ga4SyncError):
    """No report of that name is in use."""


class PropertyNotReadable(Ga4SyncError):
    """No such property, or not one the caller can access (told apart to no one)."""


class BadCursor(Ga4SyncError):
    """A cursor this server did not hand out for this report and property."""


class ExportsBusy(Ga4SyncError):
    """As many CSV exports are streaming as this process allows at once."""


class UserExportsBusy(Ga4SyncError):
    """The caller already streams as many CSV exports as one user may at once."""


@dataclass(frozen=True)
class Target:
    """A report and one property the caller can read it for."""

    spec: ReportSpec
    property_ref: int
    property_id: str


@dataclass(frozen=True)
class Page:
    rows: list[str]  # each row as a JSON object's text
    next: str | None  # the cursor of the next page; None on the last page


class CursorCodec:
    """Signs positions into cursors and reads them back."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, target: Target, body: bytes) -> bytes:
        context = b"\x00".join((target.spec.key.encode(), target.property_id.encode()))
        digest = hmac.new(self._key, _CONTEXT + context + b"\x00" + body, hashlib.sha256)
        return digest.digest()[:_MAC_BYTES]

    def encode(self, target: Target, position: Position) -> str:
        plain = json.dumps(
            [position.date.isoformat(), list(position.dimensions), position.dimension_key.hex],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        deflated = zlib.compress(plain, 9)
        body = _DEFLATED + deflated if len(deflated) < len(plain) else _PLAIN + plain
        token = base64.urlsafe_b64encode(body + self._mac(target, body))
        return token.rstrip(b"=").decode("ascii")

    def decode(self, target: Target, cursor: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise BadCursor("not a cursor") from None
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(body) < 2 or not hmac.compare_digest(mac, self._mac(target, body)):
            raise BadCursor("not a cursor of this report and property")
        if body[:1] not in (_PLAIN, _DEFLATED):
            raise BadCursor("not a position")
        try:
            plain = body[1:]
            if body[:1] == _DEFLATED:
                inflater = zlib.decompressobj()
                plain = inflater.decompress(plain, _MAX_POSITION_BYTES)
            values = json.loads(plain)
            day, dimensions, key = values
            dimension_count = sum(1 for c in target.spec.columns if c.kind == "dimension")
            if not (
                isinstance(day, str)
                and isinstance(dimensions, list)
                and len(dimensions) == dimension_count
                and all(isinstance(d, str) for d in dimensions)
                and isinstance(key, str)
            ):
                raise ValueError("not a position")
            return Position(date.fromisoformat(day), tuple(dimensions), uuid.UUID(hex=key))
        except (ValueError, TypeError, zlib.error):
            # Signed by this key yet unreadable: made by a release that wrote another shape.
            raise BadCursor("not a position") from None


class ReportRows:
    """Rows of the reports in use, for the properties a caller can access.

    At most ``max_exports`` CSV exports stream at once (each holds a database
    connection for as long as its client reads); one more is ``ExportsBusy``.
    One user streams at most ``max_exports_per_user`` of them, so that a user
    with slow downloads cannot hold every slot; one more is ``UserExportsBusy``.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        reports: Sequence[ReportSpec],
        *,
        max_exports: int,
        max_exports_per_user: int,
    ) -> None:
        self._pool = pool
        self._reports = {spec.name: spec for spec in reports}
        self._codec: CursorCodec | None = None
        self._codec_lock = asyncio.Lock()
        self._exports = max_exports
        self._per_user = max_exports_per_user
        self._exporting: dict[uuid.UUID, int] = {}  # user -> exports streaming

    async def target(self, report: str, property_id: str, *, user_id: uuid.UUID | None) -> Target:
        """The report ``report`` on GA4 property ``property_id``, which ``user_id`` (None:
        an admin) must be able to access."""
        spec = self._reports.get(report)
        if spec is None:
            raise UnknownReport(f"No report {report!r} is synced here.")
        ref = await readable_property(self._pool, property_id, user_id)
        if ref is None:
            raise PropertyNotReadable(f"No property {property_id}.")
        return Target(spec, ref, property_id)

    async def _cursors(self) -> CursorCodec:
        if self._codec is None:
            async with self._codec_lock:
                if self._codec is None:
                    self._codec = CursorCodec(await rows_cursor_key(self._pool))
        return self._codec

    async def page(
        self,
        target: Target,
        *,
        start: date | None,
        end: date | None,
        after: str | None,
        limit: int,
    ) -> Page:
        """Up to ``limit`` rows from ``start`` to ``end`` (inclusive; None: unbounded),
        after the row ``after`` (a previous page's ``next``) points at."""
        codec = await self._cursors()
        position = codec.decode(target, after) if after is not None else None
        found: RowsPage = await fetch_rows_page(
            self._pool,
            target.spec,
            target.property_ref,
            target.property_id,
            start=start,
            end=end,
            after=position,
            limit=limit,
        )
        cursor = codec.encode(target, found.last) if found.last is not None else None
        return Page(rows=found.rows, next=cursor)

    async def check_cursor(self, target: Target, after: str) -> None:
        """That ``after`` is a cursor of ``target`` (raises ``BadCursor`` if not)."""
        (await self._cursors()).decode(target, after)

    async def export_csv(
        self,
        target: Target,
        *,
        user_id: uuid.UUID,
        start: date | None,
        end: date | None,
        output: Callable[[bytes], Awaitable[None]],
        escape: bool = True,
    ) -> int:
        """Every row from ``start`` to ``end`` as CSV, header first, handed to ``output``
        chunk by chunk as Postgres sends it, for ``user_id``; returns the rows written.
        ``escape``: dimension values a spreadsheet would run as formulas get a leading
        ``'``. The export's slot is freed however it ends, ``output`` raising included."""
        running = self._exporting.get(user_id, 0)
        if running >= self._per_user:
            raise UserExportsBusy(
                f"You are already downloading {running} CSV export(s); at most"
                f" {self._per_user} at once per user."
            )
        if self._exports <= 0:
            raise ExportsBusy("As many CSV exports are running as this server allows.")
        self._exports -= 1
        self._exporting[user_id] = running + 1
        try:
            async with self._pool.acquire() as conn:
                return await copy_rows_csv(
                    conn,
                    target.spec,
                    target.property_ref,
                    target.property_id,
                    start=start,
                    end=end,
                    output=output,
                    escape=escape,
                )
        finally:
            self._exports += 1
            left = self._exporting[user_id] - 1
            if left:
                self._exporting[user_id] = left
            else:
                del self._exporting[user_id]

    def exports_running(self, user_id: uuid.UUID | None = None) -> int:
        """CSV exports streaming now: ``user_id``'s, or everyone's (None)."""
        if user_id is not None:
            return self._exporting.get(user_id, 0)
        return sum(self._exporting.values())
