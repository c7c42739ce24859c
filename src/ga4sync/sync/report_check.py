"""``ga4sync reports check``: every report against every connected property, as GA4
sees them, before a sync fails on them.

For each property (synced ones, or the one asked for) the property's metadata
lists the fields it has, custom definitions included: a report using a field
the property lacks is ``unknown_field``. Otherwise GA4's compatibility check
says whether its dimensions and metrics can be asked together: ``incompatible``
names the fields it refuses. ``error`` is a property ga4sync could not ask (no
working Google grant, GA4 unreachable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp
import asyncpg

from ga4sync.errors import GoogleError, GrantRevoked
from ga4sync.ga4.metadata import MetadataClient, PropertyFields, filter_fields
from ga4sync.reports import ReportSpec
from ga4sync.settings import Settings
from ga4sync.store.properties import PropertyToSync, list_properties_to_sync
from ga4sync.sync.ingest import open_ingestion
from ga4sync.sync.tokens import UserTokens

Status = Literal["ok", "incompatible", "unknown_field", "error"]


@dataclass(frozen=True)
class CheckResult:
    report: str
    property_id: str
    status: Status
    fields: tuple[str, ...] = ()
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self) -> str:
        if self.status == "ok":
            return "ok"
        if self.status == "error":
            return f"error: {self.detail}"
        label = "incompatible" if self.status == "incompatible" else "unknown field"
        return f"{label}: {', '.join(self.fields)}"


def missing_fields(spec: ReportSpec, fields: PropertyFields) -> tuple[str, ...]:
    """The report's fields (filters' included) that the property does not have."""
    dimensions = [*spec.dimensions, *filter_fields(spec.dimension_filter)]
    metrics = [*spec.metrics, *filter_fields(spec.metric_filter)]
    missing = [d for d in dimensions if d not in fields.dimensions]
    missing += [m for m in metrics if m not in fields.metrics]
    return tuple(dict.fromkeys(missing))


async def _check_with(
    client: MetadataClient, token: str, prop: PropertyToSync, reports: Sequence[ReportSpec]
) -> list[CheckResult]:
    fields = await client.fields(prop.property_id, token)
    results = []
    for spec in reports:
        missing = missing_fields(spec, fields)
        if missing:
            results.append(CheckResult(spec.name, prop.property_id, "unknown_field", missing))
            continue
        answer = await client.compatibility(prop.property_id, spec, token)
        status: Status = "incompatible" if answer.incompatible else "ok"
        results.append(CheckResult(spec.name, prop.property_id, status, answer.incompatible))
    return results


async def _check_property(
    client: MetadataClient,
    tokens: UserTokens,
    prop: PropertyToSync,
    reports: Sequence[ReportSpec],
) -> list[CheckResult]:
    def failed(detail: str) -> list[CheckResult]:
        return [CheckResult(s.name, prop.property_id, "error", detail=detail) for s in reports]

    if not prop.grant_users:
        return failed("no user with access has a working Google grant (reconnect)")
    for user_id in prop.grant_users:
        # A stored access token GA4 refuses (Google forgot it) is refreshed once
        # before the grant counts as refused, as a sync does.
        for force_refresh in (False, True):
            try:
                token = await tokens.get(user_id, force_refresh=force_refresh)
                return await _check_with(client, token, prop, reports)
            except GrantRevoked:
                continue  # a fresh token, then the next user's grant
            except GoogleError as exc:
                return failed(str(exc))
    return failed("every Google grant with access to it was refused (reconnect)")


async def check_reports(
    pool: asyncpg.Pool, settings: Settings, *, property_id: str | None = None
) -> list[CheckResult]:
    """Each report in use, on each synced property it applies to (or ``property_id``)."""
    properties = await list_properties_to_sync(pool, property_id=property_id)
    results: list[CheckResult] = []
    async with open_ingestion(pool, settings) as ingestion, aiohttp.ClientSession() as session:
        client = MetadataClient(
            session, settings.ga4_api_base_url, timeout_s=settings.google_timeout_s
        )
        for prop in properties:
            reports = [s for s in settings.reports if s.applies_to(prop.property_id)]
            if reports:
                results += await _check_property(client, ingestion.tokens, prop, reports)
    return results


def format_check(results: Sequence[CheckResult]) -> str:
    """The table ``ga4sync reports check`` prints: an outcome per report and property."""
    if not results:
        return "no synced property to check the reports against"
    width = max(len("report"), *(len(r.report) for r in results))
    pwidth = max(len("property"), *(len(r.property_id) for r in results))
    lines = [f"{'report':{width}}  {'property':{pwidth}}  outcome"]
    for r in results:
        lines.append(f"{r.report:{width}}  {r.property_id:{pwidth}}  {r.describe()}")
    bad = sum(1 for r in results if not r.ok)
    lines.append("")
    lines.append("all ok" if not bad else f"{bad} of {len(results)} not ok")
    return "\n".join(lines)
