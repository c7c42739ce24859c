"""/metrics parses with prometheus-client's own parser and says what happened."""

from __future__ import annotations

from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts
from ga4sync.web.app import create_app


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_report_jobs_runs_rows_tokens_and_quota(
    client, runtime, fake, connect_user, ingestion_for
):
    await connect_user({"9201": "UTC", "9202": "UTC"})
    fake.fail_next("9202", status=404, times=1000)
    async with ingestion_for() as ingestion:
        summary = await ingest_ga4_for_all_accounts(ingestion)
    await runtime.sync.ensure_daily_due()

    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = _samples(await response.text())
    assert samples[("ga4sync_jobs", (("kind", "daily"), ("status", "pending")))] == 1
    assert samples[("ga4sync_queue_tasks", (("status", "todo"), ("task", "ga4sync.run_job")))] == 1
    assert samples[("ga4sync_property_runs_24h", (("status", "success"),))] == 1
    assert samples[("ga4sync_property_runs_24h", (("status", "failed"),))] == 1
    assert samples[("ga4sync_rows_written_24h", (("status", "success"),))] == summary.rows_written
    assert samples[("ga4sync_ga4_tokens_consumed_24h", (("status", "success"),))] > 0
    assert samples[("ga4sync_properties", (("state", "failing"),))] == 1
    assert samples[("ga4sync_properties", (("state", "enabled"),))] == 2
    remaining = samples[
        ("ga4sync_ga4_tokens_remaining", (("property_id", "9201"), ("quota", "tokensPerDay")))
    ]
    assert 0 < remaining < 200_000
    assert samples[("ga4sync_workers", ())] == 0
    # No history asked for here (SYNC_BACKFILL_DAYS=0): nothing missing, all read.
    assert samples[("ga4sync_history_days_missing", (("property_id", "9201"),))] == 0
    assert samples[("ga4sync_backfill_percent", (("property_id", "9201"),))] == 100


async def test_metrics_token(aiohttp_client, runtime, web_settings):
    client = await aiohttp_client(
        create_app(replace(web_settings, metrics_token="scrape-me"), runtime=runtime)
    )
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status == 200 and "ga4sync_workers" in await ok.text()
