"""Test harness: a real Postgres for every test, fakes only for Google.

``TEST_DATABASE_URL`` points at a server to use (any database on it; CI uses the
machine's PostgreSQL). Without it the session starts an embedded Postgres. The
session migrates one template database; each test that asks for ``database_url``
gets its own ``CREATE DATABASE ... TEMPLATE`` clone, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psycopg
import pytest
from cryptography.fernet import Fernet

from ga4sync.db import connect, open_pool
from ga4sync.embedded import embedded_postgres
from ga4sync.migrate import migrate


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
