"""Acceptance: `ga4sync demo` on a machine with nothing configured."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest

from ga4sync.embedded import embedded_postgres


def _demo_env(tmp_path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATABASE"))
    }
    env["GA4SYNC_EMBEDDED_PG_DIR"] = str(tmp_path / "pg")
    return env


@pytest.mark.smoke
def test_demo_reaches_a_first_sync_and_prints_what_it_promises(tmp_path):
    env = _demo_env(tmp_path)
    command = [sys.executable, "-m", "ga4sync.cli", "demo", "--once", "--port", "0"]
    outputs = []
    for _ in range(2):  # cold, then warm on the same data
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    cold, warm = outputs
    base = re.search(r"web \+ worker on (http://127\.0\.0\.1:\d+)", cold)
    assert base, cold
    assert f"Status page  {base.group(1)}/#token=ey" in cold
    assert f'curl -X POST {base.group(1)}/v1/sync/ga4/run -H "Authorization: Bearer ey' in cold
    assert "tables ga4_daily_totals, ga4_traffic_sources, ga4_pages, ga4_property_runs" in cold
    assert re.search(r"First sync success [\d.]+s after start: Synced 4/4 properties", cold)
    first = re.search(r"([\d,]+) written \(([\d,]+) new", cold)
    assert first and first.group(1) == first.group(2) and first.group(1) != "0", cold
    assert "from ga4_daily_totals t join ga4_properties p" in cold
    # The second run finds today's daily run done and syncs again by hand: nothing rewritten.
    assert "First sync (manual run) started" in warm
    # Only the dates that are not settled yet are read again, and come back unchanged.
    again = re.search(r" 0 written .*?([\d,]+) unchanged", warm)
    assert again, warm
    assert 0 < int(again.group(1).replace(",", "")) < int(first.group(1).replace(",", ""))


async def test_the_demos_status_page_connects_a_google_account(tmp_path):
    """The banner's "Connect a Google account" walks the consent flow against the
    demo's fake Google on 127.0.0.1, under the page's policy, and ends connected."""
    from .test_status_page import CHROMIUM, CHROMIUM_ARGS, Browser

    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package 'chromium'; .ci/run installs it)")
    playwright_api = pytest.importorskip("playwright.async_api")
    command = [sys.executable, "-m", "ga4sync.cli", "demo", "--port", "0"]
    with open(tmp_path / "demo.log", "wb") as log:
        demo = await asyncio.create_subprocess_exec(
            *command, env=_demo_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=log
        )
        try:
            assert demo.stdout is not None
            status_url = None
            async with asyncio.timeout(120):
                while not (line := (await demo.stdout.readline()).decode()).startswith(
                    "Serving until Ctrl-C"
                ):
                    assert line, (tmp_path / "demo.log").read_text()
                    if found := re.search(r"Status page  (\S+)", line):
                        status_url = found[1]
            assert status_url is not None
            async with playwright_api.async_playwright() as playwright:
                chromium = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                browser = Browser(chromium)
                page = await browser.new_page()
                await page.goto(status_url)
                await page.wait_for_function(
                    "() => document.querySelectorAll('#properties tbody tr').length === 4",
                    timeout=15_000,
                )
                await page.click("#connect-google")
                await page.wait_for_function(
                    "() => document.querySelector('#notice.info')?.textContent"
                    " === 'Google account connected: 2 properties found."
                    " Their first sync started.'",
                    timeout=15_000,
                )
                assert "ga4sync=" not in page.url and "code=" not in page.url
                await page.wait_for_function(
                    "() => document.querySelectorAll('#properties tbody tr').length === 6",
                    timeout=15_000,
                )
                names = await page.locator(
                    "#properties tbody tr td:first-child"
                ).all_text_contents()
                assert "Your site (New York) · 340000001" in names
                await chromium.close()
            assert browser.csp_violations == []
        finally:
            demo.send_signal(signal.SIGINT)
            await asyncio.wait_for(demo.wait(), 60)


async def _start_demo(tmp_path, name: str):
    """A ``ga4sync demo`` process serving after its first sync, with the status
    page's URL its banner printed."""
    command = [sys.executable, "-m", "ga4sync.cli", "demo", "--port", "0"]
    log_path = tmp_path / f"{name}.log"
    with open(log_path, "wb") as log:
        demo = await asyncio.create_subprocess_exec(
            *command, env=_demo_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=log
        )
    assert demo.stdout is not None
    printed = []
    async with asyncio.timeout(120):
        while not (line := (await demo.stdout.readline()).decode()).startswith(
            "Serving until Ctrl-C"
        ):
            assert line, "".join(printed) + log_path.read_text()
            printed.append(line)
    found = re.search(r"Status page  (http://[^/]+)/#token=(\S+)", "".join(printed))
    assert found, printed
    return demo, found[1], found[2], "".join(printed)


async def _stop(demo) -> None:
    demo.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(demo.wait(), 60) == 0


