"""Backfill benchmark: a year of one property's history from the fake Google into Postgres.

    python -m bench.backfill [--days 365] [--latency 0.15] [--cardinality 30]
        [--page-size 25000] [--concurrency 3] [--token-budget 14000] [--reread]

One property, the built-in reports, every date from ``--days`` ago to today
(``SYNC_BACKFILL_DAYS``), read as ``ga4sync sync`` reads it: the plan's chunks
(recent days first, then history newest first, ``--chunk-days`` a chunk), each
paged, ``--concurrency`` requests in flight (``GA4_PROPERTY_CONCURRENCY``). The
fake Google runs in its own process with a latency per request and a token
budget per property (``--token-budget`` an hour, per property and per project
per property; ``--daily-token-budget`` a day); each runReport costs
1 + rows // 10,000 tokens.

The ideal, computed in the same run from the plan and the fake's row counts,
is the time latency, concurrency and quota allow: requests x latency /
concurrency (or the longest chunk's pages one after another, when longer),
plus the clock hours to wait when the backfill needs more tokens than an hour
(or a day) grants. The raw pipeline makes the same requests with the same
concurrency (aiohttp + ``json.loads``, no database). Each ga4sync sync runs in
a child process of its own, so its peak RSS is its own; ``--compare-days``
syncs a shorter history the same way to show that peak RSS follows the page
size, not the history.

A second table counts CPU seconds of the client, the fake and the Postgres
backends of the sync, and a floor from them: no run is faster than the ideal,
than all of its CPU spread over the machine's cores, or than the client's CPU
(one Python thread). It also shows how busy the machine was (anyone's work)
and how many checkpoints the server made meanwhile (other databases force
them, and each one makes the next write of every page log it whole).

The sync's Postgres CPU is also given against a plain COPY of the rows it stored
into fresh tables with the same columns and primary key, measured in the same
run. ``--reread`` then unsettles every date of the property (as if each had been
read on the day itself) and syncs it again: every date is read again, GA4's
answer unchanged, and nothing may be written.

The benchmark exits 1 when a sync lost a row: every date of the range must be
covered in ``ga4_coverage`` with the row count the fake serves for it, and the
rows stored must be the rows served. With a budget smaller than the backfill
needs, the sync must stop ``quota_deferred`` having spent no more than the
budget (and the requests already in flight), with every date it covered whole.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from cryptography.fernet import Fernet

from bench.common import (
    fake_google_child,
    machine_cpu_s,
    process_cpu_s,
    scratch_database,
    server_url,
)
from ga4sync.collector import tune_collector
from ga4sync.crypto import TokenCipher
from ga4sync.db import open_pool
from ga4sync.fake_google import DEFAULT_QUOTA_LIMITS, token_cost
from ga4sync.ga4.api import COMPACT_ANSWERS
from ga4sync.ga4.wire import build_request
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.report_tables import ident, table_name
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts, open_ingestion
from ga4sync.sync.plan import Chunk, PlanSettings, plan_sync

TIME_ZONE = "America/Los_Angeles"
REFRESH_TOKEN = "rt-bench"
SPECS = {spec.name: spec for spec in BUILTIN_REPORTS}
DEFAULTS = Settings()


# --- the plan and the ideal --------------------------------------------------------------


def rows_per_day(spec: ReportSpec, cardinality: int) -> int:
    """Rows the fake serves per date: ``cardinality`` values per non-date dimension."""
    return int(cardinality ** len(spec.key_dimensions))


@dataclass(frozen=True)
class PlannedRead:
    """One chunk of the plan and the pages the fake answers it with."""

    chunk: Chunk
    pages: tuple[int, ...]  # rows of each page

    @property
    def rows(self) -> int:
        return sum(self.pages)

    @property
    def tokens(self) -> int:
        return sum(token_cost(rows) for rows in self.pages)


def plan_backfill(
    days: int, chunk_days: int, cardinality: int, page_size: int, now: datetime
) -> list[PlannedRead]:
    """The chunks a first sync reads (the product's own plan) and their pages."""
    settings = PlanSettings(
        lookback_days=DEFAULTS.sync_lookback_days,
        backfill_days=days,
        backfill_chunk_days=chunk_days,
    )
    chunks = plan_sync(
        time_zone=TIME_ZONE,
        now=now,
        coverage={spec.name: {} for spec in BUILTIN_REPORTS},
        settings=settings,
    )
    reads = []
    for chunk in chunks:
        rows = chunk.days * rows_per_day(SPECS[chunk.report], cardinality)
        full, rest = divmod(rows, page_size)
        pages = (page_size,) * full + ((rest,) if rest or not full else ())
        reads.append(PlannedRead(chunk, pages))
    return reads


@dataclass(frozen=True)
class Ideal:
    requests: int
    tokens: int
    rows: int
    longest_chunk_pages: int
    latency_s: float
    concurrency: int
    tokens_per_hour: int
    tokens_per_day: int

    @property
    def latency_bound_s(self) -> float:
        return self.requests * self.latency_s / self.concurrency

    @property
    def chain_bound_s(self) -> float:
        # a chunk's pages are read one after another (each offset follows the last)
        return self.longest_chunk_pages * self.latency_s

    @property
    def quota_wait_s(self) -> float:
        """Clock time spent waiting for quota, at best (the run starts as a new hour
        and a new Pacific day begin)."""
        hours = math.ceil(self.tokens / self.tokens_per_hour) - 1
        days = math.ceil(self.tokens / self.tokens_per_day) - 1
        return max(hours * 3600.0, days * 86_400.0, 0.0)

    @property
    def seconds(self) -> float:
        return max(self.latency_bound_s, self.chain_bound_s) + self.quota_wait_s


def ideal_of(reads: list[PlannedRead], args: argparse.Namespace) -> Ideal:
    return Ideal(
        requests=sum(len(r.pages) for r in reads),
        tokens=sum(r.tokens for r in reads),
        rows=sum(r.rows for r in reads),
        longest_chunk_pages=max(len(r.pages) for r in reads),
        latency_s=args.latency,
        concurrency=args.concurrency,
        tokens_per_hour=args.token_budget,
        tokens_per_day=args.daily_token_budget,
    )


# --- what a run measured ----------------------------------------------------------------


@dataclass
class Figure:
    name: str
    days: int
    wall_s: float
    cpu_s: float
    rows: int
    tokens: int
    requests: int
    ideal_s: float
    quota_wait_s: float = 0.0
    fake_cpu_s: float | None = None
    db_cpu_s: float | None = None
    busy_cores: float | None = None
    checkpoints: int | None = None
    peak_rss_mb: float | None = None
    rss_before_mb: float | None = None


class CpuMeter:
    """CPU seconds over a stretch of time: of the fake Google, of given Postgres
    backends, and how many of the machine's cores were busy (anyone's work)."""

    def __init__(self, fake_pid: int) -> None:
        self.fake_pid = fake_pid
        self.fake = process_cpu_s(fake_pid)
        self.machine = machine_cpu_s()
        self.backends: dict[int, float] = {}

    def add_backends(self, pids: list[int]) -> None:
        for pid in pids:
            self.backends.setdefault(pid, process_cpu_s(pid) or 0.0)

    def fake_cpu_s(self) -> float | None:
        now = process_cpu_s(self.fake_pid)
        return None if now is None or self.fake is None else now - self.fake

    def db_cpu_s(self, pids: list[int]) -> float | None:
        used = [(process_cpu_s(pid), self.backends.get(pid, 0.0)) for pid in pids]
        if not used or any(now is None for now, _ in used):
            return None  # Postgres runs elsewhere, or Linux does not say
        return sum(now - before for now, before in used if now is not None)

    def busy_cores(self) -> float | None:
        now = machine_cpu_s()
        if now is None or self.machine is None or now[1] == self.machine[1]:
            return None
        share = (now[0] - self.machine[0]) / (now[1] - self.machine[1])
        return share * (os.cpu_count() or 1)


# --- the raw request pipeline ------------------------------------------------------------


async def access_token(session: aiohttp.ClientSession, base_url: str) -> str:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": "bench",
        "client_secret": "bench",
    }
    async with session.post(f"{base_url}/token", data=form) as response:
        return str((await response.json())["access_token"])


async def raw_pipeline(
    base_url: str,
    fake_pid: int,
    property_id: str,
    reads: list[PlannedRead],
    args: argparse.Namespace,
) -> tuple[Figure, Counter[str]]:
    """The same requests at the same concurrency: aiohttp + json.loads, no database."""
    rows_by_report: Counter[str] = Counter()
    tokens = requests = 0
    slots = asyncio.Semaphore(args.concurrency)
    url = f"{base_url}/v1beta/properties/{property_id}:runReport"
    connector = aiohttp.TCPConnector(limit=max(10, args.concurrency))
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"Authorization": f"Bearer {await access_token(session, base_url)}"}

        async def one(read: PlannedRead) -> None:
            nonlocal tokens, requests
            chunk = read.chunk
            body = build_request(
                property_id,
                SPECS[chunk.report],
                chunk.start_date,
                chunk.end_date,
                page_size=args.page_size,
            )
            offset = 0
            async with slots:
                while True:
                    body["offset"] = str(offset)
                    async with session.post(
                        url, params=COMPACT_ANSWERS, json=body, headers=headers
                    ) as response:
                        payload = await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"raw pipeline: {response.status} {payload[:200]!r}")
                    data = json.loads(payload)
                    requests += 1
                    tokens += int(data["propertyQuota"]["tokensPerDay"].get("consumed", 0))
                    records = [
                        (
                            *(d.get("value", "") for d in r["dimensionValues"]),
                            *(m.get("value", "") for m in r["metricValues"]),
                        )
                        for r in data.get("rows", ())
                    ]
                    rows_by_report[chunk.report] += len(records)
                    offset += len(records)
                    if not records or offset >= int(data.get("rowCount", 0)):
                        return

        meter = CpuMeter(fake_pid)
        wall, cpu = time.perf_counter(), time.process_time()
        async with asyncio.TaskGroup() as group:
            for read in reads:
                group.create_task(one(read))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        fake_cpu, busy = meter.fake_cpu_s(), meter.busy_cores()
    days = (max(r.chunk.end_date for r in reads) - min(r.chunk.start_date for r in reads)).days
    figure = Figure(
        name="raw requests: aiohttp + json",
        days=days + 1,
        wall_s=wall,
        cpu_s=cpu,
        rows=sum(rows_by_report.values()),
        tokens=tokens,
        requests=requests,
        ideal_s=ideal_of(reads, args).seconds,
        fake_cpu_s=fake_cpu,
        busy_cores=busy,
    )
    return figure, rows_by_report


