"""Ingestion against a real Postgres and the fake Google: rows, re-runs, failures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..reporting import ALL_ROWS, count_rows, row_versions


def expected_rows(cardinality: int, days: int = 3) -> int:
    """Rows of the built-in reports for one property: one per date x other dimension values."""
    return sum(days * cardinality ** (len(spec.dimensions) - 1) for spec in BUILTIN_REPORTS)


@pytest.mark.smoke
async def test_first_sync_writes_every_row_and_rerun_writes_none(pool, connect_user, ingestion_for):
    await connect_user({"1001": "America/Los_Angeles", "1002": "Europe/Berlin"})
    async with ingestion_for() as ingestion:
        first = await ingest_ga4_for_all_accounts(ingestion, since_days=1)
        assert first.ok, first.message()
        n = 2 * expected_rows(4)
        assert first.rows_fetched == first.rows_inserted == n
        assert await count_rows(pool) == n

        second = await ingest_ga4_for_all_accounts(ingestion, since_days=1)
    assert second.ok
    # The oldest of the three days was read when older than the lookback: it is
    # settled and not read again. The two recent days come back unchanged.
    again = n * 2 // 3
    assert (second.rows_fetched, second.rows_written, second.rows_unchanged) == (again, 0, again)
    assert await count_rows(pool) == n
    runs = await pool.fetch(
        "select status, rows_fetched, rows_inserted, rows_unchanged, tokens_consumed, duration_ms"
        " from ga4_property_runs order by id"
    )
    assert [r["status"] for r in runs] == ["success"] * 4
    assert [r["rows_inserted"] for r in runs] == [n // 2, n // 2, 0, 0]
    assert all(r["tokens_consumed"] > 0 and r["duration_ms"] >= 0 for r in runs)
    props = await pool.fetch("select last_sync_status, last_sync_at from ga4_properties")
    assert all(p["last_sync_status"] == "success" and p["last_sync_at"] for p in props)


async def test_stored_values_are_what_ga4_returned(pool, fake, connect_user, ingestion_for):
    await connect_user({"1003": "America/Los_Angeles"})
    fake.override_metric("1003", date="20261119", dimensions={}, metric="activeUsers", value="4242")
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    row = await pool.fetchrow("select * from ga4_daily_totals where date = $1", date(2026, 11, 19))
    # Non-additive users are stored as GA4 computed them for the day, never summed from pages.
    assert row["active_users"] == 4242  # GA4 sends decimal strings; stored as integers
    assert set(row.keys()) == {
        "property_id",
        "date",
        "synced_at",
        *(c.name for c in BUILTIN_REPORTS[0].columns),
    }


@pytest.mark.smoke
async def test_changed_upstream_value_updates_exactly_that_row(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"1004": "America/Los_Angeles"})
    async with ingestion_for() as ingestion:
        await ingest_ga4_for_all_accounts(ingestion)
        before = await row_versions(pool)
        fake.override_metric(
            "1004",
            date="20261120",
            dimensions={"pagePath": "/p/2"},
            metric="screenPageViews",
            value="777",
        )
        summary = await ingest_ga4_for_all_accounts(ingestion)
    assert (summary.rows_inserted, summary.rows_updated) == (0, 1)
    after = await row_versions(pool)
    assert after.keys() == before.keys()
    changed = [key for key in before if before[key][1] != after[key][1]]
    assert changed == [("pages", "1004", date(2026, 11, 20), "/p/2")]
    assert after[changed[0]][0][0] == 777  # screen_page_views, the first metric


async def test_paging_reads_every_row_of_a_report_larger_than_a_page(
    pool, fake, connect_user, ingestion_for
):
    await connect_user({"1005": "America/Los_Angeles"}, cardinality=6)
    async with ingestion_for(ga4_page_size=10) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    n = expected_rows(6)  # 3 + 108 + 18
    assert summary.ok and summary.rows_fetched == summary.rows_inserted == n
    assert await count_rows(pool) == n
    offsets = sorted(
        int(body.get("offset", 0))
        for pid, body in fake.report_requests
        if [d["name"] for d in body["dimensions"]] == ["date", "sessionSource", "sessionMedium"]
    )
    assert offsets == list(range(0, 108, 10))
    quality = await pool.fetchval("select data_quality from ga4_property_runs")
    assert quality["traffic_sources"]["pages"] == 11
    assert quality["traffic_sources"]["rows_fetched"] == quality["traffic_sources"]["row_count"]
    assert "incomplete" not in quality["traffic_sources"]


async def test_dates_follow_each_property_time_zone(pool, fake, connect_user, ingestion_for):
    # 2026-11-21 06:00 UTC: still the 20th in Los Angeles, already the 21st in Tokyo.
    await connect_user({"2001": "America/Los_Angeles", "2002": "Asia/Tokyo"})
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion, since_days=0)).ok
    ranges = {pid: body["dateRanges"] for pid, body in fake.report_requests}
    assert ranges["2001"] == [{"startDate": "2026-11-19", "endDate": "2026-11-20"}]
    assert ranges["2002"] == [{"startDate": "2026-11-20", "endDate": "2026-11-21"}]
    stored = await pool.fetch(
        f"""select r.property_id, min(r.date) as first, max(r.date) as last
           from {ALL_ROWS} r group by r.property_id order by 1"""
    )
    assert [(r["first"], r["last"]) for r in stored] == [
        (date(2026, 11, 19), date(2026, 11, 20)),
        (date(2026, 11, 20), date(2026, 11, 21)),
    ]
    windows = await pool.fetch("select start_date, end_date from ga4_property_runs order by id")
    assert windows[0]["end_date"] - windows[0]["start_date"] == timedelta(days=1)


async def test_data_quality_flags_are_recorded(pool, connect_user, ingestion_for):
    await connect_user(
        {"3001": "America/Los_Angeles"}, thresholded=True, sampled=True, other_row=True
    )
    async with ingestion_for() as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
    quality = await pool.fetchval("select data_quality from ga4_property_runs")
    for report in ("daily_totals", "traffic_sources", "pages"):
        assert quality[report]["thresholded"] is True
        assert quality[report]["sampled"] is True
    # Only reports with dimensions besides date can lose rows into "(other)".
    assert "other_row" not in quality["daily_totals"]
    assert quality["pages"]["other_row"] is True
    assert quality["traffic_sources"]["other_row"] is True
    # and per date read, with the rows, for as long as they are kept
    per_date = await pool.fetch("select report, quality from ga4_coverage")
    assert len(per_date) == 3 * 3
    assert all(r["quality"]["thresholded"] and r["quality"]["sampled"] for r in per_date)
