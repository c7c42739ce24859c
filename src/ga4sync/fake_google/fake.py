"""FakeGoogle: the configurable state behind the fake GA4 Data and Admin APIs and Google OAuth."""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ga4sync.ga4 import fields

from .accounts import AccountDirectory, GaAccount, PropertySpec
from .catalog import CATEGORICAL_DIMENSIONS
from .errors import OAUTH_SERVER_ERRORS, QUOTA_KINDS, STATUS_NAMES
from .report import PropertyConfig
from .server import make_app, serve, serve_in_thread
from .tokens import TokenStore

PACIFIC = ZoneInfo("America/Los_Angeles")

# Standard (non-360) property limits. Each runReport costs 1 + rows_returned // 10000
# tokens, charged to the daily, hourly and per-project hourly buckets alike.
DEFAULT_QUOTA_LIMITS = {
    "tokensPerDay": 200_000,
    "tokensPerHour": 40_000,
    "concurrentRequests": 10,
    "serverErrorsPerProjectPerHour": 10,
    "potentiallyThresholdedRequestsPerHour": 120,
    "tokensPerProjectPerHour": 14_000,
}
# An Analytics 360 property's limits: ten times the tokens, five times the requests.
ANALYTICS_360_QUOTA_LIMITS = {
    "tokensPerDay": 2_000_000,
    "tokensPerHour": 400_000,
    "concurrentRequests": 50,
    "serverErrorsPerProjectPerHour": 50,
    "potentiallyThresholdedRequestsPerHour": 120,
    "tokensPerProjectPerHour": 140_000,
}


# GA4's realtime quota: a category of its own, with buckets of the same sizes as
# the core ones. A runRealtimeReport spends these and never the core buckets.
DEFAULT_REALTIME_QUOTA_LIMITS = dict(DEFAULT_QUOTA_LIMITS)
ANALYTICS_360_REALTIME_QUOTA_LIMITS = dict(ANALYTICS_360_QUOTA_LIMITS)


def token_cost(rows_returned: int) -> int:
    """Quota tokens charged for one runReport answer."""
    return 1 + rows_returned // 10_000


def _quota_status(consumed: int, remaining: int) -> dict[str, int]:
    status: dict[str, int] = {}
    if consumed:
        status["consumed"] = consumed
    if remaining:
        status["remaining"] = remaining
    return status


def _yyyymmdd(day: str | date) -> str:
    if isinstance(day, date):
        return day.strftime("%Y%m%d")
    return day.replace("-", "")


def _as_date(day: str | date | None) -> date | None:
    """A date from ``YYYY-MM-DD``, ``YYYYMMDD`` or a date."""
    if day is None or isinstance(day, date):
        return day
    return datetime.strptime(day.replace("-", ""), "%Y%m%d").date()


