"""/healthz while the database cannot be reached: the probe, which anyone may call,
says the database is unreachable and nothing more; the reason (hosts, ports, database
names) goes to the log."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from ga4sync.db import open_pool
from ga4sync.web.app import create_app

from ..conftest import with_database
from ..unreachable import closed_port_url


@pytest.mark.parametrize("where", ["nothing listens", "no such database"])
async def test_healthz_tells_no_database_error_to_its_caller(
    where, aiohttp_client, runtime, web_settings, pg_server_url, caplog
):
    caplog.set_level(logging.WARNING, logger="ga4sync.web.handlers")
    if where == "nothing listens":
        url = closed_port_url().replace("http://", "postgresql://postgres@") + "/postgres"
        secret = urlsplit(url).port
        reason = "Connect call failed"
    else:
        name = f"ga4sync_gone_{uuid.uuid4().hex[:12]}"
        url, secret, reason = with_database(pg_server_url, name), name, "does not exist"
    # The web app over a pool on a database it cannot reach (min_size=0: nothing is
    # tried until a request needs a connection).
    async with open_pool(url, min_size=0, max_size=1) as unreachable:
        app = create_app(web_settings, runtime=replace(runtime, pool=unreachable))
        client = await aiohttp_client(app)
        answers = []
        for _ in range(3):  # a pinger probing again and again
            response = await client.get("/healthz")
            answers.append((response.status, await response.text()))
    assert answers == [(503, '{"status": "unhealthy", "database": "unreachable"}')] * 3
    logged = [r.getMessage() for r in caplog.records]
    # the reason, in the log once for the outage, not once a probe
    assert len(logged) == 1, logged
    assert reason in logged[0] and str(secret) in logged[0], logged
