"""The status page in headless Chromium: load, click "Sync now", watch the run finish;
a property's history as it is read, waits for the GA4 quota and completes; each
property's chart of its last 30 days; every time in the schedule's zone, UTC beside;
connecting a Google account. Every page runs under the Content-Security-Policy the
service sends and must never break it; the token never leaves for an origin a link
names, and the page follows no consent URL but Google's."""

from __future__ import annotations

import itertools
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from ga4sync.reports import ReportSpec
from ga4sync.reports.realtime import RealtimeSpec
from ga4sync.store.realtime import claim_realtime_polls, store_snapshot
from ga4sync.store.report_tables import ensure_report_tables
from ga4sync.web.app import create_app

from ..conftest import real_now_past_the_daily_run
from ..waiting import eventually
from ..webtools import ADMIN, token

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (Debian package 'chromium'; .ci/run installs it)"
)
# As on this machine's closed network: no background traffic, no sandbox as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Browser:
    """Chromium whose pages report everything their Content-Security-Policy refused."""

    def __init__(self, browser) -> None:
        self._browser = browser
        self.csp_violations: list[str] = []

    async def new_page(self, **options):
        page = await self._browser.new_page(**options)

        def on_console(message) -> None:
            if "Content Security Policy" in message.text:
                self.csp_violations.append(message.text)

        page.on("console", on_console)
        return page


# Predicates of wait_for_function are written as functions: Playwright evaluates a
# function's source once, a bare expression at every poll, which the page's policy
# (no 'unsafe-eval') refuses.
@pytest.fixture
async def browser():
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        checked = Browser(chromium)
        yield checked
        await chromium.close()
    # The page works under its policy: nothing it does is refused.
    assert checked.csp_violations == []


async def test_sync_now_from_the_status_page(
    browser, aiohttp_server, runtime, worker, web_settings, connect_user, tmp_path: Path
):
    await connect_user({"5501": "America/Los_Angeles", "5502": "Asia/Tokyo"})
    server = await aiohttp_server(create_app(web_settings, runtime=runtime))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")

    # What the worker's catch-up daily run left: the run in history, the next run, and
    # no last sync yet (the properties were connected after it: it synced nothing).
    await page.wait_for_selector("#history tbody tr")
    assert await page.text_content("#last-sync") == "\u2013"
    assert "America/Los_Angeles" in await page.text_content("#next-run")
    assert "UTC" in await page.text_content("#next-run .utc")
    # connected, never synced (the page renders the properties after the history)
    await page.wait_for_function(
        "() => document.querySelectorAll('#properties tbody tr').length === 2", timeout=10_000
    )
    before = await page.get_attribute("#last-sync", "data-iso")

    await page.click("#sync-now")
    await page.wait_for_function(
        "() => document.querySelector('#job-status').textContent === 'success'", timeout=30_000
    )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#properties tbody tr')]"
        ".every(r => r.cells[3].textContent === 'success')",
        timeout=10_000,
    )
    assert await page.get_attribute("#last-sync", "data-iso") != before
    first_run = page.locator("#history tbody tr").first
    assert await first_run.locator("td").nth(1).text_content() == "Sync now"
    assert await first_run.locator("td").nth(2).text_content() == "success"
    assert "Synced 2/2 properties" in await page.text_content("#job-detail")
    rows = await page.locator("#properties tbody tr").first.locator("td").nth(4).text_content()
    assert "written" in rows
    # No history asked for here: the history column says it is complete.
    history = page.locator("#properties tbody tr").first.locator("td").nth(5)
    assert (await history.text_content()).startswith("complete")
    assert await history.get_attribute("data-state") == "done"
    await page.screenshot(path=str(tmp_path / "status.png"), full_page=True)
    assert (tmp_path / "status.png").stat().st_size > 10_000


async def test_sync_now_during_the_daily_run_says_what_moved_to_the_front(
    browser, aiohttp_server, runtime, worker, web_settings, connect_user, fake
):
    mine = {str(5_600_000 + n): "UTC" for n in range(30)}
    user = await connect_user(mine, cardinality=2)
    await connect_user({str(5_700_000 + n): "UTC" for n in range(30)}, cardinality=2)
    fake.latency_s = 1.0  # the worker's 8 tasks at a time take each of these a second
    server = await aiohttp_server(create_app(web_settings, runtime=runtime))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")) + f"#token={token(user)}")
    await page.wait_for_selector("#history tbody tr")
    daily = (await runtime.sync.ensure_daily(runtime.now().date() + timedelta(days=1))).job

    async def under_way():
        return await runtime.pool.fetchval(
            "select count(*) from ga4_sync_job_properties where job_id = $1"
            " and status <> 'pending'",
            daily.id,
        )

    await eventually(under_way, "the daily run's first properties synced", timeout_s=60)
    await page.click("#sync-now")
    await page.wait_for_function(
        "() => document.querySelector('#notice').textContent.includes('daily sync')",
        timeout=10_000,
    )
    text = await page.text_content("#notice")
    assert re.search(r"your \d+ remaining propert(y|ies) moved to the front", text), text
    assert "Expected fresh by" in text, text


