"""Requests of a property in flight during a sync: what GA4 allows it (10 on a standard
property, 50 on Analytics 360, fewer when its answers say so) under GA4_PROPERTY_CONCURRENCY."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace

from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.settings import Settings
from ga4sync.store.report_tables import table_name
from ga4sync.sync.google_accounts import GoogleAccounts
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..waiting import eventually

# A deployer's cap above a standard property's limit.
CAP = Settings.from_env({"GA4_PROPERTY_CONCURRENCY": "20"}).ga4_property_concurrency
# Forty days of history a day per chunk: over a hundred chunks of three reports.
MANY_CHUNKS = {"sync_backfill_days": 40, "sync_backfill_chunk_days": 1}


async def discover(pool, settings, fake, google_url, properties, *, analytics_360=()):
    """A user whose Google account holds ``properties``, connected by discovery (which
    stores each one's service level); ``analytics_360`` are 360 properties."""
    for property_id in properties:
        fake.add_property(
            property_id, time_zone="UTC", cardinality=2, analytics_360=property_id in analytics_360
        )
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    fake.add_google_account(email, [(p, f"Property {p}", "UTC") for p in properties])
    fake.add_refresh_token(f"rt-{email}", account=email)
    accounts = GoogleAccounts(pool, replace(settings, ga4_admin_api_base_url=google_url))
    connected = await accounts.import_token(uuid.uuid4(), f"rt-{email}")
    assert connected.discovery_error is None
    return {p.property_id: p.service_level for p in connected.properties}


def repeated(fake, property_id: str, since: int = 0) -> int:
    """Requests of the property sent again (a refused one retried): same report, same page."""
    bodies = [
        json.dumps(b, sort_keys=True)
        for pid, b in fake.report_requests[since:]
        if pid == property_id
    ]
    return len(bodies) - len(set(bodies))


async def test_an_analytics_360_property_reaches_the_cap_of_20_without_a_concurrency_429(
    pool, settings, fake, google_url, ingestion_for
):
    levels = await discover(pool, settings, fake, google_url, ["9360"], analytics_360={"9360"})
    assert levels == {"9360": "GOOGLE_ANALYTICS_360"}
    fake.hold_reports = True
    async with ingestion_for(
        ga4_property_concurrency=CAP, ga4_max_concurrency=40, **MANY_CHUNKS
    ) as ingestion:
        run = asyncio.create_task(ingest_ga4_for_all_accounts(ingestion))
        await eventually(lambda: fake.in_flight.get("9360") == 20, "20 requests in flight")
        assert sum(1 for pid, _ in fake.report_requests if pid == "9360") == 20  # none refused
        fake.hold_reports = False
        summary = await asyncio.wait_for(run, 60)
    assert summary.ok, summary.message()
    assert fake.max_concurrency == {"9360": 20}
    assert repeated(fake, "9360") == 0


async def test_ga4_max_concurrency_still_bounds_the_process(
    pool, settings, fake, google_url, ingestion_for
):
    await discover(pool, settings, fake, google_url, ["9361"], analytics_360={"9361"})
    fake.hold_reports = True
    async with ingestion_for(
        ga4_property_concurrency=CAP, ga4_max_concurrency=12, **MANY_CHUNKS
    ) as ingestion:
        run = asyncio.create_task(ingest_ga4_for_all_accounts(ingestion))
        await eventually(lambda: fake.in_flight.get("9361") == 12, "12 requests in flight")
        fake.hold_reports = False
        summary = await asyncio.wait_for(run, 60)
    assert summary.ok, summary.message()
    assert fake.max_concurrency == {"9361": 12}


async def test_a_standard_property_never_has_more_than_10_in_flight_whatever_the_cap(
    pool, settings, fake, google_url, ingestion_for
):
    levels = await discover(pool, settings, fake, google_url, ["9010", "9011"])
    assert set(levels.values()) == {"GOOGLE_ANALYTICS_STANDARD"}
    fake.hold_reports = True
    async with ingestion_for(
        ga4_property_concurrency=CAP, ga4_max_concurrency=40, **MANY_CHUNKS
    ) as ingestion:
        run = asyncio.create_task(ingest_ga4_for_all_accounts(ingestion))

        def at_the_limit() -> bool:
            held = [fake.in_flight.get(p, 0) for p in ("9010", "9011")]
            assert max(held) <= 10, held
            return held == [10, 10]

        await eventually(at_the_limit, "both properties at GA4's ten requests in flight")
        fake.hold_reports = False
        summary = await asyncio.wait_for(run, 60)
    assert summary.ok, summary.message()
    assert fake.max_concurrency == {"9010": 10, "9011": 10}
    assert repeated(fake, "9010") == repeated(fake, "9011") == 0


async def test_a_property_whose_quota_shows_a_lower_limit_is_held_to_it(
    pool, settings, fake, google_url, ingestion_for
):
    await discover(pool, settings, fake, google_url, ["9004"])
    fake.set_quota_limits("9004", {"concurrentRequests": 4})
    async with ingestion_for(
        ga4_property_concurrency=CAP, ga4_max_concurrency=40, **MANY_CHUNKS
    ) as ingestion:
        # The recent days of three reports: three requests at once, answered together,
        # each answer's concurrentRequests showing what the others left of the four.
        fake.latency_s = 0.05
        first = await ingest_ga4_for_all_accounts(ingestion, history_chunks=0)
        assert first.ok, first.message()
        assert fake.max_concurrency == {"9004": 3}
        fake.latency_s = 0.0

        # Then the history, over a hundred chunks: never more than four in flight.
        fake.max_concurrency.clear()
        sent_before = len(fake.report_requests)
        fake.hold_reports = True
        run = asyncio.create_task(ingest_ga4_for_all_accounts(ingestion))
        await eventually(lambda: fake.in_flight.get("9004") == 4, "four requests in flight")
        assert len(fake.report_requests) - sent_before == 4  # none beyond them refused
        fake.hold_reports = False
        summary = await asyncio.wait_for(run, 60)
    assert summary.ok, summary.message()
    assert fake.max_concurrency == {"9004": 4}
    assert repeated(fake, "9004", since=sent_before) == 0


async def test_a_chunk_being_stored_holds_no_request_and_the_next_one_flies_meanwhile(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"9410": "UTC"}, cardinality=2)
    tables = [table_name(spec.key) for spec in BUILTIN_REPORTS]
    async with ingestion_for(ga4_property_concurrency=1, **MANY_CHUNKS) as ingestion:
        async with pool.acquire() as blocker, blocker.transaction():
            # Every page write waits: the report tables can be read, not written.
            await blocker.execute(f"lock table {', '.join(tables)} in share mode")
            run = asyncio.create_task(ingest_ga4_for_all_accounts(ingestion))
            # One request at a time, yet the second chunk's request leaves while the
            # first chunk waits to be stored; the third waits for a place.
            await eventually(
                lambda: sum(1 for pid, _ in fake.report_requests if pid == "9410") == 2,
                "the second chunk's request",
            )
            await asyncio.sleep(0.3)
            assert sum(1 for pid, _ in fake.report_requests if pid == "9410") == 2
            assert fake.in_flight.get("9410", 0) == 0
        summary = await run
    assert summary.ok, summary.message()
