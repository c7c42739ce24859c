"""The catalogue: GA4's standard reports by name, for ``[[report]] use = "<name>"``.

Each entry is modelled on one of the reports GA4's interface predefines (and
that BigQuery's GA4 transfer service copies): by day, its table's main
dimension (the one GA4's report opens with) and the metrics of its table,
within GA4's limits of one request and compatible together. ``also_by`` lists
the report's other dimensions, each compatible with the same metrics: a
definition that uses the entry may swap or add them (``dimensions = [...]``).

A definition that uses an entry is an ordinary definition: everything it sets
(``name``, ``grain``, ``dimensions``, ``metrics``, filters, ``properties``,
``lookback_days`` ...) replaces the entry's, and without a ``name`` it is named
after the entry (relation ``ga4_<name>``).

``thresholded`` marks the reports GA4 withholds rows of: demographics and
audiences identify users, so GA4 leaves out rows of too few users (data
thresholds, with Google signals on). ga4sync records what GA4 said of each
read (``subjectToThresholding``) with the dates it covered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ga4sync.reports.spec import ReportSpec

# Where the thresholding flag of each date read is kept, as the catalogue says.
THRESHOLD_NOTE = (
    "GA4 may withhold rows of few users (data thresholds): each date read says so in"
    " ga4_coverage.quality (and each run in ga4_property_runs.data_quality)"
)


@dataclass(frozen=True)
class StandardReport:
    """One entry: what ``use`` names, GA4's name for the report, and its fields."""

    name: str
    title: str
    about: str
    dimensions: tuple[str, ...]  # after the grain's, which comes first by itself
    metrics: tuple[str, ...]
    also_by: tuple[str, ...] = ()
    thresholded: bool = False

    def spec(self) -> ReportSpec:
        """The entry as a definition of its own name, by day."""
        return ReportSpec(self.name, ("date", *self.dimensions), self.metrics)


_ENTRIES = (
    StandardReport(
        name="audiences",
        title="Audiences",
        about="users and sessions of each audience the users belonged to that day",
        dimensions=("audienceName",),
        metrics=(
            "totalUsers",
            "newUsers",
            "sessions",
            "screenPageViewsPerSession",
            "averageSessionDuration",
            "totalRevenue",
        ),
        also_by=("audienceId",),
        thresholded=True,
    ),
    StandardReport(
        name="demographic_details",
        title="Demographic details",
        about="users by country, age bracket and gender",
        dimensions=("country", "userAgeBracket", "userGender"),
        metrics=(
            "activeUsers",
            "newUsers",
            "totalUsers",
            "engagedSessions",
            "engagementRate",
            "eventCount",
            "keyEvents",
            "userKeyEventRate",
            "userEngagementDuration",
            "totalRevenue",
        ),
        also_by=("region", "city", "language", "brandingInterest"),
        thresholded=True,
    ),
    StandardReport(
        name="ecommerce_purchases",
        title="Ecommerce purchases",
        about="each item's views, carts, checkouts, purchases and revenue",
        dimensions=("itemName",),
        metrics=(
            "itemsViewed",
            "itemsAddedToCart",
            "itemsCheckedOut",
            "itemsPurchased",
            "itemRevenue",
            "cartToViewRate",
            "purchaseToViewRate",
        ),
        also_by=("itemId", "itemBrand", "itemCategory", "itemCategory2", "itemVariant"),
    ),
    StandardReport(
        name="events",
        title="Events",
        about="how often each event was logged, and by how many users",
        dimensions=("eventName",),
        metrics=("eventCount", "totalUsers", "eventCountPerUser", "totalRevenue"),
        also_by=("isKeyEvent",),
    ),
    StandardReport(
        name="landing_page",
        title="Landing page",
        about="the sessions that began on each page, and what they led to",
        dimensions=("landingPage",),
        metrics=(
            "sessions",
            "activeUsers",
            "newUsers",
            "userEngagementDuration",
            "keyEvents",
            "sessionKeyEventRate",
            "totalRevenue",
        ),
        also_by=("landingPagePlusQueryString",),
    ),
    StandardReport(
        name="pages_and_screens",
        title="Pages and screens",
        about="views, users and engagement of each web page path or app screen class",
        dimensions=("unifiedPagePathScreen",),
        metrics=(
            "screenPageViews",
            "activeUsers",
            "screenPageViewsPerUser",
            "userEngagementDuration",
            "eventCount",
            "keyEvents",
            "totalRevenue",
        ),
        also_by=("unifiedScreenClass", "unifiedScreenName", "contentGroup"),
    ),
    StandardReport(
        name="promotions",
        title="Promotions",
        about="each promotion's item views and clicks, and the carts and purchases after",
        dimensions=("itemPromotionName",),
        metrics=(
            "itemsViewedInPromotion",
            "itemsClickedInPromotion",
            "itemPromotionClickThroughRate",
            "itemsAddedToCart",
            "itemsCheckedOut",
            "itemsPurchased",
            "itemRevenue",
        ),
        also_by=("itemPromotionId", "itemPromotionCreativeName", "itemPromotionCreativeSlot"),
    ),
    StandardReport(
        name="tech_details",
        title="Tech details",
        about="users by device category, operating system and browser",
        dimensions=("deviceCategory", "operatingSystem", "browser"),
        metrics=(
            "activeUsers",
            "newUsers",
            "engagedSessions",
            "engagementRate",
            "eventCount",
            "keyEvents",
            "userEngagementDuration",
            "totalRevenue",
        ),
        also_by=(
            "platform",
            "platformDeviceCategory",
            "operatingSystemVersion",
            "operatingSystemWithVersion",
            "screenResolution",
            "appVersion",
        ),
    ),
    StandardReport(
        name="traffic_acquisition",
        title="Traffic acquisition",
        about="where sessions came from: each session's default channel group",
        dimensions=("sessionDefaultChannelGroup",),
        metrics=(
            "sessions",
            "engagedSessions",
            "engagementRate",
            "userEngagementDuration",
            "eventsPerSession",
            "eventCount",
            "keyEvents",
            "sessionKeyEventRate",
            "totalRevenue",
            "activeUsers",
        ),
        also_by=(
            "sessionSource",
            "sessionMedium",
            "sessionSourceMedium",
            "sessionCampaignName",
            "sessionPrimaryChannelGroup",
            "sessionSourcePlatform",
        ),
    ),
    StandardReport(
        name="user_acquisition",
        title="User acquisition",
        about="where users first came from: the default channel group that acquired them",
        dimensions=("firstUserDefaultChannelGroup",),
        metrics=(
            "totalUsers",
            "newUsers",
            "activeUsers",
            "engagedSessions",
            "engagementRate",
            "userEngagementDuration",
            "eventCount",
            "keyEvents",
            "userKeyEventRate",
            "totalRevenue",
        ),
        also_by=(
            "firstUserSource",
            "firstUserMedium",
            "firstUserSourceMedium",
            "firstUserCampaignName",
            "firstUserPrimaryChannelGroup",
            "firstUserSourcePlatform",
        ),
    ),
)