async def _page_server(aiohttp_server, names: dict[str, str]):
    """A copy of the page hosted on another origin, as a frontend would host it: its
    markup names the API's origin (``names["api"]``, set once the API runs)."""
    html = (Path(__file__).parents[2] / "src/ga4sync/web/static/status.html").read_text()
    blank = '<meta name="ga4sync-api" content="">'
    assert blank in html

    async def page(request: web.Request) -> web.Response:
        named = f'<meta name="ga4sync-api" content="{names["api"]}">'
        return web.Response(text=html.replace(blank, named), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return await aiohttp_server(app)


@pytest.mark.parametrize("allowed", [True, False], ids=["listed-origin", "unlisted-origin"])
async def test_page_on_another_origin_works_only_if_cors_allows_it(
    browser, aiohttp_server, runtime, web_settings, allowed
):
    names = {"api": ""}
    frontend = await _page_server(aiohttp_server, names)
    origin = str(frontend.make_url("/")).rstrip("/")
    settings = replace(web_settings, cors_origins=(origin,) if allowed else ("https://x.example",))
    api = await aiohttp_server(create_app(settings, runtime=runtime))
    names["api"] = str(api.make_url("/")).rstrip("/")
    page = await browser.new_page()
    await page.goto(f"{origin}/#token={token(ADMIN)}")
    if allowed:
        await page.wait_for_function(
            "() => document.querySelector('#next-run').textContent !== '\u2013'", timeout=10_000
        )
        assert await page.get_attribute("#notice", "class") in ("", None)
    else:
        await page.wait_for_selector("#notice.error", timeout=10_000)
        assert "Could not reach the API" in await page.text_content("#notice")


async def test_connect_a_google_account_from_the_status_page(
    browser, aiohttp_server, runtime, web_settings, fake, google_url, pool
):
    import socket

    fake.add_google_account(
        "you@example.com",
        properties=[
            ("340000001", "Your site", "America/New_York"),
            ("340000002", "Your app", "Europe/London"),
        ],
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = replace(
        web_settings,
        google_auth_uri=f"{google_url}/o/oauth2/v2/auth",
        google_revoke_uri=f"{google_url}/revoke",
        ga4_admin_api_base_url=google_url,
        oauth_redirect_uri=f"http://127.0.0.1:{port}/v1/connections/google/callback",
        frontend_url="/",
    )
    server = await aiohttp_server(create_app(settings, runtime=runtime), port=port)
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
    await page.wait_for_function(
        "() => document.querySelector('#next-run').textContent !== '\\u2013'", timeout=10_000
    )
    # The account a connection goes to is on the page (a link's #token= chooses it).
    assert await page.text_content("#signed-in-as") == f"for {ADMIN}"
    await page.click("#connect-google")
    # Google's consent screen approves and sends the browser back through the callback.
    await page.wait_for_selector("#notice.info", timeout=10_000)
    assert await page.text_content("#notice") == (
        "Google account connected: 2 properties found. Their first sync started."
    )
    assert "ga4sync=" not in page.url
    await page.wait_for_function(
        "() => document.querySelectorAll('#properties tbody tr').length === 2", timeout=10_000
    )
    names = await page.locator("#properties tbody tr td:first-child").all_text_contents()
    assert sorted(names) == ["Your app · 340000002", "Your site · 340000001"]
    assert await pool.fetchval("select count(*) from google_credentials") == 1
    # The page follows the connection's first sync (no worker here: it waits) and
    # says why that run happened.
    await page.wait_for_function(
        "() => document.querySelector('#job-status').textContent === 'pending (connected)'",
        timeout=10_000,
    )
    first_run = page.locator("#history tbody tr").first
    assert await first_run.locator("td").nth(1).text_content() == "connected"


class TestWhereThePageSendsThings:
    """The page holds a user's token: it talks only to its own origin whatever a link
    says, follows no consent URL but Google's, and runs under a strict policy."""

    @pytest.fixture
    async def attacker(self, aiohttp_server):
        """A second server standing in for an attacker's, recording every request.
        It answers any origin's CORS, so a page that sent it a token would succeed."""
        seen: list[tuple[str, str, str | None]] = []

        @web.middleware
        async def record(request: web.Request, handler):
            seen.append((request.method, request.path, request.headers.get("Authorization")))
            return web.json_response(
                {"url": "javascript:document.title='pwned'"},
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Headers": "Authorization, Content-Type",
                    "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE",
                },
            )

        async def anything(request: web.Request) -> web.Response:
            raise AssertionError("answered by the middleware")

        app = web.Application(middlewares=[record])
        app.router.add_route("*", "/{tail:.*}", anything)
        server = await aiohttp_server(app)
        server.seen = seen
        return server

    async def test_an_api_named_in_the_url_gets_no_token(
        self, browser, aiohttp_server, runtime, web_settings, attacker
    ):
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        evil = str(attacker.make_url("")).rstrip("/")
        page = await browser.new_page()
        await page.goto(f"{server.make_url('/')}?api={evil}#token={token(ADMIN)}")
        # The page works against its own origin ...
        await page.wait_for_function(
            "() => document.querySelector('#next-run').textContent !== '\u2013'", timeout=10_000
        )
        async with page.expect_response(lambda r: "/google/start" in r.url) as started:
            await page.click("#connect-google")
        own = await started.value
        assert own.url.startswith(str(server.make_url("/v1/")))
        assert own.status == 503  # no OAuth client configured here
        # ... and never asked the one in its URL anything, not even a preflight.
        assert attacker.seen == []

    async def test_the_page_carries_a_strict_policy_and_works_under_it(
        self, browser, aiohttp_server, runtime, web_settings, connect_user
    ):
        await connect_user({"5601": "UTC"})
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page()
        for path in ("/", "/status"):
            response = await page.goto(f"{server.make_url(path)}#token={token(ADMIN)}")
            headers = response.headers
            policy = dict(
                [*part.strip().split(" ", 1), ""][:2]
                for part in headers["content-security-policy"].split(";")
            )
            assert policy["default-src"] == "'none'"
            assert policy["connect-src"] == "'self'"
            assert policy["img-src"] == "'self' data:"
            assert policy["frame-ancestors"] == "'none'"
            assert policy["base-uri"] == "'none'"
            assert policy["form-action"] == "'none'"
            for kind in ("script-src", "style-src"):  # the page's own, by hash, nothing else
                assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", policy[kind]), policy[kind]
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            # Works under it: data, a property row, its chart, and a sync started.
            await page.wait_for_function(
                "() => document.querySelector('#properties tbody tr td.chart')"
                "?.dataset.chartState === 'empty'",
                timeout=10_000,
            )
        await page.click("#sync-now")
        await page.wait_for_selector("#notice.info", timeout=10_000)
        # Script the page did not come with does not run.
        ran = await page.evaluate(
            """() => new Promise((done) => {
                document.addEventListener("securitypolicyviolation", () => done("refused"));
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
                setTimeout(() => done(window.injected ? "ran" : "not run"), 2000);
            })"""
        )
        assert ran == "refused"
        assert any("inline script" in text for text in browser.csp_violations)
        browser.csp_violations.clear()  # the one refusal asked for

    @pytest.mark.parametrize(
        "answer",
        [
            "javascript:document.title='pwned'//https://accounts.google.com/o/oauth2/v2/auth",
            "https://evil.example/o/oauth2/v2/auth?client_id=x",
            "http://accounts.google.com/o/oauth2/v2/auth?client_id=x",
            "https://accounts.google.com.evil.example/o/oauth2/v2/auth",
            "https://accounts.google.com/o/oauth2/v2/other",
        ],
        ids=["javascript", "other-site", "http", "look-alike-host", "other-path"],
    )
    async def test_a_consent_url_that_is_not_googles_is_not_followed(
        self, browser, aiohttp_server, runtime, web_settings, answer
    ):
        # Google's real consent screen is configured (the default GOOGLE_AUTH_URI); the
        # API's answer, as a compromised or misconfigured one could give, points elsewhere.
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page()
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))

        async def start(route) -> None:
            await route.fulfill(json={"url": answer})

        await page.route("**/v1/connections/google/start", start)
        await page.route("https://**/*", lambda route: navigations.append(route.request.url))
        await page.goto(f"{server.make_url('/')}#token={token(ADMIN)}")
        await page.wait_for_function(
            "() => document.querySelector('#next-run').textContent !== '\u2013'", timeout=10_000
        )
        before = page.url
        navigations.clear()
        await page.click("#connect-google")
        await page.wait_for_function(
            "() => document.querySelector('#notice.error')?.textContent"
            ".startsWith('Not following a sign-in link')",
            timeout=10_000,
        )
        await page.wait_for_timeout(300)
        assert page.url == before and navigations == []
        assert await page.title() == "ga4sync status"


