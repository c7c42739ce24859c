"""Assemble a RunReportResponse body in proto3 JSON: defaults omitted, int64 as strings."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .catalog import METRIC_TYPE_NUMBERS, hash64
from .report import Page

if TYPE_CHECKING:
    from .aggregate import AggregateReport
    from .report import ReportBuilder

    Builder = ReportBuilder | AggregateReport

KIND = "analyticsData#runReport"


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def metric_headers(builder: Builder, numeric_enums: bool) -> list[dict[str, object]]:
    """``metricHeaders``; the type is the enum name, or its number for ``enum-encoding=int``."""
    headers: list[dict[str, object]] = []
    for name, kind in zip(builder.request.metrics, builder.metric_types, strict=True):
        headers.append({"name": name, "type": METRIC_TYPE_NUMBERS[kind] if numeric_enums else kind})
    return headers


def metadata(builder: Builder) -> dict[str, object]:
    """``ResponseMetaData``: false flags left out, sampling counts (int64) as strings."""
    config = builder.config
    meta: dict[str, object] = {}
    if builder.other:
        meta["dataLossFromOtherRow"] = True
    if config.sampled:
        samplings = []
        for span in builder.request.date_ranges:
            digest = hash64(str(builder.seed), builder.property_id, "sampling", span.name)
            space = 1_000_000 + digest % 9_000_000
            read = space * (10 + (digest >> 32) % 80) // 100
            samplings.append({"samplesReadCount": str(read), "samplingSpaceSize": str(space)})
        meta["samplingMetadatas"] = samplings
    # Echoes the request's currencyCode, else the property's, as the API does.
    meta["currencyCode"] = builder.request.currency_code or config.currency_code
    meta["timeZone"] = config.time_zone
    if config.thresholded:
        meta["subjectToThresholding"] = True
    return meta


def render_response(
    builder: Builder,
    page: Page,
    property_quota: dict[str, dict[str, int]] | None,
    numeric_enums: bool,
) -> bytes:
    """The whole body. Rows are spliced in as pre-rendered JSON, so only the small parts
    go through ``json.dumps``; no rows means no ``rows`` key, zero rows no ``rowCount``."""
    parts: list[str] = []
    if builder.header_names:
        headers = [{"name": name} for name in builder.header_names]
        parts.append('"dimensionHeaders":' + _dumps(headers))
    if builder.request.metrics:
        parts.append('"metricHeaders":' + _dumps(metric_headers(builder, numeric_enums)))
    if page.rows_returned:
        parts.append('"rows":[' + page.rows_json + "]")
    if page.row_count:
        parts.append(f'"rowCount":{page.row_count}')
    parts.append('"metadata":' + _dumps(metadata(builder)))
    if property_quota is not None:
        parts.append('"propertyQuota":' + _dumps(property_quota))
    parts.append(f'"kind":"{KIND}"')
    return ("{" + ",".join(parts) + "}").encode()
