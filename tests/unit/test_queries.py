"""The SQL loader: named blocks, one name per query, every store query present."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ga4sync.queries import migration_files, parse_queries, query, query_names

SRC = Path(__file__).resolve().parents[2] / "src" / "ga4sync"


def test_parse_named_blocks():
    text = "-- name: one\nselect 1;\n\n-- name: two\n-- a comment\nselect 2;\n"
    assert parse_queries(text) == {"one": "select 1;", "two": "-- a comment\nselect 2;"}


def test_duplicate_and_empty_names_are_errors():
    with pytest.raises(ValueError, match="defined twice"):
        parse_queries("-- name: a\nselect 1;\n-- name: a\nselect 2;")
    with pytest.raises(ValueError, match="empty"):
        parse_queries("-- name: a\n\n-- name: b\nselect 1;")


def test_unknown_query_is_a_clear_error():
    with pytest.raises(KeyError, match="no query named 'nope'"):
        query("nope")


def test_every_query_the_code_names_exists():
    used = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "query"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.add(node.args[0].value)
    assert used, "no query() calls found"
    assert used <= query_names(), used - query_names()


def test_migrations_are_numbered_in_order():
    versions = [version for version, _ in migration_files()]
    assert versions and versions == sorted(versions)
    assert versions[0] == "0001_initial_schema"
