"""Which database an entry point uses: DATABASE_URL, or the embedded default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ga4sync.embedded import embedded_postgres
from ga4sync.settings import Settings, obscure_password

logger = logging.getLogger(__name__)


@contextmanager
def database_url(settings: Settings) -> Iterator[tuple[str, bool]]:
    """Yield ``(url, embedded)``: the configured database, or a started embedded one."""
    if settings.database_url:
        logger.info("using database %s", obscure_password(settings.database_url))
        yield settings.database_url, False
        return
    logger.info("DATABASE_URL is not set: using the embedded Postgres")
    with embedded_postgres(settings.embedded_pg_dir) as url:
        yield url, True