async def test_a_restarted_demo_keeps_the_connected_account_and_the_pages_token(tmp_path):
    demo, base_url, token, _ = await _start_demo(tmp_path, "first")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession() as http:
            # The status page's "Connect a Google account": start, Google's consent
            # (the demo's fake approves), ga4sync's callback, then the page claims it.
            async with http.get(f"{base_url}/v1/connections/google/start", headers=auth) as r:
                assert r.status == 200, await r.text()
                consent_url = (await r.json())["url"]
            async with http.get(consent_url) as landed:
                back = parse_qs(urlsplit(str(landed.url)).query)
            assert back["status"] == ["consented"], landed.url
            async with http.post(
                f"{base_url}/v1/connections/google/complete",
                headers=auth,
                json={"code": back["code"][0]},
            ) as r:
                assert r.status == 201, await r.text()
    finally:
        await _stop(demo)
    kept = tmp_path / "pg" / "ga4sync-demo.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600

    demo, base_url, _, printed = await _start_demo(tmp_path, "second")
    try:
        # The restart's first sync reads the connected account's properties too.
        assert re.search(r"First sync success .*: Synced 6/6 properties", printed), printed
        async with aiohttp.ClientSession() as http:
            # The token the open status page holds from before the restart still works.
            async with http.get(f"{base_url}/v1/properties", headers=auth) as r:
                assert r.status == 200, await r.text()
                listed = (await r.json())["properties"]
            assert {"340000001", "340000002"} <= {p["property_id"] for p in listed}
            failed = [p for p in listed if p["last_sync_status"] != "success" or p["needs_reauth"]]
            assert not failed, failed
    finally:
        await _stop(demo)


_CATALOG = """
select c.oid::regclass::text as relation, c.relkind, c.xmin::text as version
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname in ('public', 'ga4sync_reports', 'ga4sync_queue')
union all
select 'rule of ' || ev_class::regclass::text, 'r', xmin::text from pg_rewrite
where ev_class::regclass::text not like 'pg_%'
order by 1, 2
"""


async def _catalog(url: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(_CATALOG)]
    finally:
        await conn.close()


async def test_reports_list_and_check_read_the_demos_data_as_its_page_does(tmp_path):
    """Against the demo's database, with none of production's secrets set: `reports
    list` shows the history's progress the status page shows and changes nothing;
    `reports check` asks the demo's Google."""
    demo, base_url, token, _ = await _start_demo(tmp_path, "demo")
    try:
        async with aiohttp.ClientSession() as http:

            async def page_coverage() -> dict[str, dict]:
                async with http.get(
                    f"{base_url}/v1/properties", headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    assert r.status == 200, await r.text()
                    return {p["property_id"]: p["coverage"] for p in (await r.json())["properties"]}

            async with asyncio.timeout(120):
                shown = await page_coverage()
                while {c["state"] for c in shown.values()} != {"done"}:
                    await asyncio.sleep(0.5)
                    shown = await page_coverage()
    finally:
        await _stop(demo)

    env = _demo_env(tmp_path)
    for name in ("TOKEN_ENCRYPTION_KEY", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"):
        env.pop(name, None)
    # A definitions file to try before a deploy: a report the demo does not sync yet.
    definitions = tmp_path / "reports.toml"
    definitions.write_text(
        '[[report]]\nname = "weekly_users"\ngrain = "week"\nmetrics = ["activeUsers"]\n'
    )
    trying = {**env, "GA4SYNC_REPORTS": str(definitions)}

    def ga4sync(*args: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ga4sync.cli", *args]
        return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)

    with embedded_postgres(tmp_path / "pg") as url:
        before = await _catalog(url)
        listed = await asyncio.to_thread(ga4sync, "reports", "list", "--json", environ=env)
        assert listed.returncode == 0, listed.stderr
        # The history's progress as the page showed it: per property over its
        # reports, the most days any misses and the least share any has read.
        per_report: dict[str, list[dict]] = {}
        for report in json.loads(listed.stdout):
            for state in report["per_property"]:
                per_report.setdefault(state["property_id"], []).append(state["coverage"])
        assert per_report.keys() == shown.keys()
        for property_id, coverages in per_report.items():
            page = shown[property_id]
            assert page["days_missing"] == max(c["days_missing"] for c in coverages) == 0
            assert page["backfill_percent"] == min(c["backfill_percent"] for c in coverages)
            assert page["oldest_settled"] == max(c["oldest_settled"] for c in coverages)
            assert {c["state"] for c in coverages} == {"done"}
        tried = await asyncio.to_thread(ga4sync, "reports", "list", environ=trying)
        assert tried.returncode == 0, tried.stderr
        assert "ga4_weekly_users  (week grain" in tried.stdout
        assert await _catalog(url) == before
        checked = await asyncio.to_thread(ga4sync, "reports", "check", environ=trying)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "weekly_users  330000001  ok" in checked.stdout, checked.stdout
        assert checked.stdout.rstrip().endswith("all ok"), checked.stdout
        assert await _catalog(url) == before