def _row_key(
    day: str | date, dimensions: dict[str, str], config: PropertyConfig
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A row of a report of ``date`` and exactly the ``dimensions`` named."""
    unknown = {
        d
        for d in dimensions
        if d not in CATEGORICAL_DIMENSIONS and d not in config.custom_dimensions
    }
    if unknown:
        raise ValueError(f"not a non-time dimension: {sorted(unknown)}")
    return _yyyymmdd(day), tuple(sorted((d, str(v)) for d, v in dimensions.items()))


def _custom_dimensions(
    declared: Mapping[str, Sequence[str] | None],
) -> dict[str, tuple[str, ...] | None]:
    checked: dict[str, tuple[str, ...] | None] = {}
    for name, values in declared.items():
        if not fields.is_custom_dimension(name):
            raise ValueError(
                f"{name!r} is not a custom dimension: customEvent:, customUser: or customItem:"
                " followed by a parameter name"
            )
        if isinstance(values, str):
            raise ValueError(f"{name}: give a list of values, not one string")
        if values is not None:
            values = tuple(str(v) for v in values)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name}: values must be distinct and at least one")
        checked[name] = values
    return checked


def _custom_metrics(declared: Mapping[str, str]) -> dict[str, str]:
    for name, kind in declared.items():
        if not fields.is_custom_metric(name):
            raise ValueError(f"{name!r} is not a custom metric: customEvent:<parameter>")
        if kind not in fields.METRIC_TYPES:
            raise ValueError(
                f"{name}: {kind!r} is not a metric type ({', '.join(fields.METRIC_TYPES)})"
            )
    return dict(declared)


class FakeGoogle(TokenStore):
    """A fake of Google's GA4 Data API (``runReport``), Admin API (account summaries and
    properties) and OAuth endpoints (consent, token, revoke), with deterministic data.

    Configure it with the methods below, serve it with :meth:`serve` (asyncio) or
    :meth:`serve_in_thread` (blocking clients), and inspect what clients did:

    * ``indented_answers``: how many Data or Admin API answers were indented, as
      Google indents them unless the request says ``prettyPrint=false``;
    * ``report_requests``: ``(property_id, body)`` of every runReport request in arrival
      order, refused ones included (``{}`` when the body is not a JSON object);
    * ``token_requests``: the refresh token of every refresh_token grant;
    * ``max_concurrency``: most runReport requests in flight at once per property,
      counting a request refused for exceeding the concurrency limit;
    * ``in_flight``: runReport requests in flight per property now;
    * ``quota_used``: tokens charged per property in the current quota day;
    * ``authorization_requests``: query parameters of every consent-screen request;
    * ``issued_refresh_tokens``: refresh token -> Google account, for code exchanges;
    * ``revoked``: every token revoked through ``/revoke``, in order;
    * ``admin_requests``: ``(path, query string)`` of every Admin API request;
    * ``metadata_requests``: the property ID of every getMetadata request;
    * ``compatibility_requests``: ``(property_id, body)`` of every checkCompatibility
      request;
    * ``realtime_requests``: ``(property_id, body)`` of every runRealtimeReport request,
      refused ones included; ``realtime_answers``: ``(property_id, answer)`` of every
      one answered, the answer as sent (``propertyQuota`` included when asked);
    * ``realtime_quota_used``: realtime tokens charged per property in the current
      quota day (the core ones are in ``quota_used``).

    Settable at any time: ``latency_s`` (added per runReport while in flight),
    ``hold_reports`` (while true, runReport requests that passed the concurrency
    and quota checks wait in flight, counted in ``in_flight``, until it is false again),
    ``tokens_expire_in_s``, ``codes_expire_in_s`` (authorization codes, 10 minutes),
    ``quota_limits`` (the bucket sizes of each standard property),
    ``analytics_360_quota_limits`` (those of each Analytics 360 property; one property's
    own with :meth:`set_quota_limits`), ``generic_quota_errors`` (refuse an
    exhausted quota with Google's generic "Resource has been exhausted" message, which
    names no quota, instead of the bucket's own), ``realtime_quota_limits`` and
    ``analytics_360_realtime_quota_limits`` (the realtime buckets' sizes; one
    property's own with :meth:`set_realtime_quota_limits`), ``realtime_clock`` (the
    seconds since the epoch realtime answers are computed at: ``time.time`` unless
    set), ``default_cardinality``,
    ``default_custom_dimensions`` and ``default_custom_metrics`` (for properties never
    added) and ``admin_page_size_max`` (the cap on accountSummaries' pageSize).
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed
        self.latency_s = 0.0
        self.hold_reports = False
        self.quota_limits: dict[str, int] = dict(DEFAULT_QUOTA_LIMITS)
        self.analytics_360_quota_limits: dict[str, int] = dict(ANALYTICS_360_QUOTA_LIMITS)
        self._property_quota_limits: dict[str, dict[str, int]] = {}
        self.generic_quota_errors = False
        # Cardinality of properties that were never added with add_property.
        self.default_cardinality = 10
        # Custom definitions of properties that were never added (see add_custom_fields).
        self.default_custom_dimensions: dict[str, tuple[str, ...] | None] = {}
        self.default_custom_metrics: dict[str, str] = {}
        self.report_requests: list[tuple[str, dict[str, Any]]] = []
        self.indented_answers = 0
        self.admin_requests: list[tuple[str, str]] = []
        self.metadata_requests: list[str] = []
        self.compatibility_requests: list[tuple[str, dict[str, Any]]] = []
        self.admin_page_size_max = 200
        self.realtime_requests: list[tuple[str, dict[str, Any]]] = []
        self.realtime_answers: list[tuple[str, dict[str, Any]]] = []
        self.realtime_quota_limits: dict[str, int] = dict(DEFAULT_REALTIME_QUOTA_LIMITS)
        self.analytics_360_realtime_quota_limits: dict[str, int] = dict(
            ANALYTICS_360_REALTIME_QUOTA_LIMITS
        )
        self._property_realtime_quota_limits: dict[str, dict[str, int]] = {}
        self.realtime_quota_used: dict[str, int] = {}
        self.realtime_in_flight: dict[str, int] = {}
        self.realtime_clock: Callable[[], float] = time.time
        self._realtime_failures: dict[str, deque[tuple[int, str | None]]] = {}
        self._realtime_day: dict[str, date] = {}
        self.directory = AccountDirectory()
        self.max_concurrency: dict[str, int] = {}
        # Tokens charged per property in the current quota day (midnight Pacific resets it).
        self.quota_used: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self._properties: dict[str, PropertyConfig] = {}
        self._removed: set[str] = set()
        # property id -> refresh tokens and Google accounts that may not read it
        self._denied: dict[str, set[str]] = {}
        self._today: date | None = None
        # None lets one request through (fail_next's ``after``)
        self._failures: dict[str, deque[tuple[int, str | None] | None]] = {}
        # None lets one request through (fail_next_admin's ``after``)
        self._admin_failures: deque[int | None] = deque()
        self._oauth_failures: deque[int] = deque()
        self._windows: dict[tuple[str, str], tuple[object, int]] = {}
        self._quota_day: dict[str, date] = {}

    # --- properties and data -------------------------------------------------------------

    def add_property(
        self,
        property_id: str,
        *,
        time_zone: str = "America/Los_Angeles",
        cardinality: int = 10,
        currency_code: str = "USD",
        thresholded: bool = False,
        sampled: bool = False,
        other_row: bool = False,
        first_date: str | date | None = None,
        analytics_360: bool = False,
        custom_dimensions: Mapping[str, Sequence[str] | None] | None = None,
        custom_metrics: Mapping[str, str] | None = None,
        plausible: bool = False,
    ) -> None:
        """Configure a property; ``cardinality`` = distinct values of each non-time
        dimension (dimensions with a fixed set of values, such as ``hour``, have them all).

        A ``plausible`` property's data looks like a real one's (GA4's device
        categories, users fewer than sessions ...; see :mod:`.plausible`), as the
        demo's do; the default draws each metric on its own, which tests rely on.

        ``first_date`` is the property's first date with data (None: every date has
        data): runReport has no rows for the dates before it. An ``analytics_360``
        property has the service level ``GOOGLE_ANALYTICS_360`` in the Admin API and
        the quotas of one (``analytics_360_quota_limits``).

        ``custom_dimensions`` declares the property's custom dimensions, each
        ``customEvent:<parameter>``, ``customUser:<property>`` or
        ``customItem:<parameter>`` mapped to its values (None: ``cardinality`` generated
        ones, ``"<parameter> 0"`` ...); ``custom_metrics`` its custom metrics,
        ``customEvent:<parameter>`` mapped to a MetricType name (``TYPE_INTEGER``,
        ``TYPE_CURRENCY`` ...). getMetadata lists them (``customDefinition: true``),
        runReport serves them, checkCompatibility judges them by their scope. Left out
        (None), the property keeps the custom definitions it had, as it keeps values
        changed with :meth:`override_metric`, rows hidden with :meth:`hide_row` and
        :meth:`answer_short`. Adding a property brings back one :meth:`remove_property`
        took away.
        """
        ZoneInfo(time_zone)  # fail early on an unknown zone
        if cardinality < 1:
            raise ValueError("cardinality must be at least 1")
        old = self._properties.get(property_id)
        if custom_dimensions is not None:
            dimensions = _custom_dimensions(custom_dimensions)
        else:
            dimensions = dict(old.custom_dimensions if old else self.default_custom_dimensions)
        if custom_metrics is not None:
            metrics = _custom_metrics(custom_metrics)
        else:
            metrics = dict(old.custom_metrics if old else self.default_custom_metrics)
        self._removed.discard(property_id)
        self._properties[property_id] = PropertyConfig(
            time_zone=time_zone,
            cardinality=cardinality,
            currency_code=currency_code,
            thresholded=thresholded,
            sampled=sampled,
            other_row=other_row,
            analytics_360=analytics_360,
            today=old.today if old else None,
            first_date=_as_date(first_date),
            overrides=old.overrides if old else {},
            hidden_rows=old.hidden_rows if old else set(),
            short_rows=old.short_rows if old else 0,
            custom_dimensions=dimensions,
            custom_metrics=metrics,
            plausible=plausible,
        )

    def add_custom_fields(
        self,
        property_id: str | None,
        *,
        dimensions: Mapping[str, Sequence[str] | None] | None = None,
        metrics: Mapping[str, str] | None = None,
    ) -> None:
        """Add custom dimensions and metrics to a property (see :meth:`add_property`),
        keeping those it has; a name declared again gets the new values or type.
        ``property_id=None`` gives them to every property added from now on or never
        added (``default_custom_dimensions`` and ``default_custom_metrics``)."""
        if property_id is None:
            self.default_custom_dimensions.update(_custom_dimensions(dimensions or {}))
            self.default_custom_metrics.update(_custom_metrics(metrics or {}))
            return
        config = self.property(property_id)
        config.custom_dimensions.update(_custom_dimensions(dimensions or {}))
        config.custom_metrics.update(_custom_metrics(metrics or {}))

    def remove_property(self, property_id: str) -> None:
        """The property is gone for every caller (deleted, or access revoked): runReport,
        getMetadata and checkCompatibility answer 403 PERMISSION_DENIED, as GA4 does
        for a property one cannot see. :meth:`add_property` brings it back."""
        self._removed.add(property_id)

    def is_removed(self, property_id: str) -> bool:
        """Whether :meth:`remove_property` took the property away."""
        return property_id in self._removed

    def deny_access(self, property_id: str, who: str) -> None:
        """One caller may no longer read the property: ``who`` is a refresh token (its
        grant's access tokens) or a Google account (every grant of it). runReport,
        getMetadata and checkCompatibility answer them 403 PERMISSION_DENIED, as GA4
        does for a user whose access to the property was removed; other callers read
        it as before. The Admin API's listing is not changed: give the account its
        properties again with :meth:`add_google_account` for that.
        :meth:`allow_access` undoes it."""
        self._denied.setdefault(property_id, set()).add(who)

    def allow_access(self, property_id: str, who: str) -> None:
        """Undo :meth:`deny_access`."""
        self._denied.get(property_id, set()).discard(who)

    def access_denied(self, authorization: str | None, property_id: str) -> bool:
        """Whether the (live) token in the Authorization header may not read the property."""
        denied = self._denied.get(property_id)
        if not denied:
            return False
        grant = self.bearer_grant(authorization)
        owner = self.bearer_refresh_token(authorization)
        return owner in denied or (grant is not None and grant.account in denied)

    def add_google_account(
        self, email: str, properties: Iterable[PropertySpec] = (), *, accounts: int = 1
    ) -> tuple[GaAccount, ...]:
        """A Google user who can see ``properties`` spread over ``accounts`` GA4 accounts.

        Each property is ``(property_id, display_name, time_zone)``, optionally followed
        by an industryCategory. The Admin API lists them for tokens of this user, and
        runReport serves them in their time zone (other settings kept if already added).
        The first Google account added approves consent screens unless :meth:`consent_as`
        names another. Adding the same user again replaces their accounts.
        """
        built = self.directory.add(email, properties, accounts, self.seed)
        for account in built:
            for prop in account.properties:
                config = self._properties.get(prop.property_id)
                if config is None:
                    self.add_property(prop.property_id, time_zone=prop.time_zone)
                else:
                    config.time_zone = prop.time_zone
        if self._first_account is None:
            self._first_account = email
        return built

    def property(self, property_id: str) -> PropertyConfig:
        """The property's configuration (defaults for properties never added)."""
        config = self._properties.get(property_id)
        if config is None:
            config = PropertyConfig(
                cardinality=self.default_cardinality,
                custom_dimensions=dict(self.default_custom_dimensions),
                custom_metrics=dict(self.default_custom_metrics),
            )
            self._properties[property_id] = config
        return config

    def override_metric(
        self,
        property_id: str,
        *,
        date: str | dt.date,
        dimensions: dict[str, str],
        metric: str,
        value: str,
    ) -> None:
        """Change one value: the row of ``date`` whose non-date dimensions equal ``dimensions``.

        Applies to reports that request ``date`` and exactly these other dimensions, and
        to the weeks, months and other days-added-up rows of reports by these dimensions.
        """
        config = self.property(property_id)
        if not config.schema.is_metric(metric):
            raise ValueError(f"unknown metric {metric!r}")
        day, dims = _row_key(date, dimensions, config)
        config.overrides[(day, dims, metric)] = str(value)

    def hide_row(
        self, property_id: str, *, date: str | dt.date, dimensions: dict[str, str]
    ) -> None:
        """Stop returning one row from now on, as GA4 does when it revises a day.

        The row is that of ``date`` whose non-date dimensions equal ``dimensions``, in
        reports that request ``date`` and exactly these other dimensions: they answer
        without it, and ``rowCount`` no longer counts it. :meth:`show_row` brings it back.
        """
        config = self.property(property_id)
        config.hidden_rows.add(_row_key(date, dimensions, config))

    def show_row(
        self, property_id: str, *, date: str | dt.date, dimensions: dict[str, str]
    ) -> None:
        """Return a row hidden with :meth:`hide_row` again."""
        config = self.property(property_id)
        config.hidden_rows.discard(_row_key(date, dimensions, config))

    def set_first_date(self, property_id: str, day: str | dt.date | None) -> None:
        """Set the property's first date with data (None: every date has data)."""
        self.property(property_id).first_date = _as_date(day)

    def answer_short(self, property_id: str, missing: int = 1) -> None:
        """Leave the last ``missing`` rows out of every report of the property from now
        on, while ``rowCount`` still counts them: a reader paging to ``rowCount`` comes
        up short, its last page answered with fewer rows and the next with none.
        ``missing=0`` answers in full again."""
        if missing < 0:
            raise ValueError("missing must not be negative")
        self.property(property_id).short_rows = missing

    def set_today(self, day: str | date | None, property_id: str | None = None) -> None:
        """Fix 'today' for relative dates and clipping (one property or all); None = real today."""
        value = date.fromisoformat(day) if isinstance(day, str) else day
        if property_id is None:
            self._today = value
        else:
            self.property(property_id).today = value

    def today(self, property_id: str) -> date:
        """'today' for the property: fixed by :meth:`set_today`, else the date in its zone."""
        config = self.property(property_id)
        fixed = config.today or self._today
        return fixed or datetime.now(ZoneInfo(config.time_zone)).date()

    # --- injected failures and quota -------------------------------------------------------

    def fail_next(
        self,
        property_id: str,
        status: int = 500,
        *,
        quota: str | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Answer the next ``times`` runReport requests of the property with an error.

        ``status`` is 401, 403, 429, 500 or 503 (also 400, 404, 504); for 429, ``quota``
        picks the exhausted bucket: concurrent (default), hourly, daily, project_hourly,
        thresholded or server_errors, or "generic" for Google's message naming none.
        ``after`` lets that many requests of the property through first (the failure
        lands mid-report when they are its first pages). Failures queue up behind those
        already waiting.
        """
        if status not in STATUS_NAMES:
            raise ValueError(f"unsupported status {status}")
        if status == 429:
            quota = quota or "concurrent"
            if quota not in QUOTA_KINDS:
                raise ValueError(f"quota must be one of {sorted(QUOTA_KINDS)}")
        elif quota is not None:
            raise ValueError("quota is only meaningful with status=429")
        if after < 0:
            raise ValueError("after must not be negative")
        queue = self._failures.setdefault(property_id, deque())
        queue.extend([None] * after)
        queue.extend([(status, quota)] * times)

    def clear_failures(self, property_id: str) -> None:
        """Forget the failures still waiting for the property: it answers normally again."""
        self._failures.pop(property_id, None)

    def take_failure(self, property_id: str) -> tuple[int, str | None] | None:
        """Pop the next injected failure of the property, if any (None: answer normally)."""
        queue = self._failures.get(property_id)
        return queue.popleft() if queue else None

    def fail_next_admin(self, status: int = 500, *, times: int = 1, after: int = 0) -> None:
        """Answer the next ``times`` Admin API requests with an error (429, 500, 503, 403...).

        ``after`` lets that many Admin API requests through first (a listing that fails
        on its second page: ``after=1``). Failures queue up behind those already waiting.
        """
        if status not in STATUS_NAMES:
            raise ValueError(f"unsupported status {status}")
        if after < 0:
            raise ValueError("after must not be negative")
        self._admin_failures.extend([None] * after)
        self._admin_failures.extend([status] * times)

    def take_admin_failure(self) -> int | None:
        """Pop the next injected Admin API failure, if any."""
        return self._admin_failures.popleft() if self._admin_failures else None

    def fail_next_oauth(self, status: int = 503, *, times: int = 1) -> None:
        """Answer the next ``times`` requests to the token or revoke endpoint with a server
        error: 500 (JSON ``internal_failure``), 502 or 503 (the front end's HTML page)."""
        if status not in OAUTH_SERVER_ERRORS:
            raise ValueError(f"unsupported status {status}")
        self._oauth_failures.extend([status] * times)

    def take_oauth_failure(self) -> int | None:
        """Pop the next injected token or revoke endpoint failure, if any."""
        return self._oauth_failures.popleft() if self._oauth_failures else None

    def _window(self, property_id: str, name: str, key: object) -> int:
        stored = self._windows.get((property_id, name))
        return stored[1] if stored and stored[0] == key else 0

    def _add(self, property_id: str, name: str, key: object, amount: int) -> int:
        total = self._window(property_id, name, key) + amount
        self._windows[(property_id, name)] = (key, total)
        return total

    def _day_used(self, property_id: str) -> int:
        today = datetime.now(PACIFIC).date()
        seen = self._quota_day.setdefault(property_id, today)
        if seen != today:
            self._quota_day[property_id] = today
            self.quota_used[property_id] = 0
        return self.quota_used.get(property_id, 0)

    def set_quota_limits(self, property_id: str, limits: Mapping[str, int] | None) -> None:
        """Give one property bucket sizes of its own (those not named follow its service
        level's); None: its service level's again."""
        if limits is None:
            self._property_quota_limits.pop(property_id, None)
            return
        unknown = set(limits) - set(DEFAULT_QUOTA_LIMITS)
        if unknown:
            raise ValueError(f"unknown quota {sorted(unknown)}")
        self._property_quota_limits[property_id] = dict(limits)

    def quota_limits_of(self, property_id: str) -> dict[str, int]:
        """The property's bucket sizes: its service level's, with its own on top."""
        level = (
            self.analytics_360_quota_limits
            if self.property(property_id).analytics_360
            else self.quota_limits
        )
        return {**level, **self._property_quota_limits.get(property_id, {})}

    def exhausted_quota(self, property_id: str) -> str | None:
        """The quota bucket that is empty for this property's next request, if any."""
        hour = int(time.time() // 3600)
        limits = self.quota_limits_of(property_id)
        if self._day_used(property_id) >= limits["tokensPerDay"]:
            return "daily"
        if self._window(property_id, "hour", hour) >= limits["tokensPerHour"]:
            return "hourly"
        if self._window(property_id, "project_hour", hour) >= limits["tokensPerProjectPerHour"]:
            return "project_hourly"
        if (
            self._window(property_id, "server_errors", hour)
            >= limits["serverErrorsPerProjectPerHour"]
        ):
            return "server_errors"
        if (
            self.property(property_id).thresholded
            and self._window(property_id, "thresholded", hour)
            >= limits["potentiallyThresholdedRequestsPerHour"]
        ):
            return "thresholded"
        return None

    def refill_quota(self, property_id: str | None = None) -> None:
        """Start a new quota day and hour (for one property or all): the tokens, server
        error and thresholded-request buckets are full again, as after midnight Pacific."""
        for pid in [property_id] if property_id else list(self.quota_used):
            self.quota_used[pid] = 0
        for key in [
            k
            for k in self._windows
            if not k[1].startswith("rt_") and (property_id is None or k[0] == property_id)
        ]:
            del self._windows[key]

    def record_server_error(self, property_id: str) -> None:
        """Count a 5xx answer against serverErrorsPerProjectPerHour."""
        self._add(property_id, "server_errors", int(time.time() // 3600), 1)

    def charge(self, property_id: str, rows_returned: int) -> dict[str, dict[str, int]]:
        """Charge one answered request; returns the PropertyQuota as the API reports it.

        Each bucket says what this request consumed and what remains after it. This
        request holds no concurrent slot once answered, so ``concurrentRequests`` has
        nothing consumed and, remaining, the limit less the property's other requests
        still in flight: the limit itself only when none are.
        """
        cost = token_cost(rows_returned)
        hour = int(time.time() // 3600)
        limits = self.quota_limits_of(property_id)
        day_used = self._day_used(property_id) + cost
        self.quota_used[property_id] = day_used
        hour_used = self._add(property_id, "hour", hour, cost)
        project_used = self._add(property_id, "project_hour", hour, cost)
        thresholded = 1 if self.property(property_id).thresholded else 0
        thresholded_used = self._add(property_id, "thresholded", hour, thresholded)
        errors = self._window(property_id, "server_errors", hour)
        others = self.in_flight.get(property_id, 1) - 1
        return {
            "tokensPerDay": _quota_status(cost, max(0, limits["tokensPerDay"] - day_used)),
            "tokensPerHour": _quota_status(cost, max(0, limits["tokensPerHour"] - hour_used)),
            "concurrentRequests": _quota_status(0, max(0, limits["concurrentRequests"] - others)),
            "serverErrorsPerProjectPerHour": _quota_status(
                0, max(0, limits["serverErrorsPerProjectPerHour"] - errors)
            ),
            "potentiallyThresholdedRequestsPerHour": _quota_status(
                thresholded,
                max(0, limits["potentiallyThresholdedRequestsPerHour"] - thresholded_used),
            ),
            "tokensPerProjectPerHour": _quota_status(
                cost, max(0, limits["tokensPerProjectPerHour"] - project_used)
            ),
        }

    # --- realtime ------------------------------------------------------------------------

    def realtime_minute(self) -> int:
        """The minute realtime answers are computed at: minutes since the epoch."""
        return int(self.realtime_clock() // 60)

    def fail_next_realtime(
        self, property_id: str, status: int = 500, *, quota: str | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` runRealtimeReport requests of the property with an
        error, as :meth:`fail_next` does runReport's (429: ``quota`` names the bucket)."""
        if status not in STATUS_NAMES:
            raise ValueError(f"unsupported status {status}")
        if status == 429:
            quota = quota or "concurrent"
            if quota not in QUOTA_KINDS:
                raise ValueError(f"quota must be one of {sorted(QUOTA_KINDS)}")
        elif quota is not None:
            raise ValueError("quota is only meaningful with status=429")
        self._realtime_failures.setdefault(property_id, deque()).extend([(status, quota)] * times)

    def take_realtime_failure(self, property_id: str) -> tuple[int, str | None] | None:
        queue = self._realtime_failures.get(property_id)
        return queue.popleft() if queue else None

    def set_realtime_quota_limits(self, property_id: str, limits: Mapping[str, int] | None) -> None:
        """Give one property realtime bucket sizes of its own (those not named follow its
        service level's); None: its service level's again."""
        if limits is None:
            self._property_realtime_quota_limits.pop(property_id, None)
            return
        unknown = set(limits) - set(DEFAULT_REALTIME_QUOTA_LIMITS)
        if unknown:
            raise ValueError(f"unknown quota {sorted(unknown)}")
        self._property_realtime_quota_limits[property_id] = dict(limits)

    def realtime_quota_limits_of(self, property_id: str) -> dict[str, int]:
        level = (
            self.analytics_360_realtime_quota_limits
            if self.property(property_id).analytics_360
            else self.realtime_quota_limits
        )
        return {**level, **self._property_realtime_quota_limits.get(property_id, {})}

    def _realtime_day_used(self, property_id: str) -> int:
        today = datetime.now(PACIFIC).date()
        seen = self._realtime_day.setdefault(property_id, today)
        if seen != today:
            self._realtime_day[property_id] = today
            self.realtime_quota_used[property_id] = 0
        return self.realtime_quota_used.get(property_id, 0)

    def realtime_exhausted_quota(self, property_id: str) -> str | None:
        """The realtime bucket that is empty for this property's next realtime request."""
        hour = int(time.time() // 3600)
        limits = self.realtime_quota_limits_of(property_id)
        if self._realtime_day_used(property_id) >= limits["tokensPerDay"]:
            return "daily"
        if self._window(property_id, "rt_hour", hour) >= limits["tokensPerHour"]:
            return "hourly"
        if self._window(property_id, "rt_project_hour", hour) >= limits["tokensPerProjectPerHour"]:
            return "project_hourly"
        if (
            self._window(property_id, "rt_server_errors", hour)
            >= limits["serverErrorsPerProjectPerHour"]
        ):
            return "server_errors"
        return None

    def record_realtime_server_error(self, property_id: str) -> None:
        self._add(property_id, "rt_server_errors", int(time.time() // 3600), 1)

    def charge_realtime(self, property_id: str, rows_returned: int) -> dict[str, dict[str, int]]:
        """Charge one answered realtime request to the realtime buckets; returns the
        realtime PropertyQuota as the API reports it (see :meth:`charge`)."""
        cost = token_cost(rows_returned)
        hour = int(time.time() // 3600)
        limits = self.realtime_quota_limits_of(property_id)
        day_used = self._realtime_day_used(property_id) + cost
        self.realtime_quota_used[property_id] = day_used
        hour_used = self._add(property_id, "rt_hour", hour, cost)
        project_used = self._add(property_id, "rt_project_hour", hour, cost)
        errors = self._window(property_id, "rt_server_errors", hour)
        others = self.realtime_in_flight.get(property_id, 1) - 1
        return {
            "tokensPerDay": _quota_status(cost, max(0, limits["tokensPerDay"] - day_used)),
            "tokensPerHour": _quota_status(cost, max(0, limits["tokensPerHour"] - hour_used)),
            "concurrentRequests": _quota_status(0, max(0, limits["concurrentRequests"] - others)),
            "serverErrorsPerProjectPerHour": _quota_status(
                0, max(0, limits["serverErrorsPerProjectPerHour"] - errors)
            ),
            "potentiallyThresholdedRequestsPerHour": _quota_status(
                0, limits["potentiallyThresholdedRequestsPerHour"]
            ),
            "tokensPerProjectPerHour": _quota_status(
                cost, max(0, limits["tokensPerProjectPerHour"] - project_used)
            ),
        }

    def refill_realtime_quota(self, property_id: str | None = None) -> None:
        """A new quota day and hour for the realtime buckets (one property or all)."""
        for pid in [property_id] if property_id else list(self.realtime_quota_used):
            self.realtime_quota_used[pid] = 0
        for key in [
            k
            for k in self._windows
            if k[1].startswith("rt_") and (property_id is None or k[0] == property_id)
        ]:
            del self._windows[key]

    # --- serving -------------------------------------------------------------------------

    def app(self) -> web.Application:
        """An aiohttp application serving this fake."""
        return make_app(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractAsyncContextManager[str]:
        """``async with fake.serve() as base_url``: listen on the running loop."""
        return serve(self, host, port)

    def serve_in_thread(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> AbstractContextManager[str]:
        """``with fake.serve_in_thread() as base_url``: listen from a background thread."""
        return serve_in_thread(self, host, port)


__all__ = [
    "ANALYTICS_360_QUOTA_LIMITS",
    "ANALYTICS_360_REALTIME_QUOTA_LIMITS",
    "DEFAULT_QUOTA_LIMITS",
    "DEFAULT_REALTIME_QUOTA_LIMITS",
    "FakeGoogle",
    "token_cost",
]
