"""The mirror's acceptance criteria, on a real Postgres against the fake Google.

The database holds, per property and report, exactly the dates GA4 has and,
for each, exactly GA4's rows: a backfill reads every date once, a sync after
downtime reads what it missed and what has not settled, rows GA4 stops
returning go once their date is read again completely, and a property shared
by several users is read once with whichever grant still works. The clock is
injected; the fake Google's "today" follows it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts

from ..reporting import row_key as key
from ..reporting import row_versions as all_versions
from ..reporting import stored_rows, typed_value

LA = "America/Los_Angeles"
ZONE = ZoneInfo(LA)
SPECS = {spec.name: spec for spec in BUILTIN_REPORTS}
PAGES = SPECS["pages"]
# A row: (report, date, its other dimensions as sorted JSON) -> metrics, typed
Rows = dict[tuple[str, date, str], dict[str, Any]]
ONE_DAY = timedelta(days=1)


def at(clock, fake, day: date, hour: int = 10) -> date:
    """Move the clock to ``hour`` o'clock of ``day`` in Los Angeles, and the fake's
    today with it; returns ``day``."""
    clock.now = datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)
    fake.set_today(day)
    return day


def today(clock) -> date:
    return clock.now.astimezone(ZONE).date()


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
                types = [c.sql_type for c in spec.columns if c.kind == "metric"]
                rows[key(spec.name, day, others)] = {
                    name: typed_value(sql_type, value)
                    for name, sql_type, value in zip(spec.metrics, types, metrics, strict=True)
                }
    return rows


async def row_versions(pool, property_id: str) -> dict[tuple, datetime]:
    return {key: synced for key, (_, synced) in (await all_versions(pool, property_id)).items()}


async def coverage(pool, property_id: str) -> dict[tuple[str, date], tuple[datetime, int]]:
    records = await pool.fetch(
        """select d.name as report, c.date, c.read_at, c.rows
           from ga4_coverage c join ga4_properties p on p.id = c.property_ref
           join ga4_report_definitions d on d.key = c.report
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


# --- 1. a new property is backfilled with exactly what GA4 has ------------------------------


async def test_a_new_property_ends_with_exactly_the_dates_and_rows_ga4_has(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7101": LA}, cardinality=3)
    # A property created 20 days ago: GA4 has nothing before that.
    await connect_user({"7102": LA}, cardinality=3, first_date=day - timedelta(days=20))

    async with ingestion_for(sync_backfill_days=60, sync_lookback_days=3) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)

    assert summary.ok, summary.message()
    assert [(r.status, r.error, r.history_days_left) for r in summary.results] == [
        ("success", None, 0)
    ] * 2
    start = day - timedelta(days=60)
    for property_id, first in (("7101", start), ("7102", day - timedelta(days=20))):
        stored = await stored_rows(pool, property_id)
        for spec in BUILTIN_REPORTS:
            assert dates_of(stored, spec.name) == span(first, day), (property_id, spec.name)
        # Every row of every date, each exactly as GA4 answers it.
        assert stored == await ga4_rows(fake, google_url, property_id, start, day)
        assert len(stored) == len(span(first, day)) * sum(
            rows_per_date(3, spec) for spec in BUILTIN_REPORTS
        )
        # All 61 dates were read completely; those before the property's data, empty.
        covered = await coverage(pool, property_id)
        assert set(covered) == {
            (spec.name, d) for spec in BUILTIN_REPORTS for d in span(start, day)
        }
        for (report, d), (read_at, rows) in covered.items():
            assert read_at == clock.now
            assert rows == (rows_per_date(3, SPECS[report]) if d >= first else 0)


# --- 2. downtime: the next sync reads what it missed and what has not settled ----------------


