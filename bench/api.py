"""HTTP API benchmark: requests/s and latency of one web process over loopback.

    python -m bench.api [--seconds 5] [--connections 50]

Each endpoint is loaded by 50 concurrent keep-alive connections from a client
in this process while the server runs in its own. The baseline, measured in the
same run with the same client, is a bare aiohttp handler returning a constant.
POST /run uses a different user (and so creates a new job) on every request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import jwt

from bench.common import scratch_database, server_url
from ga4sync.db import connect

SECRET = "bench-secret-0123456789-0123456789-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token(user: uuid.UUID) -> str:
    claims = {"sub": str(user), "aud": "authenticated", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[int(p) - 1]


Request = Callable[[aiohttp.ClientSession, int], "asyncio.Future[aiohttp.ClientResponse]"]


async def load(
    name: str,
    make_request: Callable[[aiohttp.ClientSession, int], object],
    expected: int,
    seconds: float,
    connections: int,
) -> Result:
    latencies: list[float] = []
    errors = 0
    counter = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        # warm-up: open the connections and fill caches
        await asyncio.gather(*(_one(session, make_request, n) for n in range(connections)))
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def user() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                counter += 1
                t0 = time.perf_counter()
                status = await _one(session, make_request, counter + connections)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += status != expected

        await asyncio.gather(*(user() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return Result(name, len(latencies), errors, elapsed, latencies)


async def _one(session: aiohttp.ClientSession, make_request, n: int) -> int:
    async with make_request(session, n) as response:
        await response.read()
        return response.status


async def _serve(mode: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.api_server", mode, str(port)],
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(base + ("/" if mode == "bare" else "/v1/sync/ga4/meta")):
                    return process, base
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the {mode} server did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


async def main(seconds: float, connections: int) -> None:
    with server_url() as server:
        async with scratch_database(server) as db_url:
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "SUPABASE_JWT_SECRET": SECRET,
                "CRON_TOKEN": "bench",
            }
            me = uuid.uuid4()
            async with connect(db_url) as conn:
                job_id = await conn.fetchval(
                    "insert into ga4_sync_jobs (kind, requested_by, scope) values"
                    " ('manual', $1, $2) returning id",
                    me,
                    str(me),
                )
            headers = {"Authorization": f"Bearer {_token(me)}"}
            tokens = [_token(uuid.uuid4()) for _ in range(int(seconds * 5000) + connections * 2)]

            process, base = await _serve("bare", env)
            try:
                results = [
                    await load(
                        "bare aiohttp handler (baseline)",
                        lambda s, n: s.get(base + "/"),
                        200,
                        seconds,
                        connections,
                    )
                ]
            finally:
                _stop(process)
            process, base = await _serve("real", env)
            try:
                results.append(
                    await load(
                        "GET /v1/sync/ga4/meta",
                        lambda s, n: s.get(base + "/v1/sync/ga4/meta"),
                        200,
                        seconds,
                        connections,
                    )
                )
                results.append(
                    await load(
                        "GET /v1/sync/ga4/job/{id}",
                        lambda s, n: s.get(f"{base}/v1/sync/ga4/job/{job_id}", headers=headers),
                        200,
                        seconds,
                        connections,
                    )
                )
                results.append(
                    await load(
                        "POST /v1/sync/ga4/run (new job each)",
                        lambda s, n: s.post(
                            base + "/v1/sync/ga4/run",
                            headers={"Authorization": f"Bearer {tokens[n]}"},
                        ),
                        202,
                        seconds,
                        connections,
                    )
                )
            finally:
                _stop(process)
    base_rate = results[0].rate
    print(
        f"\none web process, {connections} concurrent connections, {seconds:.0f} s each;"
        " ratios are to the bare handler of this run\n"
    )
    print(f"{'endpoint':38} {'req/s':>8} {'x bare':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>7}")
    for r in results:
        print(
            f"{r.name:38} {r.rate:>8,.0f} {r.rate / base_rate:>7.2f} "
            f"{r.percentile(50):>7.1f} {r.percentile(99):>7.1f} {r.errors:>7}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
