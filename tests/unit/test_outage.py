"""Telling a lost database from a bug, and keeping an outage short in the log."""

from __future__ import annotations

import logging
import sys

import asyncpg
import psycopg
import pytest
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Job

from ga4sync.outage import OutageLogFilter, describe, is_database_unavailable
from ga4sync.queue import SYNC_PROPERTY_RETRY, TRANSIENT_ERRORS


def _wrapped(inner: BaseException) -> BaseException:
    """``inner`` as procrastinate raises it: wrapped in its connector exception."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise ConnectorException() from exc
    except ConnectorException as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        FileNotFoundError(2, "No such file or directory"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InternalClientError("cannot switch to state 11; another operation is in progress"),
        _wrapped(psycopg.OperationalError("the database system is shutting down")),
    ],
)
def test_a_lost_database_is_recognised_however_it_is_raised(exc):
    assert is_database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [ValueError("bad"), KeyError("x"), asyncpg.UniqueViolationError("dup"), ConnectorException()],
)
def test_other_failures_are_not_an_outage(exc):
    assert not is_database_unavailable(exc)


def test_describe_names_the_innermost_database_error():
    wrapped = _wrapped(psycopg.OperationalError("FATAL:  the database\n system is shutting down"))
    assert describe(wrapped) == "FATAL: the database system is shutting down"
    assert describe(None) == "connection lost"


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.ConnectionDoesNotExistError("closed"),
        psycopg.OperationalError("gone"),
        ConnectionResetError(),
    ],
)
def test_a_task_that_lost_its_database_is_retried(exc):
    assert isinstance(exc, TRANSIENT_ERRORS)
    job = Job(id=1, queue="default", lock=None, queueing_lock=None, task_name="t", attempts=0)
    assert SYNC_PROPERTY_RETRY.get_retry_decision(exception=exc, job=job) is not None


def _record(name: str, msg: str, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = None
    if exc is not None:
        try:
            raise exc
        except BaseException:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("x",), exc_info)


def test_the_log_filter_keeps_an_outage_to_one_line_per_record():
    log_filter = OutageLogFilter()
    lost = _record("procrastinate.worker", "job %s failed", _wrapped(ConnectionRefusedError()))
    assert log_filter.filter(lost)
    assert lost.exc_info is None
    assert lost.getMessage().startswith("job x failed: database unavailable (")

    bug = _record("ga4sync.sync.ingest", "crashed %s", ValueError("bug"))
    assert log_filter.filter(bug)
    assert bug.exc_info is not None  # a real bug keeps its traceback

    chatter = _record("asyncpg.pool", "Failed to restore the pool connection floor; retrying")
    assert not log_filter.filter(chatter)
    assert not log_filter.filter(_record("psycopg.pool", "error connecting in 'pool-1': bad"))
    assert log_filter.filter(_record("psycopg.pool", "something else"))
