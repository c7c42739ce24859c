"""GET /metrics: Prometheus text format, built from a database snapshot per scrape.

The metrics name every tenant's GA4 properties, so they are never public: with
``METRICS_TOKEN`` set a scrape sends it as a bearer token; without it only a
client on this machine (a loopback peer, and no proxy header) is answered.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ga4sync.store.metrics import Snapshot, metrics_snapshot
from ga4sync.web.auth import cron_token_matches
from ga4sync.web.common import POOL, SERVICE, SETTINGS
from ga4sync.web.errors import ApiError


class _SnapshotCollector(Collector):
    def __init__(
        self,
        snapshot: Snapshot,
        last_success: datetime | None,
        coverage: list[dict[str, Any]],
    ) -> None:
        self._s = snapshot
        self._last_success = last_success
        self._coverage = coverage

    def collect(self) -> Iterator[Metric]:
        s = self._s
        jobs = GaugeMetricFamily(
            "ga4sync_jobs", "Sync jobs by kind and status", labels=["kind", "status"]
        )
        for row in s.jobs:
            jobs.add_metric([row["kind"], row["status"]], row["n"])
        yield jobs
        queue = GaugeMetricFamily(
            "ga4sync_queue_tasks",
            "Queued (todo) and running (doing) tasks",
            labels=["task", "status"],
        )
        for row in s.queue:
            queue.add_metric([row["task_name"], row["status"]], row["n"])
        yield queue
        yield GaugeMetricFamily(
            "ga4sync_workers", "Registered workers", value=s.workers.get("workers") or 0
        )
        age = s.workers.get("heartbeat_age_s")
        if age is not None:
            yield GaugeMetricFamily(
                "ga4sync_worker_heartbeat_age_seconds",
                "Seconds since the freshest worker heartbeat",
                value=age,
            )
        if self._last_success is not None:
            yield GaugeMetricFamily(
                "ga4sync_last_success_timestamp_seconds",
                "When the last sync job succeeded",
                value=self._last_success.timestamp(),
            )
        families = {
            "runs": GaugeMetricFamily(
                "ga4sync_property_runs_24h", "Property syncs in the last 24 h", labels=["status"]
            ),
            "rows_fetched": GaugeMetricFamily(
                "ga4sync_rows_fetched_24h", "Rows read from GA4 in the last 24 h", labels=["status"]
            ),
            "rows_written": GaugeMetricFamily(
                "ga4sync_rows_written_24h",
                "Rows inserted or updated in the last 24 h",
                labels=["status"],
            ),
            "tokens_consumed": GaugeMetricFamily(
                "ga4sync_ga4_tokens_consumed_24h",
                "GA4 quota tokens spent in the last 24 h",
                labels=["status"],
            ),
            "duration_s_sum": GaugeMetricFamily(
                "ga4sync_property_sync_seconds_sum_24h",
                "Total seconds of property syncs in the last 24 h",
                labels=["status"],
            ),
            "duration_s_max": GaugeMetricFamily(
                "ga4sync_property_sync_seconds_max_24h",
                "Longest property sync in the last 24 h",
                labels=["status"],
            ),
        }
        for row in s.runs_24h:
            for key, family in families.items():
                family.add_metric([row["status"]], float(row[key]))
        yield from families.values()
        props = GaugeMetricFamily(
            "ga4sync_properties", "Connected properties by state", labels=["state"]
        )
        for state in ("enabled", "disabled", "needs_reauth", "failing"):
            props.add_metric([state], s.properties.get(state) or 0)
        yield props
        remaining = GaugeMetricFamily(
            "ga4sync_ga4_tokens_remaining",
            "GA4 quota left per property at its latest sync",
            labels=["property_id", "quota"],
        )
        for row in s.quota:
            for name, status in (row["quota"] or {}).items():
                if isinstance(status, dict) and "remaining" in status:
                    remaining.add_metric([row["property_id"], name], status["remaining"])
        yield remaining
        missing = GaugeMetricFamily(
            "ga4sync_history_days_missing",
            "Days of history (since SYNC_BACKFILL_DAYS ago) not read for good yet",
            labels=["property_id"],
        )
        percent = GaugeMetricFamily(
            "ga4sync_backfill_percent", "Share of the history read", labels=["property_id"]
        )
        for row in self._coverage:
            missing.add_metric([row["property_id"]], row["coverage"].get("days_missing", 0))
            percent.add_metric([row["property_id"]], row["coverage"].get("backfill_percent", 0))
        yield missing
        yield percent
        waited = GaugeMetricFamily(
            "ga4sync_sync_now_wait_seconds",
            "How long a user's Sync now runs of the last 24 h took from click to fresh data",
            labels=["user_id", "quantile"],
        )
        runs = GaugeMetricFamily(
            "ga4sync_sync_now_runs_24h",
            "A user's Sync now runs finished in the last 24 h",
            labels=["user_id"],
        )
        for row in s.sync_now_waits:
            waited.add_metric([row["user_id"], "0.5"], row["p50_s"])
            waited.add_metric([row["user_id"], "0.95"], row["p95_s"])
            runs.add_metric([row["user_id"]], row["runs"])
        yield waited
        yield runs
        waiting = GaugeMetricFamily(
            "ga4sync_properties_waiting",
            "Properties of active runs still waiting, per user (daily run: the property's"
            " first user) and kind of run",
            labels=["user_id", "kind"],
        )
        for row in s.waiting_per_user:
            waiting.add_metric([row["user_id"], row["kind"]], row["n"])
        yield waiting


# A proxy in front of the app forwards a remote client's request from its own address
# (loopback when it runs on this machine) and says so in one of these.
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_loopback_request(request: web.Request) -> bool:
    """Whether the request comes from this machine itself: its peer is a loopback
    address (127.0.0.0/8, ::1, or 127.x mapped into IPv6) and it carries no proxy
    header, which would mean it was relayed for a client elsewhere."""
    if any(name in request.headers for name in _PROXY_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:  # no peer address (a Unix socket): not known to be loopback
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        return peer.ipv4_mapped.is_loopback
    return peer.is_loopback


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics — with ``METRICS_TOKEN`` set, for ``Authorization: Bearer
    METRICS_TOKEN``; without it, for loopback clients only (403 otherwise)."""
    token = request.app[SETTINGS].metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not cron_token_matches(token, given.strip()):
            raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <METRICS_TOKEN>'.")
    elif not is_loopback_request(request):
        raise ApiError(
            403,
            "forbidden",
            "/metrics answers only on this machine while METRICS_TOKEN is unset; set"
            " METRICS_TOKEN and scrape with 'Authorization: Bearer <METRICS_TOKEN>'.",
        )
    snapshot = await metrics_snapshot(request.app[POOL])
    service = request.app[SERVICE]
    meta = await service.get_meta()
    coverage = [
        row for row in await service.list_properties(user_id=None) if row["effective_enabled"]
    ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot, meta.last_sync_at, coverage))
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )
