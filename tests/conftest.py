"""Test harness: a real Postgres for every test, fakes only for Google.

``TEST_DATABASE_URL`` points at a server to use (any database on it; CI uses the
machine's PostgreSQL). Without it the session starts an embedded Postgres. The
session migrates one template database; each test that asks for ``database_url``
gets its own ``CREATE DATABASE ... TEMPLATE`` clone, dropped afterwards. Google
is the fake in ``ga4sync.fake_google``, served on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import psycopg
import pytest
from cryptography.fernet import Fernet

from ga4sync.crypto import TokenCipher
from ga4sync.db import connect, open_pool
from ga4sync.embedded import embedded_postgres
from ga4sync.fake_google import FakeGoogle
from ga4sync.migrate import migrate
from ga4sync.runtime import open_runtime, run_worker
from ga4sync.settings import Settings
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.ingest import open_ingestion
from ga4sync.sync.jobs import SyncService
from ga4sync.sync.upkeep import Upkeep
from ga4sync.web.app import create_app
from tests.webtools import ADMIN, CRON, ORIGIN, SECRET


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at database ``dbname`` (path or ?dbname= style URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a maintenance database on the server the tests use."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    data_dir: Path = tmp_path_factory.mktemp("embedded") / "pgdata"
    with embedded_postgres(data_dir, delete=True) as url:
        yield url


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    """Name of a migrated template database."""
    name = f"ga4sync_tpl_{uuid.uuid4().hex[:12]}"
    _admin(pg_server_url, f'create database "{name}"')

    async def _migrate() -> None:
        async with connect(with_database(pg_server_url, name)) as conn:
            await migrate(conn)

    asyncio.run(_migrate())
    yield name
    _admin(pg_server_url, f'drop database if exists "{name}" with (force)')


@pytest.fixture
def database_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = f"ga4sync_t_{uuid.uuid4().hex[:12]}"
    _admin(pg_server_url, f'create database "{name}" template "{template_db}"')
    yield with_database(pg_server_url, name)
    _admin(pg_server_url, f'drop database if exists "{name}" with (force)')


@pytest.fixture
def empty_database_url(pg_server_url: str) -> Iterator[str]:
    """A database with nothing in it (migrations not applied)."""
    name = f"ga4sync_empty_{uuid.uuid4().hex[:12]}"
    _admin(pg_server_url, f'create database "{name}"')
    yield with_database(pg_server_url, name)
    _admin(pg_server_url, f'drop database if exists "{name}" with (force)')


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(database_url, min_size=1, max_size=10) as pool:
        yield pool


@pytest.fixture(scope="session")
def encryption_key() -> str:
    return Fernet.generate_key().decode()


# A fixed instant: 2026-11-21 06:00 UTC is still 2026-11-20 in Los Angeles.
FIXED_NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def real_now_past_the_daily_run(now: datetime | None = None) -> datetime:
    """The real time, for tests whose queued steps wait by the database's clock, but
    never between midnight and the daily run's time (00:15) in Los Angeles, the
    schedule's zone: a starting worker's catch-up daily run is not due then, and
    the tests wait for it. In that window, the instant just after it (ahead of the
    real time, so a step scheduled by it still waits)."""
    now = now or datetime.now(UTC)
    local = now.astimezone(ZoneInfo("America/Los_Angeles"))
    clear = local.replace(hour=0, minute=20, second=0, microsecond=0)
    return clear.astimezone(UTC) if local < clear else now


@pytest.fixture
def fake() -> FakeGoogle:
    fake = FakeGoogle(seed=7)
    fake.set_today("2026-11-21")
    return fake


@pytest.fixture
async def google_url(fake: FakeGoogle) -> AsyncIterator[str]:
    async with fake.serve() as base_url:
        yield base_url


@pytest.fixture
def settings(database_url: str, encryption_key: str, google_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        token_encryption_key=encryption_key,
        google_client_id="client-id",
        google_client_secret="client-secret",
        google_token_uri=f"{google_url}/token",
        ga4_api_base_url=google_url,
        ga4_retry_base_s=0.01,
        ga4_max_retries=3,
        # Three days a sync (today and the two before it), no history: the window
        # most tests count rows in. Coverage and backfill tests set their own.
        sync_lookback_days=1,
        sync_backfill_days=0,
    )


class Clock:
    """A settable clock for tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(FIXED_NOW)


