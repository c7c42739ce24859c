"""The rules a request's parameters and body fields must follow, in one place.

Handlers enforce them and the OpenAPI document declares them from the same values, so
a client generated from ``/openapi.json`` and the server agree on what is valid.
Patterns are anchored and use only what JSON Schema's (ECMA-262) and Python's regular
expressions read alike; they are matched whole (``fullmatch``) here, so Python's ``$``
accepting a trailing newline never lets one through.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from ga4sync.web.errors import ApiError

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# A GA4 property number, as ga4_properties.property_id holds it.
PROPERTY_ID_PATTERN = "^[0-9]{1,20}$"
# Google's refresh tokens are printable ASCII; whitespace around a pasted one is trimmed.
REFRESH_TOKEN_PATTERN = "^[ \t\r\n]*[!-~]+[ \t\r\n]*$"
REFRESH_TOKEN_MAX_LENGTH = 2048
# The consent state is a Fernet token: URL-safe base64.
STATE_PATTERN = "^[A-Za-z0-9_-]+={0,2}$"
# The one-time code a finished consent is claimed with (ga4sync.consent.new_completion_code).
COMPLETION_CODE_PATTERN = "^[A-Za-z0-9_-]{43}$"
# A report's name (ga4sync.reports.spec.NAME_PATTERN): the {report} of /v1/reports/{report}/rows.
REPORT_NAME_PATTERN = "^[a-z][a-z0-9_]{0,39}$"
# A calendar date written YYYY-MM-DD; that it exists (no 2026-02-30) is checked too.
DATE_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# The rows API's cursors: URL-safe base64 without padding.
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"
ROW_FORMATS = ("json", "csv")
SCOPES = ("mine", "all")
FREQUENCIES = ("manual", "hourly", "every_6h", "daily")
INCLUDES = ("properties",)
BOOLEANS = {"true": True, "false": False}


def matches(pattern: str, value: object) -> bool:
    """Whether ``value`` is a string that ``pattern`` (anchored) matches whole."""
    return isinstance(value, str) and _compiled(pattern).fullmatch(value) is not None


_COMPILED: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _COMPILED.get(pattern)
    if compiled is None:
        compiled = _COMPILED[pattern] = re.compile(pattern.removeprefix("^").removesuffix("$"))
    return compiled


def parse_uuid(value: object) -> uuid.UUID | None:
    """A UUID in its canonical 8-4-4-4-12 form (JSON Schema's ``format: uuid``), or None."""
    return uuid.UUID(value) if isinstance(value, str) and matches(UUID_PATTERN, value) else None


def uuid_param(value: object, name: str, what: str = "a UUID") -> uuid.UUID:
    """``value`` as a UUID, or a 400 ``invalid_<name>``."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise ApiError(400, f"invalid_{name}", f"{name} must be {what}.")
    return parsed


def uuid_schema(*, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    kind: str | list[str] = ["string", "null"] if nullable else "string"
    return {"type": kind, "format": "uuid", "pattern": UUID_PATTERN, **extra}


@dataclass(frozen=True)
class IntRange:
    """A whole number from ``low`` to ``high`` written in ASCII digits."""

    low: int
    high: int

    def parse(self, raw: str) -> int | None:
        if not raw.isascii() or not raw.isdigit():
            return None
        digits = raw.lstrip("0") or "0"
        if len(digits) > len(str(self.high)):
            return None
        value = int(digits)
        return value if self.low <= value <= self.high else None

    def schema(self, **extra: Any) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high, **extra}


PAGE_LIMIT = IntRange(1, 100)
DEFAULT_PAGE_LIMIT = 20
# How many days up to today a property's chart shows.
CHART_DAYS = IntRange(1, 90)
DEFAULT_CHART_DAYS = 30
ROWS_LIMIT = IntRange(1, 10_000)
DEFAULT_ROWS_LIMIT = 1000
RUN_ID = IntRange(1, 2**62)


def property_in_path(raw: str) -> str:
    """The ``{property_id}`` of a path (a GA4 property id; ga4sync's own row id from
    GET /v1/properties is accepted too), or a 400."""
    if not matches(PROPERTY_ID_PATTERN, raw):
        raise ApiError(400, "invalid_property", "The property id is a GA4 property number.")
    return raw


def parse_refresh_token(value: object) -> str:
    """A refresh token from a request body, whitespace around it trimmed, or a 400."""
    if (
        not isinstance(value, str)
        or len(value) > REFRESH_TOKEN_MAX_LENGTH
        or not matches(REFRESH_TOKEN_PATTERN, value)
    ):
        raise ApiError(
            400,
            "invalid_refresh_token",
            "refresh_token must be a string of printable ASCII characters "
            f"(at most {REFRESH_TOKEN_MAX_LENGTH}).",
        )
    return value.strip()


def int_query(query: Any, name: str, rule: IntRange) -> int | None:
    """Query parameter ``name`` if given, or a 400 naming the allowed range."""
    raw = query.get(name)
    if raw is None:
        return None
    value = rule.parse(raw)
    if value is None:
        raise ApiError(
            400,
            f"invalid_{name}",
            f"{name} must be a whole number from {rule.low} to {rule.high}.",
        )
    return value


def page_limit(query: Any) -> int:
    """The ``limit`` query parameter of a paged list (``DEFAULT_PAGE_LIMIT`` when absent)."""
    limit = int_query(query, "limit", PAGE_LIMIT)
    return DEFAULT_PAGE_LIMIT if limit is None else limit


def report_name(raw: str) -> str:
    """The ``{report}`` of a path, or a 400 (a name no report can have)."""
    if not matches(REPORT_NAME_PATTERN, raw):
        raise ApiError(
            400,
            "invalid_report",
            "A report name is snake_case: a lowercase letter, then lowercase letters, digits"
            " or _ (at most 40).",
        )
    return raw


def realtime_name(raw: str) -> str:
    """The ``{name}`` of a realtime path, or a 400 (a name no definition can have)."""
    if not matches(REPORT_NAME_PATTERN, raw):
        raise ApiError(
            400,
            "invalid_realtime",
            "A realtime report's name is snake_case: a lowercase letter, then lowercase"
            " letters, digits or _ (at most 40).",
        )
    return raw


def flag_query(query: Any, name: str, default: bool = False) -> bool:
    """A ``true``/``false`` query parameter, or a 400."""
    raw = query.get(name)
    if raw is None:
        return default
    value = BOOLEANS.get(raw)
    if value is None:
        raise ApiError(400, f"invalid_{name}", f"{name} must be true or false.")
    return value


def required_property_id(query: Any) -> str:
    """The ``property_id`` query parameter (a GA4 property number), or a 400."""
    raw = query.get("property_id")
    if raw is None:
        raise ApiError(
            400, "missing_property_id", "property_id, a GA4 property number, is required."
        )
    if not matches(PROPERTY_ID_PATTERN, raw):
        raise ApiError(400, "invalid_property_id", "property_id is a GA4 property number.")
    return str(raw)


def date_query(query: Any, name: str) -> date | None:
    """Query parameter ``name`` as a date if given, or a 400."""
    raw = query.get(name)
    if raw is None:
        return None
    parsed = None
    if matches(DATE_PATTERN, raw):
        try:
            parsed = date.fromisoformat(raw)
        except ValueError:
            parsed = None
    if parsed is None:
        raise ApiError(400, f"invalid_{name}", f"{name} must be a real date written YYYY-MM-DD.")
    return parsed


def date_range(query: Any) -> tuple[date | None, date | None]:
    """``start_date`` and ``end_date`` (each optional, both inclusive), or a 400."""
    start, end = date_query(query, "start_date"), date_query(query, "end_date")
    if start is not None and end is not None and start > end:
        raise ApiError(400, "invalid_date_range", "start_date must not be after end_date.")
    return start, end


def rows_limit(query: Any) -> int:
    """The ``limit`` of a page of report rows (``DEFAULT_ROWS_LIMIT`` when absent)."""
    limit = int_query(query, "limit", ROWS_LIMIT)
    return DEFAULT_ROWS_LIMIT if limit is None else limit


def cursor_query(query: Any, name: str) -> str | None:
    """A cursor the server handed out, if given, checked for its form only (whether the
    server made it is the service's to tell); a 400 when it cannot be one."""
    raw = query.get(name)
    if raw is None:
        return None
    if not matches(CURSOR_PATTERN, raw):
        raise ApiError(
            400, f"invalid_{name}", f"{name} must be the next of the previous page, unchanged."
        )
    return str(raw)


def row_format(query: Any, accept: str | None) -> str:
    """``json`` or ``csv``: the ``format`` query parameter when given (else a 400 if it
    is neither), otherwise ``csv`` when the Accept header prefers ``text/csv`` to
    ``application/json``, and ``json`` by default."""
    raw = query.get("format")
    if raw is not None:
        if raw not in ROW_FORMATS:
            raise ApiError(400, "invalid_format", 'format must be "json" or "csv".')
        return str(raw)
    weights = _accept_weights(accept or "")
    csv = weights.get("text/csv", 0.0)
    return "csv" if csv > 0 and csv > weights.get("application/json", 0.0) else "json"


def csv_escape(query: Any) -> bool:
    """The ``csv_escape`` query parameter (default true): whether a CSV export writes
    dimension values a spreadsheet would run as formulas with a leading ``'``."""
    raw = query.get("csv_escape")
    if raw is None:
        return True
    value = BOOLEANS.get(raw)
    if value is None:
        raise ApiError(400, "invalid_csv_escape", "csv_escape must be true or false.")
    return value


def _accept_weights(accept: str) -> dict[str, float]:
    """Media type -> quality of an Accept header's explicit entries (a malformed
    quality counts as 0, as if the type were not acceptable)."""
    weights: dict[str, float] = {}
    for entry in accept.split(","):
        media, *options = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if media:
            weights[media.lower()] = max(weights.get(media.lower(), 0.0), quality)
    return weights
