"""``ga4sync demo``: a real sync of demo properties, served by the built-in fake Google.

Nothing leaves the machine: the fake serves the GA4 Data API and Google's token
endpoint on 127.0.0.1, and the real ingestion code syncs from it into the
database (the embedded Postgres unless DATABASE_URL is set).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace

from cryptography.fernet import Fernet

from ga4sync.crypto import TokenCipher
from ga4sync.db import open_pool
from ga4sync.fake_google import FakeGoogle
from ga4sync.settings import Settings
from ga4sync.sync.connections import connect_property, store_google_grant
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts, open_ingestion

_DEMO_NAMESPACE = uuid.UUID("6f1c2d1e-2b7a-4b8e-9a35-1f0c7e9d5a11")


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

SAMPLE_QUERY = """\
select p.display_name, r.date, r.metrics->>'activeUsers' as active_users,
       r.metrics->>'sessions' as sessions
from ga4_report_rows r join ga4_properties p on p.id = r.property_ref
where r.report = 'daily_totals'
order by p.display_name, r.date;"""


def demo_user_id(email: str) -> uuid.UUID:
    """Stable ids, so a second demo run updates the same rows."""
    return uuid.uuid5(_DEMO_NAMESPACE, email)


def demo_fake_google() -> FakeGoogle:
    fake = FakeGoogle(seed=2026)
    for email, properties in DEMO_USERS.items():
        fake.add_refresh_token(f"demo-refresh-{email}")
        for prop in properties:
            fake.add_property(
                prop.property_id, time_zone=prop.time_zone, cardinality=prop.cardinality
            )
    return fake


async def run_demo(database_url: str, settings: Settings, *, as_json: bool = False) -> int:
    fake = demo_fake_google()
    async with fake.serve() as google_url:
        demo_settings = replace(
            settings,
            ga4_api_base_url=google_url,
            google_token_uri=f"{google_url}/token",
            token_encryption_key=settings.token_encryption_key or Fernet.generate_key().decode(),
            google_client_id="ga4sync-demo",
            google_client_secret="ga4sync-demo-secret",
        )
        cipher = TokenCipher(demo_settings.require_encryption_key())
        async with open_pool(database_url) as pool:
            for email, properties in DEMO_USERS.items():
                user_id = demo_user_id(email)
                await store_google_grant(pool, cipher, user_id, f"demo-refresh-{email}")
                for prop in properties:
                    await connect_property(
                        pool,
                        user_id,
                        prop.property_id,
                        time_zone=prop.time_zone,
                        display_name=prop.display_name,
                    )
            async with open_ingestion(pool, demo_settings) as ingestion:
                summary = await ingest_ga4_for_all_accounts(
                    ingestion, since_days=demo_settings.sync_since_days
                )
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(summary.message())
        print("\nThe rows are in the tables ga4_report_rows (one row per report, date and")
        print("dimension values) and ga4_property_runs (one row per property per sync).")
        print("Try:\n")
        print(SAMPLE_QUERY)
    return 0 if summary.ok else 1
