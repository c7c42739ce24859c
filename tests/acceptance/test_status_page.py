"""The status page in headless Chromium: load, click "Sync now", watch the run finish."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from ga4sync.web.app import create_app

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


@pytest.fixture
async def browser():
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def test_sync_now_from_the_status_page(
    browser, aiohttp_server, runtime, worker, web_settings, connect_user, tmp_path: Path
):
    await connect_user({"5501": "America/Los_Angeles", "5502": "Asia/Tokyo"})
    server = await aiohttp_server(create_app(web_settings, runtime=runtime))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")) + f"#token={token(ADMIN)}")

    # What the worker's catch-up daily run left: last sync, next run, the run in history.
    await page.wait_for_selector("#history tbody tr")
    assert await page.text_content("#last-sync") != "\u2013"
    assert "America/Los_Angeles" in await page.text_content("#next-run")
    assert "UTC" in await page.text_content("#next-run-utc")
    # connected, never synced (the page renders the properties after the history)
    await page.wait_for_function(
        "document.querySelectorAll('#properties tbody tr').length === 2", timeout=10_000
    )
    before = await page.get_attribute("#last-sync", "data-iso")

    await page.click("#sync-now")
    await page.wait_for_function(
        "document.querySelector('#job-status').textContent === 'success'", timeout=30_000
    )
    await page.wait_for_function(
        "[...document.querySelectorAll('#properties tbody tr')]"
        ".every(r => r.cells[3].textContent === 'success')",
        timeout=10_000,
    )
    assert await page.get_attribute("#last-sync", "data-iso") != before
    first_run = page.locator("#history tbody tr").first
    assert await first_run.locator("td").nth(1).text_content() == "manual"
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


async def _page_server(aiohttp_server):
    """The same page served from another origin, as a frontend would host it."""
    html = (Path(__file__).parents[2] / "src/ga4sync/web/static/status.html").read_bytes()

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return await aiohttp_server(app)


@pytest.mark.parametrize("allowed", [True, False], ids=["listed-origin", "unlisted-origin"])
async def test_page_on_another_origin_works_only_if_cors_allows_it(
    browser, aiohttp_server, runtime, web_settings, allowed
):
    frontend = await _page_server(aiohttp_server)
    origin = str(frontend.make_url("/")).rstrip("/")
    settings = replace(web_settings, cors_origins=(origin,) if allowed else ("https://x.example",))
    api = await aiohttp_server(create_app(settings, runtime=runtime))
    page = await browser.new_page()
    url = f"{origin}/?api={str(api.make_url('/')).rstrip('/')}#token={token(ADMIN)}"
    await page.goto(url)
    if allowed:
        await page.wait_for_function(
            "document.querySelector('#next-run').textContent !== '\u2013'", timeout=10_000
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
        "document.querySelector('#next-run').textContent !== '\\u2013'", timeout=10_000
    )
    await page.click("#connect-google")
    # Google's consent screen approves and sends the browser back through the callback.
    await page.wait_for_selector("#notice.info", timeout=10_000)
    assert "Google account connected: 2 properties found." in await page.text_content("#notice")
    assert "ga4sync=" not in page.url
    await page.wait_for_function(
        "document.querySelectorAll('#properties tbody tr').length === 2", timeout=10_000
    )
    names = await page.locator("#properties tbody tr td:first-child").all_text_contents()
    assert sorted(names) == ["Your app · 340000002", "Your site · 340000001"]
    assert await pool.fetchval("select count(*) from google_credentials") == 1
