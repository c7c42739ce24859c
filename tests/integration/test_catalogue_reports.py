"""The catalogue of GA4's standard reports against the fake Google: every entry (and
every dimension it can also be broken down by) passes GA4's metadata and
compatibility checks, and every entry syncs into its relation exactly what GA4
answers for the same request."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ga4sync.cli import main
from ga4sync.demo import CATALOGUE_SAMPLE_QUERY, sample_query
from ga4sync.reports import ReportSpec
from ga4sync.reports.config import load_reports
from ga4sync.reports.standard import STANDARD_REPORTS
from ga4sync.sync.report_check import check_reports
from tests.integration.test_custom_reports import at, ga4_answer, sync

EXAMPLE = Path(__file__).parents[2] / "examples" / "catalog.toml"
DOCS = Path(__file__).parents[2] / "docs" / "reports.md"
README = Path(__file__).parents[2] / "README.md"
TODAY = date(2026, 11, 20)
PARSE = {"bigint": int, "double precision": float, "numeric": Decimal}


def doc_queries(path: Path) -> list[str]:
    """The statements of the ```sql blocks of a Markdown file."""
    blocks = re.findall(r"```sql\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [
        s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())
    ]


def catalogue() -> list[ReportSpec]:
    return [entry.spec() for entry in STANDARD_REPORTS.values()]


def also_by() -> list[ReportSpec]:
    """Each entry's metrics by each of its other dimensions, alone."""
    return [
        ReportSpec(f"{entry.name[:24]}_by_{n}", ("date", dimension), entry.metrics)
        for entry in STANDARD_REPORTS.values()
        for n, dimension in enumerate(entry.also_by)
    ]


def test_the_sample_definitions_file_uses_every_entry():
    specs = load_reports(EXAMPLE)
    used = {spec.name for spec in specs}
    assert used >= set(STANDARD_REPORTS)
    for name, entry in STANDARD_REPORTS.items():
        assert next(s for s in specs if s.name == name) == entry.spec()


async def test_every_entry_and_its_other_dimensions_pass_ga4_s_checks(
    pool, fake, settings, connect_user
):
    await connect_user({"9901": "America/Los_Angeles"}, cardinality=2)
    specs = [*catalogue(), *also_by()]
    results = await check_reports(pool, replace(settings, reports=tuple(specs)))
    assert {r.report: r.describe() for r in results} == {s.name: "ok" for s in specs}
    # GA4 was asked, each report once: not judged by ga4sync itself
    assert len(fake.compatibility_requests) == len(specs)


def test_reports_check_passes_the_sample_file_against_the_fake(
    database_url, encryption_key, monkeypatch, capsys
):
    from ga4sync.crypto import TokenCipher
    from ga4sync.db import connect
    from ga4sync.fake_google import FakeGoogle
    from ga4sync.sync.connections import connect_property, store_google_grant

    fake = FakeGoogle(seed=11)
    fake.add_refresh_token("rt-catalogue")
    fake.add_property("9902", cardinality=3)
    with fake.serve_in_thread() as base_url:
        for name, value in {
            "DATABASE_URL": database_url,
            "TOKEN_ENCRYPTION_KEY": encryption_key,
            "GOOGLE_CLIENT_ID": "cli",
            "GOOGLE_CLIENT_SECRET": "cli-secret",
            "GOOGLE_TOKEN_URI": f"{base_url}/token",
            "GA4_API_BASE_URL": base_url,
            "GA4SYNC_REPORTS": str(EXAMPLE),
        }.items():
            monkeypatch.setenv(name, value)

        async def connect_one() -> None:
            async with connect(database_url) as conn:
                user = uuid.uuid4()
                await store_google_grant(conn, TokenCipher(encryption_key), user, "rt-catalogue")
                await connect_property(conn, user, "9902", time_zone="UTC")

        assert main(["migrate"]) == 0
        asyncio.run(connect_one())
        capsys.readouterr()
        assert main(["reports", "check"]) == 0
        out = capsys.readouterr().out
    assert out.rstrip().endswith("all ok"), out
    for name in STANDARD_REPORTS:
        assert f"\n{name} " in out