async def test_after_nine_days_down_the_next_sync_reads_exactly_the_missing_and_unsettled_days(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    first = at(clock, fake, date(2026, 11, 1))
    await connect_user({"7201": LA}, cardinality=2)
    settings = {
        "sync_backfill_days": 14,
        "sync_lookback_days": 3,
        "sync_backfill_chunk_days": 5,
        # one request at a time: GA4 gets the chunks in the plan's order
        "ga4_property_concurrency": 1,
    }
    names = [spec.name for spec in BUILTIN_REPORTS]
    async with ingestion_for(**settings) as ingestion:
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        # Three daily syncs: each reads today and the four days before it, the
        # oldest of which settles with this read.
        for _ in range(3):
            day = at(clock, fake, today(clock) + ONE_DAY)
            seen = len(fake.report_requests)
            assert (await ingest_ga4_for_all_accounts(ingestion)).ok
            assert chunks_read(fake.report_requests[seen:]) == [
                (name, day - timedelta(days=4), day) for name in names
            ]
        last = today(clock)
        assert last == date(2026, 11, 4)

        # The worker is down for nine days.
        now = at(clock, fake, last + timedelta(days=9))
        seen = len(fake.report_requests)
        summary = await ingest_ga4_for_all_accounts(ingestion)

    assert summary.ok, summary.message()
    # Unsettled: the days the last sync read too young (Nov 1-4) and the nine it
    # missed (Nov 5-13). Recent days first, then history newest first, in chunks
    # of five days counted back from the newest.
    assert chunks_read(fake.report_requests[seen:]) == [
        *[(name, date(2026, 11, 9), date(2026, 11, 13)) for name in names],
        *[(name, date(2026, 11, 4), date(2026, 11, 8)) for name in names],
        *[(name, date(2026, 11, 1), date(2026, 11, 3)) for name in names],
    ]
    # No date is missing: every date since the first backfill is covered, with GA4's
    # rows; this sync read Nov 1-13 and nothing that had settled before.
    oldest = first - timedelta(days=14)
    covered = await coverage(pool, "7201")
    stored = await stored_rows(pool, "7201")
    for name in names:
        read_at = {d: covered[(name, d)][0] for d in span(oldest, now)}
        assert {d for d, t in read_at.items() if t == clock.now} == span(first, now)
        assert dates_of(stored, name) == span(oldest, now)
    assert stored == await ga4_rows(fake, google_url, "7201", oldest, now)


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


# --- 4. one property, two users ---------------------------------------------------------------


async def test_a_property_shared_by_two_users_is_read_once_with_a_grant_that_works(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    alice = await connect_user({"7401": LA}, cardinality=3)
    bob = await connect_user({"7401": LA}, cardinality=3)
    window = day - timedelta(days=4)
    per_day = sum(rows_per_date(3, spec) for spec in BUILTIN_REPORTS)

    async def sync():
        seen, tokens = len(fake.report_requests), fake.quota_used.get("7401", 0)
        async with ingestion_for(sync_lookback_days=3, sync_backfill_days=0) as ingestion:
            summary = await ingest_ga4_for_all_accounts(ingestion)
        answered = fake.quota_used.get("7401", 0) - tokens  # GA4 charges what it answers
        return summary, chunks_read(fake.report_requests[seen:]), answered

    summary, chunks, answered = await sync()
    assert summary.ok and summary.properties_total == 1
    [result] = summary.results
    assert result.user_id == alice  # the first user with access
    assert sorted(chunks) == sorted((spec.name, window, day) for spec in BUILTIN_REPORTS)
    assert answered == 3
    assert result.rows_fetched == result.rows_inserted == 5 * per_day  # stored once
    assert await pool.fetchval("select count(*) from ga4_properties") == 1
    assert await pool.fetchval("select count(*) from ga4_property_access") == 2
    assert await stored_rows(pool, "7401") == await ga4_rows(fake, google_url, "7401", window, day)

    # Alice revokes her grant: Bob's reads the property, once.
    fake.revoke_refresh_token(f"rt-{alice.hex[:8]}")
    clock.now += timedelta(hours=1)
    summary, chunks, answered = await sync()
    assert summary.ok, summary.message()
    [result] = summary.results
    assert (result.status, result.user_id) == ("success", bob)
    assert answered == 3  # each report read once, with Bob's grant
    # Alice's refused requests first (up to one per report in flight), then Bob's.
    assert sorted(chunks[-3:]) == sorted(
        (spec.name, window + ONE_DAY, day) for spec in BUILTIN_REPORTS
    )
    assert result.rows_fetched == result.rows_unchanged == 4 * per_day
    reauth = dict(await pool.fetch("select user_id, needs_reauth from google_credentials"))
    assert reauth == {alice: True, bob: False}

    # Bob's goes too: nobody can read it, and the rows stay.
    fake.revoke_refresh_token(f"rt-{bob.hex[:8]}")
    clock.now += timedelta(hours=1)
    summary, _, answered = await sync()
    [result] = summary.results
    assert result.status == "needs_reauth" and answered == 0
    assert await pool.fetchval("select last_sync_status from ga4_properties") == "needs_reauth"
    assert await pool.fetchval("select bool_and(needs_reauth) from google_credentials")
    assert len(await stored_rows(pool, "7401")) == 5 * per_day


# --- 5. a re-read rewrites nothing that did not change ---------------------------------------


async def test_unchanged_rows_are_never_rewritten_on_a_re_read(
    pool, fake, clock, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7501": LA}, cardinality=3)
    per_day = sum(rows_per_date(3, spec) for spec in BUILTIN_REPORTS)
    async with ingestion_for(sync_lookback_days=3, sync_backfill_days=7) as ingestion:
        first = await ingest_ga4_for_all_accounts(ingestion)
        assert first.rows_inserted == 8 * per_day
        versions = await row_versions(pool, "7501")

        clock.now += timedelta(hours=1)  # the recent days, re-read the same day
        same_day = await ingest_ga4_for_all_accounts(ingestion)
        assert same_day.rows_fetched == 4 * per_day
        assert (same_day.rows_written, same_day.rows_unchanged) == (0, 4 * per_day)
        assert await row_versions(pool, "7501") == versions

        at(clock, fake, day + ONE_DAY)  # the next day: one new date, nothing else written
        next_day = await ingest_ga4_for_all_accounts(ingestion)
    assert next_day.rows_fetched == 5 * per_day
    assert (next_day.rows_inserted, next_day.rows_updated) == (per_day, 0)
    assert next_day.rows_unchanged == 4 * per_day
    run = await last_run(pool, "7501")
    assert (run["rows_inserted"], run["rows_updated"], run["rows_deleted"]) == (per_day, 0, 0)
    after = await row_versions(pool, "7501")
    assert {k: v for k, v in after.items() if k in versions} == versions


# --- quota: a backfill that runs out of tokens goes on where it stopped ----------------------


async def test_a_backfill_that_runs_out_of_tokens_goes_on_where_it_stopped(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7601": LA}, cardinality=2)
    fake.quota_limits["tokensPerDay"] = 12  # one token a read: 12 of the 21 reads
    settings = {
        "sync_backfill_days": 60,
        "sync_lookback_days": 3,
        "sync_backfill_chunk_days": 10,
        "ga4_property_concurrency": 1,
        # No reserve: history reads until GA4 refuses (the reserve is tested apart).
        "ga4_quota_reserve": 0.0,
    }
    async with ingestion_for(**settings) as ingestion:
        seen = len(fake.report_requests)
        summary = await ingest_ga4_for_all_accounts(ingestion)
        [result] = summary.results
        assert result.status == "quota_deferred", summary.message()
        assert "tokens per day" in (result.error or "")
        assert result.retry_after_s and result.retry_after_s > 0
        # Recent days of each report, then history newest first, until the tokens
        # ran out; what was asked after that was refused.
        done = [
            (name, first, last)
            for first, last in [
                (day - timedelta(days=4), day),
                (day - timedelta(days=14), day - timedelta(days=5)),
                (day - timedelta(days=24), day - timedelta(days=15)),
                (day - timedelta(days=34), day - timedelta(days=25)),
            ]
            for name in SPECS
        ]
        asked = chunks_read(fake.report_requests[seen:])
        assert asked[:12] == done and len(asked) > 12
        assert fake.quota_used["7601"] == 12
        covered = await coverage(pool, "7601")
        assert {(report, d) for report, d in covered} == {
            (report, d) for report, start, end in done for d in span(start, end)
        }
        assert result.history_days_left == 56 - 30

        # The next day the quota is back: the recent days, and the history not read
        # yet (back to the next day's backfill start), newest first.
        fake.refill_quota()
        tomorrow = at(clock, fake, day + ONE_DAY)
        seen = len(fake.report_requests)
        again = await ingest_ga4_for_all_accounts(ingestion)
    assert again.ok, again.message()
    start = tomorrow - timedelta(days=60)
    assert chunks_read(fake.report_requests[seen:]) == [
        (name, first, last)
        for first, last in [
            (tomorrow - timedelta(days=4), tomorrow),
            (day - timedelta(days=44), day - timedelta(days=35)),
            (day - timedelta(days=54), day - timedelta(days=45)),
            (start, day - timedelta(days=55)),
        ]
        for name in SPECS
    ]
    stored = await stored_rows(pool, "7601")
    for spec in BUILTIN_REPORTS:
        assert dates_of(stored, spec.name) == span(start, tomorrow)
    fake.refill_quota()
    assert stored == await ga4_rows(fake, google_url, "7601", start, tomorrow)


async def test_history_chunks_zero_reads_the_recent_days_only(
    pool, fake, clock, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7701": LA}, cardinality=2)
    async with ingestion_for(sync_backfill_days=60, sync_lookback_days=3) as ingestion:
        seen = len(fake.report_requests)
        recent = await ingest_ga4_for_all_accounts(ingestion, history_chunks=0)
        # 56 dates of history, whichever reports still need them
        assert recent.ok and recent.history_days_left == 56
        assert "56 days to read" in recent.message()
        assert sorted(chunks_read(fake.report_requests[seen:])) == sorted(
            (name, day - timedelta(days=4), day) for name in SPECS
        )

        seen = len(fake.report_requests)
        rest = await ingest_ga4_for_all_accounts(ingestion, history_chunks=None)
    assert rest.ok and rest.history_days_left == 0
    history = [chunk for chunk in chunks_read(fake.report_requests[seen:]) if chunk[2] < day]
    assert {(name, d) for name, first, last in history for d in span(first, last)} == {
        (name, d) for name in SPECS for d in span(day - timedelta(days=60), day - timedelta(days=5))
    }
    stored = await stored_rows(pool, "7701")
    assert all(dates_of(stored, name) == span(day - timedelta(days=60), day) for name in SPECS)


# --- 4. periods re-read unchanged -------------------------------------------------------------


async def test_a_reread_writes_only_the_periods_ga4_changed(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7401": LA}, cardinality=3)
    # Pages of 10 rows: history chunks take several pages, each recent day one.
    settings = {"sync_lookback_days": 3, "sync_backfill_days": 20, "ga4_page_size": 10}
    async with ingestion_for(**settings) as ingestion:
        first = await ingest_ga4_for_all_accounts(ingestion)
        assert first.ok, first.message()
        assert await pool.fetchval("select count(*) from ga4_coverage where digest is null") == 0

        # Every key a read keeps, by date.
        await pool.execute(
            """
            create table kept_keys (date date);
            create function keep_kept_keys() returns trigger language plpgsql as $$
            begin insert into kept_keys select date from new_keys; return null; end $$;
            create trigger kept_keys after insert on ga4_read_keys
            referencing new table as new_keys for each statement
            execute function keep_kept_keys();
            """
        )
        # Every date counts as read on the day itself: none is settled, all are read.
        await pool.execute("update ga4_coverage set read_at = date::timestamptz")
        changed = day - timedelta(days=15)  # in a history chunk of several pages
        fake.override_metric(
            "7401",
            date=changed.strftime("%Y%m%d"),
            dimensions={"pagePath": "/p/2"},
            metric="screenPageViews",
            value="777",
        )
        hidden = day - ONE_DAY  # a recent day
        fake.hide_row(
            "7401",
            date=hidden,
            dimensions={"sessionSource": "google", "sessionMedium": "organic"},
        )
        again = await ingest_ga4_for_all_accounts(ingestion)

    assert again.ok, again.message()
    assert (again.rows_inserted, again.rows_updated, again.rows_deleted) == (0, 1, 1)
    assert again.rows_unchanged == again.rows_fetched - 1
    # Keys were kept for the two changed periods only; every other one came back
    # with its stored digest and wrote nothing (the date report's recent days,
    # one page, took the one-transaction path).
    kept = {r["date"] for r in await pool.fetch("select date from kept_keys")}
    assert kept == {changed, hidden}
    stored = await stored_rows(pool, "7401")
    assert stored == await ga4_rows(fake, google_url, "7401", day - timedelta(days=20), day)
    assert await pool.fetchval("select count(*) from ga4_coverage where digest is null") == 0


async def test_a_first_load_keeps_no_key_and_a_cut_one_is_finished_by_the_next_read(
    pool, fake, clock, google_url, connect_user, ingestion_for
):
    day = at(clock, fake, date(2026, 11, 21))
    await connect_user({"7501": LA}, cardinality=3)
    await pool.execute(
        """
        create table kept_keys (date date);
        create function keep_kept_keys() returns trigger language plpgsql as $$
        begin insert into kept_keys select date from new_keys; return null; end $$;
        create trigger kept_keys after insert on ga4_read_keys
        referencing new table as new_keys for each statement
        execute function keep_kept_keys();
        """
    )
    settings = {"sync_lookback_days": 3, "sync_backfill_days": 20, "ga4_page_size": 10}
    # A refusal GA4 does not take back cuts the backfill after a few pages.
    fake.fail_next("7501", 400, after=8)
    async with ingestion_for(**settings) as ingestion:
        cut = await ingest_ga4_for_all_accounts(ingestion)
        assert not cut.ok and cut.rows_inserted > 0
        # Nothing was stored for these dates before: every page went in as a
        # first load, with no key kept.
        assert await pool.fetchval("select count(*) from kept_keys") == 0
        again = await ingest_ga4_for_all_accounts(ingestion)

    assert again.ok, again.message()
    stored = await stored_rows(pool, "7501")
    assert stored == await ga4_rows(fake, google_url, "7501", day - timedelta(days=20), day)
    uncovered = await pool.fetchval(
        "select count(*) from generate_series($1::date, $2::date, '1 day') d"
        " cross join (select distinct report from ga4_coverage) r"
        " where not exists (select 1 from ga4_coverage c where c.date = d and c.report = r.report)",
        day - timedelta(days=20),
        day,
    )
    assert uncovered == 0
