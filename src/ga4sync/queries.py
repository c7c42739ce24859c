"""Loads the named SQL queries in ``sql/queries/*.sql`` and the migration files.

A query file holds blocks that start with ``-- name: some_query``; everything up
to the next header is that query. Store functions bear their query's name.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def sql_dir() -> Path:
    """The ``sql/`` folder: inside the installed package, or at the repository root."""
    packaged = Path(__file__).parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


def parse_queries(text: str, *, source: str = "<string>") -> dict[str, str]:
    """Split one ``.sql`` file into ``{name: query}``; duplicate names are an error."""
    queries: dict[str, str] = {}
    headers = list(_HEADER.finditer(text))
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        body = text[match.end() : end].strip()
        name = match.group(1)
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice in {source}")
        if not body:
            raise ValueError(f"query {name!r} in {source} is empty")
        queries[name] = body
    return queries


@functools.cache
def _all_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    for path in sorted((sql_dir() / "queries").glob("*.sql")):
        for name, body in parse_queries(path.read_text(encoding="utf-8"), source=path.name).items():
            if name in queries:
                raise ValueError(f"query {name!r} is defined in more than one file")
            queries[name] = body
    return queries


def query(name: str) -> str:
    """The SQL text of the query called ``name``."""
    try:
        return _all_queries()[name]
    except KeyError:
        raise KeyError(f"no query named {name!r} in {sql_dir() / 'queries'}") from None


def query_names() -> frozenset[str]:
    return frozenset(_all_queries())


def migration_files() -> list[tuple[str, Path]]:
    """``[(version, path)]`` of ``sql/migrations/NNNN_*.sql`` in the order they apply."""
    files = sorted((sql_dir() / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [(path.stem, path) for path in files]
