"""GET /v1/properties/{id}/chart: the last days of a day-grain report, a value a day,
in the property's time zone, for the properties the caller can access."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import ensure_report_tables, upsert_report_rows
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..webtools import ADMIN, bearer

DAILY_TOTALS, TRAFFIC, PAGES = BUILTIN_REPORTS
# FIXED_NOW, 2026-11-21 06:00 UTC, is still 2026-11-20 in Los Angeles.
LA_TODAY = date(2026, 11, 20)


async def _chart(client, ref, user=ADMIN, query=""):
    response = await client.get(f"/v1/properties/{ref}/chart{query}", headers=bearer(user))
    return response.status, await response.json()


async def test_a_synced_property_charts_sessions_and_users_of_daily_totals(
    client, pool, connect_user, ingestion_for
):
    owner = await connect_user({"6101": "America/Los_Angeles"})
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    ref = await pool.fetchval("select id from ga4_properties where property_id = '6101'")

    status, chart = await _chart(client, ref, owner)
    assert status == 200
    assert chart["report"] == "daily_totals" and chart["relation"] == "ga4_daily_totals"
    assert chart["metrics"] == [
        {"name": "sessions", "field": "sessions", "type": "bigint"},
        {"name": "active_users", "field": "activeUsers", "type": "bigint"},
    ]
    assert chart["time_zone"] == "America/Los_Angeles"
    assert chart["end_date"] == LA_TODAY.isoformat()
    assert chart["start_date"] == (LA_TODAY - timedelta(days=29)).isoformat()
    stored = await pool.fetch(
        "select date, sessions, active_users from ga4_daily_totals"
        " where property_id = '6101' order by date"
    )
    assert len(stored) == 3  # the days a sync reads: today and the two before
    assert chart["days"] == [
        {
            "date": r["date"].isoformat(),
            "sessions": r["sessions"],
            "active_users": r["active_users"],
        }
        for r in stored
    ]


async def test_the_window_is_the_last_days_in_the_property_time_zone(client, pool):
    ref = await upsert_property(pool, ADMIN, "6201", time_zone="America/Los_Angeles")
    # 2026-11-21 is already today in UTC, still tomorrow in Los Angeles.
    days = [LA_TODAY - timedelta(days=n) for n in (30, 29, 0, -1)]
    rows = [(d.strftime("%Y%m%d"), "", "\x1f".join(["7"] * 9)) for d in days]
    async with pool.acquire() as conn:
        await upsert_report_rows(conn, DAILY_TOTALS, ref, rows)

    _, chart = await _chart(client, ref)
    assert [d["date"] for d in chart["days"]] == [
        (LA_TODAY - timedelta(days=29)).isoformat(),
        LA_TODAY.isoformat(),
    ]
    _, week = await _chart(client, ref, query="?days=7")
    assert week["start_date"] == (LA_TODAY - timedelta(days=6)).isoformat()
    assert [d["date"] for d in week["days"]] == [LA_TODAY.isoformat()]


async def test_only_a_property_the_caller_can_access(client, pool):
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    ref = await upsert_property(pool, owner, "6301", time_zone="UTC")
    assert (await _chart(client, ref, owner))[0] == 200
    assert (await _chart(client, ref, ADMIN))[0] == 200
    status, body = await _chart(client, ref, stranger)
    assert status == 404 and body["error"] == "not_found"
    assert (await _chart(client, ref + 1000, owner))[0] == 404
    for query in ("?days=0", "?days=91", "?days=x"):
        status, body = await _chart(client, ref, owner, query)
        assert status == 400 and body["error"] == "invalid_days"
    assert (await client.get(f"/v1/properties/{ref}/chart")).status == 401


async def test_never_synced_the_chart_has_no_days(client, pool):
    ref = await upsert_property(pool, ADMIN, "6401", time_zone="Europe/Berlin")
    _, chart = await _chart(client, ref)
    assert chart["report"] == "daily_totals" and chart["days"] == []
    assert chart["end_date"] == "2026-11-21"  # 07:00 in Berlin


class TestWithoutDailyTotals:
    """Without daily_totals, the first day-grain report in use for the property; of a
    report with dimensions, only metrics that add up over them, added up a day."""

    WEEKLY = ReportSpec("weekly_users", ("isoYearIsoWeek",), ("activeUsers",), grain="week")
    ELSEWHERE = ReportSpec("elsewhere", ("date",), ("eventCount",), properties=frozenset({"1"}))

    @pytest.fixture
    def settings(self, settings):
        return replace(settings, reports=(self.WEEKLY, self.ELSEWHERE, TRAFFIC, PAGES))

    async def test_sessions_of_traffic_sources_added_up_a_day(
        self, client, pool, connect_user, ingestion_for, settings
    ):
        async with pool.acquire() as conn:
            await ensure_report_tables(conn, settings.reports)
        owner = await connect_user({"6501": "UTC"}, cardinality=3)
        async with ingestion_for() as ingestion:
            assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        ref = await pool.fetchval("select id from ga4_properties where property_id = '6501'")

        _, chart = await _chart(client, ref, owner)
        assert chart["report"] == "traffic_sources"
        # activeUsers of sources do not add up to a day's users: not charted
        assert [m["name"] for m in chart["metrics"]] == ["sessions", "engaged_sessions"]
        sums = await pool.fetch(
            "select date, sum(sessions) as s, sum(engaged_sessions) as e, count(*) as n"
            " from ga4_traffic_sources where property_id = '6501' group by date order by date"
        )
        assert len(sums) == 3 and all(r["n"] > 1 for r in sums)
        assert chart["days"] == [
            {"date": r["date"].isoformat(), "sessions": r["s"], "engaged_sessions": r["e"]}
            for r in sums
        ]


class TestNothingToChart:
    @pytest.fixture
    def settings(self, settings):
        weekly = ReportSpec("weekly_users", ("isoYearIsoWeek",), ("activeUsers",), grain="week")
        return replace(settings, reports=(weekly,))

    async def test_only_week_reports_give_no_chart(self, client, pool):
        ref = await upsert_property(pool, ADMIN, "6601", time_zone="UTC")
        status, chart = await _chart(client, ref)
        assert status == 200
        assert chart["report"] is None and chart["metrics"] == [] and chart["days"] == []
        assert chart["reason"] == (
            "No report by day is synced for this property: the chart needs one."
        )


class TestCustomReportsByCountryAndDevice:
    """Sessions by country, or by device, add up a day: a session comes from one
    place, on one device. Users do not, and a report of users alone says so."""

    BY_COUNTRY = ReportSpec("sessions_by_country", ("date", "country"), ("activeUsers", "sessions"))
    USERS = ReportSpec("users_by_device", ("date", "deviceCategory"), ("activeUsers", "newUsers"))

    @pytest.fixture
    def settings(self, settings):
        return replace(settings, reports=(self.USERS, self.BY_COUNTRY))

    async def test_sessions_by_country_are_charted_and_the_chart_says_what_it_shows(
        self, client, pool, connect_user, ingestion_for, settings
    ):
        async with pool.acquire() as conn:
            await ensure_report_tables(conn, settings.reports)
        owner = await connect_user({"6701": "UTC"}, cardinality=3)
        async with ingestion_for() as ingestion:
            assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        _, chart = await _chart(client, "6701", owner)
        assert chart["report"] == "sessions_by_country" and chart["reason"] is None
        assert [m["field"] for m in chart["metrics"]] == ["sessions"]
        assert chart["summed_over"] == ["country"]
        sums = await pool.fetch(
            "select date, sum(sessions) as s, count(*) as n from ga4_sessions_by_country"
            " where property_id = '6701' group by date order by date"
        )
        assert len(sums) == 3 and all(r["n"] > 1 for r in sums)
        assert chart["days"] == [{"date": r["date"].isoformat(), "sessions": r["s"]} for r in sums]


class TestUsersAlone:
    @pytest.fixture
    def settings(self, settings):
        return replace(settings, reports=(TestCustomReportsByCountryAndDevice.USERS,))

    async def test_a_report_of_users_alone_says_why_there_is_no_chart(self, client, pool):
        await upsert_property(pool, ADMIN, "6702", time_zone="UTC")
        status, chart = await _chart(client, "6702")
        assert status == 200 and chart["report"] is None
        assert chart["reason"] == (
            "No metric of users_by_device (activeUsers, newUsers) adds up to a day's value"
            " over deviceCategory: users, rates and averages do not."
        )
