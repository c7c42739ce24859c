"""Migration 0008 on a database that holds one GA4 property twice (two users).

The copies merge into one: every user keeps access, no report row is lost, the
newest of two versions of a row wins, and runs and job entries follow. The rows
then move into their report's typed table.
"""

from __future__ import annotations

import uuid
from datetime import date

from ga4sync.db import connect
from ga4sync.migrate import migrate
from ga4sync.reports import reports_by_name
from ga4sync.store.report_tables import table_name
from tests.migrations import migrate_until

ALICE, BOB, CAROL = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


async def test_two_users_copies_of_a_property_become_one(empty_database_url):
    async with connect(empty_database_url) as conn:
        await migrate_until(conn, "0007")
        ids = {}
        for user, prop, enabled, frequency in [
            (ALICE, "111", True, "daily"),
            (BOB, "111", False, "hourly"),
            (CAROL, "111", True, "every_6h"),
            (BOB, "222", True, "manual"),
        ]:
            ids[(user, prop)] = await conn.fetchval(
                "insert into ga4_properties (user_id, property_id, enabled, sync_frequency)"
                " values ($1, $2, $3, $4) returning id",
                user,
                prop,
                enabled,
                frequency,
            )
        a, b, c = ids[(ALICE, "111")], ids[(BOB, "111")], ids[(CAROL, "111")]
        key_shared, key_a, key_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        rows = [
            (a, key_shared, '{"screenPageViews": "1"}', "2026-11-01"),
            (b, key_shared, '{"screenPageViews": "2"}', "2026-11-02"),  # newer: wins
            (a, key_a, '{"screenPageViews": "3"}', "2026-11-01"),
            (b, key_b, '{"screenPageViews": "4"}', "2026-11-01"),
        ]
        for ref, key, metrics, updated in rows:
            await conn.execute(
                "insert into ga4_report_rows (property_ref, report, date, dimension_key,"
                " dimensions, metrics, updated_at) values ($1, 'pages', '2026-10-30', $2,"
                " '{}', $3::jsonb, $4::date)",
                ref,
                key,
                metrics,
                date.fromisoformat(updated),
            )
        job = await conn.fetchval("insert into ga4_sync_jobs default values returning id")
        for ref in (a, b, c):
            await conn.execute(
                "insert into ga4_sync_job_properties (job_id, property_ref) values ($1, $2)",
                job,
                ref,
            )
            await conn.execute(
                "insert into ga4_property_runs (property_ref, start_date, end_date)"
                " values ($1, '2026-10-30', '2026-10-30')",
                ref,
            )

        assert await migrate(conn)  # 0008 onwards, and procrastinate's schema

        props = await conn.fetch("select id, property_id from ga4_properties order by id")
        assert [(p["id"], p["property_id"]) for p in props] == [
            (a, "111"),
            (ids[(BOB, "222")], "222"),
        ]
        # The merged settings, which a later migration gives every user with access:
        # enabled, at the most frequent schedule of the enabled copies.
        access = await conn.fetch(
            "select user_id, property_ref, enabled, sync_frequency from ga4_property_access"
        )
        assert {tuple(r) for r in access} == {
            (ALICE, a, True, "every_6h"),
            (BOB, a, True, "every_6h"),
            (CAROL, a, True, "every_6h"),
            (BOB, ids[(BOB, "222")], True, "manual"),
        }
        # The merged rows, then moved into the pages report's own table.
        pages = table_name(reports_by_name(["pages"])[0].key)
        stored = {
            r["dimension_key"]: r["screen_page_views"]
            for r in await conn.fetch(f"select dimension_key, screen_page_views from {pages}")
        }
        assert stored == {key_shared: 2, key_a: 3, key_b: 4}
        assert await conn.fetchval(f"select count(*) from {pages} where property_ref <> $1", a) == 0
        assert await conn.fetchval("select count(*) from ga4_report_rows") == 0
        entries = await conn.fetch(
            "select property_ref from ga4_sync_job_properties where job_id = $1", job
        )
        assert [e["property_ref"] for e in entries] == [a]
        assert (
            await conn.fetchval("select count(*) from ga4_property_runs where property_ref = $1", a)
            == 3
        )
