"""Alerts: one message when a failure streak reaches the threshold, one when it heals,
delivered to a Slack/Teams-style webhook (a local receiver here)."""

from __future__ import annotations

from datetime import date

import pytest
from aiohttp import web

from ga4sync.sync.alerts import Alerts
from ga4sync.sync.ingest import ingest_ga4_for_all_accounts
from ga4sync.sync.jobs import SyncService
from ga4sync.webhook import Webhook


@pytest.fixture
async def receiver(aiohttp_server):
    received: list[dict] = []
    answer = {"status": 200}

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=answer["status"], text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook")), received, answer


async def test_three_failures_alert_once_and_a_success_recovers_once(
    fake, connect_user, ingestion_for, receiver
):
    url, received, _ = receiver
    await connect_user({"8101": "UTC"})
    fake.fail_next("8101", status=404, times=1000)
    async with ingestion_for(alert_webhook_url=url, alert_failure_threshold=3) as ingestion:
        for _ in range(5):
            summary = await ingest_ga4_for_all_accounts(ingestion)
            assert summary.results[0].status == "failed"
        assert len(received) == 1
        fake.clear_failures("8101")
        assert "failed 3 times in a row" in received[0]["text"]
        assert "8101" in received[0]["text"] and "NOT_FOUND" in received[0]["text"]
        assert (await ingest_ga4_for_all_accounts(ingestion)).ok
        await ingest_ga4_for_all_accounts(ingestion)
    assert len(received) == 2
    assert "syncing again after 5 failures" in received[1]["text"]


async def test_a_broken_webhook_never_breaks_a_sync(fake, connect_user, ingestion_for, receiver):
    url, received, answer = receiver
    answer["status"] = 500
    await connect_user({"8201": "UTC", "8202": "UTC"})
    fake.fail_next("8201", status=404, times=1)
    async with ingestion_for(alert_webhook_url=url, alert_failure_threshold=1) as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    assert {r.property_id: r.status for r in summary.results} == {
        "8201": "failed",
        "8202": "success",
    }
    assert len(received) == 1  # it was tried
    unreachable = Webhook("http://127.0.0.1:9/nothing-listens-here")
    assert await unreachable.post("hello") is False


async def test_failed_daily_runs_alert_once_and_recover_once(
    pool, settings, clock, recording_queue, connect_user, receiver
):
    url, received, _ = receiver
    service = SyncService(
        pool, recording_queue, settings, now=clock, alerts=Alerts(Webhook(url), threshold=2)
    )
    await connect_user({"8301": "UTC"})
    outcomes = ["failed", "failed", "failed", "success"]
    for day, outcome in enumerate(outcomes, start=1):
        job = (await service.ensure_daily(date(2026, 11, day))).job
        await service.run_job(job.id)
        ref = recording_queue.properties[-1][1][0]
        if outcome == "failed":
            await service.abandon_property(job.id, ref, "broken on purpose")
        else:
            from ga4sync.sync.summary import PropertyResult

            await service.complete_property(
                job.id,
                PropertyResult(
                    property_ref=ref, property_id="8301", user_id=job.id, status="success"
                ),
            )
        assert (await service.get_job(job.id)).status == outcome
    texts = [r["text"] for r in received]
    assert len(texts) == 2, texts
    assert "the daily sync failed 2 times in a row" in texts[0]
    assert "the daily sync is syncing again after 3 failures" in texts[1]


async def test_alert_text_cannot_ping_or_link_in_slack(
    pool, fake, connect_user, ingestion_for, receiver
):
    """A property's name is whatever its owner typed at Google: Slack's control
    sequences in it arrive as text, not as a channel ping, a mention or a link."""
    url, received, _ = receiver
    await connect_user({"8401": "UTC"})
    await pool.execute(
        "update ga4_properties set display_name = $1 where property_id = '8401'",
        "<!channel> Shop <https://evil.example|log in> <@U123> & co",
    )
    fake.fail_next("8401", status=403, times=1000)
    async with ingestion_for(alert_webhook_url=url, alert_failure_threshold=1) as ingestion:
        await ingest_ga4_for_all_accounts(ingestion)
    [message] = received
    text = message["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt; Shop &lt;https://evil.example|log in&gt; &lt;@U123&gt; &amp; co" in (
        text
    )


async def test_error_text_is_escaped_too(receiver):
    url, received, _ = receiver
    alerts = Alerts(Webhook(url), threshold=1)
    await alerts.streak_changed("the daily sync", 0, 1, "GA4 said <!here> & <#C1|general>")
    [message] = received
    assert message["text"].endswith("Last error: GA4 said &lt;!here&gt; &amp; &lt;#C1|general&gt;")
