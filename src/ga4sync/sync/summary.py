"""What an ingestion did: per-property results and the summary that becomes a job message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ga4sync.ga4.quota import ReserveReached


@dataclass
class PropertyResult:
    property_ref: int
    property_id: str
    # The user whose Google grant read the property (None until one was used).
    user_id: uuid.UUID | None = None
    status: str = "running"
    rows_fetched: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    # Rows GA4 no longer returned for a date read completely.
    rows_deleted: int = 0
    tokens_consumed: int = 0
    duration_ms: int = 0
    error: str | None = None
    # The failure needs a person (a grant to reconnect, access lost, a request GA4
    # refuses for good, an unknown time zone): trying again later changes nothing.
    permanent: bool = False
    retry_after_s: float | None = None
    data_quality: dict[str, Any] = field(default_factory=dict)
    quota: dict[str, Any] | None = None
    # What GA4's response metadata said the property uses.
    time_zone: str | None = None
    currency_code: str | None = None
    # Dates of history (older than the recent window) still to read after this run.
    history_days_left: int = 0
    # Why history stopped before its end: the quota reserve, and when it returns.
    history_paused: ReserveReached | None = None

    @property
    def rows_written(self) -> int:
        return self.rows_inserted + self.rows_updated


@dataclass
class IngestSummary:
    results: list[PropertyResult] = field(default_factory=list)
    duration_s: float = 0.0

    def _count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def properties_total(self) -> int:
        return len(self.results)

    @property
    def properties_succeeded(self) -> int:
        return self._count("success")

    @property
    def properties_skipped(self) -> int:
        """Counted in without syncing (disabled or removed meanwhile): not a failure."""
        return self._count("skipped")

    @property
    def properties_failed(self) -> int:
        """Properties that could not be synced: failed, needing re-auth, deferred by quota."""
        return self.properties_total - self.properties_succeeded - self.properties_skipped

    @property
    def rows_fetched(self) -> int:
        return sum(r.rows_fetched for r in self.results)

    @property
    def rows_inserted(self) -> int:
        return sum(r.rows_inserted for r in self.results)

    @property
    def rows_updated(self) -> int:
        return sum(r.rows_updated for r in self.results)

    @property
    def rows_unchanged(self) -> int:
        return sum(r.rows_unchanged for r in self.results)

    @property
    def rows_written(self) -> int:
        return self.rows_inserted + self.rows_updated

    @property
    def rows_deleted(self) -> int:
        return sum(r.rows_deleted for r in self.results)

    @property
    def history_days_left(self) -> int:
        return sum(r.history_days_left for r in self.results)

    @property
    def tokens_consumed(self) -> int:
        return sum(r.tokens_consumed for r in self.results)

    @property
    def ok(self) -> bool:
        return self.properties_succeeded == self.properties_total

    def message(self) -> str:
        """One paragraph for a job's ``message`` and the CLI."""
        if not self.results:
            return "No enabled GA4 properties to sync."
        failed = f" ({self.properties_failed} failed)" if self.properties_failed else ""
        text = (
            f"Synced {self.properties_succeeded}/{self.properties_total} properties{failed} in "
            f"{self.duration_s:.1f}s: {self.rows_fetched:,} rows fetched, "
            f"{self.rows_written:,} written ({self.rows_inserted:,} new, "
            f"{self.rows_updated:,} updated), {self.rows_unchanged:,} unchanged"
            + (f", {self.rows_deleted:,} deleted" if self.rows_deleted else "")
            + f"; {self.tokens_consumed:,} GA4 tokens."
        )
        if self.history_days_left:
            text += f" History goes on in the background: {self.history_days_left:,} days to read."
        problems = [r for r in self.results if r.status != "success"]
        if problems:
            shown = "; ".join(
                f"{r.property_id}: {r.status}" + (f" ({r.error})" if r.error else "")
                for r in problems[:5]
            )
            more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
            text += f" Not synced: {shown}{more}."
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "properties_total": self.properties_total,
            "properties_succeeded": self.properties_succeeded,
            "properties_failed": self.properties_failed,
            "rows_fetched": self.rows_fetched,
            "rows_inserted": self.rows_inserted,
            "rows_updated": self.rows_updated,
            "rows_unchanged": self.rows_unchanged,
            "rows_deleted": self.rows_deleted,
            "history_days_left": self.history_days_left,
            "tokens_consumed": self.tokens_consumed,
            "duration_s": round(self.duration_s, 3),
            "failures": [
                {"property_id": r.property_id, "status": r.status, "error": r.error}
                for r in self.results
                if r.status != "success"
            ],
        }
