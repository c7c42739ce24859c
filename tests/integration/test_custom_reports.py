"""Deployer-defined reports end to end: filters, weeks, custom fields, checks, changes.

Each test syncs against the fake Google and compares what landed in the typed
relation with what GA4 answers for the same request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from ga4sync.cli import main
from ga4sync.reports import ReportSpec
from ga4sync.store.report_tables import ensure_report_tables
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

LA = ZoneInfo("America/Los_Angeles")
GOOGLE_ONLY = {
    "filter": {"fieldName": "sessionSource", "stringFilter": {"value": "google"}},
}


async def ga4_answer(fake, google_url: str, property_id: str, body: dict[str, Any]) -> list:
    """GA4's rows for ``body`` (one page), as lists of strings."""
    fake.add_refresh_token("rt-custom-reader")
    token = fake.issue_access_token("rt-custom-reader")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{google_url}/v1beta/properties/{property_id}:runReport",
            json={"limit": 250_000, **body},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200, await response.text()
            payload = await response.json()
    return [
        [v.get("value", "") for v in (*row["dimensionValues"], *row["metricValues"])]
        for row in payload.get("rows", [])
    ]


async def sync(pool, ingestion_for, reports, **settings):
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, reports)
    async with ingestion_for(reports=tuple(reports), **settings) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    return summary


def at(clock, fake, day: date) -> None:
    clock.now = datetime(day.year, day.month, day.day, 10, tzinfo=LA).astimezone(UTC)
    fake.set_today(day)


async def test_a_dimension_filter_keeps_only_the_matching_rows(
    pool, fake, google_url, connect_user, ingestion_for
):
    spec = ReportSpec(
        "google_traffic",
        ("date", "sessionSource", "sessionMedium"),
        ("sessions", "activeUsers"),
        dimension_filter=GOOGLE_ONLY,
    )
    await connect_user({"9101": "America/Los_Angeles"}, cardinality=4)
    summary = await sync(pool, ingestion_for, [spec])
    assert summary.ok, summary.message()
    stored = await pool.fetch(
        "select date, session_source, session_medium, sessions, active_users"
        " from ga4_google_traffic order by 1, 2, 3"
    )
    assert stored and {r["session_source"] for r in stored} == {"google"}
    answer = await ga4_answer(
        fake,
        google_url,
        "9101",
        {
            "dimensions": [{"name": d} for d in spec.dimensions],
            "metrics": [{"name": m} for m in spec.metrics],
            "dateRanges": [{"startDate": "2026-11-18", "endDate": "2026-11-20"}],
            "dimensionFilter": GOOGLE_ONLY,
        },
    )
    keys = ("session_source", "session_medium", "sessions", "active_users")
    assert sorted(
        [r["date"].strftime("%Y%m%d"), *(str(r[k]) for k in keys)] for r in stored
    ) == sorted(answer)
    everything = await ga4_answer(
        fake,
        google_url,
        "9101",
        {
            "dimensions": [{"name": d} for d in spec.dimensions],
            "metrics": [{"name": "sessions"}],
            "dateRanges": [{"startDate": "2026-11-18", "endDate": "2026-11-20"}],
        },
    )
    assert len(stored) < len(everything)  # the filter really left rows out


async def test_a_week_reports_users_are_ga4s_weekly_figure_not_a_sum_of_days(
    pool, fake, google_url, clock, connect_user, ingestion_for
):
    weekly = ReportSpec(
        "weekly_users", ("isoYearIsoWeek",), ("activeUsers", "sessions"), grain="week"
    )
    daily = ReportSpec("daily_users", ("date",), ("activeUsers", "sessions"))
    at(clock, fake, date(2026, 11, 25))  # a Wednesday
    await connect_user({"9201": "America/Los_Angeles"}, cardinality=3)
    summary = await sync(
        pool, ingestion_for, [weekly, daily], sync_lookback_days=3, sync_backfill_days=30
    )
    assert summary.ok, summary.message()
    weeks = await pool.fetch("select date, active_users, sessions from ga4_weekly_users order by 1")
    # Every ISO week from the one holding 30 days ago to the current one, keyed by Monday.
    assert [w["date"] for w in weeks] == [date(2026, 10, 26) + timedelta(weeks=n) for n in range(5)]
    days = {
        r["date"]: r
        for r in await pool.fetch("select * from ga4_daily_users where date >= '2026-11-02'")
    }
    for week in weeks[1:-1]:  # whole weeks inside the daily report's range
        monday = week["date"]
        answer = await ga4_answer(
            fake,
            google_url,
            "9201",
            {
                "dimensions": [{"name": "isoYearIsoWeek"}],
                "metrics": [{"name": "activeUsers"}, {"name": "sessions"}],
                "dateRanges": [
                    {
                        "startDate": monday.isoformat(),
                        "endDate": (monday + timedelta(days=6)).isoformat(),
                    }
                ],
            },
        )
        assert [[str(week["active_users"]), str(week["sessions"])]] == [a[1:] for a in answer]
        of_days = [days[monday + timedelta(days=n)] for n in range(7)]
        assert week["active_users"] < sum(d["active_users"] for d in of_days)
        assert week["sessions"] == sum(d["sessions"] for d in of_days)
    # The current week is read up to today, and again on the next sync.
    current = weeks[-1]
    assert current["date"] == date(2026, 11, 23)
    requests = [
        b for _, b in fake.report_requests if b["dimensions"][0]["name"] == "isoYearIsoWeek"
    ]
    assert {r["dateRanges"][0]["endDate"] for r in requests} >= {"2026-11-25"}


