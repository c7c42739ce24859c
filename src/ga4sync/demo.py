"""``ga4sync demo``: the whole service on this machine, with a built-in fake Google.

Nothing leaves the machine: ``ga4sync.fake_google`` serves the GA4 Data API and
Google's token endpoint on 127.0.0.1 with a few demo users and properties, and
the real web app and worker run in this process against the database (the
embedded Postgres unless DATABASE_URL is set). The first sync starts at once;
the status page and a ready ``curl`` are printed while it runs.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import asyncpg
import jwt

from ga4sync.crypto import TokenCipher, UndecryptableToken
from ga4sync.demo_secrets import DemoSecrets, demo_secrets
from ga4sync.embedded import psql_path
from ga4sync.fake_google import FakeGoogle
from ga4sync.processes import running, until_stopped
from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.reports.standard import STANDARD_REPORTS
from ga4sync.runtime import Runtime, open_runtime
from ga4sync.settings import Settings, obscure_password
from ga4sync.store.credentials import get_google_credentials, list_credential_users
from ga4sync.store.jobs import Job
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.jobs import DailyRunActive, StartedJob
from ga4sync.web.app import create_app

_DEMO_NAMESPACE = uuid.UUID("6f1c2d1e-2b7a-4b8e-9a35-1f0c7e9d5a11")
DEMO_ADMIN_EMAIL = "admin@demo.ga4sync.example"
DEMO_BACKFILL_DAYS = 60


@dataclass(frozen=True)
class DemoProperty:
    property_id: str
    display_name: str
    time_zone: str
    cardinality: int


DEMO_USERS: dict[str, tuple[DemoProperty, ...]] = {
    "ada@example.com": (
        DemoProperty("310000001", "Ada's shop (Los Angeles)", "America/Los_Angeles", 40),
        DemoProperty("310000002", "Ada's blog (Berlin)", "Europe/Berlin", 25),
    ),
    "grace@example.com": (DemoProperty("320000001", "Grace's app (Tokyo)", "Asia/Tokyo", 30),),
    "linus@example.com": (
        DemoProperty("330000001", "Linus's docs (Sydney)", "Australia/Sydney", 20),
    ),
}

# A Google account the status page's "Connect a Google account" button connects
# (the fake consent screen approves it), with properties of its own.
DEMO_GOOGLE_ACCOUNT = "you@example.com"
DEMO_GOOGLE_PROPERTIES = [
    ("340000001", "Your site (New York)", "America/New_York"),
    ("340000002", "Your app (London)", "Europe/London"),
]

SAMPLE_QUERY = """\
select p.display_name, t.date, t.active_users, t.sessions
from ga4_daily_totals t join ga4_properties p using (property_id)
order by p.display_name, t.date;"""


def data_tables(reports: Sequence[ReportSpec]) -> str:
    """Where the demo's data lands: each report's relation, then the bookkeeping."""
    return ", ".join([*(spec.relation for spec in reports), "ga4_property_runs", "ga4_sync_jobs"])


# With the catalogue's traffic acquisition report (examples/catalog.toml).
CATALOGUE_SAMPLE_QUERY = """\
select p.display_name, t.session_default_channel_group,
       sum(t.sessions) as sessions, sum(t.key_events) as key_events
from ga4_traffic_acquisition t join ga4_properties p using (property_id)
group by 1, 2 order by 1, 3 desc;"""


def sample_query(reports: Sequence[ReportSpec]) -> str:
    """A first query to try: the built-in daily totals, or the catalogue's sessions
    by channel, else the first report's rows."""
    if any(spec == BUILTIN_REPORTS[0] for spec in reports):
        return SAMPLE_QUERY
    if any(spec == STANDARD_REPORTS["traffic_acquisition"].spec() for spec in reports):
        return CATALOGUE_SAMPLE_QUERY
    first = reports[0]
    return f"select * from {first.relation} order by property_id, date limit 20;"


def demo_user_id(email: str) -> uuid.UUID:
    """Stable ids, so a second demo run updates the same rows."""
    return uuid.uuid5(_DEMO_NAMESPACE, email)


