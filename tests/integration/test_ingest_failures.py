"""Ingestion when Google fails: retries, quota, revoked grants, token refresh."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..reporting import count_rows
from ..waiting import eventually
from .test_ingest import expected_rows


async def test_concurrent_quota_429_is_retried_and_the_run_completes(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"4001": "America/Los_Angeles", "4002": "America/Los_Angeles"})
    fake.fail_next("4001", status=429, quota="concurrent", times=2)
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    assert summary.ok, summary.message()
    assert await count_rows(pool, "4001") == expected_rows(4)
    # three reports plus the two refused attempts
    assert sum(1 for pid, _ in fake.report_requests if pid == "4001") == 5


async def test_hourly_quota_defers_that_property_and_the_others_sync(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"4101": "America/Los_Angeles", "4102": "America/Los_Angeles"})
    fake.fail_next("4101", status=429, quota="hourly", times=1)
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    by_id = {r.property_id: r for r in summary.results}
    assert by_id["4101"].status == "quota_deferred"
    assert 60 <= by_id["4101"].retry_after_s <= 3600
    assert by_id["4102"].status == "success"
    assert await count_rows(pool, "4102") == expected_rows(4)
    prop = await pool.fetchrow(
        "select last_sync_status, consecutive_failures, last_sync_error from ga4_properties"
        " where property_id = '4101'"
    )
    assert prop["last_sync_status"] == "quota_deferred"
    assert prop["consecutive_failures"] == 1
    assert "hourly" in prop["last_sync_error"]


def _requests(fake, property_id: str) -> int:
    return sum(1 for pid, _ in fake.report_requests if pid == property_id)


def _repeated(fake, property_id: str) -> int:
    """Requests of the property sent again (retries): same report, same page."""
    bodies = [
        json.dumps(b, sort_keys=True) for pid, b in fake.report_requests if pid == property_id
    ]
    return len(bodies) - len(set(bodies))


async def test_a_429_naming_no_quota_is_retried_and_the_property_syncs_fully(
    pool, fake, connect_user, ingestion_for
):
    # "Resource has been exhausted (e.g. check quota)." and no propertyQuota seen yet:
    # nothing says a quota is spent, so it is a passing refusal.
    await connect_user({"4301": "America/Los_Angeles", "4302": "America/Los_Angeles"})
    fake.fail_next("4301", status=429, quota="generic", times=1)
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    assert summary.ok, summary.message()
    by_id = {r.property_id: r for r in summary.results}
    assert by_id["4301"].status == "success", by_id["4301"].error
    assert await count_rows(pool, "4301") == expected_rows(4)
    assert _requests(fake, "4301") == 4 and _repeated(fake, "4301") == 1  # one retry
    prop = await pool.fetchrow(
        "select last_sync_status, consecutive_failures from ga4_properties"
        " where property_id = '4301'"
    )
    assert (prop["last_sync_status"], prop["consecutive_failures"]) == ("success", 0)


async def test_a_429_naming_no_quota_every_time_defers_once_the_retries_run_out(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"4401": "America/Los_Angeles", "4402": "America/Los_Angeles"})
    fake.fail_next("4401", status=429, quota="generic", times=1000)
    async with ingestion_for(ga4_max_retries=3, ga4_property_concurrency=1) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    by_id = {r.property_id: r for r in summary.results}
    result = by_id["4401"]
    assert result.status == "quota_deferred"
    assert "after 4 attempts" in result.error and "names no quota" in result.error
    assert "Resource has been exhausted" in result.error
    assert result.retry_after_s == 3600  # FIXED_NOW is 06:00 UTC: the hour's quotas at 07:00
    assert _repeated(fake, "4401") >= 3
    assert by_id["4402"].status == "success"


@pytest.mark.parametrize(
    ("bucket", "quota", "retry_after_s"),
    [
        ("tokensPerHour", "hourly", 3600),  # FIXED_NOW is 06:00 UTC
        ("tokensPerProjectPerHour", "project_hourly", 3600),
        ("tokensPerDay", "daily", 7200),  # 22:00 Pacific: the day's quota at midnight Pacific
    ],
)
async def test_a_429_naming_no_quota_after_property_quota_showed_a_spent_bucket_defers(
    pool, fake, connect_user, ingestion_for, bucket, quota, retry_after_s
):
    await connect_user({"4501": "America/Los_Angeles"})
    fake.quota_limits[bucket] = 1  # the first answer spends it: propertyQuota says remaining 0
    fake.generic_quota_errors = True  # and the next request is refused without naming it
    async with ingestion_for(ga4_property_concurrency=1) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    [result] = summary.results
    assert result.status == "quota_deferred"
    assert f"GA4 {quota} quota exhausted" in result.error and bucket in result.error
    assert result.retry_after_s == retry_after_s
    # not retried: Google's own figures say the quota is spent
    assert _requests(fake, "4501") >= 2 and _repeated(fake, "4501") == 0
    assert result.quota[bucket] == {"consumed": 1, "remaining": 0}


async def test_a_429_naming_no_quota_is_judged_by_that_propertys_own_figures(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"4551": "America/Los_Angeles", "4552": "America/Los_Angeles"})
    fake.quota_used["4551"] = 200_000 - 1  # its first answer spends the day's last token
    fake.generic_quota_errors = True
    fake.fail_next("4552", status=429, quota="generic", times=1)
    async with ingestion_for(ga4_property_concurrency=1, sync_property_concurrency=1) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    by_id = {r.property_id: r for r in summary.results}
    assert by_id["4551"].status == "quota_deferred" and "tokensPerDay" in by_id["4551"].error
    assert by_id["4552"].status == "success", by_id["4552"].error
    assert await count_rows(pool, "4552") == expected_rows(4)


@pytest.mark.parametrize(
    ("quota", "retry_after_s"),
    [
        ("hourly", 3600),
        ("project_hourly", 3600),
        ("daily", 7200),
        ("thresholded", 3600),
        ("server_errors", 3600),
    ],
)
async def test_a_429_naming_a_spent_quota_defers_at_once(
    pool, fake, connect_user, ingestion_for, quota, retry_after_s
):
    await connect_user({"4601": "America/Los_Angeles"})
    fake.fail_next("4601", status=429, quota=quota)
    async with ingestion_for(ga4_property_concurrency=1) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    [result] = summary.results
    assert result.status == "quota_deferred"
    assert f"GA4 {quota} quota exhausted" in result.error
    assert result.retry_after_s == retry_after_s
    assert _repeated(fake, "4601") == 0


async def test_server_errors_are_retried_then_given_up(pool, fake, connect_user, ingestion_for):
    await connect_user({"4201": "America/Los_Angeles", "4202": "America/Los_Angeles"})
    fake.fail_next("4201", status=500, times=2)  # recovers within the retry budget
    fake.fail_next("4202", status=503, times=50)  # never recovers
    async with ingestion_for(ga4_max_retries=3, ga4_property_concurrency=1) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    by_id = {r.property_id: r for r in summary.results}
    assert by_id["4201"].status == "success"
    assert by_id["4202"].status == "failed"
    assert "after 4 attempts" in by_id["4202"].error
    assert summary.properties_failed == 1
    assert "4202: failed" in summary.message()


@pytest.mark.smoke
async def test_revoked_grant_marks_needs_reauth_and_other_users_sync(
    pool, fake, connect_user, ingestion_for
):
    revoked_user = await connect_user({"5001": "America/Los_Angeles"})
    await connect_user({"5002": "America/Los_Angeles"})
    fake.revoke_refresh_token(f"rt-{revoked_user.hex[:8]}")
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    by_id = {r.property_id: r for r in summary.results}
    assert by_id["5001"].status == "needs_reauth"
    assert by_id["5002"].status == "success"
    creds = await pool.fetchrow(
        "select needs_reauth, reauth_reason from google_credentials where user_id = $1",
        revoked_user,
    )
    assert creds["needs_reauth"] is True and "invalid_grant" in creds["reauth_reason"]
    assert await count_rows(pool, "5001") == 0
    # The next run does not ask Google again for a grant known to be gone.
    refreshes = len(fake.token_requests)
    async with ingestion_for() as ingestion:
        again = await ingest_ga4_for_all_accounts(ingestion)
    assert {r.property_id: r.status for r in again.results}["5001"] == "needs_reauth"
    assert len(fake.token_requests) == refreshes


async def test_access_token_is_refreshed_only_when_expired(
    pool, fake, clock, connect_user, ingestion_for
):
    await connect_user({"6001": "America/Los_Angeles", "6002": "America/Los_Angeles"})
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    assert len(fake.token_requests) == 1  # one user, two properties, six reports: one refresh

    async with ingestion_for() as ingestion:  # a new process reuses the stored token
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    assert len(fake.token_requests) == 1

    clock.now += timedelta(hours=2)
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    assert len(fake.token_requests) == 2
    stored = await pool.fetchrow(
        "select access_token_encrypted, access_token_expires_at from google_credentials"
    )
    assert stored["access_token_expires_at"] > clock.now


async def test_rejected_access_token_is_refreshed_once(pool, fake, connect_user, ingestion_for):
    await connect_user({"6101": "America/Los_Angeles"})
    fake.fail_next("6101", status=401, times=1)
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    assert summary.ok, summary.message()
    assert len(fake.token_requests) == 2


async def test_permission_denied_fails_only_that_property(pool, fake, connect_user, ingestion_for):
    await connect_user({"6201": "America/Los_Angeles", "6202": "America/Los_Angeles"})
    fake.fail_next("6201", status=403, times=1)
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    by_id = {r.property_id: r for r in summary.results}
    assert by_id["6201"].status == "failed" and "PERMISSION_DENIED" in by_id["6201"].error
    assert by_id["6202"].status == "success"


async def test_concurrency_never_exceeds_the_per_property_limit(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"7001": "America/Los_Angeles", "7002": "America/Los_Angeles"})
    fake.hold_reports = True
    async with ingestion_for(ga4_page_size=5, ga4_property_concurrency=2) as ingestion:
        run = asyncio.create_task(ingest_ga4_for_all_accounts(ingestion))

        # Each property's three reports want a request at once: two get through, one waits.
        def at_the_limit() -> bool:
            held = [fake.in_flight.get(p, 0) for p in ("7001", "7002")]
            assert max(held) <= 2, held
            return held == [2, 2]

        await eventually(at_the_limit, "both properties at their limit of requests in flight")
        fake.hold_reports = False
        summary = await asyncio.wait_for(run, 30)
    assert summary.ok, summary.message()
    assert fake.max_concurrency == {"7001": 2, "7002": 2}


async def test_refresh_token_is_encrypted_at_rest(pool, connect_user):
    user = await connect_user({"8001": "UTC"}, refresh_token="1//very-secret-refresh-token")
    raw = await pool.fetchval(
        "select convert_to(g::text, 'UTF8') from google_credentials g where user_id = $1", user
    )
    assert b"very-secret" not in raw
    dump = await pool.fetchval("select refresh_token_encrypted from google_credentials")
    assert b"very-secret" not in dump


async def test_both_tokens_are_encrypted_at_rest_after_a_refresh(
    pool, fake, connect_user, ingestion_for, encryption_key
):
    refresh_token = "1//very-secret-refresh-token"
    user = await connect_user({"8101": "UTC"}, refresh_token=refresh_token)
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        access_token = await ingestion.tokens.get(user)  # the one the sync refreshed and used
    assert fake.token_requests == [refresh_token] and access_token.startswith("ya29.")

    stored = await pool.fetchrow(
        "select refresh_token_encrypted, access_token_encrypted, g::text as row_text"
        " from google_credentials g where user_id = $1",
        user,
    )
    secrets = [refresh_token, access_token]
    for secret in secrets:
        for column in ("refresh_token_encrypted", "access_token_encrypted"):
            assert secret.encode() not in stored[column], column
        assert secret not in stored["row_text"]
        assert secret.encode().hex() not in stored["row_text"]  # bytea prints as hex
    # Nowhere else in the database either (run records, job messages, queue arguments).
    tables = await pool.fetch(
        "select format('%I.%I', table_schema, table_name) as name from information_schema.tables"
        " where table_schema not in ('pg_catalog', 'information_schema')"
        " and table_type = 'BASE TABLE'"
    )
    for table in tables:
        rows = await pool.fetch(f"select t::text as row_text from {table['name']} t")
        dump = "\n".join(r["row_text"] for r in rows)
        assert not [s for s in secrets if s in dump or s.encode().hex() in dump], table["name"]
    # Both decrypt with TOKEN_ENCRYPTION_KEY, and only with it.
    key = Fernet(encryption_key.encode())
    assert key.decrypt(bytes(stored["refresh_token_encrypted"])).decode() == refresh_token
    assert key.decrypt(bytes(stored["access_token_encrypted"])).decode() == access_token
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(bytes(stored["access_token_encrypted"]))


async def test_user_and_property_scope(pool, connect_user, ingestion_for):
    alice = await connect_user({"9001": "UTC", "9002": "UTC"})
    await connect_user({"9003": "UTC"})
    async with ingestion_for() as ingestion:
        mine = await ingest_ga4_for_all_accounts(ingestion, scope=alice)
        one = await ingest_ga4_for_all_accounts(ingestion, property_id="9003")
    assert sorted(r.property_id for r in mine.results) == ["9001", "9002"]
    assert [r.property_id for r in one.results] == ["9003"]


async def test_a_run_left_running_by_a_dead_process_is_closed_by_the_next(
    pool, connect_user, ingestion_for
):
    await connect_user({"6301": "UTC"})
    ref = await pool.fetchval("select id from ga4_properties where property_id = '6301'")
    await pool.execute(
        "insert into ga4_property_runs (property_ref, start_date, end_date)"
        " values ($1, current_date, current_date)",
        ref,
    )
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    runs = await pool.fetch("select status, error from ga4_property_runs order by id")
    assert [r["status"] for r in runs] == ["failed", "success"]
    assert "interrupted" in runs[0]["error"]


async def test_a_report_ga4_refuses_fails_alone_and_the_others_sync(
    pool, connect_user, ingestion_for
):
    """A 400 (a field the property does not have) is that report's failure, with
    GA4's reason; the property's other reports are stored in the same sync."""
    from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
    from ga4sync.store.report_tables import ensure_report_tables

    refused = ReportSpec("plans", ("date", "customEvent:no_such_field"), ("sessions",))
    reports = [*BUILTIN_REPORTS, refused]
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, reports)
    await connect_user({"4601": "America/Los_Angeles"})
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion, reports=reports)
    (result,) = summary.results
    assert result.status == "failed"
    assert result.error.startswith("report plans: ")
    assert "customEvent:no_such_field" in result.error
    assert await count_rows(pool, "4601") == expected_rows(4)  # the built-ins are all there
    quality = await pool.fetchval("select data_quality from ga4_property_runs")
    assert "customEvent:no_such_field" in quality["plans"]["failed"]
    assert "failed" not in quality["pages"]
