"""GA4's standard fields table and the custom field patterns."""

from __future__ import annotations

import pytest

from ga4sync.ga4 import fields


def test_the_table_holds_the_common_fields_with_their_metadata_types() -> None:
    assert len(fields.STANDARD_DIMENSIONS) >= 100
    assert len(fields.STANDARD_METRICS) >= 60
    for name in (
        "date isoYearIsoWeek isoWeek isoYear yearMonth year month week yearWeek day dayOfWeek "
        "hour dateHour sessionSource sessionMedium sessionCampaignName firstUserSource "
        "firstUserDefaultChannelGroup pagePath pageTitle landingPage country region city "
        "deviceCategory browser operatingSystem eventName itemName itemId itemCategory"
    ).split():
        assert name in fields.STANDARD_DIMENSIONS, name
    assert fields.STANDARD_METRICS["activeUsers"] == "TYPE_INTEGER"
    assert fields.STANDARD_METRICS["sessions"] == "TYPE_INTEGER"
    assert fields.STANDARD_METRICS["bounceRate"] == "TYPE_FLOAT"
    assert fields.STANDARD_METRICS["keyEvents"] == "TYPE_FLOAT"
    assert fields.STANDARD_METRICS["averageSessionDuration"] == "TYPE_SECONDS"
    assert fields.STANDARD_METRICS["userEngagementDuration"] == "TYPE_SECONDS"
    assert fields.STANDARD_METRICS["totalRevenue"] == "TYPE_CURRENCY"
    assert fields.STANDARD_METRICS["itemRevenue"] == "TYPE_CURRENCY"
    assert fields.STANDARD_METRICS["adUnitExposure"] == "TYPE_MILLISECONDS"
    assert set(fields.STANDARD_METRICS.values()) <= set(fields.METRIC_TYPES)
    assert not fields.STANDARD_DIMENSIONS & set(fields.STANDARD_METRICS)


def test_every_field_has_metadata() -> None:
    for field in [*fields.DIMENSIONS.values(), *fields.METRICS.values()]:
        assert field.api_name and field.ui_name and field.category and field.description
    assert fields.DIMENSIONS["country"].category == "Geography"
    assert fields.METRICS["sessions"].ui_name == "Sessions"
    assert {"date", "isoYearIsoWeek", "yearMonth", "hour"} <= fields.TIME_DIMENSIONS
    assert "country" not in fields.TIME_DIMENSIONS


@pytest.mark.parametrize(
    ("name", "dimension", "metric"),
    [
        ("customEvent:plan_type", True, True),
        ("customUser:tier", True, False),
        ("customItem:colour_2", True, False),
        ("customEvent:", False, False),
        ("customSession:x", False, False),
        ("customEvent:9lives", False, False),
        ("country", False, False),
    ],
)
def test_custom_field_patterns(name: str, dimension: bool, metric: bool) -> None:
    assert fields.is_custom_dimension(name) is dimension
    assert fields.is_custom_metric(name) is metric


def test_scopes() -> None:
    assert fields.scope_of("itemName") == fields.scope_of("customItem:colour") == "item"
    assert fields.scope_of("itemRevenue") == "item"
    assert fields.scope_of("sessionSource") == fields.scope_of("sessions") == "session"
    assert fields.scope_of("landingPage") == "session"
    assert fields.scope_of("firstUserSource") == fields.scope_of("customUser:tier") == "user"
    assert fields.scope_of("activeUsers") == "user"
    assert fields.scope_of("eventName") == fields.scope_of("customEvent:plan") == "event"
    assert fields.metric_scope("customEvent:credits") == "event"
    assert fields.custom_parameter("customUser:tier") == "tier"
    with pytest.raises(KeyError):
        fields.scope_of("nope")


def test_item_dimensions_go_only_with_item_metrics() -> None:
    assert not fields.incompatible(["date", "itemName"], ["itemRevenue", "itemsViewed"])
    assert fields.incompatible(["date", "itemName"], ["itemRevenue", "sessions"])
    assert fields.incompatible(["customItem:colour"], ["eventCount"])
    assert not fields.incompatible(["date", "sessionSource"], ["itemRevenue", "sessions"])
    assert not fields.incompatible(["itemName"], [])