def demo_fake_google() -> FakeGoogle:
    fake = FakeGoogle(seed=2026)
    for email, properties in DEMO_USERS.items():
        fake.add_refresh_token(f"demo-refresh-{email}")
        for prop in properties:
            fake.add_property(
                prop.property_id,
                time_zone=prop.time_zone,
                cardinality=prop.cardinality,
                plausible=True,
            )
    fake.add_google_account(DEMO_GOOGLE_ACCOUNT, properties=DEMO_GOOGLE_PROPERTIES)
    fake.consent_as(DEMO_GOOGLE_ACCOUNT)
    return fake


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_profile(settings: Settings, kept: DemoSecrets) -> Settings:
    """What makes a database the demo's, applied to the user's settings: its kept
    secrets where the environment sets none, its Google client and its history.
    Every command reading the demo's data sees it through these."""
    return replace(
        settings,
        google_client_id="ga4sync-demo",
        google_client_secret="ga4sync-demo-secret",
        token_encryption_key=settings.token_encryption_key or kept.token_encryption_key,
        supabase_jwt_secret=settings.supabase_jwt_secret or kept.supabase_jwt_secret,
        # Two months of history fill in behind the first sync.
        sync_backfill_days=min(settings.sync_backfill_days, DEMO_BACKFILL_DAYS),
    )


def with_fake_google(settings: Settings, google_url: str) -> Settings:
    """``settings`` pointed at the demo's fake Google."""
    return replace(
        settings,
        ga4_api_base_url=google_url,
        ga4_admin_api_base_url=google_url,
        google_token_uri=f"{google_url}/token",
        google_auth_uri=f"{google_url}/o/oauth2/v2/auth",
        google_revoke_uri=f"{google_url}/revoke",
    )


def demo_settings(
    settings: Settings, google_url: str, *, port: int | None, kept: DemoSecrets
) -> Settings:
    """The user's settings pointed at the fake Google, with the demo's kept secrets
    where unset."""
    admin = str(demo_user_id(DEMO_ADMIN_EMAIL))
    web_port = settings.port if port is None else port or _free_port()
    return replace(
        with_fake_google(demo_profile(settings, kept), google_url),
        oauth_redirect_uri=f"http://127.0.0.1:{web_port}/v1/connections/google/callback",
        frontend_url="/",
        admin_user_ids=settings.admin_user_ids | {admin},
        host="127.0.0.1",  # the demo's token is printed: keep it off the network
        port=web_port,
        # Ctrl-C does not wait for a history step (coverage keeps what it read).
        worker_shutdown_timeout_s=min(settings.worker_shutdown_timeout_s, 3.0),
    )


def demo_token(settings: Settings) -> str:
    """A Supabase-style access token for the demo admin, valid for a day."""
    assert settings.supabase_jwt_secret
    claims = {
        "sub": str(demo_user_id(DEMO_ADMIN_EMAIL)),
        "email": DEMO_ADMIN_EMAIL,
        "aud": "authenticated",
        "role": "authenticated",
        "exp": int(time.time()) + 86400,
    }
    return jwt.encode(claims, settings.supabase_jwt_secret, algorithm="HS256")


async def seed(runtime: Runtime) -> None:
    cipher = TokenCipher(runtime.settings.require_encryption_key())
    for email, properties in DEMO_USERS.items():
        user_id = demo_user_id(email)
        await store_google_grant(runtime.pool, cipher, user_id, f"demo-refresh-{email}")
        for prop in properties:
            await connect_property(
                runtime.pool,
                user_id,
                prop.property_id,
                time_zone=prop.time_zone,
                display_name=prop.display_name,
            )


async def remember_connected_accounts(
    pool: asyncpg.Pool, settings: Settings, fake: FakeGoogle
) -> None:
    """Tell this run's fake Google about the grants earlier runs' consent flows
    stored, as a real Google remembers them: an account connected before a restart
    keeps syncing. A grant no key opens is named with what to do."""
    cipher = TokenCipher(settings.require_encryption_key())
    after: uuid.UUID | None = None
    while users := await list_credential_users(pool, after, 100):
        after = users[-1]
        for user_id in users:
            stored = await get_google_credentials(pool, user_id)
            if stored is None:
                continue
            try:
                refresh_token = cipher.decrypt(stored.refresh_token_encrypted)
            except UndecryptableToken:
                print(
                    f"ga4sync demo: the Google account of user {user_id} was stored with "
                    "another TOKEN_ENCRYPTION_KEY than this run's: set that key again, "
                    "or connect the account again from the status page",
                    flush=True,
                )
                continue
            if not refresh_token.startswith("demo-refresh-"):
                fake.add_refresh_token(refresh_token, account=DEMO_GOOGLE_ACCOUNT)


