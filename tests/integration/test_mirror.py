"""The mirror's acceptance criteria, on a real Postgres against the fake Google.

The database holds, per property and report, exactly the dates GA4 has and,
for each, exactly GA4's rows: a backfill reads every date once, a sync after
downtime reads what it missed and what has not settled, rows GA4 stops
returning go once their date is read again completely, and a property shared
by several users is read once with whichever grant still works. The clock is
injected; the fake Google's "today" follows it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

LA = "America/Los_Angeles"
ZONE = ZoneInfo(LA)
SPECS = {spec.name: spec for spec in BUILTIN_REPORTS}
PAGES = SPECS["pages"]
# A row: (report, date, its other dimensions as sorted JSON) -> metrics as GA4 sent them
Rows = dict[tuple[str, date, str], dict[str, str]]
ONE_DAY = timedelta(days=1)


def at(clock, fake, day: date, hour: int = 10) -> date:
    """Move the clock to ``hour`` o'clock of ``day`` in Los Angeles, and the fake's
    today with it; returns ``day``."""
    clock.now = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)
    fake.set_today(day)
    return day


def today(clock) -> date:
    return clock.now.astimezone(ZONE).date()


def key(report: str, day: date, dimensions: dict[str, str]) -> tuple[str, date, str]:
    return report, day, json.dumps(dimensions, sort_keys=True)


async def ga4_rows(
    fake, google_url: str, property_id: str, start: date, end: date, reports=BUILTIN_REPORTS
) -> Rows:
    """What GA4 answers for every report over ``start..end``, asked through its
    HTTP API in one page per report."""
    fake.add_refresh_token("rt-acceptance-reader")
    token = fake.issue_access_token("rt-acceptance-reader")
    rows: Rows = {}
    async with aiohttp.ClientSession() as http:
        for spec in reports:
            body = {
                "dimensions": [{"name": name} for name in spec.dimensions],
                "metrics": [{"name": name} for name in spec.metrics],
                "dateRanges": [{"startDate": start.isoformat(), "endDate": end.isoformat()}],
                "limit": 250_000,
            }
            async with http.post(
                f"{google_url}/v1beta/properties/{property_id}:runReport",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                assert response.status == 200, await response.text()
                payload = await response.json()
            assert payload.get("rowCount", 0) == len(payload.get("rows", []))
            for row in payload.get("rows", []):
                values = [v["value"] for v in row["dimensionValues"]]
                day = datetime.strptime(values[0], "%Y%m%d").date()
                others = dict(zip(spec.dimensions[1:], values[1:], strict=True))
                metrics = [v["value"] for v in row["metricValues"]]
                rows[key(spec.name, day, others)] = dict(zip(spec.metrics, metrics, strict=True))
    return rows


async def stored_rows(pool, property_id: str) -> Rows:
    records = await pool.fetch(
        """select r.report, r.date, r.dimensions, r.metrics
           from ga4_report_rows r join ga4_properties p on p.id = r.property_ref
           where p.property_id = $1""",
        property_id,
    )
    return {key(r["report"], r["date"], r["dimensions"]): r["metrics"] for r in records}


async def row_versions(pool, property_id: str) -> dict[tuple[str, date, str], datetime]:
    records = await pool.fetch(
        """select r.report, r.date, r.dimensions, r.updated_at
           from ga4_report_rows r join ga4_properties p on p.id = r.property_ref
           where p.property_id = $1""",
        property_id,
    )
    return {key(r["report"], r["date"], r["dimensions"]): r["updated_at"] for r in records}


async def coverage(pool, property_id: str) -> dict[tuple[str, date], tuple[datetime, int]]:
    records = await pool.fetch(
        """select c.report, c.date, c.read_at, c.rows
           from ga4_coverage c join ga4_properties p on p.id = c.property_ref
           where p.property_id = $1""",
        property_id,
    )
    return {(r["report"], r["date"]): (r["read_at"], r["rows"]) for r in records}


def dates_of(rows: Rows, report: str) -> set[date]:
    return {day for name, day, _ in rows if name == report}


def span(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def chunks_read(requests: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, date, date]]:
    """``(report, start, end)`` of each report read, in the order GA4 got their first pages."""
    by_dimensions = {spec.dimensions: spec.name for spec in BUILTIN_REPORTS}
    read = []
    for _, body in requests:
        if int(body.get("offset", 0)):
            continue  # a later page of a read already listed
        report = by_dimensions[tuple(d["name"] for d in body["dimensions"])]
        [dates] = body["dateRanges"]
        start, end = date.fromisoformat(dates["startDate"]), date.fromisoformat(dates["endDate"])
        read.append((report, start, end))
    return read


async def last_run(pool, property_id: str):
    return await pool.fetchrow(
        """select r.* from ga4_property_runs r join ga4_properties p on p.id = r.property_ref
           where p.property_id = $1 order by r.id desc limit 1""",
        property_id,
    )


def rows_per_date(cardinality: int, spec: ReportSpec) -> int:
    return cardinality ** (len(spec.dimensions) - 1)


# --- 3. rows GA4 stops returning --------------------------------------------------------------


async def test_a_row_ga4_stops_returning_is_deleted_after_the_next_complete_read(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7301": LA}, cardinality=3)
    async with ingestion_for(sync_lookback_days=3, sync_backfill_days=0) as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        gone = [
            ("pages", day - ONE_DAY, {"pagePath": "/p/1"}),
            (
                "traffic_sources",
                day - 2 * ONE_DAY,
                {"sessionSource": "google", "sessionMedium": "organic"},
            ),
        ]
        before = await stored_rows(pool, "7301")
        assert all(key(*row) in before for row in gone)
        for _, when, dimensions in gone:
            fake.hide_row("7301", date=when, dimensions=dimensions)

        at(clock, fake, day + ONE_DAY)
        summary = await ingest_ga4_for_all_accounts(ingestion)

    assert summary.ok, summary.message()
    [result] = summary.results
    assert result.rows_deleted == summary.rows_deleted == 2
    assert summary.as_dict()["rows_deleted"] == 2
    assert ", 2 deleted;" in summary.message()
    assert (await last_run(pool, "7301"))["rows_deleted"] == 2
    after = await stored_rows(pool, "7301")
    vanished = {key(*row) for row in gone}
    assert not vanished & after.keys()
    assert before.keys() - vanished <= after.keys()  # nothing else went
    assert after == await ga4_rows(fake, google_url, "7301", day - timedelta(days=4), day + ONE_DAY)


@pytest.mark.parametrize("how", ["short answer", "error mid-report"])
async def test_an_incomplete_read_deletes_nothing(
    pool, fake, clock, google_url, connect_user, ingestion_for, how
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7302": LA}, cardinality=3)
    settings = {
        "sync_lookback_days": 3,
        "sync_backfill_days": 0,
        "ga4_page_size": 4,
        "ga4_property_concurrency": 1,
    }
    async with ingestion_for(**settings) as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion, reports=[PAGES])).ok
        before = await stored_rows(pool, "7302")
        covered = await coverage(pool, "7302")
        # The same-day re-read covers Nov 18-21 (three rows a day, four a page): one
        # row goes from the date its first page starts with, one from a later date.
        for when in (day - 3 * ONE_DAY, day - ONE_DAY):
            fake.hide_row("7302", date=when, dimensions={"pagePath": "/p/1"})
        if how == "short answer":
            fake.answer_short("7302", missing=1)
        else:
            fake.fail_next("7302", status=500, times=10, after=1)

        clock.now += timedelta(hours=1)
        summary = await ingest_ga4_for_all_accounts(ingestion, reports=[PAGES])
        [result] = summary.results
        assert result.rows_deleted == summary.rows_deleted == 0
        assert (await last_run(pool, "7302"))["rows_deleted"] == 0
        assert await stored_rows(pool, "7302") == before
        assert await coverage(pool, "7302") == covered  # nothing recorded as read
        if how == "short answer":
            assert result.status == "success"
            assert result.data_quality["pages"]["incomplete"] is True
            # 12 rows less the 2 hidden: rowCount 10, and the last page one short
            assert (result.rows_fetched, result.data_quality["pages"]["row_count"]) == (9, 10)
        else:
            assert result.status == "failed" and "still failing" in (result.error or "")
            assert result.rows_fetched == 4  # the first page

        # Once GA4 answers in full, the next complete read deletes both.
        fake.answer_short("7302", missing=0)
        fake.clear_failures("7302")
        clock.now += timedelta(hours=1)
        again = await ingest_ga4_for_all_accounts(ingestion, reports=[PAGES])
    assert again.ok and again.rows_deleted == 2
    assert await stored_rows(pool, "7302") == await ga4_rows(
        fake, google_url, "7302", day - timedelta(days=4), day, reports=[PAGES]
    )


async def test_a_row_of_a_settled_date_is_not_deleted(
    pool, fake, clock, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7303": LA}, cardinality=3)
    async with ingestion_for(sync_lookback_days=3, sync_backfill_days=10) as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        settled = day - timedelta(days=6)  # read when six days old: settled
        before = await stored_rows(pool, "7303")
        covered = await coverage(pool, "7303")
        fake.hide_row("7303", date=settled, dimensions={"pagePath": "/p/1"})

        at(clock, fake, day + ONE_DAY)
        seen = len(fake.report_requests)
        summary = await ingest_ga4_for_all_accounts(ingestion)

    assert summary.ok and summary.rows_deleted == 0
    # Only the unsettled days are read: the settled date never again, so GA4's
    # change there is never seen.
    assert sorted(chunks_read(fake.report_requests[seen:])) == sorted(
        (spec.name, day - 3 * ONE_DAY, day + ONE_DAY) for spec in BUILTIN_REPORTS
    )
    after = await stored_rows(pool, "7303")
    assert key("pages", settled, {"pagePath": "/p/1"}) in after
    assert {k: v for k, v in after.items() if k[1] <= settled} == {
        k: v for k, v in before.items() if k[1] <= settled
    }
    assert (await coverage(pool, "7303"))[("pages", settled)] == covered[("pages", settled)]
