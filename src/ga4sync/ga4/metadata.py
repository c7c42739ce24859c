"""GA4's Metadata API and compatibility check, for ``ga4sync reports check``.

``GET /v1beta/properties/{id}/metadata`` lists the dimensions and metrics a
property has, its custom definitions included; ``POST
/v1beta/properties/{id}:checkCompatibility`` says, per field of a request,
whether GA4 can answer it together with the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from ga4sync.ga4.api import call_ga4_api
from ga4sync.google_http import DEFAULT_TIMEOUT_S
from ga4sync.reports import ReportSpec

_ENDPOINT = "The GA4 Data API"


def filter_fields(expression: Mapping[str, Any] | None) -> Iterator[str]:
    """The field names a FilterExpression (GA4's JSON shape) tests."""
    if not expression:
        return
    if "filter" in expression:
        yield str(expression["filter"].get("fieldName", ""))
    for group in ("andGroup", "orGroup"):
        for sub in expression.get(group, {}).get("expressions", ()):
            yield from filter_fields(sub)
    yield from filter_fields(expression.get("notExpression"))


@dataclass(frozen=True)
class PropertyFields:
    dimensions: frozenset[str]
    metrics: dict[str, str]  # apiName -> type


@dataclass(frozen=True)
class Compatibility:
    incompatible: tuple[str, ...]  # the fields GA4 says cannot be asked together


class MetadataClient:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    async def fields(self, property_id: str, access_token: str) -> PropertyFields:
        body = await self._call("GET", f"/v1beta/properties/{property_id}/metadata", access_token)
        return PropertyFields(
            dimensions=frozenset(
                str(d.get("apiName")) for d in body.get("dimensions", ()) if d.get("apiName")
            ),
            metrics={
                str(m["apiName"]): str(m.get("type", "TYPE_UNSPECIFIED"))
                for m in body.get("metrics", ())
                if m.get("apiName")
            },
        )

    async def compatibility(
        self, property_id: str, spec: ReportSpec, access_token: str
    ) -> Compatibility:
        request: dict[str, Any] = {
            "dimensions": [{"name": name} for name in spec.dimensions],
            "metrics": [{"name": name} for name in spec.metrics],
        }
        if spec.dimension_filter is not None:
            request["dimensionFilter"] = spec.dimension_filter
        if spec.metric_filter is not None:
            request["metricFilter"] = spec.metric_filter
        body = await self._call(
            "POST", f"/v1beta/properties/{property_id}:checkCompatibility", access_token, request
        )
        # GA4 answers for every field of the property, saying which of them could
        # join the request; only the request's own fields say whether it can run.
        asked = {
            "dimension": {*spec.dimensions, *filter_fields(spec.dimension_filter)},
            "metric": {*spec.metrics, *filter_fields(spec.metric_filter)},
        }
        incompatible = [
            name
            for kind in ("dimension", "metric")
            for entry in body.get(f"{kind}Compatibilities", ())
            if entry.get("compatibility") == "INCOMPATIBLE"
            and (name := str(entry.get(f"{kind}Metadata", {}).get("apiName", ""))) in asked[kind]
        ]
        return Compatibility(tuple(dict.fromkeys(incompatible)))

    async def _call(
        self, method: str, path: str, access_token: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await call_ga4_api(
            self._session,
            method,
            self._base_url + path,
            access_token,
            endpoint=_ENDPOINT,
            timeout_s=self._timeout_s,
            json=body,
        )