@pytest.fixture
def ingestion_for(pool: asyncpg.Pool, settings: Settings, clock: Clock):
    """``async with ingestion_for(**setting_overrides) as ingestion``."""

    def open_with(**overrides):
        return open_ingestion(pool, replace(settings, **overrides), now=clock)

    return open_with


@pytest.fixture
def connect_user(pool: asyncpg.Pool, fake: FakeGoogle, encryption_key: str):
    """Connect a new user with a valid grant and ``{property_id: time_zone}`` properties,
    each also known to the fake Google with ``cardinality`` values per dimension."""

    async def connect(properties, *, cardinality=4, refresh_token=None, **flags):
        user_id = uuid.uuid4()
        token = refresh_token or f"rt-{user_id.hex[:8]}"
        fake.add_refresh_token(token)
        await store_google_grant(pool, TokenCipher(encryption_key), user_id, token)
        for property_id, time_zone in properties.items():
            fake.add_property(property_id, time_zone=time_zone, cardinality=cardinality, **flags)
            await connect_property(pool, user_id, property_id, time_zone=time_zone)
        return user_id

    return connect


class RecordingQueue:
    """A ``JobQueue`` that only records what the service queued."""

    def __init__(self) -> None:
        self.runs: list[uuid.UUID] = []
        self.properties: list[tuple[uuid.UUID, list[int]]] = []
        self.due: list[int] = []
        self.continuations: list[tuple[int, bool, datetime | None]] = []
        self.lanes: list[tuple[object, list[int] | None]] = []
        self.promoted: list[tuple[uuid.UUID, list[int]]] = []

    async def enqueue_run(self, job_id: uuid.UUID) -> None:
        self.runs.append(job_id)

    async def enqueue_properties(self, job_id: uuid.UUID, property_refs, *, lane=None, ranks=None):
        self.properties.append((job_id, list(property_refs)))
        self.lanes.append((lane, list(ranks) if ranks is not None else None))

    async def enqueue_due_property(self, property_ref: int, *, rank=0) -> None:
        self.due.append(property_ref)

    async def enqueue_continuation(self, property_ref, *, recent, at=None, rank=0) -> None:
        self.continuations.append((property_ref, recent, at))

    async def promote_properties(self, job_id: uuid.UUID, property_refs) -> int:
        self.promoted.append((job_id, list(property_refs)))
        return len(property_refs)


@pytest.fixture
def recording_queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def service(pool, settings, clock, recording_queue) -> SyncService:
    """The sync service over a recording queue: what it decides, without a worker."""
    return SyncService(pool, recording_queue, settings, now=clock)


@pytest.fixture
def upkeep(pool, settings, clock, recording_queue) -> Upkeep:
    """Schedule and queue upkeep over the same recording queue as ``service``."""
    return Upkeep(pool, recording_queue, settings, now=clock)


@pytest.fixture
async def runtime(settings: Settings, database_url: str, clock: Clock):
    async with open_runtime(
        replace(settings, worker_heartbeat_s=0.5, stalled_after_s=2.0),
        database_url,
        now=clock,
        periodic=False,
    ) as rt:
        yield rt


@pytest.fixture
async def worker(runtime):
    """A real procrastinate worker in this event loop, stopped after the test."""
    task = asyncio.create_task(run_worker(runtime))
    # A starting worker catches up the day's daily run: let it finish (there is
    # nothing to sync yet) so tests start from a quiet queue.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        daily = await runtime.pool.fetchrow(
            "select status from ga4_sync_jobs where kind = 'daily' and status <> 'pending'"
            " and status <> 'running'"
        )
        if daily is not None:
            break
        assert not task.done(), task.exception()
        assert asyncio.get_running_loop().time() < deadline, "the catch-up daily run never ended"
        await asyncio.sleep(0.05)
    yield task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)


async def wait_for_job(sync: SyncService, job_id: uuid.UUID, timeout_s: float = 30.0):
    """Poll the job until it is no longer pending or running."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        job = await sync.get_job(job_id)
        if not job.active:
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job still {job.status} after {timeout_s}s: {job}")
        await asyncio.sleep(0.05)


@pytest.fixture
def web_settings(runtime):
    """Settings of a web app with auth, CORS, a cron token and one admin."""
    return replace(
        runtime.settings,
        supabase_jwt_secret=SECRET,
        cors_origins=(ORIGIN,),
        cron_token=CRON,
        admin_user_ids=frozenset({str(ADMIN)}),
    )


@pytest.fixture
async def client(aiohttp_client, runtime, web_settings):
    return await aiohttp_client(create_app(web_settings, runtime=runtime))
