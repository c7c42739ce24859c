"""Re-sync on demand: dates of one property read again whatever their coverage says
(GA4 reprocessed them, or a custom definition changed upstream), through the API
as a run of its own in the user's lane, or at once with ``ga4sync resync``."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts
from ga4sync.web.app import create_app
from tests.conftest import wait_for_job

from ..webtools import bearer

PROPERTY = "7301"
TODAY = date(2026, 11, 21)
FIRST, LAST = TODAY - timedelta(days=30), TODAY - timedelta(days=21)  # ten settled dates
DROPPED = FIRST + timedelta(days=3)


@pytest.fixture
def settings(settings):
    return replace(settings, sync_backfill_days=40, run_rate_limit=2)


@pytest.fixture
async def api(aiohttp_client, runtime, web_settings):
    return await aiohttp_client(create_app(web_settings, runtime=runtime))


async def coverage(pool) -> dict[tuple[str, date], object]:
    rows = await pool.fetch(
        "select d.name, c.date, c.read_at from ga4_coverage c"
        " join ga4_report_definitions d on d.key = c.report"
    )
    return {(r["name"], r["date"]): r["read_at"] for r in rows}


def requested(fake, since: int) -> list[tuple[str, date, date]]:
    """(first dimension after date, start, end) of each report request since ``since``."""
    return sorted(
        (
            body["dimensions"][1]["name"] if len(body["dimensions"]) > 1 else "-",
            date.fromisoformat(body["dateRanges"][0]["startDate"]),
            date.fromisoformat(body["dateRanges"][0]["endDate"]),
        )
        for pid, body in fake.report_requests[since:]
        if pid == PROPERTY
    )


@pytest.fixture
async def synced(pool, fake, clock, connect_user, ingestion_for, settings):
    """A user whose property's 41 dates are all read, and read long ago: settled."""
    user = await connect_user({PROPERTY: "UTC"}, cardinality=2)
    async with ingestion_for(**{"sync_backfill_days": 40}) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion, history_chunks=None)
    assert summary.ok, summary.message()
    assert len({d for _, d in await coverage(pool)}) == 41
    return user


async def test_a_resync_reads_exactly_its_dates_of_its_report_and_deletes_what_ga4_dropped(
    api, pool, fake, runtime, worker, synced, clock
):
    user = synced
    before = await coverage(pool)
    page = await pool.fetchrow(
        "select page_path from ga4_pages where date = $1 order by page_path limit 1", DROPPED
    )
    # GA4 reprocessed the range: one page of one day is gone from its answer.
    fake.hide_row(PROPERTY, date=DROPPED, dimensions={"pagePath": page["page_path"]})
    seen = len(fake.report_requests)
    clock.now += timedelta(hours=1)  # reads from now on are told apart by their instant

    response = await api.post(
        f"/v1/properties/{PROPERTY}/resync",
        headers=bearer(user),
        json={"report": "pages", "start_date": str(FIRST), "end_date": str(LAST)},
    )
    assert response.status == 202, await response.text()
    job = await response.json()
    assert job["trigger"] == "resync" and job["kind"] == "manual"
    assert job["resync"] == {"reports": ["pages"], "start_date": str(FIRST), "end_date": str(LAST)}
    done = await wait_for_job(runtime.sync, uuid.UUID(job["job_id"]))
    assert done.status == "success", done.message

    # Exactly those ten dates of that report were asked for again, nothing else.
    asked = requested(fake, seen)
    assert {dim for dim, _, _ in asked} == {"pagePath"}
    dates = sorted(
        start + timedelta(days=n) for _, start, end in asked for n in range((end - start).days + 1)
    )
    assert dates == [FIRST + timedelta(days=n) for n in range(10)]
    # The row GA4 dropped is gone; the other rows of that day are there.
    assert not await pool.fetchval(
        "select count(*) from ga4_pages where date = $1 and page_path = $2",
        DROPPED,
        page["page_path"],
    )
    assert await pool.fetchval("select count(*) from ga4_pages where date = $1", DROPPED)
    # Those dates of that report were read again; every other coverage is as it was.
    after = await coverage(pool)
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {("pages", FIRST + timedelta(days=n)) for n in range(10)}


async def test_a_resync_is_refused_clearly_for_bad_input_and_for_others(
    api, pool, runtime, synced, clock
):
    user = synced
    url = f"/v1/properties/{PROPERTY}/resync"
    cases = [
        ({"start_date": str(FIRST)}, "start_date and end_date are required"),
        ({"start_date": str(LAST), "end_date": str(FIRST)}, "must not be after"),
        ({"start_date": "2026-02-30", "end_date": str(LAST)}, "real date"),
        ({"start_date": str(FIRST), "end_date": str(TODAY + timedelta(days=1))}, "today"),
        ({"start_date": "2015-01-01", "end_date": "2015-01-02"}, "no data before"),
        ({"start_date": str(FIRST), "end_date": str(LAST), "extra": 1}, "Unknown field"),
    ]
    for body, says in cases:
        response = await api.post(url, headers=bearer(user), json=body)
        assert response.status == 400, (body, await response.text())
        assert says in (await response.json())["message"], body
    # A property turned off is said to be, not re-synced into an empty run.
    ok = {"start_date": str(FIRST), "end_date": str(LAST)}
    await pool.execute("update ga4_property_access set enabled = false where user_id = $1", user)
    response = await api.post(url, headers=bearer(user), json=ok)
    assert response.status == 400 and "turned off for you" in (await response.json())["message"]
    await pool.execute("update ga4_property_access set enabled = true")
    unknown = {"report": "nope", "start_date": str(FIRST), "end_date": str(LAST)}
    response = await api.post(url, headers=bearer(user), json=unknown)
    assert response.status == 404 and "No report 'nope'" in (await response.json())["message"]
    # Another signed-in user does not see the property; nobody unsigned gets in.
    ok = {"start_date": str(FIRST), "end_date": str(LAST)}
    response = await api.post(url, headers=bearer(uuid.uuid4()), json=ok)
    assert response.status == 404
    response = await api.post(url, json=ok)
    assert response.status == 401
    assert not await pool.fetchval("select count(*) from ga4_sync_jobs where trigger = 'resync'")
    # Re-syncs count against RUN_RATE_LIMIT (2 here) with Sync now.
    for _ in range(2):
        assert (await api.post(url, headers=bearer(user), json=ok)).status == 202
    limited = await api.post(url, headers=bearer(user), json=ok)
    assert limited.status == 429 and "Retry-After" in limited.headers
