"""The reports ga4sync keeps when no definitions file is configured."""

from __future__ import annotations

from ga4sync.reports.spec import ReportSpec

BUILTIN_REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        name="daily_totals",
        dimensions=("date",),
        metrics=(
            "activeUsers",
            "totalUsers",
            "newUsers",
            "sessions",
            "engagedSessions",
            "screenPageViews",
            "eventCount",
            "averageSessionDuration",
            "bounceRate",
        ),
    ),
    ReportSpec(
        name="traffic_sources",
        dimensions=("date", "sessionSource", "sessionMedium"),
        metrics=("sessions", "activeUsers", "engagedSessions", "keyEvents"),
    ),
    ReportSpec(
        name="pages",
        dimensions=("date", "pagePath"),
        metrics=("screenPageViews", "activeUsers", "userEngagementDuration", "eventCount"),
    ),
)
