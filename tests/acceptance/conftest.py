"""Real worker processes against a real Postgres and the fake Google."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from ga4sync.fake_google import FakeGoogle


@pytest.fixture
def google():
    """The fake Google in a thread, slow enough to catch a worker mid-task."""
    fake = FakeGoogle(seed=11)
    with fake.serve_in_thread() as base_url:
        yield fake, base_url


@pytest.fixture
def worker_env(database_url, encryption_key, google):
    _, base_url = google
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TOKEN_ENCRYPTION_KEY": encryption_key,
        "GOOGLE_CLIENT_ID": "acceptance",
        "GOOGLE_CLIENT_SECRET": "acceptance-secret",
        "GOOGLE_TOKEN_URI": f"{base_url}/token",
        "GA4_API_BASE_URL": base_url,
        "GA4_RETRY_BASE_S": "0.05",
        "WORKER_HEARTBEAT_S": "0.5",
        "STALLED_AFTER_S": "2",
        "WORKER_CONCURRENCY": "4",
        # These processes run on the real clock: with the daily run due from local
        # midnight, today's is due whatever the time of day the suite runs at.
        "SYNC_DAILY_AT": "00:00",
        # Three days a sync, no history: the row counts these tests expect.
        "SYNC_LOOKBACK_DAYS": "1",
        "SYNC_BACKFILL_DAYS": "0",
    }


@pytest.fixture
def spawn_worker(worker_env, tmp_path):
    """Start ``ga4sync worker`` processes; all are killed after the test."""
    processes: list[subprocess.Popen[bytes]] = []

    def spawn() -> subprocess.Popen[bytes]:
        with open(tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ga4sync.cli", "worker"],
                env=worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