# --- one ga4sync sync in a child process -------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` survives ``exec``, so a child
    would start at its parent's peak: the kernel's VmHWM is this image's own."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


async def _child_sync(job: dict[str, Any]) -> dict[str, Any]:
    settings = Settings(
        database_url=job["db_url"],
        token_encryption_key=job["key"],
        google_client_id="bench",
        google_client_secret="bench",
        google_token_uri=f"{job['base_url']}/token",
        ga4_api_base_url=job["base_url"],
        ga4_page_size=job["page_size"],
        ga4_property_concurrency=job["concurrency"],
        ga4_max_concurrency=max(10, job["concurrency"]),
        sync_backfill_days=job["days"],
        sync_backfill_chunk_days=job["chunk_days"],
    )
    async with open_pool(job["db_url"]) as pool, open_ingestion(pool, settings) as ingestion:
        rss_before = _peak_rss_mb()
        meter = CpuMeter(job["fake_pid"])
        meter.add_backends(await _backends(pool))
        checkpoints = await _checkpoints(pool)
        wall, cpu = time.perf_counter(), time.process_time()
        # what `ga4sync sync --property ID` does: the lookback, then all the history
        summary = await ingest_ga4_for_all_accounts(
            ingestion, property_id=job["property_id"], history_chunks=None
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        fake_cpu, busy = meter.fake_cpu_s(), meter.busy_cores()
        db_cpu = meter.db_cpu_s(await _backends(pool))
        checkpoints_after = await _checkpoints(pool)
        if checkpoints is not None and checkpoints_after is not None:
            checkpoints = checkpoints_after - checkpoints
    (result,) = summary.results
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_before_mb": rss_before,
        "fake_cpu_s": fake_cpu,
        "db_cpu_s": db_cpu,
        "busy_cores": busy,
        "checkpoints": checkpoints,
        "peak_rss_mb": _peak_rss_mb(),
        "status": result.status,
        "error": result.error,
        "rows_fetched": result.rows_fetched,
        "rows_inserted": result.rows_inserted,
        "rows_updated": result.rows_updated,
        "tokens": result.tokens_consumed,
        "quota": result.quota,
        "data_quality": result.data_quality,
        "history_days_left": result.history_days_left,
    }


async def _checkpoints(pool: asyncpg.Pool) -> int | None:
    """Checkpoints the server has made: each makes the next write of every page log
    it whole, so other databases that force them (CREATE DATABASE) slow this one."""
    for sql in (
        "select checkpoints_req + checkpoints_timed from pg_stat_bgwriter",
        "select num_requested + num_timed from pg_stat_checkpointer",  # PostgreSQL 17
    ):
        try:
            return int(await pool.fetchval(sql))
        except asyncpg.PostgresError:
            continue
    return None


