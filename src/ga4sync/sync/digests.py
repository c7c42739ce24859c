"""Periods a re-read finds unchanged, and what is written of the others.

GA4 answers a read ordered by its period first (``build_request`` orders by
every dimension, the period's first), so a period's rows arrive together. They
are held until the period ends; its digest, an order-independent sum of 64-bit
hashes of its rows as GA4 sent them, is then compared with the one stored at
its last complete read. Equal digest and row count: nothing of the period is
written, no key kept. Otherwise its rows go to be written (unchanged rows are
still not rewritten there). A period holding more rows than a page is written
as it comes, so memory stays bounded by a page; it is never skipped.

A read whose periods held no row when it began is a first load: its rows are
plainly inserted and keep no key, and its digests are recorded all the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date

from ga4sync.errors import Ga4RequestError
from ga4sync.store.report_tables import AnswerDigests, StagedRow, period_date

_DIGEST_BITS = 63  # a Postgres bigint, never negative
_MASK = (1 << _DIGEST_BITS) - 1


def row_hash(dims: str, metrics: str) -> int:
    """A row's 64-bit hash (its period excluded: the period has the digest)."""
    digest = hashlib.blake2b(f"{dims}\x1e{metrics}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class PeriodSplitter:
    """One read's rows, period by period: what to write now, and what was unchanged."""

    def __init__(
        self,
        grain: str,
        stored: Mapping[date, tuple[int, int]],
        hold_at_most: int,
        *,
        first_load: bool = False,
    ) -> None:
        self._grain = grain
        self.first_load = first_load
        self._stored = stored
        self._hold_at_most = hold_at_most
        self._period: str | None = None
        self._held: list[StagedRow] = []
        self._digest = 0
        self._rows = 0
        self._flushed = False  # part of the period was written before it ended
        self._closed: set[str] = set()
        self.unchanged: dict[date, int] = {}
        self.digests: dict[date, int] = {}
        self.loaded: dict[date, int] = {}

    def add(self, rows: Iterable[StagedRow]) -> list[StagedRow]:
        """Take a page's rows; return those to write now."""
        out: list[StagedRow] = []
        for row in rows:
            if row[0] != self._period:
                out += self._close()
                if row[0] in self._closed:
                    raise Ga4RequestError(
                        f"GA4's answer came back to the period {row[0]} after it had"
                        " ended: it was not ordered by period",
                        http_status=200,
                        google_status="",
                    )
                self._period = row[0]
            self._held.append(row)
            self._digest = (self._digest + row_hash(row[1], row[2])) & _MASK
            self._rows += 1
        if len(self._held) >= self._hold_at_most:
            out += self._held
            self._held = []
            self._flushed = True
        return out

    def finish(self) -> list[StagedRow]:
        """The read is complete: the last period ends; return the rows to write."""
        return self._close()

    def answer(self) -> AnswerDigests:
        return AnswerDigests(unchanged=self.unchanged, digests=self.digests, loaded=self.loaded)

    def _close(self) -> list[StagedRow]:
        if self._period is None:
            return []
        day = period_date(self._grain, self._period)
        held, digest, rows = self._held, self._digest, self._rows
        self._closed.add(self._period)
        self.digests[day] = digest
        self._period, self._held, self._digest, self._rows = None, [], 0, 0
        flushed, self._flushed = self._flushed, False
        if self.first_load:
            self.loaded[day] = rows
        elif not flushed and self._stored.get(day) == (digest, rows):
            self.unchanged[day] = rows
            return []
        return held
