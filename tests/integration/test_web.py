"""The HTTP API through aiohttp's test client: contract, auth, CORS and bad input."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace
from datetime import datetime

import jwt
import pytest

from ga4sync.processes import running
from ga4sync.settings import Settings
from ga4sync.web.app import create_app

from ..webtools import ADMIN, CRON, ORIGIN, SECRET, bearer


async def test_run_returns_202_and_a_second_click_returns_the_same_run(client):
    user = uuid.uuid4()
    first = await client.post("/v1/sync/ga4/run", headers=bearer(user))
    assert first.status == 202
    body = await first.json()
    assert body["created"] is True and uuid.UUID(body["job_id"])
    second = await client.post("/v1/sync/ga4/run", headers=bearer(user), json={})
    assert second.status == 202
    assert (await second.json())["job_id"] == body["job_id"]
    job = await client.get(f"/v1/sync/ga4/job/{body['job_id']}", headers=bearer(user))
    assert job.status == 200
    data = await job.json()
    assert data["status"] == "pending" and data["kind"] == "manual"
    assert data["scope"] == str(user)
    assert set(data["progress"]) == {
        "properties_done",
        "properties_total",
        "properties_failed",
        "rows_fetched",
        "rows_written",
        "rows_deleted",
    }


async def test_manual_run_during_the_daily_run_is_409_with_the_daily_job(client, runtime):
    daily = await runtime.sync.ensure_daily_due()
    response = await client.post("/v1/sync/ga4/run", headers=bearer(uuid.uuid4()))
    assert response.status == 409
    body = await response.json()
    assert body["error"] == "daily_run_active"
    assert body["job_id"] == str(daily.job.id)
    # of the run itself, only what is the caller's: here nothing
    assert set(body) == {"error", "message", "job_id", "your_properties", "fresh_by"}
    assert body["your_properties"] == {"pending": 0, "done": 0}
    assert "daily sync is running" in body["message"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Bearer"),
        ({"Authorization": "Basic abc"}, "Bearer"),
        ({"Authorization": "Bearer not-a-jwt"}, "malformed"),
        ("wrong-secret", "not valid"),
        ("expired", "expired"),
        ("no-sub", "not valid"),
        ("wrong-audience", "not valid"),
    ],
)
async def test_bad_tokens_are_401(client, headers, message):
    user = uuid.uuid4()
    if headers == "wrong-secret":
        headers = bearer(user, secret="another-secret-of-a-decent-length-0123456")
    elif headers == "expired":
        headers = bearer(user, exp_in=-10)
    elif headers == "no-sub":
        headers = {
            "Authorization": "Bearer "
            + jwt.encode(
                {"aud": "authenticated", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"
            )
        }
    elif headers == "wrong-audience":
        headers = bearer(user, aud="anon")
    response = await client.post("/v1/sync/ga4/run", headers=headers)
    assert response.status == 401
    body = await response.json()
    assert body["error"] == "unauthorized" and message in body["message"]


async def test_scope_rules(client):
    user = uuid.uuid4()
    refused = await client.post("/v1/sync/ga4/run", headers=bearer(user), json={"scope": "all"})
    assert refused.status == 403
    admin = await client.post("/v1/sync/ga4/run", headers=bearer(ADMIN))
    assert admin.status == 202
    job = await client.get(
        f"/v1/sync/ga4/job/{(await admin.json())['job_id']}", headers=bearer(ADMIN)
    )
    assert (await job.json())["scope"] == "all"
    by_role = await client.post(
        "/v1/sync/ga4/run",
        headers=bearer(uuid.uuid4(), app_metadata={"role": "admin"}),
        json={"scope": "all"},
    )
    assert by_role.status == 202


async def test_a_token_email_listed_in_admin_emails_is_an_admin(
    aiohttp_client, runtime, web_settings
):
    listed = Settings.from_env({"ADMIN_EMAILS": " Boss@Example.com, ops@example.com "})
    client = await aiohttp_client(
        create_app(replace(web_settings, admin_emails=listed.admin_emails), runtime=runtime)
    )
    someone = uuid.uuid4()
    mine = await client.post("/v1/sync/ga4/run", headers=bearer(someone))
    assert mine.status == 202
    mine_id = (await mine.json())["job_id"]

    for email in ("boss@example.com", "BOSS@example.COM", "ops@example.com"):
        admin = uuid.uuid4()
        headers = bearer(admin, email=email)
        started = await client.post("/v1/sync/ga4/run", headers=headers)
        assert started.status == 202, email
        job = await client.get(
            f"/v1/sync/ga4/job/{(await started.json())['job_id']}", headers=headers
        )
        assert (await job.json())["scope"] == "all", email  # an admin's run covers everyone
        others = await client.get(f"/v1/sync/ga4/job/{mine_id}", headers=headers)
        assert others.status == 200, email

    # Only the token's own email claim counts, matched whole: user_metadata is the user's to edit.
    for claims in (
        {"email": "someone@example.com"},
        {"email": "boss@example.com.evil.test"},
        {"email": "boss@example.org", "user_metadata": {"email": "boss@example.com"}},
        {},
    ):
        user = uuid.uuid4()
        headers = bearer(user, **claims)
        refused = await client.post("/v1/sync/ga4/run", headers=headers, json={"scope": "all"})
        assert refused.status == 403, claims
        own = await client.post("/v1/sync/ga4/run", headers=headers)
        job = await client.get(f"/v1/sync/ga4/job/{(await own.json())['job_id']}", headers=headers)
        assert (await job.json())["scope"] == str(user), claims
        assert (await client.get(f"/v1/sync/ga4/job/{mine_id}", headers=headers)).status == 404


async def test_others_cannot_see_my_job_but_admins_and_daily_are_visible(client, runtime):
    me, other = uuid.uuid4(), uuid.uuid4()
    job_id = (await (await client.post("/v1/sync/ga4/run", headers=bearer(me))).json())["job_id"]
    assert (await client.get(f"/v1/sync/ga4/job/{job_id}", headers=bearer(other))).status == 404
    assert (await client.get(f"/v1/sync/ga4/job/{job_id}", headers=bearer(ADMIN))).status == 200
    daily = await runtime.sync.ensure_daily_due()
    seen = await client.get(f"/v1/sync/ga4/job/{daily.job.id}", headers=bearer(other))
    assert seen.status == 200 and (await seen.json())["kind"] == "daily"


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/v1/sync/ga4/job/not-a-uuid", 400, "invalid_job_id"),
        ("/v1/sync/ga4/job/%00%ff", 400, "invalid_job_id"),
        (f"/v1/sync/ga4/job/{uuid.uuid4()}", 404, "not_found"),
        ("/v1/sync/ga4/nope", 404, "not_found"),
    ],
)
async def test_job_lookup_errors(client, path, status, error):
    response = await client.get(path, headers=bearer(uuid.uuid4()))
    assert response.status == status
    assert (await response.json())["error"] == error


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid_body"),
        (b'{"scope": 7}', "application/json", 400, "invalid_scope"),
        (b'{"scope": "mine", "extra": 1}', "application/json", 400, "invalid_body"),
        (b"\xff\xfe\x00", "application/json", 400, "invalid_json"),
        (b"x" * 200_000, "application/json", 413, "payload_too_large"),
    ],
)
async def test_bad_bodies_are_4xx_never_500(client, body, content_type, status, error):
    response = await client.post(
        "/v1/sync/ga4/run",
        data=body,
        headers={**bearer(uuid.uuid4()), "Content-Type": content_type},
    )
    assert response.status == status
    assert (await response.json())["error"] == error


async def test_wrong_method_is_json_405(client):
    response = await client.delete("/v1/sync/ga4/meta")
    assert response.status == 405
    assert (await response.json())["error"] == "method_not_allowed"


@pytest.mark.smoke
async def test_meta_moves_after_a_successful_run(client, connect_user, runtime, worker):
    before = await (await client.get("/v1/sync/ga4/meta")).json()
    assert before["timezone"] == "America/Los_Angeles"
    assert before["next_scheduled_at"] == "2026-11-21T00:15:00-08:00"
    user = await connect_user({"2101": "UTC"})
    job_id = (await (await client.post("/v1/sync/ga4/run", headers=bearer(user))).json())["job_id"]
    from ..conftest import wait_for_job

    job = await wait_for_job(runtime.sync, uuid.UUID(job_id))
    assert job.status == "success"
    after = await (await client.get("/v1/sync/ga4/meta")).json()
    assert after["last_sync_at"] is not None and after["last_sync_at"] != before["last_sync_at"]
    status = await (await client.get(f"/v1/sync/ga4/job/{job_id}", headers=bearer(user))).json()
    assert status["status"] == "success" and status["progress"]["properties_done"] == 1
    assert status["last_sync_at"] == after["last_sync_at"]


async def test_a_run_that_synced_nothing_leaves_the_last_sync(
    client, connect_user, runtime, worker
):
    from ..conftest import wait_for_job

    user = await connect_user({"2111": "UTC"})
    job_id = (await (await client.post("/v1/sync/ga4/run", headers=bearer(user))).json())["job_id"]
    synced = await wait_for_job(runtime.sync, uuid.UUID(job_id))
    assert synced.status == "success" and synced.last_sync_at is not None
    # Someone who connected nothing clicks "Sync now": the run succeeds, syncing nothing.
    nobody = uuid.uuid4()
    job_id = (await (await client.post("/v1/sync/ga4/run", headers=bearer(nobody))).json())[
        "job_id"
    ]
    empty = await wait_for_job(runtime.sync, uuid.UUID(job_id))
    assert empty.status == "success" and empty.properties_total == 0
    assert empty.last_sync_at is None
    meta = await (await client.get("/v1/sync/ga4/meta")).json()
    assert datetime.fromisoformat(meta["last_sync_at"]) == synced.last_sync_at
    health = await (await client.get("/healthz")).json()
    assert datetime.fromisoformat(health["last_sync_at"]) == synced.last_sync_at


async def test_daily_backup_trigger(client, runtime):
    assert (await client.get("/v1/sync/ga4/daily")).status == 403
    wrong = await client.get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": "nope"})
    assert wrong.status == 403 and (await wrong.json())["error"] == "forbidden"
    started = await client.post("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": CRON})
    assert started.status == 202
    body = await started.json()
    assert body["status"] == "started" and body["run_date"] == "2026-11-20"
    again = await client.get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": CRON})
    assert again.status == 200
    assert await again.json() == {
        "status": "already-running",
        "job_id": body["job_id"],
        "run_date": "2026-11-20",
        "job_status": "pending",
    }
    await runtime.sync.run_job(uuid.UUID(body["job_id"]))  # no properties: finishes at once
    done = await client.get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": CRON})
    assert (await done.json())["status"] == "already-done"


async def test_head_probe_starts_the_run_without_a_body(client, pool):
    refused = await client.head("/v1/sync/ga4/daily")
    assert refused.status == 403
    assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 0
    probe = await client.head("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": CRON})
    assert probe.status == 202 and await probe.read() == b""
    assert await pool.fetchval("select count(*) from ga4_sync_jobs where kind = 'daily'") == 1


async def test_pings_all_night_start_at_most_one_run(client, pool):
    import asyncio

    responses = await asyncio.gather(
        *(client.get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": CRON}) for _ in range(25))
    )
    assert sorted(r.status for r in responses) == [200] * 24 + [202]
    assert await pool.fetchval("select count(*) from ga4_sync_jobs") == 1


async def test_unset_cron_token_disables_the_trigger(aiohttp_client, runtime, web_settings):
    client = await aiohttp_client(
        create_app(replace(web_settings, cron_token=None), runtime=runtime)
    )
    response = await client.get("/v1/sync/ga4/daily", headers={"X-CRON-TOKEN": ""})
    assert response.status == 403
    assert (await response.json())["error"] == "cron_disabled"


async def test_cors_for_configured_origins_only(client):
    preflight = await client.options(
        "/v1/sync/ga4/run",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "AUTHORIZATION" in preflight.headers["Access-Control-Allow-Headers"].upper()
    meta = await client.get("/v1/sync/ga4/meta", headers={"Origin": ORIGIN})
    assert meta.headers["Access-Control-Allow-Origin"] == ORIGIN
    error = await client.post("/v1/sync/ga4/run", headers={"Origin": ORIGIN})
    assert error.status == 401 and error.headers["Access-Control-Allow-Origin"] == ORIGIN
    stranger = await client.get("/v1/sync/ga4/meta", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    refused = await client.options(
        "/v1/sync/ga4/run",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers


async def test_healthz(client, runtime, worker):
    response = await client.get("/healthz")
    body = await response.json()
    assert response.status == 200, body
    assert body["database"] == "ok" and body["worker"] == "ok"
    # The worker's catch-up run had no property to sync: that is no sync of the data.
    assert body["last_sync_at"] is None


async def test_healthz_without_a_worker_is_503(client):
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["worker"] == "no recent heartbeat"


async def test_healthz_counts_no_heartbeat_from_the_future(client, runtime):
    # What a forged worker row looks like: no worker writes a heartbeat ahead of now.
    await runtime.pool.execute(
        "insert into ga4sync_queue.procrastinate_workers (last_heartbeat)"
        " values (now() + interval '1 year')"
    )
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["worker"] == "no recent heartbeat"


async def test_auth_not_configured_is_a_clear_401(aiohttp_client, runtime):
    client = await aiohttp_client(create_app(runtime.settings, runtime=runtime))
    response = await client.post("/v1/sync/ga4/run", headers=bearer(uuid.uuid4()))
    assert response.status == 401
    assert "SUPABASE_JWT_SECRET" in (await response.json())["message"]


async def test_openapi_json_is_served(client):
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1") and "/v1/sync/ga4/run" in document["paths"]


@pytest.mark.parametrize("secret", [None, SECRET])
async def test_web_warns_at_start_when_sign_in_is_not_configured(runtime, caplog, secret):
    settings = replace(
        runtime.settings,
        supabase_jwt_secret=secret,
        supabase_jwks_url=None,
        host="127.0.0.1",
        port=0,
    )
    web_runtime = replace(runtime, settings=settings)
    caplog.set_level(logging.INFO, logger="ga4sync")
    async with running(
        web_runtime, web_app=create_app(settings, runtime=web_runtime), worker=False
    ):
        pass
    warned = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "sign-in is not configured" in r.getMessage()
    ]
    if secret is None:
        assert len(warned) == 1
        assert "SUPABASE_JWT_SECRET or SUPABASE_URL" in warned[0]
    else:
        assert warned == []
