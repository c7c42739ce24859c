"""GA4's FilterExpression: parsed from proto3 JSON, validated like the API, evaluated.

A dimension filter tests dimension values (strings) before rows are aggregated; a
metric filter tests the aggregated rows' metric values (numbers), like SQL's
HAVING. A string filter compares case-insensitively unless ``caseSensitive``;
``emptyFilter`` matches ``""`` and ``"(not set)"`` (a metric value of 0).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SCHEMA_URL

NOT_SET = "(not set)"

_MATCH_TYPES = (
    "MATCH_TYPE_UNSPECIFIED",
    "EXACT",
    "BEGINS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "FULL_REGEXP",
    "PARTIAL_REGEXP",
)
_OPERATIONS = (
    "OPERATION_UNSPECIFIED",
    "EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
)
_EXPRESSION_KINDS = ("andGroup", "orGroup", "notExpression", "filter")
_FILTER_KINDS = ("stringFilter", "inListFilter", "numericFilter", "betweenFilter", "emptyFilter")
_FILTER_FIELDS = ("fieldName", *_FILTER_KINDS)


class FilterError(Exception):
    """A filter the API refuses; the message is what it answers with (400)."""


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _get(obj: Mapping[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    return obj.get(_snake(name))


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FilterError(f"Invalid JSON payload received. Expected an object at '{where}'.")
    return value


def _known_keys(obj: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    allowed = set(known) | {_snake(k) for k in known}
    for key in obj:
        if key not in allowed:
            raise FilterError(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                "Cannot find field."
            )


def _one_of(obj: Mapping[str, Any], kinds: tuple[str, ...], where: str) -> tuple[str, Any]:
    present = [k for k in kinds if _get(obj, k) is not None]
    if len(present) > 1:
        raise FilterError(
            f"Invalid JSON payload received. Oneof field at '{where}' is already set. "
            f"Cannot set '{present[1]}'."
        )
    if not present:
        raise FilterError(f"{where} must set one of {', '.join(kinds)}.")
    return present[0], _get(obj, present[0])


def _enum(value: Any, names: tuple[str, ...], where: str) -> str:
    if value is None:
        return names[0]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    if value in names:
        return str(value)
    raise FilterError(f"Invalid value at '{where}', \"{value}\"")


def _number(value: Any, where: str) -> float:
    obj = _object(value, where)
    _known_keys(obj, ("int64Value", "doubleValue"), where)
    kind, raw = _one_of(obj, ("int64Value", "doubleValue"), where)
    if kind == "int64Value":
        if isinstance(raw, bool) or not re.fullmatch(r"-?\d+", str(raw).strip()):
            raise FilterError(f"Invalid value at '{where}.int64_value' (TYPE_INT64), \"{raw}\"")
        return float(int(str(raw).strip()))
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise FilterError(f"Invalid value at '{where}.double_value' (TYPE_DOUBLE), \"{raw}\"")
    try:
        return float(raw)
    except ValueError:
        raise FilterError(
            f"Invalid value at '{where}.double_value' (TYPE_DOUBLE), \"{raw}\""
        ) from None


def _as_number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Leaf:
    """One ``filter``: a field and a test of its value (a string as the API returns it)."""

    field: str
    test: Callable[[str], bool]

    def fields(self) -> frozenset[str]:
        return frozenset({self.field})

    def matches(self, values: Mapping[str, str]) -> bool:
        return self.test(values[self.field])


@dataclass(frozen=True)
class Group:
    """``andGroup`` (``all_of``) or ``orGroup``."""

    parts: tuple[Expression, ...]
    all_of: bool

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(p.fields() for p in self.parts))

    def matches(self, values: Mapping[str, str]) -> bool:
        if self.all_of:
            return all(p.matches(values) for p in self.parts)
        return any(p.matches(values) for p in self.parts)


@dataclass(frozen=True)
class Not:
    """``notExpression``."""

    part: Expression

    def fields(self) -> frozenset[str]:
        return self.part.fields()

    def matches(self, values: Mapping[str, str]) -> bool:
        return not self.part.matches(values)


Expression = Leaf | Group | Not


def conjuncts(expression: Expression) -> list[Expression]:
    """The parts that must all hold: an ``andGroup``'s (recursively), else the whole."""
    if isinstance(expression, Group) and expression.all_of:
        return [c for part in expression.parts for c in conjuncts(part)]
    return [expression]


def _string_test(spec: dict[str, Any], where: str) -> Callable[[str], bool]:
    _known_keys(spec, ("matchType", "value", "caseSensitive"), where)
    match = _enum(_get(spec, "matchType"), _MATCH_TYPES, f"{where}.match_type")
    wanted = _get(spec, "value")
    wanted = "" if wanted is None else str(wanted)
    sensitive = bool(_get(spec, "caseSensitive"))
    if match in ("FULL_REGEXP", "PARTIAL_REGEXP"):
        try:
            pattern = re.compile(wanted, 0 if sensitive else re.IGNORECASE)
        except re.error:
            raise FilterError(f"Invalid regular expression: {wanted}") from None
        if match == "FULL_REGEXP":
            return lambda value: pattern.fullmatch(value) is not None
        return lambda value: pattern.search(value) is not None
    if not sensitive:
        wanted = wanted.lower()

    def prepare(value: str) -> str:
        return value if sensitive else value.lower()

    if match == "BEGINS_WITH":
        return lambda value: prepare(value).startswith(wanted)
    if match == "ENDS_WITH":
        return lambda value: prepare(value).endswith(wanted)
    if match == "CONTAINS":
        return lambda value: wanted in prepare(value)
    return lambda value: prepare(value) == wanted


