"""A report's own lookback and history, end to end against the fake Google: what each
sync asks GA4 for, what lands in each report's table, and what a changed lookback
reads (nothing settled) and keeps (the same definition and table)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from ga4sync.reports import ReportSpec
from tests.integration.test_custom_reports import at, sync

TODAY = date(2026, 11, 20)
TZ = {"9801": "America/Los_Angeles"}


def requested(fake, metric: str) -> set[date]:
    """The dates of every runReport request for the report whose metric is ``metric``."""
    dates: set[date] = set()
    for _, body in fake.report_requests:
        if body["metrics"][0]["name"] != metric:
            continue
        for period in body["dateRanges"]:
            first = date.fromisoformat(period["startDate"])
            last = date.fromisoformat(period["endDate"])
            dates |= {first + timedelta(days=n) for n in range((last - first).days + 1)}
    return dates


def days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


async def test_a_report_with_a_lookback_of_7_rereads_8_days_while_another_keeps_3(
    pool, fake, clock, connect_user, ingestion_for
):
    revised = ReportSpec("revised", ("date",), ("sessions",), lookback_days=7)
    plain = ReportSpec("plain", ("date",), ("activeUsers",))
    at(clock, fake, TODAY)
    await connect_user(TZ, cardinality=2)
    settings = {"sync_lookback_days": 3, "sync_backfill_days": 0}
    assert (await sync(pool, ingestion_for, [revised, plain], **settings)).ok
    # Each report's first read reaches over its own recent window.
    assert requested(fake, "sessions") == days(TODAY - timedelta(days=8), TODAY)
    assert requested(fake, "activeUsers") == days(TODAY - timedelta(days=4), TODAY)

    fake.report_requests.clear()
    assert (await sync(pool, ingestion_for, [revised, plain], **settings)).ok
    assert requested(fake, "sessions") == days(TODAY - timedelta(days=7), TODAY)  # 8 days
    assert requested(fake, "activeUsers") == days(TODAY - timedelta(days=3), TODAY)  # 3 + today
    recorded = await pool.fetch(
        "select report, array_agg(distinct lookback_days) as lookbacks from ga4_coverage"
        " group by report"
    )
    assert {r["report"]: r["lookbacks"] for r in recorded} == {
        revised.key: [7],
        plain.key: [3],
    }


async def test_a_report_with_a_backfill_of_30_stops_its_history_there(
    pool, fake, clock, connect_user, ingestion_for
):
    short = ReportSpec("short_history", ("date",), ("sessions",), backfill_days=30)
    plain = ReportSpec("plain", ("date",), ("sessions",))
    at(clock, fake, TODAY)
    await connect_user(TZ, cardinality=2)
    summary = await sync(
        pool, ingestion_for, [short, plain], sync_lookback_days=3, sync_backfill_days=60
    )
    assert summary.ok, summary.message()
    for relation, reach in (("ga4_short_history", 30), ("ga4_plain", 60)):
        first, last, count = await pool.fetchrow(
            f"select min(date), max(date), count(distinct date) from {relation}"
        )
        assert (first, last, count) == (TODAY - timedelta(days=reach), TODAY, reach + 1), relation
    # Nothing of the short report's is left to read: the next sync reads recent days only.
    fake.report_requests.clear()
    again = await sync(
        pool, ingestion_for, [short, plain], sync_lookback_days=3, sync_backfill_days=60
    )
    assert again.ok and again.history_days_left == 0
    assert min(requested(fake, "sessions")) == TODAY - timedelta(days=3)


async def test_raising_a_lookback_keeps_the_table_and_rereads_nothing_settled(
    pool, fake, clock, connect_user, ingestion_for
):
    """A week synced once a day under a lookback of 3: each date's last read happened
    when it was 4 days old. Raised to 7 the report is the same definition, in the same
    table, and the next sync reads only the dates the old lookback had not settled."""
    before = ReportSpec("pages", ("date", "pagePath"), ("screenPageViews",))
    after = dataclasses.replace(before, lookback_days=7)
    assert after.key == before.key
    await connect_user(TZ, cardinality=2)
    settings = {"sync_lookback_days": 3, "sync_backfill_days": 10}
    for n in range(6, -1, -1):
        at(clock, fake, TODAY - timedelta(days=n))
        assert (await sync(pool, ingestion_for, [before], **settings)).ok
    stored = await pool.fetchval("select count(*) from ga4_pages")

    fake.report_requests.clear()
    assert (await sync(pool, ingestion_for, [after], **settings)).ok
    assert requested(fake, "screenPageViews") == days(TODAY - timedelta(days=3), TODAY)
    assert await pool.fetchval("select count(*) from ga4_pages") == stored
    current = await pool.fetch(
        "select key from ga4_report_definitions where name = 'pages' and retired_at is null"
    )
    assert [d["key"] for d in current] == [before.key]

    # From now on the report's dates are read until they are 8 days old.
    at(clock, fake, TODAY + timedelta(days=1))
    fake.report_requests.clear()
    assert (await sync(pool, ingestion_for, [after], **settings)).ok
    assert requested(fake, "screenPageViews") == days(
        TODAY - timedelta(days=3), TODAY + timedelta(days=1)
    )