async def _backends(pool: asyncpg.Pool) -> list[int]:
    """The Postgres backends serving this database: the sync's pool, nobody else's."""
    rows = await pool.fetch(
        "select pid from pg_stat_activity where datname = current_database()"
        " and backend_type = 'client backend'"
    )
    return [row["pid"] for row in rows]


def child_main() -> None:
    """Run the sync described by the JSON on stdin; print what it measured as JSON."""
    job = json.loads(sys.stdin.read())
    tune_collector()  # as every ga4sync process does (ga4sync/cli.py)
    print(json.dumps(asyncio.run(_child_sync(job))), flush=True)


@dataclass
class SyncOutcome:
    figure: Figure
    report: dict[str, Any]
    problems: list[str]
    notes: list[str]
    # Postgres CPU of a plain COPY of the rows the sync stored into tables with the
    # same columns and primary key: the floor the sync's Postgres CPU is held to.
    copy_cpu_s: float | None = None
    reread: SyncOutcome | None = None
    storage: list[Storage] = field(default_factory=list)


async def plain_copy_cpu_s(db_url: str, property_ref: int) -> float | None:
    """Postgres CPU seconds of COPYing the property's stored rows, as they are, into
    fresh tables with the report tables' columns and primary key."""
    conn = await asyncpg.connect(db_url)
    try:
        pid = await conn.fetchval("select pg_backend_pid()")
        spent = 0.0
        for n, spec in enumerate(BUILTIN_REPORTS):
            table = table_name(spec.key)
            records = await conn.fetch(
                f"select * from {table} where property_ref = $1", property_ref
            )
            await conn.execute(
                f"create table bench_plain_{n} (like {table} including defaults,"
                " primary key (property_ref, date, dimension_key))"
            )
            if not records:
                continue
            before = process_cpu_s(pid)
            await conn.copy_records_to_table(
                f"bench_plain_{n}", records=records, columns=list(records[0].keys())
            )
            after = process_cpu_s(pid)
            if before is None or after is None:
                return None  # Postgres runs elsewhere, or Linux does not say
            spent += after - before
        return spent
    finally:
        await conn.close()


@dataclass(frozen=True)
class Storage:
    """One report's rows on disk (heap, TOAST and indexes), as ga4sync stores them and
    in a minimal typed table: no surrogate key, no synced_at, the primary key
    (property_ref, date, the dimension values)."""

    report: str
    rows: int
    ga4sync_bytes: int
    minimal_bytes: int


async def storage_per_row(db_url: str, property_ref: int) -> list[Storage]:
    """Each report's bytes on disk against the same rows in a minimal typed table."""
    conn = await asyncpg.connect(db_url)
    try:
        sizes = []
        for n, spec in enumerate(BUILTIN_REPORTS):
            table = table_name(spec.key)
            dims = [ident(c.name) for c in spec.columns if c.kind == "dimension"]
            values = ", ".join(ident(c.name) for c in spec.columns)
            key = ", ".join(["property_ref", "date", *dims])
            await conn.execute(
                f"create table bench_minimal_{n} as select property_ref, date, {values}"
                f" from {table} with no data;"
                f" alter table bench_minimal_{n} add primary key ({key})"
            )
            await conn.execute(
                f"insert into bench_minimal_{n} select property_ref, date, {values} from {table}"
                f" where property_ref = $1",
                property_ref,
            )
            await conn.execute(f"vacuum analyze {table}, bench_minimal_{n}")
            sizes.append(
                Storage(
                    spec.name,
                    await conn.fetchval(f"select count(*) from {table}"),
                    await conn.fetchval(f"select pg_total_relation_size('{table}')"),
                    await conn.fetchval(f"select pg_total_relation_size('bench_minimal_{n}')"),
                )
            )
        return sizes
    finally:
        await conn.close()


