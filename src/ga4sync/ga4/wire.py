"""GA4 Data API wire format: RunReportRequest bodies out, RunReportResponse pages in.

Requests are built with the client library's own ``RunReportRequest`` type, so
field names and encodings are Google's. Responses are parsed from plain JSON:
the library's proto-plus parsing costs several times more than ``json.loads``
for a large page, and ga4sync needs only the strings GA4 sends. Proto3 JSON
omits default values, so every field here is optional on the way in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from google.analytics.data_v1beta.types import (
    DateRange,
    Dimension,
    Metric,
    OrderBy,
    RunReportRequest,
)

from ga4sync.collector import collector_paused
from ga4sync.reports import ReportSpec
from ga4sync.store.report_tables import SEPARATOR, StagedRow, staged_dimensions

QUOTA_NAMES = (
    "tokensPerDay",
    "tokensPerHour",
    "concurrentRequests",
    "serverErrorsPerProjectPerHour",
    "potentiallyThresholdedRequestsPerHour",
    "tokensPerProjectPerHour",
)


def build_request(
    property_id: str, spec: ReportSpec, start_date: date, end_date: date, *, page_size: int
) -> dict[str, Any]:
    """The JSON body of a runReport request (offset is set per page).

    Ordering by every dimension keeps offset paging stable between pages.
    """
    request = RunReportRequest(
        property=f"properties/{property_id}",
        dimensions=[Dimension(name=name) for name in spec.dimensions],
        metrics=[Metric(name=name) for name in spec.metrics],
        date_ranges=[DateRange(start_date=start_date.isoformat(), end_date=end_date.isoformat())],
        limit=page_size,
        order_bys=[
            OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=name))
            for name in spec.dimensions
        ],
        return_property_quota=True,
    )
    body: dict[str, Any] = RunReportRequest.to_dict(
        request,
        preserving_proto_field_name=False,
        use_integers_for_enums=False,
        always_print_fields_with_no_presence=False,
    )
    body.pop("property")  # bound in the URL path, not the body
    # Filters are kept in GA4's own JSON shape (checked when the definitions load).
    if spec.dimension_filter is not None:
        body["dimensionFilter"] = spec.dimension_filter
    if spec.metric_filter is not None:
        body["metricFilter"] = spec.metric_filter
    if spec.keep_empty_rows:
        body["keepEmptyRows"] = True
    return body


@dataclass(frozen=True)
class QuotaStatus:
    consumed: int
    remaining: int


@dataclass
class ReportPage:
    """One page of a report, rows ready for the staging table."""

    rows: list[StagedRow]
    rows_read: int  # as sent, duplicates included: what paging advances by
    row_count: int
    dimension_names: list[str]
    metric_names: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    quota: dict[str, QuotaStatus] = field(default_factory=dict)

    @property
    def tokens_consumed(self) -> int:
        status = self.quota.get("tokensPerDay")
        return status.consumed if status else 0

    @property
    def time_zone(self) -> str | None:
        value = self.metadata.get("timeZone")
        return value if isinstance(value, str) else None

    @property
    def currency_code(self) -> str | None:
        value = self.metadata.get("currencyCode")
        return value if isinstance(value, str) else None

    def quality_flags(self) -> dict[str, Any]:
        """What GA4 said about the data: sampling, thresholding, the ``(other)`` row."""
        flags: dict[str, Any] = {}
        if self.metadata.get("samplingMetadatas"):
            flags["sampled"] = True
        if self.metadata.get("subjectToThresholding"):
            flags["thresholded"] = True
        if self.metadata.get("dataLossFromOtherRow"):
            flags["other_row"] = True
        if self.metadata.get("emptyReason"):
            flags["empty_reason"] = self.metadata["emptyReason"]
        return flags


def parse_quota(raw: dict[str, Any] | None) -> dict[str, QuotaStatus]:
    if not raw:
        return {}
    return {
        name: QuotaStatus(int(value.get("consumed", 0)), int(value.get("remaining", 0)))
        for name, value in raw.items()
        if name in QUOTA_NAMES and isinstance(value, dict)
    }


def parse_page(body: bytes | str) -> ReportPage:
    """Parse a runReport response into rows keyed once each (the last duplicate wins)."""
    with collector_paused():
        return _parse_page(body)


def _parse_page(body: bytes | str) -> ReportPage:
    data = json.loads(body)
    dimension_names = [h["name"] for h in data.get("dimensionHeaders", ())]
    metric_names = [h["name"] for h in data.get("metricHeaders", ())]
    staged: dict[tuple[str, str], StagedRow] = {}
    raw_rows = data.get("rows", ())
    join = SEPARATOR.join
    for row in raw_rows:
        # proto3 JSON omits empty strings: a missing "value" is ""
        day, *others = [d.get("value", "") for d in row.get("dimensionValues", ())]
        dims = staged_dimensions(others)
        metrics = join([m.get("value", "") for m in row.get("metricValues", ())])
        staged[day, dims] = (day, dims, metrics)
    return ReportPage(
        rows=list(staged.values()),
        rows_read=len(raw_rows),
        row_count=int(data.get("rowCount", 0)),
        dimension_names=dimension_names,
        metric_names=metric_names,
        metadata=data.get("metadata", {}),
        quota=parse_quota(data.get("propertyQuota")),
    )


def parse_error(body: bytes | str) -> tuple[str, str]:
    """``(google_status, message)`` of a Google error body, tolerant of non-JSON bodies."""
    try:
        error = json.loads(body).get("error", {})
    except (ValueError, AttributeError):
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        return "", text[:500]
    if not isinstance(error, dict):
        return "", str(error)[:500]
    return str(error.get("status", "")), str(error.get("message", ""))


def error_reason(body: bytes | str) -> str | None:
    """The ``reason`` of the ErrorInfo in a Google error body's ``details``, if any.

    Google names a refusal that is not about the resource with one (the API disabled
    for the project: ``SERVICE_DISABLED``; a token without the scope:
    ``ACCESS_TOKEN_SCOPE_INSUFFICIENT``); GA4's "no permission for this property"
    comes without.
    """
    try:
        error = json.loads(body).get("error", {})
    except (ValueError, AttributeError):
        return None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(
            "google.rpc.ErrorInfo"
        ):
            reason = detail.get("reason")
            return str(reason) if reason else None
    return None