# The History cell of a property's row, in the page.
HISTORY_CELL = "id => document.querySelector(`#properties tr[data-property-id='${id}']`)?.cells[5]"
PERCENT = re.compile(r"(\d+(?:\.\d+)?)% read, ")


class TestHistoryInTheBackground:
    """A property's history read in the background after its first sync, as the
    History column shows it: while it is read, stopped by the GA4 quota, complete."""

    PROPERTY = "5701"

    @pytest.fixture
    def clock(self, clock):
        # The real time: a step waiting for the quota stays in the queue until the
        # instant it names, by the database's clock.
        clock.now = real_now_past_the_daily_run()
        return clock

    @pytest.fixture
    def fake(self, fake, clock):
        fake.set_today(clock.now.date())  # the property's zone is UTC
        return fake

    @pytest.fixture
    def settings(self, settings):
        # 60 days back, the last 4 re-read by every sync: 56 days of history, read 8
        # days a request and one request at a time, so the share grows by a seventh
        # (14.3%, 28.6%, ...: never a whole number) a round of the three reports.
        return replace(
            settings,
            sync_lookback_days=3,
            sync_backfill_days=60,
            sync_backfill_chunk_days=8,
            ga4_property_concurrency=1,
        )

    async def test_history_column_while_read_stopped_by_the_quota_and_complete(
        self,
        browser,
        aiohttp_server,
        aiohttp_client,
        runtime,
        worker,
        web_settings,
        connect_user,
        fake,
        pool,
        clock,
    ):
        pid = self.PROPERTY
        await connect_user({pid: "UTC"}, cardinality=2)
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        api = await aiohttp_client(server)
        page = await browser.new_page()
        await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")

        async def coverage() -> dict:
            """What ``GET /v1/properties`` says of the property's history."""
            response = await api.get(
                "/v1/properties", headers={"Authorization": f"Bearer {token(ADMIN)}"}
            )
            assert response.status == 200
            (prop,) = [p for p in (await response.json())["properties"] if p["property_id"] == pid]
            return prop["coverage"]

        async def shown() -> str:
            return await page.evaluate(f"id => ({HISTORY_CELL})(id)?.textContent ?? ''", pid)

        def percent_of(text: str) -> float | None:
            match = PERCENT.match(text)
            return float(match[1]) if match else None

        # Connected, never synced: nothing of the history read, and it says what starts it.
        await page.wait_for_function(f"id => ({HISTORY_CELL})(id)", arg=pid, timeout=10_000)
        assert await shown() == "0% read, 56 days to go · starts after the next sync"

        # 1. A manual sync reads the recent days, then the history follows, slowly
        #    enough to watch: the page says it is being read, at the API's share.
        fake.latency_s = 0.5
        await page.click("#sync-now")

        async def read_as_the_api_says() -> dict | None:
            text, now = await shown(), await coverage()
            agrees = (
                now["state"] == "running"
                and 0 < now["backfill_percent"] < 100
                and percent_of(text) == now["backfill_percent"]
                and f", {now['days_missing']} days to go · reading now" in text
            )
            return now if agrees else None

        reading = await eventually(
            read_as_the_api_says,
            "the page to show the history read as the API says",
            interval_s=0.05,
        )
        # Without a reload, the share the page shows grows as the history is read.
        await page.wait_for_function(
            f"([id, before]) => {{ const text = ({HISTORY_CELL})(id)?.textContent ?? '';"
            " return parseFloat(text) > before && text.endsWith('reading now'); }",
            arg=[pid, reading["backfill_percent"]],
            timeout=10_000,
        )

        # 2. The day's tokens run out mid-history: it stops, and the page says it
        #    waits for the quota and when that returns, in the zone it names.
        fake.fail_next(pid, 429, quota="daily")

        async def stopped() -> dict | None:
            now = await coverage()
            waiting = now["state"] == "waiting_for_quota"
            return now if waiting and "waiting for the GA4 quota" in await shown() else None

        waiting = await eventually(stopped, "the history to wait for the quota", interval_s=0.05)
        # A daily quota returns at midnight Pacific, also the schedule's zone here.
        pacific = ZoneInfo("America/Los_Angeles")
        resumes_at = datetime.fromisoformat(waiting["resumes_at"]).astimezone(pacific)
        today = clock.now.astimezone(pacific).date()
        midnight = datetime.combine(today + timedelta(days=1), time(), pacific)
        assert abs((resumes_at - midnight).total_seconds()) < 90
        assert reading["backfill_percent"] < waiting["backfill_percent"] < 100
        assert await shown() == (
            f"{waiting['backfill_percent']:g}% read, {waiting['days_missing']} days to go"
            f" · waiting for the GA4 quota, resumes {resumes_at:%Y-%m-%d %H:%M} America/Los_Angeles"
            f" ({resumes_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
        )
        assert "America/Los_Angeles" in await page.text_content("#timezone")

        # 3. The quota returns (the resume is due now): the page goes on by itself
        #    until the history is complete.
        fake.latency_s = 0.05
        await pool.execute(
            "update ga4sync_queue.procrastinate_jobs set scheduled_at = now()"
            " where task_name = 'ga4sync.continue_property' and status = 'todo'"
        )
        await page.wait_for_function(
            f"id => ({HISTORY_CELL})(id)?.dataset.state === 'done'", arg=pid, timeout=45_000
        )
        done = await coverage()
        assert done["state"] == "done"
        assert done["backfill_percent"] == 100.0 and done["days_missing"] == 0
        assert await shown() == f"complete since {done['oldest_settled']}"
        assert await page.get_attribute("#notice", "class") != "error"

    async def test_history_column_says_when_a_failed_history_retries_or_why_it_stopped(
        self, browser, aiohttp_server, runtime, web_settings, connect_user, pool, clock
    ):
        pid = self.PROPERTY
        await connect_user({pid: "UTC"}, cardinality=2)
        retry_at = (clock.now + timedelta(minutes=30)).replace(second=0, microsecond=0)
        await pool.execute(
            "update ga4_properties set history_failures = 2,"
            " history_error = 'GA4 kept failing', history_retry_at = $1",
            retry_at,
        )
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page()
        await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
        await page.wait_for_function(f"id => ({HISTORY_CELL})(id)", arg=pid, timeout=10_000)

        async def shown() -> str:
            return await page.evaluate(f"id => ({HISTORY_CELL})(id)?.textContent ?? ''", pid)

        local = retry_at.astimezone(ZoneInfo("America/Los_Angeles"))
        assert await shown() == (
            "0% read, 56 days to go · 2 steps failed in a row: GA4 kept failing · retrying at"
            f" {local:%Y-%m-%d %H:%M} America/Los_Angeles ({retry_at:%Y-%m-%d %H:%M} UTC)"
        )
        state = await page.evaluate(f"id => ({HISTORY_CELL})(id).dataset.state", pid)
        assert state == "retrying"

        # A cause no retry mends: it says so, and what starts the history again.
        await pool.execute(
            "update ga4_properties set history_failures = 1, history_retry_at = null,"
            " history_error = 'every Google connection with access to it needs re-auth'"
        )
        await page.reload()
        await page.wait_for_function(f"id => ({HISTORY_CELL})(id)", arg=pid, timeout=10_000)
        assert await shown() == (
            "0% read, 56 days to go · stopped: every Google connection with access to it"
            " needs re-auth · resumes after the next sync"
        )