async def ga4sync_run(
    server: str,
    fake: tuple[str, int],
    property_id: str,
    days: int,
    args: argparse.Namespace,
) -> SyncOutcome:
    """A fresh database, one connected property, one sync of it in a child process,
    then the checks: what the sync stored against what the fake serves."""
    now = datetime.now(UTC)
    reads = plan_backfill(days, args.chunk_days, args.cardinality, args.page_size, now)
    ideal = ideal_of(reads, args)
    base_url, fake_pid = fake
    async with scratch_database(server) as db_url:
        key = Fernet.generate_key().decode()
        async with open_pool(db_url) as pool:
            user = uuid.uuid4()
            await store_google_grant(pool, TokenCipher(key), user, REFRESH_TOKEN)
            await connect_property(pool, user, property_id, time_zone=TIME_ZONE)
        job = {
            "db_url": db_url,
            "key": key,
            "base_url": base_url,
            "fake_pid": fake_pid,
            "property_id": property_id,
            "days": days,
            "chunk_days": args.chunk_days,
            "page_size": args.page_size,
            "concurrency": args.concurrency,
        }
        report = await _sync_in_child(job)
        conn = await asyncpg.connect(db_url)
        try:
            problems, notes = await check(conn, property_id, reads, ideal, report, args)
            prop_ref = await conn.fetchval(
                "select id from ga4_properties where property_id = $1", property_id
            )
            reread_report = None
            if args.reread:
                # Every date read again, GA4's answer unchanged: nothing to write.
                # Each date counts as read on the day itself, so none is settled.
                await conn.execute(
                    "update ga4_coverage set read_at = date::timestamptz where property_ref = $1",
                    prop_ref,
                )
                reread_report = await _sync_in_child(job)
                written = reread_report["rows_inserted"] + reread_report["rows_updated"]
                if written or reread_report["status"] != "success":
                    problems.append(
                        f"the re-read ended {reread_report['status']} and wrote {written:,} rows"
                    )
        finally:
            await conn.close()
        copy_cpu = await plain_copy_cpu_s(db_url, prop_ref)
        storage = await storage_per_row(db_url, prop_ref)
    span = (max(r.chunk.end_date for r in reads) - min(r.chunk.start_date for r in reads)).days
    pages = sum(q.get("pages", 0) for q in report["data_quality"].values())
    figure = Figure(
        name="ga4sync sync",
        days=span + 1,
        wall_s=report["wall_s"],
        cpu_s=report["cpu_s"],
        rows=report["rows_fetched"],
        tokens=report["tokens"],
        requests=pages,
        ideal_s=ideal.seconds,
        quota_wait_s=ideal.quota_wait_s,
        fake_cpu_s=report["fake_cpu_s"],
        db_cpu_s=report["db_cpu_s"],
        busy_cores=report["busy_cores"],
        checkpoints=report["checkpoints"],
        peak_rss_mb=report["peak_rss_mb"],
        rss_before_mb=report["rss_before_mb"],
    )
    outcome = SyncOutcome(figure, report, problems, notes, copy_cpu, storage=storage)
    if reread_report is not None:
        again = replace(
            figure,
            name="ga4sync re-read, unchanged",
            wall_s=reread_report["wall_s"],
            cpu_s=reread_report["cpu_s"],
            rows=reread_report["rows_fetched"],
            tokens=reread_report["tokens"],
            fake_cpu_s=reread_report["fake_cpu_s"],
            db_cpu_s=reread_report["db_cpu_s"],
            busy_cores=reread_report["busy_cores"],
            checkpoints=reread_report["checkpoints"],
            peak_rss_mb=reread_report["peak_rss_mb"],
            rss_before_mb=reread_report["rss_before_mb"],
        )
        outcome.reread = SyncOutcome(again, reread_report, [], [], copy_cpu)
    return outcome


