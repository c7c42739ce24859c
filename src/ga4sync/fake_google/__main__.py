"""Serve the fake Google in the foreground: ``python -m ga4sync.fake_google --port 8765``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .fake import DEFAULT_QUOTA_LIMITS, FakeGoogle


def _quota_limit(text: str) -> tuple[str, int]:
    name, _, value = text.partition("=")
    if name not in DEFAULT_QUOTA_LIMITS or not value.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected NAME=N with NAME one of {', '.join(DEFAULT_QUOTA_LIMITS)}, got {text!r}"
        )
    return name, int(value)


def _custom_dimension(text: str) -> tuple[str, list[str] | None]:
    name, _, values = text.partition("=")
    return name, [v for v in values.split(",") if v] or None


def _custom_metric(text: str) -> tuple[str, str]:
    name, _, kind = text.partition("=")
    return name, kind or "TYPE_INTEGER"


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
    parser.add_argument(
        "--quota",
        type=_quota_limit,
        action="append",
        default=[],
        metavar="NAME=N",
        help="a per-property quota limit, e.g. tokensPerHour=40000 (repeatable;"
        " default: a standard property's)",
    )
    parser.add_argument(
        "--custom-dimension",
        type=_custom_dimension,
        action="append",
        default=[],
        metavar="NAME[=V1,V2...]",
        help="a custom dimension of every property, e.g. customEvent:plan_type=free,pro"
        " (repeatable; without values: generated ones)",
    )
    parser.add_argument(
        "--custom-metric",
        type=_custom_metric,
        action="append",
        default=[],
        metavar="NAME[=TYPE]",
        help="a custom metric of every property, e.g. customEvent:credits=TYPE_INTEGER"
        " (repeatable; default type TYPE_INTEGER)",
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
    fake.quota_limits.update(args.quota)
    try:
        fake.add_custom_fields(
            None, dimensions=dict(args.custom_dimension), metrics=dict(args.custom_metric)
        )
    except ValueError as exc:
        _parser().error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(fake, args.host, args.port))


if __name__ == "__main__":
    main()
