"""Acceptance: `ga4sync serve` as a user runs it — HTTP in, worker, rows out, clean stop."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
import uuid

import aiohttp
import jwt

from ..waiting import eventually
from .test_workers import _connect

SECRET = "serve-secret-0123456789-0123456789-01234"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_runs_a_manual_sync_end_to_end(
    pool, google, encryption_key, worker_env, tmp_path
):
    fake, _ = google
    user = await _connect(pool, fake, encryption_key, ["7701", "7702"])
    port = _free_port()
    env = {
        **worker_env,
        "PORT": str(port),
        "SUPABASE_JWT_SECRET": SECRET,
        "CRON_TOKEN": "serve-cron",
        "CORS_ORIGINS": "https://app.example",
    }
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "ga4sync.cli", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    token = jwt.encode(
        {"sub": str(user), "aud": "authenticated", "exp": int(time.time()) + 600},
        SECRET,
        algorithm="HS256",
    )
    auth = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession() as http:

            async def get(path: str, **kwargs):
                try:
                    async with http.get(base + path, **kwargs) as response:
                        return response.status, await response.json()
                except aiohttp.ClientError:
                    return None, None

            async def healthy():
                status, _ = await get("/healthz")
                return status == 200

            await eventually(healthy, "serve to become healthy")

            async def daily_done():
                _, body = await get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": "serve-cron"})
                return body and body["status"] == "already-done"

            await eventually(daily_done, "the catch-up daily run to finish")
            async with http.post(base + "/v1/sync/ga4/run", headers=auth) as response:
                assert response.status == 202
                job_id = (await response.json())["job_id"]

            async def job_done():
                _, body = await get(f"/v1/sync/ga4/job/{job_id}", headers=auth)
                return body if body["status"] in ("success", "failed") else None

            job = await eventually(job_done, "the manual run to finish")
            assert job["status"] == "success" and job["progress"]["properties_done"] == 2
            _, meta = await get("/v1/sync/ga4/meta")
            assert meta["last_sync_at"] == job["last_sync_at"]
            _, missing = await get(f"/v1/sync/ga4/job/{uuid.uuid4()}", headers=auth)
            assert missing["error"] == "not_found"
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
    assert code == 0
    output = log_path.read_text()
    assert "scheduler armed: daily sync at 00:00 America/Los_Angeles" in output
    assert "fires (00:00 America/Los_Angeles)" in output
    assert "web listening on http://0.0.0.0:" in output
