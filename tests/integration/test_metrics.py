"""/metrics parses with prometheus-client's own parser and says what happened."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import replace

import pytest
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from ga4sync.sync.ingest import ingest_ga4_for_all_accounts
from ga4sync.web.app import create_app
from ga4sync.web.metrics import is_loopback_request

from ..webtools import ADMIN, bearer


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


async def test_metrics_say_per_user_how_long_sync_now_took_and_what_waits(
    client, runtime, connect_user
):
    waiting_user = await connect_user({"9301": "UTC", "9302": "UTC"})
    served_user = await connect_user({"9303": "UTC"})
    # Two Sync now runs of one user, done 2 s and 10 s after the click.
    for seconds in (2, 10):
        await runtime.pool.execute(
            "insert into ga4_sync_jobs (kind, scope, requested_by, status, created_at,"
            " started_at, finished_at) values ('manual', $1, $2, 'success',"
            " now() - make_interval(secs => $3), now() - make_interval(secs => $3), now())",
            f"run-{seconds}",
            served_user,
            seconds,
        )
    # The other user's run is fanned out, no worker takes it: both properties wait.
    started = await runtime.sync.start_job(waiting_user, str(waiting_user))
    await runtime.sync.run_job(started.job.id)

    samples = _samples(await (await client.get("/metrics")).text())
    served, waiting = str(served_user), str(waiting_user)
    wait = "ga4sync_sync_now_wait_seconds"
    assert samples[(wait, (("quantile", "0.5"), ("user_id", served)))] == pytest.approx(6, 0.01)
    assert samples[(wait, (("quantile", "0.95"), ("user_id", served)))] == pytest.approx(9.6, 0.01)
    assert samples[("ga4sync_sync_now_runs_24h", (("user_id", served),))] == 2
    key = ("ga4sync_properties_waiting", (("kind", "manual"), ("user_id", waiting)))
    assert samples[key] == 2
    assert not any(name == wait and ("user_id", waiting) in labels for name, labels in samples)

    # The history API says the same: to an admin for every user, to a user their own.
    admin_view = (await (await client.get("/v1/sync/ga4/history", headers=bearer(ADMIN))).json())[
        "fair_share"
    ]
    assert admin_view["sync_now"] == [
        {
            "user_id": served,
            "runs_24h": 2,
            "wait_p50_s": pytest.approx(6, 0.01),
            "wait_p95_s": pytest.approx(9.6, 0.01),
        }
    ]
    assert admin_view["waiting"] == [{"user_id": waiting, "kind": "manual", "properties": 2}]
    own = (await (await client.get("/v1/sync/ga4/history", headers=bearer(served_user))).json())[
        "fair_share"
    ]
    assert own == {"sync_now": admin_view["sync_now"], "waiting": []}
    other = (await (await client.get("/v1/sync/ga4/history", headers=bearer(waiting_user))).json())[
        "fair_share"
    ]
    assert other == {"sync_now": [], "waiting": admin_view["waiting"]}


async def test_metrics_token(aiohttp_client, runtime, web_settings):
    client = await aiohttp_client(
        create_app(replace(web_settings, metrics_token="scrape-me"), runtime=runtime)
    )
    assert (await client.get("/metrics")).status == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status == 200 and "ga4sync_workers" in await ok.text()


def _address_of_this_machine() -> str | None:
    """An IPv4 address of this machine's that is not loopback (None when it has none):
    a UDP socket 'connected' towards a non-local address picks it, sending nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.200", 9))
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


async def test_without_a_token_metrics_answer_only_loopback_clients(client):
    local = await client.get("/metrics")
    assert local.status == 200 and "ga4sync_workers" in await local.text()
    # A proxy on this machine (or Render's in front of it) relays remote clients and
    # says so: such a request is not local, whatever its peer address.
    for header, value in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-For", "127.0.0.1"),
        ("Forwarded", "for=203.0.113.9;proto=https"),
        ("X-Real-IP", "203.0.113.9"),
    ]:
        relayed = await client.get("/metrics", headers={header: value})
        assert relayed.status == 403, header
        body = await relayed.json()
        assert body["error"] == "forbidden" and "METRICS_TOKEN" in body["message"]


async def test_without_a_token_a_client_elsewhere_is_refused(aiohttp_client, runtime, web_settings):
    address = _address_of_this_machine()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    # Served on the machine's own network address: the client's peer is not loopback.
    remote = await aiohttp_client(
        create_app(web_settings, runtime=runtime), server_kwargs={"host": address}
    )
    refused = await remote.get("/metrics")
    assert refused.status == 403
    assert (await refused.json())["error"] == "forbidden"
    assert "ga4sync" not in await refused.text()
    # With METRICS_TOKEN set, the token opens it from anywhere, as before.
    scraped = await aiohttp_client(
        create_app(replace(web_settings, metrics_token="scrape-me"), runtime=runtime),
        server_kwargs={"host": address},
    )
    assert (await scraped.get("/metrics")).status == 401
    ok = await scraped.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status == 200 and "ga4sync_workers" in await ok.text()


def test_loopback_means_this_machine_only():
    cases = {
        "127.0.0.1": True,
        "127.8.9.10": True,
        "::1": True,
        "::ffff:127.0.0.1": True,
        "192.0.2.2": False,
        "::ffff:192.0.2.2": False,
        "fd00::2": False,
        "": False,
        None: False,
    }
    for remote, local in cases.items():
        request = make_mocked_request("GET", "/metrics")
        assert is_loopback_request(request.clone(remote=remote)) is local, remote