def _in_list_test(spec: dict[str, Any], where: str) -> Callable[[str], bool]:
    _known_keys(spec, ("values", "caseSensitive"), where)
    raw = _get(spec, "values") or []
    if not isinstance(raw, list):
        raise FilterError(f"Invalid JSON payload received. Expected a list at '{where}.values'.")
    if _get(spec, "caseSensitive"):
        exact = frozenset(str(v) for v in raw)
        return lambda value: value in exact
    folded = frozenset(str(v).lower() for v in raw)
    return lambda value: value.lower() in folded


def _numeric_test(spec: dict[str, Any], where: str) -> Callable[[str], bool]:
    _known_keys(spec, ("operation", "value"), where)
    operation = _enum(_get(spec, "operation"), _OPERATIONS, f"{where}.operation")
    if operation == "OPERATION_UNSPECIFIED":
        raise FilterError(f"{where} needs an operation.")
    if _get(spec, "value") is None:
        raise FilterError(f"{where} needs a value.")
    wanted = _number(_get(spec, "value"), f"{where}.value")
    compare: Callable[[float], bool] = {
        "EQUAL": lambda v: v == wanted,
        "LESS_THAN": lambda v: v < wanted,
        "LESS_THAN_OR_EQUAL": lambda v: v <= wanted,
        "GREATER_THAN": lambda v: v > wanted,
        "GREATER_THAN_OR_EQUAL": lambda v: v >= wanted,
    }[operation]

    def test(value: str) -> bool:
        number = _as_number(value)
        return number is not None and compare(number)

    return test


def _between_test(spec: dict[str, Any], where: str) -> Callable[[str], bool]:
    _known_keys(spec, ("fromValue", "toValue"), where)
    if _get(spec, "fromValue") is None or _get(spec, "toValue") is None:
        raise FilterError(f"{where} needs a fromValue and a toValue.")
    low = _number(_get(spec, "fromValue"), f"{where}.from_value")
    high = _number(_get(spec, "toValue"), f"{where}.to_value")

    def test(value: str) -> bool:
        number = _as_number(value)
        return number is not None and low <= number <= high

    return test


def _empty_test(spec: dict[str, Any], where: str, metric: bool) -> Callable[[str], bool]:
    _known_keys(spec, (), where)
    if metric:
        return lambda value: _as_number(value) == 0
    return lambda value: value in ("", NOT_SET)


def parse_filter(
    value: Any, where: str, is_field: Callable[[str], bool], kind: str, metric: bool
) -> Expression:
    """A FilterExpression from proto3 JSON; ``where`` names it in messages
    (``dimension_filter``), ``is_field`` tells the fields it may test, ``kind`` names
    them ("dimension" or "metric")."""
    obj = _object(value, where)
    _known_keys(obj, _EXPRESSION_KINDS, where)
    part, inner = _one_of(obj, _EXPRESSION_KINDS, where)
    if part in ("andGroup", "orGroup"):
        group_where = f"{where}.{_snake(part)}"
        group = _object(inner, group_where)
        _known_keys(group, ("expressions",), group_where)
        items = _get(group, "expressions") or []
        if not isinstance(items, list):
            raise FilterError(
                f"Invalid JSON payload received. Expected a list at '{group_where}.expressions'."
            )
        parts = tuple(
            parse_filter(item, f"{group_where}.expressions[{i}]", is_field, kind, metric)
            for i, item in enumerate(items)
        )
        return Group(parts, all_of=part == "andGroup")
    if part == "notExpression":
        return Not(parse_filter(inner, f"{where}.not_expression", is_field, kind, metric))
    leaf_where = f"{where}.filter"
    leaf = _object(inner, leaf_where)
    _known_keys(leaf, _FILTER_FIELDS, leaf_where)
    name = _get(leaf, "fieldName")
    if not isinstance(name, str) or not name:
        raise FilterError(f"{leaf_where} needs a fieldName.")
    if not is_field(name):
        spacing = " " if kind == "dimension" else "  "
        raise FilterError(
            f"Field {name} is not a valid {kind}.{spacing}For a list of valid dimensions "
            f"and metrics, see {SCHEMA_URL} "
        )
    test_kind, spec = _one_of(leaf, _FILTER_KINDS, leaf_where)
    spec_where = f"{leaf_where}.{_snake(test_kind)}"
    spec = _object(spec, spec_where)
    if test_kind == "stringFilter":
        test = _string_test(spec, spec_where)
    elif test_kind == "inListFilter":
        test = _in_list_test(spec, spec_where)
    elif test_kind == "numericFilter":
        test = _numeric_test(spec, spec_where)
    elif test_kind == "betweenFilter":
        test = _between_test(spec, spec_where)
    else:
        test = _empty_test(spec, spec_where, metric)
    return Leaf(name, test)
