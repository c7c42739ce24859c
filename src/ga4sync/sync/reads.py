"""Reading one chunk: a report's date range, page by page, into Postgres.

The next page downloads while this one is stored. Every page's keys are kept
for the read; when the read reaches GA4's ``rowCount`` it is complete, and in
one transaction the rows of those dates that GA4 no longer returned are
deleted and the dates recorded as covered. A read that stops short (an error,
a quota, a short answer) deletes nothing and covers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ga4sync.errors import Ga4RequestError
from ga4sync.ga4 import quota as quota_policy
from ga4sync.ga4.wire import ReportPage
from ga4sync.outage import DATABASE_UNAVAILABLE
from ga4sync.reports import ReportSpec
from ga4sync.store.coverage import abandon_read
from ga4sync.store.report_tables import (
    StagedRow,
    UpsertCounts,
    finish_read,
    rows_stored,
    store_whole_read,
    stored_digests,
    upsert_report_rows,
)
from ga4sync.sync.digests import PeriodSplitter
from ga4sync.sync.plan import Chunk
from ga4sync.sync.summary import PropertyResult

if TYPE_CHECKING:
    from ga4sync.sync.ingest import Ingestion

TokenSource = Callable[[bool], Awaitable[str]]


@dataclass
class ReportProgress:
    """What the reads of one report told about its data, over all its chunks."""

    pages: int = 0
    row_count: int = 0
    rows_fetched: int = 0
    duplicate_rows: int = 0
    chunks: int = 0
    incomplete_chunks: int = 0
    flags: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        quality: dict[str, object] = {
            "pages": self.pages,
            "row_count": self.row_count,
            "rows_fetched": self.rows_fetched,
            "chunks": self.chunks,
            **self.flags,
        }
        if self.incomplete_chunks:
            quality["incomplete"] = True
        if self.duplicate_rows:
            quality["duplicate_rows"] = self.duplicate_rows
        return quality


@dataclass(frozen=True)
class ChunkRead:
    """One chunk to read, and where its keys and counts go."""

    property_ref: int
    property_id: str
    spec: ReportSpec
    chunk: Chunk
    run_id: int
    read_no: int
    # the report's lookback, recorded with the dates the read covers
    lookback_days: int | None = None


async def read_chunk(
    ingestion: Ingestion,
    read: ChunkRead,
    token: TokenSource,
    result: PropertyResult,
    progress: ReportProgress,
) -> bool:
    """Read the chunk to the end and record it; ``True`` when the read was complete."""
    pages: asyncio.Queue[ReportPage | None] = asyncio.Queue(maxsize=1)
    chunk = read.chunk
    read_at = ingestion.now()
    fetched = 0
    row_count = 0
    flags: dict[str, object] = {}  # what GA4 said of this read's data, over its pages

    async def produce() -> None:
        done = 0
        async for page in ingestion.client.report_pages(
            read.property_id, read.spec, chunk.start_date, chunk.end_date, token
        ):
            # Spent and told once GA4 answered, whether or not the page is stored.
            result.tokens_consumed += page.tokens_consumed
            if page.quota:
                result.quota = {name: asdict(status) for name, status in page.quota.items()}
            await pages.put(page)
            done += page.rows_read
            remaining = {name: status.remaining for name, status in page.quota.items()}
            spent = quota_policy.spent_quota(remaining)
            if spent and page.rows_read and done < page.row_count:
                raise quota_policy.quota_exhausted(
                    spent, "at zero with pages still to read", ingestion.now()
                )
        await pages.put(None)

    def tally(counts: UpsertCounts) -> None:
        result.rows_inserted += counts.inserted
        result.rows_updated += counts.updated
        result.rows_unchanged += counts.unchanged

    async def write(rows: list[StagedRow], splitter: PeriodSplitter) -> None:
        async with ingestion.pool.acquire() as conn:
            tally(
                await upsert_report_rows(
                    conn,
                    read.spec,
                    read.property_ref,
                    rows,
                    read=None if splitter.first_load else (read.run_id, read.read_no),
                    first_load=splitter.first_load,
                )
            )

    async def consume() -> None:
        nonlocal fetched, row_count
        splitter = await prepared
        first_page = True
        while (page := await pages.get()) is not None:
            progress.pages += 1
            row_count = page.row_count
            fetched += page.rows_read
            progress.rows_fetched += page.rows_read
            progress.duplicate_rows += page.rows_read - len(page.rows)
            flags.update(page.quality_flags())
            progress.flags.update(flags)
            result.rows_fetched += page.rows_read
            result.time_zone = page.time_zone or result.time_zone
            result.currency_code = page.currency_code or result.currency_code
            _check_headers(read.spec, page)
            whole = first_page and page.rows_read >= page.row_count
            first_page = False
            rows = splitter.add(page.rows)
            if whole:
                # The whole read in one page (most recent-days reads): stored
                # and recorded complete in one transaction, no key kept.
                rows += splitter.finish()
                async with ingestion.pool.acquire() as conn:
                    counts, whole_read_deleted = await store_whole_read(
                        conn,
                        read.spec,
                        rows,
                        property_ref=read.property_ref,
                        start_date=chunk.start_date,
                        end_date=chunk.end_date,
                        run_id=read.run_id,
                        read_no=read.read_no,
                        read_at=read_at,
                        answer=splitter.answer(),
                        first_load=splitter.first_load,
                        lookback_days=read.lookback_days,
                        quality=flags,
                    )
                tally(counts)
                finished.append(whole_read_deleted)
            elif rows:
                await write(rows, splitter)
        if not finished and fetched >= row_count and (rest := splitter.finish()):
            await write(rest, splitter)  # the last period ended with the read

    async def prepare() -> PeriodSplitter:
        """What is stored of the chunk's periods: their digests, or none at all (a
        first load). Asked while the first request is in flight, which so leaves
        in the order the chunk was let in."""
        span = (ingestion.pool, read.spec, read.property_ref, chunk.start_date, chunk.end_date)
        stored = await stored_digests(*span)
        return PeriodSplitter(
            read.spec.grain,
            stored,
            ingestion.settings.ga4_page_size,
            first_load=not stored and not await rows_stored(*span),
        )

    finished: list[int] = []  # rows deleted, once a whole read in one page is recorded
    progress.chunks += 1
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            prepared = group.create_task(prepare())
            group.create_task(consume())
    except BaseException:
        progress.incomplete_chunks += 1
        # Best effort: with the database gone, the keys are pruned later.
        with contextlib.suppress(*DATABASE_UNAVAILABLE):
            await asyncio.shield(abandon_read(ingestion.pool, read.run_id, read.read_no))
        raise
    progress.row_count += row_count
    splitter = prepared.result()
    if finished:
        result.rows_unchanged += sum(splitter.unchanged.values())
        result.rows_deleted += finished[0]
        return True
    if fetched < row_count:
        # GA4 said there were more rows than it gave: keep what came, delete nothing.
        progress.incomplete_chunks += 1
        await abandon_read(ingestion.pool, read.run_id, read.read_no)
        return False
    deleted = await finish_read(
        ingestion.pool,
        read.spec,
        property_ref=read.property_ref,
        start_date=chunk.start_date,
        end_date=chunk.end_date,
        run_id=read.run_id,
        read_no=read.read_no,
        read_at=read_at,
        answer=splitter.answer(),
        lookback_days=read.lookback_days,
        quality=flags,
    )
    result.rows_unchanged += sum(splitter.unchanged.values())
    # Added after the await: ``x += await f()`` reads x first, and would lose the
    # deletions of chunks of the same property that finished meanwhile.
    result.rows_deleted += deleted
    return True


def _check_headers(spec: ReportSpec, page: ReportPage) -> None:
    """Values are stored by position: the answer's columns must be the request's."""
    if page.rows and (
        page.dimension_names != list(spec.dimensions) or page.metric_names != list(spec.metrics)
    ):
        raise Ga4RequestError(
            f"report {spec.name}: GA4 answered with the columns"
            f" {page.dimension_names + page.metric_names}, not the ones asked for",
            http_status=200,
            google_status="",
        )
