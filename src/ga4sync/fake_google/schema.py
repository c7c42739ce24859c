"""The fields one fake property has: GA4's standard ones plus its custom definitions.

Answers the Metadata method (``GET /v1beta/properties/{id}/metadata``) and
``checkCompatibility`` in proto3 JSON, and says which fields a runReport may use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ga4sync.ga4 import fields

from .catalog import METRIC_TYPE_NUMBERS, METRICS, Metric, custom_metric

_SCOPE_WORDS = {"event": "An event", "user": "A user", "item": "An item"}
COMPATIBILITY_NUMBERS = {"COMPATIBLE": 1, "INCOMPATIBLE": 2}


def incompatibility_message(names: Sequence[str]) -> str:
    """GA4's 400 message for a report whose fields cannot go together."""
    return (
        f"Please remove {', '.join(names)} to make the request compatible. The request's "
        "dimensions & metrics are incompatible. To learn more, see "
        "https://ga-dev-tools.google/ga4/dimensions-metrics-explorer/"
    )


@dataclass(frozen=True)
class PropertySchema:
    """Standard fields plus a property's custom dimensions (with their values, None for
    generated ones) and custom metrics (apiName -> MetricType name)."""

    custom_dimensions: Mapping[str, tuple[str, ...] | None] = field(
        default_factory=lambda: MappingProxyType({})
    )
    custom_metrics: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def is_dimension(self, name: str) -> bool:
        return name in fields.DIMENSIONS or name in self.custom_dimensions

    def is_metric(self, name: str) -> bool:
        return name in fields.METRICS or name in self.custom_metrics

    def metric(self, name: str) -> Metric:
        """How the fake draws and combines the values of a standard or custom metric."""
        kind = self.custom_metrics.get(name)
        if kind is not None:
            return custom_metric(name, kind)
        return METRICS[name]

    def incompatible_fields(self, dimensions: Iterable[str], metrics: Iterable[str]) -> list[str]:
        """The fields that keep these from one report: item-scoped dimensions when any
        metric is not item-scoped (empty when they go together)."""
        items = [d for d in dimensions if fields.dimension_scope(d) == "item"]
        if items and any(fields.metric_scope(m) != "item" for m in metrics):
            return items
        return []

    # --- Metadata ------------------------------------------------------------------------

    def dimension_metadata(self, name: str) -> dict[str, Any]:
        """A DimensionMetadata: false and empty fields left out, as proto3 JSON does."""
        if name in self.custom_dimensions:
            scope = _SCOPE_WORDS[fields.dimension_scope(name)]
            return {
                "apiName": name,
                "uiName": fields.custom_parameter(name),
                "description": f"{scope} scoped custom dimension for your Analytics property.",
                "customDefinition": True,
                "category": "Custom",
            }
        info = fields.DIMENSIONS[name]
        return {
            "apiName": name,
            "uiName": info.ui_name,
            "description": info.description,
            "category": info.category,
        }

    def metric_metadata(self, name: str, numeric_enums: bool = False) -> dict[str, Any]:
        """A MetricMetadata; ``type`` as its enum name, or number for ``enum-encoding=int``."""
        if name in self.custom_metrics:
            kind = self.custom_metrics[name]
            entry: dict[str, Any] = {
                "apiName": name,
                "uiName": fields.custom_parameter(name),
                "description": "An event scoped custom metric for your Analytics property.",
                "type": kind,
                "customDefinition": True,
                "category": "Custom",
            }
        else:
            info = fields.METRICS[name]
            entry = {
                "apiName": name,
                "uiName": info.ui_name,
                "description": info.description,
                "type": info.type,
                "category": info.category,
            }
        if numeric_enums:
            entry["type"] = METRIC_TYPE_NUMBERS[entry["type"]]
        return entry

    def dimension_names(self) -> list[str]:
        return [*fields.DIMENSIONS, *self.custom_dimensions]

    def metric_names(self) -> list[str]:
        return [*fields.METRICS, *self.custom_metrics]

    def metadata(self, property_id: str, numeric_enums: bool = False) -> dict[str, Any]:
        """The Metadata resource of ``properties/{property_id}/metadata``."""
        return {
            "name": f"properties/{property_id}/metadata",
            "dimensions": [self.dimension_metadata(d) for d in self.dimension_names()],
            "metrics": [self.metric_metadata(m, numeric_enums) for m in self.metric_names()],
        }

    # --- checkCompatibility --------------------------------------------------------------

    def compatibility(
        self,
        dimensions: Sequence[str],
        metrics: Sequence[str],
        only: str | None = None,
        numeric_enums: bool = False,
    ) -> dict[str, Any]:
        """A CheckCompatibilityResponse for a request of these fields (filters' included).

        Every field of the property is listed, COMPATIBLE when it can be in one report
        with each of the request's other fields, INCOMPATIBLE otherwise; ``only``
        (the request's compatibilityFilter) keeps one of the two.
        """

        def verdict(ok: bool) -> str | int:
            name = "COMPATIBLE" if ok else "INCOMPATIBLE"
            return COMPATIBILITY_NUMBERS[name] if numeric_enums else name

        def keep(ok: bool) -> bool:
            return only is None or only == ("COMPATIBLE" if ok else "INCOMPATIBLE")

        item_metrics = all(fields.metric_scope(m) == "item" for m in metrics)
        item_dimensions = any(fields.dimension_scope(d) == "item" for d in dimensions)
        dimension_results = []
        for name in self.dimension_names():
            ok = fields.dimension_scope(name) != "item" or item_metrics
            if keep(ok):
                entry = {"dimensionMetadata": self.dimension_metadata(name)}
                dimension_results.append({**entry, "compatibility": verdict(ok)})
        metric_results = []
        for name in self.metric_names():
            ok = fields.metric_scope(name) == "item" or not item_dimensions
            if keep(ok):
                entry = {"metricMetadata": self.metric_metadata(name, numeric_enums)}
                metric_results.append({**entry, "compatibility": verdict(ok)})
        answer: dict[str, Any] = {}
        if dimension_results:
            answer["dimensionCompatibilities"] = dimension_results
        if metric_results:
            answer["metricCompatibilities"] = metric_results
        return answer


STANDARD = PropertySchema()


def compatibility_filter(value: Any) -> str | None:
    """The compatibilityFilter of a request (name or enum number); None for none."""
    if value in (None, 0, "COMPATIBILITY_UNSPECIFIED"):
        return None
    for name, number in COMPATIBILITY_NUMBERS.items():
        if value in (name, number):
            return name
    enum = "type.googleapis.com/google.analytics.data.v1beta.Compatibility"
    raise ValueError(f"Invalid value at 'compatibility_filter' ({enum}), \"{value}\"")