# The points of a property's chart, as the page drew them.
CHART_POINTS = """id => [...(document
    .querySelector(`#properties tr[data-property-id='${id}'] td.chart svg`)
    ?.querySelectorAll('circle.point') ?? [])]
  .map(c => ({date: c.dataset.date, metric: c.dataset.metric, value: Number(c.dataset.value),
              cx: Number(c.getAttribute('cx')), cy: Number(c.getAttribute('cy'))}))"""


async def manual_runs_done(pool, count: int) -> None:
    """Wait until ``count`` manual runs have finished, all of them successfully."""

    async def done() -> bool:
        finished = await pool.fetch(
            "select status from ga4_sync_jobs where kind = 'manual'"
            " and status not in ('pending', 'running')"
        )
        assert all(r["status"] == "success" for r in finished), finished
        return len(finished) >= count

    await eventually(done, f"{count} manual run(s) to finish")


class TestChart:
    """Each property's last 30 days of daily_totals, drawn by the page itself as SVG."""

    PROPERTY = "5801"

    @pytest.fixture
    def settings(self, settings):
        # Ten days a sync (today and the nine before it), every one of them re-read.
        return replace(settings, sync_lookback_days=8)

    async def test_a_point_per_day_with_data_and_a_resync_moves_them(
        self, browser, aiohttp_server, runtime, worker, web_settings, connect_user, fake, pool
    ):
        pid = self.PROPERTY
        await connect_user({pid: "Asia/Tokyo", "5802": "UTC"})
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page()
        await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
        # Connected, never synced: nothing to draw yet.
        await page.wait_for_function(
            f"() => document.querySelector(`#properties tr[data-property-id='{pid}'] td.chart`)"
            "?.dataset.chartState === 'empty'",
            timeout=10_000,
        )

        async def stored(property_id: str = pid) -> dict[tuple[str, str], int]:
            rows = await pool.fetch(
                "select date, sessions, active_users from ga4_daily_totals where property_id = $1",
                property_id,
            )
            return {
                (r["date"].isoformat(), metric): r[metric]
                for r in rows
                for metric in ("sessions", "active_users")
            }

        async def drawn(property_id: str = pid) -> dict[tuple[str, str], int]:
            points = await page.evaluate(CHART_POINTS, property_id)
            return {(p["date"], p["metric"]): p["value"] for p in points}

        await page.click("#sync-now")
        await manual_runs_done(pool, 1)
        expected = await stored()
        days = sorted({day for day, _ in expected})
        assert len(days) == 10  # today in Tokyo (2026-11-21) and the nine days before
        assert days[-1] == "2026-11-21"
        await eventually(
            lambda: self._drawn_equals(drawn, expected), "the chart to show the synced days"
        )
        svg = page.locator(f"#properties tr[data-property-id='{pid}'] td.chart svg")
        assert await svg.get_attribute("data-report") == "daily_totals"
        assert await svg.get_attribute("data-metrics") == "sessions active_users"
        assert await svg.get_attribute("data-end") == "2026-11-21"
        assert await svg.get_attribute("data-start") == "2026-10-23"
        # Days left to right; each metric's highest day at the top of its panel.
        points = await self._points(page)
        for metric in ("sessions", "active_users"):
            series = sorted((p for p in points if p["metric"] == metric), key=lambda p: p["date"])
            assert [p["date"] for p in series] == days
            assert all(a["cx"] < b["cx"] for a, b in itertools.pairwise(series))
            top = min(series, key=lambda p: p["cy"])
            assert top["value"] == max(p["value"] for p in series)
        assert await svg.locator("polyline").count() == 2  # consecutive days: one line each

        # GA4 revises a day; a re-sync reads it again and the chart follows.
        changed_day = days[-3]
        before = expected[(changed_day, "sessions")]
        new_value = 3 * max(v for (_, m), v in expected.items() if m == "sessions")
        fake.override_metric(
            pid, date=changed_day, dimensions={}, metric="sessions", value=str(new_value)
        )
        await page.click("#sync-now")
        await page.wait_for_function(
            f"([id, day, value]) => ({CHART_POINTS})(id)"
            ".some(p => p.date === day && p.metric === 'sessions' && p.value === value)",
            arg=[pid, changed_day, new_value],
            timeout=30_000,
        )
        await manual_runs_done(pool, 2)
        revised = await stored()
        assert revised[(changed_day, "sessions")] == new_value != before
        await eventually(
            lambda: self._drawn_equals(drawn, revised), "the chart to show the revised day"
        )
        points = await self._points(page)
        sessions = [p for p in points if p["metric"] == "sessions"]
        assert min(sessions, key=lambda p: p["cy"])["date"] == changed_day  # the new top
        # The other property's chart is its own.
        assert await drawn("5802") == await stored("5802") != {}

    async def _points(self, page) -> list[dict]:
        return await page.evaluate(CHART_POINTS, self.PROPERTY)

    @staticmethod
    async def _drawn_equals(drawn, expected) -> bool:
        return await drawn() == expected