STANDARD_REPORTS: Mapping[str, StandardReport] = MappingProxyType(
    {entry.name: entry for entry in _ENTRIES}
)
"""The catalogue's entries by name, in alphabetical order."""


def describe_catalogue() -> list[dict[str, Any]]:
    """The catalogue as ``ga4sync reports catalog --json`` prints it: each entry's
    fields, its relation's columns, and where GA4's thresholding shows."""
    described = []
    for entry in STANDARD_REPORTS.values():
        spec = entry.spec()
        described.append(
            {
                "name": entry.name,
                "ga4_report": entry.title,
                "about": entry.about,
                "relation": spec.relation,
                "grain": spec.grain,
                "dimensions": list(spec.dimensions),
                "metrics": list(spec.metrics),
                "also_by": list(entry.also_by),
                "columns": [
                    {"name": c.name, "type": c.sql_type, "field": c.field, "kind": c.kind}
                    for c in spec.columns
                ],
                "thresholded": entry.thresholded,
                "data_quality": THRESHOLD_NOTE if entry.thresholded else None,
            }
        )
    return described


def format_catalogue(described: Sequence[Mapping[str, Any]]) -> str:
    """``ga4sync reports catalog`` as text."""
    lines = [
        'GA4\'s standard reports: in GA4SYNC_REPORTS, [[report]] use = "<name>" syncs one,'
        " by day, into ga4_<name>",
        "(name, grain, dimensions, metrics, filters, properties, lookback_days,"
        " backfill_days set in the same table replace the entry's)",
    ]
    for entry in described:
        lines.append("")
        lines.append(f"{entry['name']}  (GA4: {entry['ga4_report']}): {entry['about']}")
        lines.append(f"  dimensions  {', '.join(entry['dimensions'])}")
        lines.append(f"  metrics     {', '.join(entry['metrics'])}")
        if entry["also_by"]:
            lines.append(f"  also by     {', '.join(entry['also_by'])}")
        lines.append(f"  relation    {entry['relation']}")
        if entry["thresholded"]:
            lines.append(f"  thresholded {entry['data_quality']}")
    return "\n".join(lines)
