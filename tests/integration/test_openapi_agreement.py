"""The OpenAPI document and the handlers agree, checked by driving the real app.

For every operation, values are derived from the document itself: bounds, enum
members, formats, examples, nullability. Each parameter and body field is varied on
top of a valid request: a value the document allows must not be refused with 400, a
value it forbids must be (and an oversized body gets 413). Every answer's status must
be one the operation declares, and none may be a 5xx other than a declared one. A rule
that a handler enforces but the document does not declare, or the other way round,
fails here.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import pytest

from ga4sync.consent import StateSealer
from ga4sync.reports import BUILTIN_REPORTS
from ga4sync.store.report_tables import table_name
from ga4sync.sync.connections import connect_property
from ga4sync.web.app import create_app
from ga4sync.web.openapi import openapi_document

from ..webtools import ADMIN, CRON, bearer

MISSING = object()
FRESH_STATE = object()  # replaced by a newly sealed consent state when sent
# Values only this server or Google can make valid: the valid ones are the baseline's.
OPAQUE = {"state", "X-CRON-TOKEN", "after"}
# Strings to try against a pattern; those it does not match are values it forbids.
PATTERN_PROBES = ["", " ", "x", "x y", "-1", "0", "1\n", "\u0663", "é", "!", "a" * 3000]


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _full_match(pattern: str, value: str) -> bool:
    assert pattern.startswith("^") and pattern.endswith("$"), f"unanchored pattern {pattern}"
    return re.fullmatch(pattern[1:-1], value) is not None


def _allows(schema: dict[str, Any], value: str) -> bool:
    """Whether ``schema`` (a string schema) allows the string ``value``."""
    if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 10**9):
        return False
    return "pattern" not in schema or _full_match(schema["pattern"], value)


def valid_values(schema: dict[str, Any], *, in_body: bool) -> list[Any]:
    """Values the schema allows: its bounds, members, examples and null if nullable."""
    types = _types(schema)
    values: list[Any] = []
    if "enum" in schema:
        values += schema["enum"]
    if "integer" in types:
        # Without a declared bound, any integer is allowed: try some far out.
        values += [schema["minimum"]] if "minimum" in schema else [-1, 0]
        values += [schema["maximum"]] if "maximum" in schema else [2**70]
    if "boolean" in types:
        values += [True, False]
    if "string" in types and "enum" not in schema:
        if schema.get("format") == "uuid":
            values += [str(uuid.uuid4()), str(uuid.uuid4()).upper()]
        elif "pattern" not in schema:  # a patterned string's valid values are its examples
            values += ["x"] if "minLength" in schema else ["x", ""]
        values += schema.get("examples", [])
        if "maxLength" in schema and values and _allows(schema, "x" * schema["maxLength"]):
            values.append("x" * schema["maxLength"])
    if "default" in schema:
        values.append(schema["default"])
    if "null" in types and in_body:
        values.append(None)
    return values


def invalid_values(schema: dict[str, Any], *, in_body: bool) -> list[Any]:
    """Values the schema forbids, one for each rule it declares."""
    types = _types(schema)
    values: list[Any] = []
    if "enum" in schema:
        values.append("not-a-member")
    if "integer" in types:
        values += ["1"] if in_body else ["abc", "\u00b2"]  # ² is a digit to str.isdigit
        if "minimum" in schema:
            values.append(schema["minimum"] - 1)
        if "maximum" in schema:
            values.append(schema["maximum"] + 1)
    if "boolean" in types:
        values += ["true"] if in_body else ["maybe", "True", "1"]
    if "string" in types and "enum" not in schema:
        if in_body:
            values.append(5)
        if schema.get("format") == "uuid":
            values += ["not-a-uuid", uuid.uuid4().hex, f"{{{uuid.uuid4()}}}"]
        if "pattern" in schema or "minLength" in schema or "maxLength" in schema:
            values += [probe for probe in PATTERN_PROBES if not _allows(schema, probe)]
    if in_body and "null" not in types and (types or "enum" in schema):
        values.append(None)
    return values


def _query_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # location -> name -> value
    body: Any = MISSING

    def url(self) -> str:
        path = self.path
        for name, value in self.params.get("path", {}).items():
            # Sent as the value it is: a newline or a space percent-encoded, not dropped.
            path = path.replace("{" + name + "}", quote(_query_text(value), safe=""))
        return path

    def changed(self, location: str, name: str, value: Any) -> Request:
        params = {loc: dict(values) for loc, values in self.params.items()}
        if value is MISSING:
            params.get(location, {}).pop(name, None)
        else:
            params.setdefault(location, {})[name] = value
        return replace(self, params=params)

    def with_body(self, body: Any) -> Request:
        return replace(self, body=body)


@dataclass
class Case:
    """One request and what the document says about it."""

    what: str
    request: Request
    valid: bool
    status: int | None = None  # the exact status expected, when not only "valid or 400"


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    body = operation.get("requestBody")
    return body["content"]["application/json"]["schema"] if body else None


def cases(
    method: str,
    path: str,
    operation: dict[str, Any],
    baseline: Callable[[str, str], Any],
    max_body_bytes: int,
) -> Iterator[Case]:
    """A valid request for the operation, then each parameter and body field varied."""
    start = Request(method, path)
    parameters = operation.get("parameters", [])
    for param in parameters:
        value = baseline(param["in"], param["name"])
        if value is MISSING and param.get("required"):
            value = valid_values(param["schema"], in_body=False)[0]
        if value is not MISSING:
            start = start.changed(param["in"], param["name"], value)
    body_schema = _body_schema(operation)
    if body_schema is not None:
        body: dict[str, Any] = {}
        properties = body_schema.get("properties", {})
        needed = list(body_schema.get("required", []))
        if not needed and body_schema.get("minProperties", 0) > 0:
            needed = [next(iter(properties))]
        for name in needed:
            value = baseline("body", name)
            body[name] = (
                valid_values(properties[name], in_body=True)[0] if value is MISSING else value
            )
        start = start.with_body(body)
    yield Case("a valid request", start, valid=True)

    for param in parameters:
        where, name, schema = param["in"], param["name"], param["schema"]
        valid = [baseline(where, name)] if name in OPAQUE else valid_values(schema, in_body=False)
        for value in valid:
            yield Case(f"{where} {name}={value!r}", start.changed(where, name, value), True)
        for value in invalid_values(schema, in_body=False):
            if where == "path" and (value == "" or "{" in str(value)):
                continue  # the router matches neither an empty segment nor braces: a 404
            yield Case(f"{where} {name}={value!r}", start.changed(where, name, value), False)
        if param.get("required") and where != "path":
            yield Case(f"{where} {name} missing", start.changed(where, name, MISSING), False)
        elif name in start.params.get(where, {}):
            yield Case(f"{where} {name} left out", start.changed(where, name, MISSING), True)

    if body_schema is None:
        return
    body = start.body
    for name, schema in body_schema.get("properties", {}).items():
        for value in valid_values(schema, in_body=True):
            yield Case(f"body {name}={value!r}", start.with_body({**body, name: value}), True)
        for value in invalid_values(schema, in_body=True):
            yield Case(f"body {name}={value!r}", start.with_body({**body, name: value}), False)
    properties = body_schema.get("properties", {})
    for name in body_schema.get("required", []):
        rest = {k: v for k, v in body.items() if k != name}
        others = [k for k in properties if k != name and k not in rest]
        if not rest and others:  # not empty, so only the missing field is wrong
            rest[others[0]] = valid_values(properties[others[0]], in_body=True)[0]
        yield Case(f"body without {name}", start.with_body(rest), False)
    if body_schema.get("additionalProperties") is False:
        yield Case("an unknown body field", start.with_body({**body, "unexpected": 1}), False)
    if body_schema.get("minProperties", 0) > 0:
        yield Case("an empty body object", start.with_body({}), False)
    yield Case("a body that is not an object", start.with_body([body]), False)
    if not operation["requestBody"]["required"]:
        yield Case("no body", start.with_body(MISSING), True)
    huge = {"x": "a" * (max_body_bytes + 1)}
    yield Case("a body over MAX_BODY_BYTES", start.with_body(huge), False, status=413)


@pytest.fixture
def agreement_settings(web_settings, google_url):
    return replace(
        web_settings,
        google_auth_uri=f"{google_url}/o/oauth2/v2/auth",
        google_revoke_uri=f"{google_url}/revoke",
        ga4_admin_api_base_url=google_url,
        oauth_redirect_uri="https://sync.example.com/v1/connections/google/callback",
        frontend_url="https://app.example.com/settings",
        run_rate_limit=0,
    )


async def test_the_document_and_the_handlers_agree(
    aiohttp_client, runtime, agreement_settings, fake, pool
):
    api = await aiohttp_client(create_app(agreement_settings, runtime=runtime))
    document = openapi_document()
    own_property = await connect_property(pool, ADMIN, "123456789", time_zone="UTC")
    sealer = StateSealer(
        agreement_settings.token_encryption_key, agreement_settings.oauth_state_ttl_s
    )
    # Two rows of the document's example report and property, and a cursor between them.
    (daily_totals,) = [spec for spec in BUILTIN_REPORTS if spec.name == "daily_totals"]
    await pool.execute(
        f"insert into {table_name(daily_totals.key)} (property_ref, date, dimension_key)"
        " select $1, date '2026-01-01' + d, md5('')::uuid from generate_series(0, 1) d",
        own_property,
    )
    first_page = await api.get(
        "/v1/reports/daily_totals/rows?property_id=123456789&limit=1", headers=bearer(ADMIN)
    )
    cursor = (await first_page.json())["next"]
    assert cursor is not None

    def baseline(location: str, name: str) -> Any:
        """Where a valid request starts: an existing property, the right secrets."""
        if location == "path" and name == "property_id":
            return "123456789"
        if name == "X-CRON-TOKEN":
            return CRON
        if name == "after":
            return cursor
        if name == "state":
            return FRESH_STATE
        # The callback needs code or error; with both, leaving out either is valid.
        if location == "query" and name == "code":
            return "4/unknown-code"
        if location == "query" and name == "error":
            return "access_denied"
        return MISSING

    failures: list[str] = []
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body_schema = _body_schema(operation) or {}
            fields = [(p["name"], p["schema"]) for p in operation.get("parameters", [])]
            fields += list(body_schema.get("properties", {}).items())
            for name, schema in fields:
                generated = schema.get("format") == "uuid" or name in OPAQUE
                if "pattern" in schema and not schema.get("examples") and not generated:
                    failures.append(f"{method.upper()} {path}: {name} has a pattern, no examples")
            token_schema = body_schema.get("properties", {}).get("refresh_token")
            for value in valid_values(token_schema or {}, in_body=True):
                fake.add_refresh_token(str(value).strip())  # Google accepts these
            for case in cases(method, path, operation, baseline, agreement_settings.max_body_bytes):
                request = case.request
                if request.params.get("query", {}).get("state") is FRESH_STATE:
                    request = request.changed("query", "state", sealer.seal(ADMIN)[0])
                kwargs: dict[str, Any] = {
                    "params": {
                        k: _query_text(v) for k, v in request.params.get("query", {}).items()
                    },
                    "headers": {
                        **bearer(ADMIN),
                        **{k: str(v) for k, v in request.params.get("header", {}).items()},
                    },
                    "allow_redirects": False,
                }
                if request.body is not MISSING:
                    kwargs["json"] = request.body
                response = await api.request(method.upper(), request.url(), **kwargs)
                checked += 1
                declared = set(operation["responses"])
                status = response.status
                problem = None
                if str(status) not in declared:
                    problem = f"answered {status}, which is not declared ({sorted(declared)})"
                elif case.status is not None and status != case.status:
                    problem = f"answered {status}, not {case.status}"
                elif case.valid and status == 400:
                    problem = "refused a request the document allows"
                elif not case.valid and case.status is None and not 400 <= status < 500:
                    problem = f"accepted a request the document forbids ({status})"
                elif not case.valid and case.status is None and status != 400:
                    if not (status == 403 and case.what.startswith("header ")):
                        problem = f"refused with {status} instead of 400"
                if problem:
                    failures.append(
                        f"{method.upper()} {path}: {case.what}: {problem}: "
                        f"{(await response.text())[:200]}"
                    )
    assert not failures, "\n".join(failures)
    assert checked > 150, checked