async def _sync_in_child(job: dict[str, Any]) -> dict[str, Any]:
    """One ``ga4sync sync`` of the job's property in a child process: what it measured."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.backfill",
        "--sync-child",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate(json.dumps(job).encode())
    if child.returncode != 0:
        raise SystemExit(f"the ga4sync sync process exited with {child.returncode}")
    report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return report


async def check(
    conn: asyncpg.Connection,
    property_id: str,
    reads: list[PlannedRead],
    ideal: Ideal,
    report: dict[str, Any],
    args: argparse.Namespace,
) -> tuple[list[str], list[str]]:
    """Problems (rows lost, dates uncovered, requests or tokens off the plan) and notes."""
    problems: list[str] = []
    notes: list[str] = []
    prop_ref = await conn.fetchval(
        "select id from ga4_properties where property_id = $1", property_id
    )
    first = min(r.chunk.start_date for r in reads)
    last = max(r.chunk.end_date for r in reads)
    target = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    coverage: dict[str, dict[date, int]] = {spec.name: {} for spec in BUILTIN_REPORTS}
    names = {spec.key: spec.name for spec in BUILTIN_REPORTS}
    for row in await conn.fetch(
        "select report, date, rows from ga4_coverage where property_ref = $1", prop_ref
    ):
        coverage[names[row["report"]]][row["date"]] = row["rows"]
    stored: dict[str, Counter[date]] = {spec.name: Counter() for spec in BUILTIN_REPORTS}
    for spec in BUILTIN_REPORTS:
        for row in await conn.fetch(
            f"select date, count(*) as n from {table_name(spec.key)}"
            " where property_ref = $1 group by date",
            prop_ref,
        ):
            stored[spec.name][row["date"]] = row["n"]
    quota_bound = ideal.quota_wait_s > 0
    expected_status = "quota_deferred" if quota_bound else "success"
    if report["status"] != expected_status:
        problems.append(f"sync ended {report['status']} ({report['error']}), not {expected_status}")
    for spec in BUILTIN_REPORTS:
        per_day = rows_per_day(spec, args.cardinality)
        covered = coverage[spec.name]
        outside = set(covered) - target
        wrong = sorted(d for d, n in covered.items() if n != per_day)
        short = sorted(d for d in covered if stored[spec.name][d] != per_day)
        if outside:
            problems.append(f"{spec.name}: {len(outside)} dates covered outside the range")
        if wrong:
            problems.append(f"{spec.name}: coverage of {len(wrong)} dates has a row count off")
        if short:
            problems.append(
                f"{spec.name}: {len(short)} covered dates do not hold the {per_day:,} rows"
                f" served, first {short[0]} ({stored[spec.name][short[0]]:,})"
            )
        uncovered = target - set(covered)
        if uncovered and not quota_bound:
            problems.append(
                f"{spec.name}: {len(uncovered)} of {len(target)} dates not covered,"
                f" first {min(uncovered)}"
            )
        elif uncovered:
            notes.append(f"{spec.name}: {len(target) - len(uncovered)} of {len(target)} dates read")
        if not quota_bound:
            quality = report["data_quality"].get(spec.name, {})
            planned = sum(len(r.pages) for r in reads if r.chunk.report == spec.name)
            if quality.get("incomplete") or quality.get("pages") != planned:
                problems.append(f"{spec.name}: {quality} (planned {planned} pages)")
    total = sum(sum(c.values()) for c in stored.values())
    if not quota_bound:
        if total != ideal.rows or report["rows_fetched"] != ideal.rows:
            problems.append(
                f"stored {total:,} rows, fetched {report['rows_fetched']:,};"
                f" the fake serves {ideal.rows:,}"
            )
        if report["tokens"] != ideal.tokens:
            problems.append(f"spent {report['tokens']:,} tokens, the plan {ideal.tokens:,}")
    else:
        # Pages already in flight when the budget runs out are still charged.
        allowed = args.token_budget + args.concurrency * token_cost(args.page_size)
        if report["tokens"] > allowed:
            problems.append(f"spent {report['tokens']:,} tokens of a {args.token_budget:,} budget")
    return problems, notes


# --- the run -----------------------------------------------------------------------------


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def print_figures(
    args: argparse.Namespace,
    ideal: Ideal,
    reads: list[PlannedRead],
    raw: Figure | None,
    outcomes: list[SyncOutcome],
) -> None:
    main = outcomes[0]
    first = min(r.chunk.start_date for r in reads)
    last = max(r.chunk.end_date for r in reads)
    per_day = {s.name: rows_per_day(s, args.cardinality) for s in BUILTIN_REPORTS}
    print(
        f"\none property, {len(BUILTIN_REPORTS)} built-in reports, {(last - first).days + 1} dates"
        f" ({first} .. {last}), rows a day: "
        + ", ".join(f"{name} {n:,}" for name, n in per_day.items())
        + f"; {ideal.rows:,} rows"
    )
    print(
        f"fake Google: {args.latency * 1000:.0f} ms a request; ga4sync: pages of"
        f" {args.page_size:,}, {args.chunk_days}-day chunks, {args.concurrency} requests in flight"
    )
    print(
        f"plan: {len(reads)} chunks, {ideal.requests} runReport requests"
        f" (longest chunk {ideal.longest_chunk_pages} pages), {ideal.tokens:,} tokens"
    )
    share = ideal.tokens / ideal.tokens_per_hour
    verdict = (
        f"needs {share:.1%} of an hour's budget: the quota does not bind"
        if ideal.quota_wait_s == 0
        else f"needs {share:.1f} hours' budget: the quota binds"
    )
    print(
        f"token budget: {ideal.tokens_per_hour:,}/hour, {ideal.tokens_per_day:,}/day;"
        f" the backfill {verdict}"
    )
    print(
        f"ideal: {ideal.requests} x {ideal.latency_s:.3f} s / {ideal.concurrency} ="
        f" {ideal.latency_bound_s:.2f} s (longest chunk {ideal.chain_bound_s:.2f} s,"
        f" quota wait {ideal.quota_wait_s:.0f} s) -> {ideal.seconds:.2f} s\n"
    )
    runs = [run for o in outcomes for run in (o, o.reread) if run is not None]
    figures = ([raw] if raw else []) + [run.figure for run in runs]
    print(
        f"{'run':28} {'dates':>5} {'requests':>8} {'rows':>9} {'wall s':>7} {'x ideal':>7}"
        f" {'x raw':>6} {'rows/s':>8} {'tokens':>6} {'tokens/1k rows':>14}"
        f" {'RSS MB':>6} {'peak MB':>7}"
    )
    for f in figures:
        ratio_raw = f"{f.wall_s / raw.wall_s:.2f}" if raw and f.days == raw.days else "-"
        # a sync that waits for the quota ends deferred, long before the ideal
        ratio_ideal = "-" if f.quota_wait_s else f"{f.wall_s / f.ideal_s:.2f}"
        print(
            f"{f.name:28} {f.days:>5} {f.requests:>8} {f.rows:>9,} {f.wall_s:>7.2f}"
            f" {ratio_ideal:>7} {ratio_raw:>6} {f.rows / f.wall_s:>8,.0f}"
            f" {f.tokens:>6,} {1000 * f.tokens / max(f.rows, 1):>14.2f}"
            f" {_mb(f.rss_before_mb):>6} {_mb(f.peak_rss_mb):>7}"
        )
    # A second floor, from the run's own CPU: no faster than the latency allows, than
    # the machine's cores do all of the work, or than one Python thread does the client's.
    cores = os.cpu_count() or 1
    print(
        f"\n{'CPU seconds':28} {'dates':>5} {'client':>7} {'fake':>7} {'Postgres':>8}"
        f" {'sum':>7} {f'sum/{cores}':>7} {'floor s':>7} {'wall s':>7} {'x floor':>7}"
        f" {'machine busy':>12} {'checkpoints':>11}"
    )
    for f in figures:
        parts = [f.cpu_s, f.fake_cpu_s, f.db_cpu_s]
        total = sum(p for p in parts if p is not None)
        floor = max(f.ideal_s - f.quota_wait_s, total / cores, f.cpu_s)
        busy = "" if f.busy_cores is None else f"{f.busy_cores:.2f} cores"
        print(
            f"{f.name:28} {f.days:>5} {_s(f.cpu_s):>7} {_s(f.fake_cpu_s):>7} {_s(f.db_cpu_s):>8}"
            f" {total:>7.2f} {total / cores:>7.2f} {floor:>7.2f} {f.wall_s:>7.2f}"
            f" {f.wall_s / floor:>7.2f} {busy:>12} {_n(f.checkpoints):>11}"
        )
    print()
    for run in runs:
        if run.copy_cpu_s and run.figure.db_cpu_s is not None:
            f = run.figure
            print(
                f"Postgres CPU, {f.name} ({f.days} dates): {f.db_cpu_s:.2f} s ="
                f" {f.db_cpu_s / run.copy_cpu_s:.2f} x a plain COPY of the rows stored"
                f" ({run.copy_cpu_s:.2f} s), {f.db_cpu_s / max(f.rows, 1) * 1e6:.1f} µs a row"
                f" read; rows written {run.report['rows_inserted'] + run.report['rows_updated']:,}"
            )
    if main.storage:
        print(
            "\non disk (heap, TOAST, indexes; vacuumed), bytes a row: ga4sync's report table"
            " against a minimal typed table keyed by (property, date, dimension values)"
        )
        print(f"{'report':18} {'rows':>9} {'ga4sync':>8} {'minimal':>8} {'x minimal':>9}")
        for size in main.storage:
            ours, least = (b / max(size.rows, 1) for b in (size.ga4sync_bytes, size.minimal_bytes))
            print(
                f"{size.report:18} {size.rows:>9,} {ours:>8.0f} {least:>8.0f} {ours / least:>9.2f}"
            )
        total_ours = sum(s.ga4sync_bytes for s in main.storage)
        total_least = sum(s.minimal_bytes for s in main.storage)
        print(
            f"{'all':18} {sum(s.rows for s in main.storage):>9,} {'':>8} {'':>8}"
            f" {total_ours / total_least:>9.2f}"
        )
    quota = main.report.get("quota") or {}
    hour_left = quota.get("tokensPerHour", {}).get("remaining", 0)
    day_left = quota.get("tokensPerDay", {}).get("remaining", 0)
    print(
        f"\ntokens: {main.figure.tokens:,} spent of {ideal.tokens_per_hour:,} an hour"
        f" ({main.figure.tokens / ideal.tokens_per_hour:.1%}); GA4's last propertyQuota:"
        f" {hour_left:,} left this hour, {day_left:,} left today"
    )
    growth = [
        f"{o.figure.days} dates {o.figure.peak_rss_mb - (o.figure.rss_before_mb or 0):.0f} MB"
        for o in outcomes
        if o.figure.peak_rss_mb is not None
    ]
    print("peak RSS growth during the sync: " + ", ".join(growth))
    for outcome in outcomes:
        for note in outcome.notes:
            print(f"note ({outcome.figure.days} dates): {note}")


async def main(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    reads = plan_backfill(args.days, args.chunk_days, args.cardinality, args.page_size, now)
    ideal = ideal_of(reads, args)
    limits = {
        "tokensPerHour": args.token_budget,
        "tokensPerProjectPerHour": args.token_budget,
        "tokensPerDay": args.daily_token_budget,
        "concurrentRequests": max(DEFAULT_QUOTA_LIMITS["concurrentRequests"], args.concurrency),
    }
    raw: Figure | None = None
    outcomes: list[SyncOutcome] = []
    with server_url() as server:
        async with fake_google_child(
            cardinality=args.cardinality, latency_s=args.latency, quota_limits=limits
        ) as fake:
            if ideal.quota_wait_s == 0 and not args.no_raw:
                # One property each: quota is counted per property.
                raw, served = await raw_pipeline(*fake, "7000001", reads, args)
                for spec in BUILTIN_REPORTS:
                    planned = sum(r.rows for r in reads if r.chunk.report == spec.name)
                    if served[spec.name] != planned:
                        raise SystemExit(
                            f"the fake served {served[spec.name]:,} {spec.name} rows,"
                            f" the plan expects {planned:,}"
                        )
            outcomes.append(await ga4sync_run(server, fake, "7000002", args.days, args))
            if args.compare_days:
                outcomes.append(await ga4sync_run(server, fake, "7000003", args.compare_days, args))
    print_figures(args, ideal, reads, raw, outcomes)
    problems = [f"{o.figure.days} dates: {p}" for o in outcomes for p in o.problems]
    if problems:
        print("\nFAILED:\n  " + "\n  ".join(problems))
        return 1
    ranges = ", ".join(f"{o.figure.days}" for o in outcomes)
    print(
        f"complete: every date of each range ({ranges} dates) is covered in ga4_coverage with the"
        " rows the fake serves, and the rows stored are the rows served"
        if ideal.quota_wait_s == 0
        else "within budget: no rows lost on the dates read; the rest waits for the quota"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365, help="SYNC_BACKFILL_DAYS (365)")
    parser.add_argument(
        "--reread",
        action="store_true",
        help="then read every date again, GA4's answer unchanged (none of it settled)",
    )
    parser.add_argument("--latency", type=float, default=0.15, help="seconds a request (0.15)")
    parser.add_argument(
        "--cardinality", type=int, default=30, help="values per non-date dimension per day (30)"
    )
    parser.add_argument(
        "--page-size", type=int, default=DEFAULTS.ga4_page_size, help="GA4_PAGE_SIZE (25000)"
    )
    parser.add_argument(
        "--chunk-days",
        type=int,
        default=DEFAULTS.sync_backfill_chunk_days,
        help="SYNC_BACKFILL_CHUNK_DAYS (30)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULTS.ga4_property_concurrency,
        help="GA4_PROPERTY_CONCURRENCY (3)",
    )
    parser.add_argument(
        "--token-budget",
        type=int,
        default=DEFAULT_QUOTA_LIMITS["tokensPerProjectPerHour"],
        help="tokens an hour, per property and per project per property (14000: the tighter"
        " of a standard property's hourly quotas)",
    )
    parser.add_argument(
        "--daily-token-budget",
        type=int,
        default=DEFAULT_QUOTA_LIMITS["tokensPerDay"],
        help="tokens a day per property (200000)",
    )
    parser.add_argument(
        "--compare-days",
        type=int,
        default=90,
        help="also sync this much history, to compare peak RSS (0: skip)",
    )
    parser.add_argument("--no-raw", action="store_true", help="skip the raw request pipeline")
    parser.add_argument("--sync-child", action="store_true", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    arguments = _parser().parse_args()
    if arguments.sync_child:
        child_main()
    else:
        sys.exit(asyncio.run(main(arguments)))
