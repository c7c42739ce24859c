"""The ga4sync command end to end: migrate, sync, errors a user can act on."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
import socket
import uuid
from datetime import timedelta

import asyncpg
import pytest

from ga4sync import cli
from ga4sync.cli import main
from ga4sync.crypto import TokenCipher
from ga4sync.db import connect
from ga4sync.fake_google import FakeGoogle
from ga4sync.sync.connections import connect_property, store_google_grant

from ..unreachable import closed_port_url


@pytest.fixture(autouse=True)
def collector_as_it_was():
    """``main`` tunes the cycle collector of its process: this one's is put back."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def _point_at(monkeypatch, database_url: str, encryption_key: str, base_url: str) -> None:
    """The environment of a ga4sync command using this test's database and fake Google."""
    for name, value in {
        "DATABASE_URL": database_url,
        "TOKEN_ENCRYPTION_KEY": encryption_key,
        "GOOGLE_CLIENT_ID": "cli",
        "GOOGLE_CLIENT_SECRET": "cli-secret",
        "GOOGLE_TOKEN_URI": f"{base_url}/token",
        "GA4_API_BASE_URL": base_url,
        "GA4_ADMIN_API_BASE_URL": base_url,
        "SYNC_BACKFILL_DAYS": "0",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def google_in_thread():
    fake = FakeGoogle(seed=3)
    fake.add_refresh_token("rt-cli")
    fake.add_property("777", time_zone="Europe/Paris", cardinality=3)
    with fake.serve_in_thread() as base_url:
        yield fake, base_url


def test_sync_prints_a_summary_and_scopes_to_one_property(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    fake, base_url = google_in_thread

    async def seed() -> None:
        async with connect(database_url) as conn:
            user = uuid.uuid4()
            await store_google_grant(conn, TokenCipher(encryption_key), user, "rt-cli")
            await connect_property(conn, user, "777", time_zone="Europe/Paris")
            await connect_property(conn, user, "778", time_zone="Europe/Paris")

    asyncio.run(seed())
    _point_at(monkeypatch, database_url, encryption_key, base_url)

    assert main(["sync", "--property", "777", "--since-days", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["properties_total"] == 1
    assert summary["rows_inserted"] == 2 * (1 + 9 + 3)  # 2 days: totals, sources, pages

    assert main(["sync", "--since-days", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Synced 2/2 properties")
    assert "0 written" not in out  # property 778 was new
    assert len(fake.token_requests) == 1  # the second run reused the stored access token


def test_unmigrated_database_missing_settings_and_unreachable_database_are_named(
    pg_server_url, database_url, empty_database_url, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "the database is not migrated" in err and "run `ga4sync migrate`" in err

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEY", raising=False)
    assert main(["sync"]) == 2
    assert "TOKEN_ENCRYPTION_KEY is not set" in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", pg_server_url.rsplit("/", 1)[0] + "/no_such_db_here")
    assert main(["migrate"]) == 1
    assert "database error" in capsys.readouterr().err


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sync", "--property", "abc"])
    assert exit_info.value.code == 2
    assert "a GA4 property id is a number" in capsys.readouterr().err


def test_connect_checks_the_token_before_storing_it(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    fake, base_url = google_in_thread
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    user = str(uuid.uuid4())

    assert main(["connect", "--user", user, "--refresh-token", "rt-wrong"]) == 1
    assert "invalid_grant" in capsys.readouterr().err

    async def stored() -> int:
        async with connect(database_url) as conn:
            return await conn.fetchval("select count(*) from google_credentials")

    assert asyncio.run(stored()) == 0

    assert (
        main(
            [
                "connect",
                "--user",
                user,
                "--refresh-token",
                "rt-cli",
                "--property",
                "777:Europe/Paris",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "added by hand: 777" in out and "discovered properties: none" in out
    assert asyncio.run(stored()) == 1
    assert main(["sync", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["properties_succeeded"] == 1
    # The access token from the check is reused: one refresh in all.
    assert fake.token_requests == ["rt-wrong", "rt-cli"]

    with pytest.raises(SystemExit):
        main(["connect", "--user", user, "--refresh-token", "x", "--property", "1:Mars/Base"])
    assert "unknown time zone" in capsys.readouterr().err


def test_connect_again_names_the_access_google_no_longer_lists(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    fake, base_url = google_in_thread
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    user = str(uuid.uuid4())
    fake.add_google_account("cli@example.com", [("555", "Five", "UTC"), ("556", "Six", "UTC")])
    fake.add_refresh_token("rt-listed", account="cli@example.com")
    assert main(["connect", "--user", user, "--refresh-token", "rt-listed"]) == 0
    assert "access removed" not in capsys.readouterr().out
    fake.add_google_account("cli@example.com", [("556", "Six", "UTC")])
    assert main(["connect", "--user", user, "--refresh-token", "rt-listed"]) == 0
    assert "no longer listed by Google, access removed: 555" in capsys.readouterr().out


def test_connect_reads_the_refresh_token_from_stdin_or_the_environment(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    """A token on the command line is in ``ps`` and the shell's history for anyone
    on the machine to read; standard input and the environment are not."""
    fake, base_url = google_in_thread
    fake.add_refresh_token("rt-env")
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    alice, bob = uuid.uuid4(), uuid.uuid4()

    monkeypatch.setattr("sys.stdin", io.StringIO("rt-cli\n"))
    assert main(["connect", "--user", str(alice), "--refresh-token", "-"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("GA4SYNC_REFRESH_TOKEN", " rt-env\n")
    assert main(["connect", "--user", str(bob)]) == 0
    assert "connected user" in capsys.readouterr().out
    assert fake.token_requests == ["rt-cli", "rt-env"]

    async def stored() -> dict[uuid.UUID, str]:
        async with connect(database_url) as conn:
            rows = await conn.fetch(
                "select user_id, refresh_token_encrypted from google_credentials"
            )
        cipher = TokenCipher(encryption_key)
        return {r["user_id"]: cipher.decrypt(r["refresh_token_encrypted"]) for r in rows}

    assert asyncio.run(stored()) == {alice: "rt-cli", bob: "rt-env"}

    # Nothing anywhere, or an empty line: a usage error naming the ways, nothing asked of Google.
    monkeypatch.delenv("GA4SYNC_REFRESH_TOKEN")
    assert main(["connect", "--user", str(uuid.uuid4())]) == 2
    err = capsys.readouterr().err
    assert "--refresh-token -" in err and "GA4SYNC_REFRESH_TOKEN" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["connect", "--user", str(uuid.uuid4()), "--refresh-token", "-"]) == 2
    assert "no refresh token" in capsys.readouterr().err
    assert len(fake.token_requests) == 2


def test_a_refresh_token_on_the_command_line_still_works_with_a_warning(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    _, base_url = google_in_thread
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    assert main(["connect", "--user", str(uuid.uuid4()), "--refresh-token", "rt-cli"]) == 0
    assert "visible to other users of this machine" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize(
    ("unset", "bad", "named"),
    [
        ("GOOGLE_CLIENT_ID", {}, "GOOGLE_CLIENT_ID not set"),
        (None, {"TOKEN_ENCRYPTION_KEY": "not-a-fernet-key"}, "TOKEN_ENCRYPTION_KEY"),
    ],
)
def test_a_process_with_a_configuration_error_starts_nothing(
    command, unset, bad, named, database_url, encryption_key, monkeypatch, capsys, caplog
):
    _point_at(monkeypatch, database_url, encryption_key, "http://127.0.0.1:9")
    if unset:
        monkeypatch.delenv(unset)
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("PORT", str(port))
    monkeypatch.setenv("HOST", "127.0.0.1")
    caplog.set_level(logging.INFO)

    assert main([command]) == 2
    assert named in capsys.readouterr().err
    started = [r.getMessage() for r in caplog.records if r.name.startswith("ga4sync")]
    assert not [m for m in started if "web listening" in m or "scheduler armed" in m], started


def test_connect_names_google_when_it_cannot_be_reached(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    _, base_url = google_in_thread
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    monkeypatch.setenv("GOOGLE_TOKEN_URI", f"{closed_port_url()}/token")

    assert main(["connect", "--user", str(uuid.uuid4()), "--refresh-token", "rt-cli"]) == 1
    err = capsys.readouterr().err
    assert "Google could not be reached" in err and "nothing was stored" in err
    assert "Traceback" not in err

    async def stored() -> int:
        async with connect(database_url) as conn:
            return await conn.fetchval("select count(*) from google_credentials")

    assert asyncio.run(stored()) == 0


@pytest.mark.parametrize("command", ["migrate", "sync", "web", "worker", "serve"])
def test_an_invalid_definitions_file_stops_every_process(
    command, database_url, encryption_key, monkeypatch, capsys, tmp_path
):
    _point_at(monkeypatch, database_url, encryption_key, "http://127.0.0.1:9")
    path = tmp_path / "reports.toml"
    path.write_text('[[report]]\nname = "weekly"\ngrain = "week"\nmetrics = ["activUsers"]\n')
    monkeypatch.setenv("GA4SYNC_REPORTS", str(path))
    assert main([command]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ga4sync: configuration error: {path}: report 'weekly': metrics: ")
    assert "did you mean 'activeUsers'" in err and "Traceback" not in err


def test_reports_list_shows_columns_and_each_propertys_state(
    google_in_thread, database_url, encryption_key, monkeypatch, capsys
):
    _, base_url = google_in_thread
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    assert main(["migrate"]) == 0

    async def connect_one() -> None:
        async with connect(database_url) as conn:
            user = uuid.uuid4()
            await store_google_grant(conn, TokenCipher(encryption_key), user, "rt-cli")
            await connect_property(conn, user, "777", time_zone="Europe/Paris")

    asyncio.run(connect_one())
    assert main(["sync"]) == 0
    capsys.readouterr()
    assert main(["reports", "list"]) == 0
    out = capsys.readouterr().out
    assert "ga4_pages  (day grain" in out
    assert "page_path                        text" in out
    assert "screen_page_views                bigint" in out
    assert "property 777: done" in out and "last read ok" in out
    assert main(["reports", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in listed] == ["daily_totals", "traffic_sources", "pages"]


def test_reports_prune_deletes_a_removed_reports_rows(
    google_in_thread, database_url, encryption_key, monkeypatch, capsys, tmp_path
):
    _, base_url = google_in_thread
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    path = tmp_path / "reports.toml"
    path.write_text(
        '[[report]]\nname = "daily"\nmetrics = ["sessions"]\n'
        '[[report]]\nname = "by_page"\ndimensions = ["pagePath"]\nmetrics = ["sessions"]\n'
    )
    monkeypatch.setenv("GA4SYNC_REPORTS", str(path))
    assert main(["migrate"]) == 0

    async def connect_one() -> None:
        async with connect(database_url) as conn:
            user = uuid.uuid4()
            await store_google_grant(conn, TokenCipher(encryption_key), user, "rt-cli")
            await connect_property(conn, user, "777", time_zone="Europe/Paris")

    async def count(relation: str) -> int:
        async with connect(database_url) as conn:
            return await conn.fetchval(f"select count(*) from {relation}")

    asyncio.run(connect_one())
    assert main(["sync"]) == 0
    assert asyncio.run(count("ga4_by_page")) > 0
    # In use: nothing to prune.
    assert main(["reports", "prune", "by_page"]) == 1
    assert "is in use" in capsys.readouterr().err
    # Removed from the definitions: its rows stay until pruned.
    path.write_text('[[report]]\nname = "daily"\nmetrics = ["sessions"]\n')
    assert main(["sync"]) == 0
    stored = asyncio.run(count("ga4_by_page"))
    assert stored > 0
    capsys.readouterr()
    assert main(["reports", "prune", "by_page"]) == 0
    assert f"{stored:,} rows deleted" in capsys.readouterr().out
    with pytest.raises(asyncpg.UndefinedTableError):
        asyncio.run(count("ga4_by_page"))
    assert asyncio.run(count("ga4_daily")) > 0
    assert main(["reports", "prune", "by_page"]) == 1


def test_migrate_refuses_to_expose_reports_outside_supabase(
    database_url, encryption_key, monkeypatch, capsys
):
    _point_at(monkeypatch, database_url, encryption_key, "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_EXPOSE_REPORTS", "true")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "SUPABASE_EXPOSE_REPORTS is for Supabase databases" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["web"], ["serve"], ["demo", "--once"]])
def test_a_taken_port_is_named_with_how_to_choose_another(
    command, database_url, encryption_key, monkeypatch, capsys, tmp_path
):
    _point_at(monkeypatch, database_url, encryption_key, "http://127.0.0.1:9")
    monkeypatch.setenv("GA4SYNC_EMBEDDED_PG_DIR", str(tmp_path / "pg"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("PORT", str(port))
        monkeypatch.setenv("HOST", "127.0.0.1")

        assert main(command) == 1

    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is already in use" in err, err
    assert "PORT" in err and "--port" in err
    assert "database error" not in err and "Traceback" not in err


def test_every_command_tunes_the_cycle_collector_first(database_url, monkeypatch, capsys):
    tuned: list[str] = []
    monkeypatch.setattr(cli, "tune_collector", lambda: tuned.append("tuned"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEY", raising=False)
    assert main(["sync"]) == 2
    assert tuned == ["tuned"]


def test_resync_reads_the_dates_of_one_report_again_at_once(
    database_url, encryption_key, google_in_thread, monkeypatch, capsys
):
    fake, base_url = google_in_thread

    async def seed() -> None:
        async with connect(database_url) as conn:
            user = uuid.uuid4()
            await store_google_grant(conn, TokenCipher(encryption_key), user, "rt-cli")
            await connect_property(conn, user, "777", time_zone="Europe/Paris")

    asyncio.run(seed())
    _point_at(monkeypatch, database_url, encryption_key, base_url)
    today = fake.today("777")
    first, last = today - timedelta(days=9), today - timedelta(days=5)
    dates = ["--from", str(first), "--to", str(last)]

    assert main(["resync", "--property", "777", "--report", "pages", *dates, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["properties_total"] == 1 and summary["rows_inserted"] == 5 * 3
    asked = [
        (b["dimensions"][1]["name"], b["dateRanges"][0]["startDate"], b["dateRanges"][0]["endDate"])
        for _, b in fake.report_requests
    ]
    assert asked == [("pagePath", str(first), str(last))]

    assert main(["resync", "--property", "777", "--report", "nope", *dates]) == 1
    assert "No report 'nope' syncs property 777" in capsys.readouterr().err
    assert main(["resync", "--property", "999", *dates]) == 1
    assert "no property 999 to sync" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["resync", "--property", "777", "--from", "yesterday", "--to", str(last)])
    assert "is not a date" in capsys.readouterr().err