def _typed(spec: ReportSpec, row: list[str]) -> tuple[Any, ...]:
    """A row of GA4's answer (date, dimensions, metrics as strings) as the relation
    types it: the date, the dimensions' text, each metric parsed to its column's type."""
    day, *values = row
    typed: list[Any] = [date(int(day[:4]), int(day[4:6]), int(day[6:]))]
    for column, value in zip(spec.columns, values, strict=True):
        typed.append(value if column.kind == "dimension" else PARSE[column.sql_type](value))
    return tuple(typed)


async def test_every_entry_syncs_into_its_relation_what_ga4_answers(
    pool, fake, google_url, clock, connect_user, ingestion_for
):
    at(clock, fake, TODAY)
    await connect_user({"9903": "America/Los_Angeles"}, cardinality=3)
    specs = catalogue()
    summary = await sync(pool, ingestion_for, specs, sync_lookback_days=2, sync_backfill_days=6)
    assert summary.ok, summary.message()
    first, last = TODAY - timedelta(days=6), TODAY
    for spec in specs:
        columns = ", ".join(c.name for c in spec.columns)
        stored = await pool.fetch(
            f"select date, {columns} from {spec.relation} where property_id = '9903'"
        )
        answer = await ga4_answer(
            fake,
            google_url,
            "9903",
            {
                "dimensions": [{"name": d} for d in spec.dimensions],
                "metrics": [{"name": m} for m in spec.metrics],
                "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
            },
        )
        assert answer, spec.name
        assert sorted(tuple(r) for r in stored) == sorted(_typed(spec, a) for a in answer), (
            spec.name
        )
        assert {r["date"] for r in stored} == {first + timedelta(days=n) for n in range(7)}
    # every query of the catalogue's docs runs on what was synced
    for statement in doc_queries(DOCS):
        await pool.fetch(statement)
    relations = tuple(spec.relation for spec in specs)
    readme = [q for q in doc_queries(README) if any(r in q for r in relations)]
    assert len(readme) >= 2
    for statement in readme:
        await pool.fetch(statement)
    # the demo's first query with the sample file
    assert sample_query(load_reports(EXAMPLE)) == CATALOGUE_SAMPLE_QUERY
    by_channel = await pool.fetch(CATALOGUE_SAMPLE_QUERY)
    assert by_channel and all(r["sessions"] >= 0 for r in by_channel)


# docs/reports.md: the rows of a thresholded report, each with its date's flag
THRESHOLDED_ROWS = """
select t.property_id, t.date, t.country, t.user_age_bracket, t.user_gender, t.active_users,
       coalesce((c.quality ->> 'thresholded')::boolean, false) as thresholded
from ga4_demographic_details t
join ga4_properties p on p.property_id = t.property_id
join ga4_coverage c on c.property_ref = p.id and c.date = t.date
 and c.report = (select key from ga4_report_definitions
                 where name = 'demographic_details' and retired_at is null)
"""


async def test_a_thresholded_report_says_so_for_each_date_it_read(
    pool, fake, clock, connect_user, ingestion_for
):
    at(clock, fake, TODAY)
    await connect_user({"9904": "America/Los_Angeles"}, cardinality=2, thresholded=True)
    await connect_user({"9905": "America/Los_Angeles"}, cardinality=2)
    spec = STANDARD_REPORTS["demographic_details"].spec()
    assert (await sync(pool, ingestion_for, [spec])).ok
    # the query the docs give
    assert any(THRESHOLDED_ROWS.strip() in query for query in doc_queries(DOCS))
    rows = await pool.fetch(THRESHOLDED_ROWS)
    stored = await pool.fetchval(f"select count(*) from {spec.relation}")
    assert len(rows) == stored > 0
    assert {(r["property_id"], r["thresholded"]) for r in rows} == {
        ("9904", True),
        ("9905", False),
    }
    run = await pool.fetchval(
        "select data_quality from ga4_property_runs r join ga4_properties p"
        " on p.id = r.property_ref where p.property_id = '9904'"
    )
    assert run["demographic_details"]["thresholded"] is True
