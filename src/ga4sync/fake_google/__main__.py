"""Serve the fake Google in the foreground: ``python -m ga4sync.fake_google --port 8765``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .fake import FakeGoogle


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ga4sync.fake_google",
        description="Serve a fake GA4 Data API, Admin API and Google OAuth endpoints.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per report")
    parser.add_argument(
        "--refresh-token",
        action="append",
        default=None,
        metavar="TOKEN",
        help="a refresh token the token endpoint accepts (repeatable; default: rt-demo)",
    )
    parser.add_argument(
        "--cardinality", type=int, default=10, help="values per non-date dimension per day"
    )
    return parser


async def _serve(fake: FakeGoogle, host: str, port: int) -> None:
    async with fake.serve(host, port) as base_url:
        print(base_url, flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    args = _parser().parse_args(argv)
    fake = FakeGoogle(seed=args.seed)
    fake.latency_s = args.latency
    for refresh_token in args.refresh_token or ["rt-demo"]:
        fake.add_refresh_token(refresh_token)
    fake.default_cardinality = args.cardinality
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(fake, args.host, args.port))


if __name__ == "__main__":
    main()