async def test_a_custom_event_dimension_and_metric_round_trip(
    pool, fake, connect_user, ingestion_for
):
    await connect_user(
        {"9301": "America/Los_Angeles"},
        custom_dimensions={"customEvent:plan_type": ["free", "pro", "team"]},
        custom_metrics={"customEvent:credits": "TYPE_INTEGER"},
    )
    spec = ReportSpec(
        "plans", ("date", "customEvent:plan_type"), ("eventCount", "customEvent:credits")
    )
    summary = await sync(pool, ingestion_for, [spec])
    assert summary.ok, summary.message()
    rows = await pool.fetch(
        "select custom_event_plan_type, event_count, custom_event_credits from ga4_plans"
    )
    assert {r["custom_event_plan_type"] for r in rows} == {"free", "pro", "team"}
    assert all(isinstance(r["custom_event_credits"], Decimal) for r in rows)


async def test_changing_a_reports_metrics_never_mixes_rows_in_its_relation(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"9401": "America/Los_Angeles"}, cardinality=3)
    before = ReportSpec("landing", ("date", "landingPage"), ("sessions",))
    assert (await sync(pool, ingestion_for, [before])).ok
    assert await pool.fetchval("select count(*) from ga4_landing") == 3 * 3
    after = ReportSpec("landing", ("date", "landingPage"), ("sessions", "engagedSessions"))
    # Made and read by the next sync: the relation shows only the new definition's rows.
    summary = await sync(pool, ingestion_for, [after])
    assert summary.ok and summary.rows_inserted == 9
    rows = await pool.fetch("select sessions, engaged_sessions from ga4_landing")
    assert len(rows) == 9 and all(r["engaged_sessions"] is not None for r in rows)


def test_reports_check_flags_an_incompatible_report_and_an_unknown_field(
    database_url, encryption_key, monkeypatch, capsys, tmp_path
):
    import asyncio
    import uuid

    from ga4sync.crypto import TokenCipher
    from ga4sync.db import connect
    from ga4sync.fake_google import FakeGoogle
    from ga4sync.sync.connections import connect_property, store_google_grant

    fake = FakeGoogle(seed=5)
    fake.add_refresh_token("rt-check")
    fake.add_property("9501", custom_dimensions={"customEvent:plan_type": ["free"]})
    path = tmp_path / "reports.toml"
    path.write_text(
        '[[report]]\nname = "plans"\ndimensions = ["customEvent:plan_type"]\n'
        'metrics = ["sessions"]\n'
        '[[report]]\nname = "items"\ndimensions = ["itemName"]\nmetrics = ["sessions"]\n'
        '[[report]]\nname = "tiers"\ndimensions = ["customUser:tier"]\nmetrics = ["sessions"]\n'
    )
    with fake.serve_in_thread() as base_url:
        for name, value in {
            "DATABASE_URL": database_url,
            "TOKEN_ENCRYPTION_KEY": encryption_key,
            "GOOGLE_CLIENT_ID": "cli",
            "GOOGLE_CLIENT_SECRET": "cli-secret",
            "GOOGLE_TOKEN_URI": f"{base_url}/token",
            "GA4_API_BASE_URL": base_url,
            "GA4SYNC_REPORTS": str(path),
        }.items():
            monkeypatch.setenv(name, value)

        async def connect_one() -> None:
            async with connect(database_url) as conn:
                user = uuid.uuid4()
                await store_google_grant(conn, TokenCipher(encryption_key), user, "rt-check")
                await connect_property(conn, user, "9501", time_zone="UTC")

        assert main(["migrate"]) == 0
        asyncio.run(connect_one())
        capsys.readouterr()
        assert main(["reports", "check"]) == 1
        out = capsys.readouterr().out
    lines = {line.split()[0]: line.split(None, 2)[2] for line in out.splitlines()[1:-2]}
    assert lines == {
        "plans": "ok",
        "items": "incompatible: itemName, sessions",
        "tiers": "unknown field: customUser:tier",
    }, out
    assert "2 of 3 not ok" in out
    assert fake.compatibility_requests  # GA4 was asked, not guessed