class TestTimes:
    """Every time on the page in SYNC_TIMEZONE with UTC beside it, whatever the
    browser's own zone and locale."""

    ZONE = "Asia/Kolkata"  # UTC+05:30: a wrong zone shows in the minutes too

    @pytest.fixture
    def settings(self, settings):
        return replace(settings, sync_timezone=self.ZONE)

    async def test_times_in_the_schedule_zone_with_utc_beside(
        self,
        browser,
        aiohttp_server,
        aiohttp_client,
        runtime,
        worker,
        web_settings,
        connect_user,
        pool,
    ):
        await connect_user({"5901": "America/Los_Angeles"})
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page(timezone_id="America/New_York", locale="de-DE")
        await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
        await page.wait_for_selector("#properties tbody tr", timeout=10_000)
        await page.click("#sync-now")
        await manual_runs_done(pool, 1)
        await page.wait_for_function(
            "() => document.querySelector('#properties tbody tr')?.cells[3].textContent"
            " === 'success'"
            " && document.querySelectorAll('#history tbody tr').length === 2"
            " && document.querySelector('#job-status').textContent === 'success'",
            timeout=30_000,
        )
        zone = ZoneInfo(self.ZONE)

        def expected(instant: datetime) -> str:
            local, utc = instant.astimezone(zone), instant.astimezone(UTC)
            return f"{local:%Y-%m-%d %H:%M} {self.ZONE} ({utc:%Y-%m-%d %H:%M} UTC)"

        async def shown(selector: str) -> list[tuple[datetime, str]]:
            times = await page.eval_on_selector_all(
                selector, "els => els.map(e => [e.dateTime, e.textContent])"
            )
            return [(datetime.fromisoformat(iso), text) for iso, text in times]

        api = await aiohttp_client(server)
        meta = await (await api.get("/v1/sync/ga4/meta")).json()
        assert meta["timezone"] == self.ZONE
        (next_run,) = await shown("#next-run time.when")
        assert next_run[0] == datetime.fromisoformat(meta["next_scheduled_at"])
        assert next_run[1] == expected(next_run[0])
        assert f"00:15 {self.ZONE} (" in next_run[1]  # the daily run's time of day, there
        (last_sync,) = await shown("#last-sync time.when")
        # to the millisecond, as a browser keeps an instant
        last_at = datetime.fromisoformat(meta["last_sync_at"])
        assert last_sync[0] == last_at.replace(microsecond=last_at.microsecond // 1000 * 1000)
        started = await shown("#history tbody tr td:first-child time.when")
        synced = await shown("#properties tbody tr td:nth-child(3) time.when")
        assert len(started) == 2 and len(synced) == 1
        everything = await shown("time.when")
        assert len(everything) == 5
        for instant, text in everything:
            assert text == expected(instant)
        assert f"times in {self.ZONE}, UTC beside them" in await page.text_content("#timezone")
        # No time of day anywhere else on the page.
        rest = await page.evaluate(
            "() => { const body = document.body.cloneNode(true);"
            " body.querySelectorAll('time.when, script, style').forEach(e => e.remove());"
            " return body.textContent; }"
        )
        assert re.search(r"\d{1,2}:\d{2}", rest) is None, rest


async def test_a_run_with_a_failed_property_is_partial_and_one_where_all_failed_is_failed(
    browser, aiohttp_server, runtime, worker, web_settings, connect_user, fake
):
    await connect_user({"5511": "UTC", "5512": "UTC"})
    server = await aiohttp_server(create_app(web_settings, runtime=runtime))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
    await page.wait_for_selector("#history tbody tr")

    async def sync_now(expected: str) -> None:
        await page.wait_for_function("() => !document.querySelector('#sync-now').disabled")
        await page.click("#sync-now")
        await page.wait_for_function(
            f"() => document.querySelector('#job-status').textContent === '{expected}'",
            timeout=30_000,
        )

    fake.fail_next("5512", status=400)
    await sync_now("partial")
    assert "status-partial" in await page.get_attribute("#job-status", "class")
    assert "Synced 1/2 properties (1 failed)" in await page.text_content("#job-detail")
    assert "5512: failed" in await page.text_content("#job-detail")
    first_run = page.locator("#history tbody tr").first
    await page.wait_for_function(
        "() => document.querySelector('#history tbody tr').cells[2].textContent === 'partial'"
    )
    assert await first_run.locator("td").nth(2).get_attribute("class") == "status-partial"
    assert await first_run.locator("td").nth(4).text_content() == "1/2 · 1 failed"

    fake.fail_next("5511", status=400)
    fake.fail_next("5512", status=400)
    await sync_now("failed")
    await page.wait_for_function(
        "() => document.querySelector('#history tbody tr').cells[2].textContent === 'failed'"
    )
    assert await first_run.locator("td").nth(4).text_content() == "0/2 · 2 failed"


class TestWhatTheChartShows:
    """Each chart says which report and metrics it shows, or why there is none."""

    USERS = ReportSpec("users_by_device", ("date", "deviceCategory"), ("activeUsers",))
    BY_COUNTRY = ReportSpec(
        "sessions_by_country",
        ("date", "country"),
        ("activeUsers", "sessions"),
        properties=frozenset({"5901"}),
    )

    @pytest.fixture
    def settings(self, settings):
        return replace(settings, reports=(self.USERS, self.BY_COUNTRY))

    async def test_the_report_and_metrics_or_the_reason(
        self, browser, aiohttp_server, runtime, web_settings, connect_user
    ):
        async with runtime.pool.acquire() as conn:
            await ensure_report_tables(conn, web_settings.reports)
        await connect_user({"5901": "UTC", "5902": "UTC"})
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page()
        await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
        for pid, state in (("5901", "empty"), ("5902", "none")):
            await page.wait_for_function(
                f"() => document.querySelector(`#properties tr[data-property-id='{pid}'] td.chart`)"
                f"?.dataset.chartState === '{state}'",
                timeout=10_000,
            )
        about = await page.text_content("tr[data-property-id='5901'] td.chart .chart-about")
        assert about == "ga4_sessions_by_country: sessions, added up over country · days in UTC"
        assert await page.text_content("tr[data-property-id='5902'] td.chart") == (
            "No metric of users_by_device (activeUsers) adds up to a day's value over"
            " deviceCategory: users, rates and averages do not."
        )


async def test_active_users_now_per_property(
    browser, aiohttp_server, runtime, web_settings, connect_user, pool
):
    now = RealtimeSpec("active_users", (), ("activeUsers",))
    by_country = RealtimeSpec("by_country", ("country",), ("activeUsers",))
    settings = replace(web_settings, realtime=(by_country, now))
    async with pool.acquire() as conn:
        await ensure_report_tables(conn, settings.reports, realtime=settings.realtime)
    user = await connect_user({"5801": "UTC", "5802": "UTC", "5803": "UTC"})
    await pool.execute(
        "update ga4_property_access a set realtime = true from ga4_properties p"
        " where p.id = a.property_ref and p.property_id in ('5801', '5802')"
    )
    ref = await pool.fetchval("select id from ga4_properties where property_id = '5801'")
    at = datetime.now(UTC)
    for spec, rows in ((now, [["17"]]), (by_country, [["Peru", "9"], ["Chile", "8"]])):
        await claim_realtime_polls(pool, at, [(ref, spec.name, 1)])
        async with pool.acquire() as conn:
            await store_snapshot(conn, spec, ref, at, rows)
    server = await aiohttp_server(create_app(settings, runtime=runtime))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")) + f"#token={token(user)}")
    await page.wait_for_function(
        "() => document.querySelectorAll('#properties tbody tr').length === 3", timeout=10_000
    )
    headers = await page.locator("#properties thead th").all_text_contents()
    assert "Active users now" in headers

    def cell(pid: str):
        return page.locator(f"#properties tr[data-property-id='{pid}'] td.realtime")

    # GA4's own count of the property's users (the definition without dimensions)
    assert await cell("5801").get_attribute("data-active-users") == "17"
    assert await cell("5801").locator(".users").text_content() == "17"
    assert "ga4_realtime_active_users" in await cell("5801").text_content()
    assert await cell("5801").locator("time.when").count() == 1  # when GA4 was asked
    assert await cell("5802").text_content() == "first poll pending"  # on, not polled yet
    assert await cell("5803").text_content() == "off"


# Everything the page's layout must never do at a width: scroll sideways, clip a
# text (overflow hidden or an ellipsis), or let an element stick out of its card or
# table cell, as a time cut off at "America/Los_" did.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`scrolls sideways: ${root.scrollWidth} > ${window.innerWidth}`);
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (typeof el.className === "string" && el.className ? "." + el.className : "");
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || el.closest("svg, [hidden]")) continue;
    const clips = ["hidden", "clip"].includes(style.overflowX) || style.textOverflow === "ellipsis";
    if (clips && el.scrollWidth > el.clientWidth) {
      problems.push(`clipped: ${name(el)} "${el.textContent.slice(0, 40)}"`);
    }
    const box = el.closest(".card, td, th");
    if (box && box !== el) {
      const inner = el.getBoundingClientRect(), outer = box.getBoundingClientRect();
      if (inner.width && (inner.right > outer.right + 1 || inner.left < outer.left - 1)) {
        problems.push(`sticks out of ${name(box)}: ${name(el)} "${el.textContent.slice(0, 40)}"`);
      }
    }
    const rect = el.getBoundingClientRect();
    if (rect.width && rect.right > window.innerWidth + 1) {
      problems.push(`beyond the window: ${name(el)} "${el.textContent.slice(0, 40)}"`);
    }
  }
  return problems;
}"""


class TestLayout:
    """The page at a laptop's 1280 px and a phone's 390 px: nothing scrolls sideways,
    nothing is cut off; the banner of a sync goes when it ends; a favicon."""

    @pytest.fixture
    def settings(self, settings):
        return replace(settings, sync_timezone="America/Los_Angeles")

    @pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
    async def test_nothing_scrolls_sideways_or_is_cut_off(
        self,
        browser,
        aiohttp_server,
        runtime,
        worker,
        web_settings,
        connect_user,
        fake,
        pool,
        width,
        height,
    ):
        await connect_user(
            {"310000001": "America/Los_Angeles", "310000002": "Europe/Berlin", "5903": "UTC"}
        )
        await pool.execute(
            "update ga4_properties set display_name = 'Ada''s shop (Los Angeles)'"
            " where property_id = '310000001'"
        )
        fake.fail_next("5903", status=400)
        server = await aiohttp_server(create_app(web_settings, runtime=runtime))
        page = await browser.new_page(viewport={"width": width, "height": height})
        missing: list[str] = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")
        await page.wait_for_selector("#history tbody tr")
        await page.wait_for_function("() => !document.querySelector('#sync-now').disabled")
        await page.click("#sync-now")
        assert await page.text_content("#notice") in ("Sync started.", "")
        await page.wait_for_function(
            "() => document.querySelector('#job-status').textContent === 'partial'",
            timeout=30_000,
        )
        # Every property synced or failed, with its error and its chart.
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#properties tbody tr')]"
            ".every(r => ['success', 'failed'].includes(r.cells[3].textContent))"
            " && [...document.querySelectorAll('#properties td.chart')]"
            ".every(td => ['ready', 'empty'].includes(td.dataset.chartState))",
            timeout=30_000,
        )
        assert await page.evaluate(LAYOUT_PROBLEMS) == []
        # The run is over: its "Sync started." banner went with it.
        assert (
            await page.evaluate("() => getComputedStyle(document.getElementById('notice')).display")
            == "none"
        )
        assert "America/Los_Angeles" in await page.text_content("#next-run")
        assert missing == []

    async def test_a_favicon_cached_a_day(self, aiohttp_client, runtime, web_settings):
        client = await aiohttp_client(create_app(web_settings, runtime=runtime))
        response = await client.get("/favicon.ico")
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        assert "max-age=86400" in response.headers["Cache-Control"]
        assert (await response.text()).startswith("<svg")
