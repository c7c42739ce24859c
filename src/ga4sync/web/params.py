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
# Identity columns (bigint); 18 digits always fit.
PROPERTY_REF = IntRange(1, 10**18 - 1)
RUN_ID = IntRange(1, 2**62)


def property_ref(raw: str) -> int:
    """The ``{property_ref}`` of a path (an id from GET /v1/properties), or a 400."""
    value = PROPERTY_REF.parse(raw)
    if value is None:
        raise ApiError(400, "invalid_property", "The property id must be a positive number.")
    return value


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