@asynccontextmanager
async def demo_google(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Settings]:
    """The demo's fake Google, serving the demo's grants for a command that reads
    the demo's data while the demo is not running: ``settings`` pointed at it."""
    fake = demo_fake_google()
    async with fake.serve() as google_url:
        await remember_connected_accounts(pool, settings, fake)
        yield with_fake_google(settings, google_url)


async def first_sync(runtime: Runtime) -> Job:
    """Today's daily run if it is due and still has to happen, else a manual run of
    everything (also between local midnight and the daily run time)."""
    daily = await runtime.sync.ensure_daily_due()
    if isinstance(daily, StartedJob) and (daily.created or daily.job.active):
        return daily.job
    admin = demo_user_id(DEMO_ADMIN_EMAIL)
    try:
        return (await runtime.sync.start_job(admin, "all")).job
    except DailyRunActive as exc:
        return exc.job


async def wait_for(runtime: Runtime, job: Job, timeout_s: float = 300.0) -> Job:
    deadline = time.monotonic() + timeout_s
    while job.active and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        job = await runtime.sync.get_job(job.id)
    return job


async def run_demo(
    database_url: str,
    settings: Settings,
    *,
    port: int | None = None,
    once: bool = False,
    as_json: bool = False,
) -> int:
    started = time.monotonic()
    fake = demo_fake_google()
    kept = demo_secrets(settings)
    async with fake.serve() as google_url:
        config = demo_settings(settings, google_url, port=port, kept=kept)
        async with open_runtime(config, database_url) as runtime:
            await seed(runtime)
            await remember_connected_accounts(runtime.pool, config, fake)
            app = create_app(config, runtime=runtime)
            async with running(runtime, web_app=app, worker=True) as services:
                assert services.base_url is not None
                job = await first_sync(runtime)
                token = demo_token(config)
                if not as_json:
                    _print_banner(services.base_url, token, database_url, job, config.reports)
                job = await wait_for(runtime, job)
                elapsed = time.monotonic() - started
                if as_json:
                    print(
                        json.dumps(
                            {
                                "status": job.status,
                                "job_id": str(job.id),
                                "message": job.message,
                                "seconds": round(elapsed, 2),
                                "base_url": services.base_url,
                            }
                        )
                    )
                else:
                    print(f"First sync {job.status} {elapsed:.1f}s after start: {job.message}")
                    tables, sample = data_tables(config.reports), sample_query(config.reports)
                    print(f"\nTry in SQL ({tables}):\n{sample}\n", flush=True)
                if not once and job.status == "success":
                    print("Serving until Ctrl-C.", flush=True)
                    await until_stopped()
    return 0 if job.status == "success" else 1


def _print_banner(
    base_url: str, token: str, database_url: str, job: Job, reports: Sequence[ReportSpec]
) -> None:
    kind = f"daily run for {job.run_date}" if job.kind == "daily" else "manual run"
    print(
        f"""
ga4sync demo: web + worker on {base_url}, Google faked on 127.0.0.1

  Status page  {base_url}/#token={token}
               (its "Connect a Google account" button walks the consent flow)
  Sync now     curl -X POST {base_url}/v1/sync/ga4/run -H "Authorization: Bearer {token}"
  This job     curl {base_url}/v1/sync/ga4/job/{job.id} -H "Authorization: Bearer {token}"
  Database     {obscure_password(database_url)}{_psql_hint(database_url)}
  Data         tables {data_tables(reports)}

First sync ({kind}) started: job {job.id}
""",
        flush=True,
    )


def _psql_hint(database_url: str) -> str:
    psql = psql_path()
    return f"\n  psql         {psql} '{database_url}'" if psql and "@/" in database_url else ""
