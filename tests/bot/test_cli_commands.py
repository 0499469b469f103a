"""The console commands and their errors: subscriptions, deliveries, db, check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh database named by EXITPLAN_DB, without the catalog's feeds."""
    path = tmp_path / "exitplan.db"
    monkeypatch.setenv("EXITPLAN_DB", str(path))
    monkeypatch.setenv("EXITPLAN_POLL_CATALOG", "false")
    monkeypatch.setenv("EXITPLAN_ALLOW_PRIVATE_FEEDS", "true")
    return path


def test_subscribe_list_and_unsubscribe(db_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Subscriptions are listed with their kinds; unsubscribing twice says it was not there."""
    assert main(["subscribe", "b2", "--kinds", "shutdown", "outage"]) == 0
    assert main(["subscriptions"]) == 0
    assert main(["unsubscribe", "backblaze"]) == 0
    assert main(["unsubscribe", "backblaze"]) == 1
    captured = capsys.readouterr()
    assert "Subscribed: Backblaze (shutdown, outage)." in captured.out
    assert "Backblaze: shutdown, outage" in captured.out
    assert "Unsubscribed from Backblaze." in captured.out
    assert "This channel is not subscribed to Backblaze." in captured.err


def test_subscribe_rejects_an_unknown_kind(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt kind is refused with the list of valid ones."""
    assert main(["subscribe", "aws", "--kinds", "shutdowns"]) == 1
    assert "Unknown kind 'shutdowns'. Choose from: shutdown, data_loss" in capsys.readouterr().err


def test_status_of_an_unknown_provider_suggests(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`status wasabee` fails and suggests wasabi."""
    assert main(["status", "wasabee"]) == 1
    assert "Did you mean: wasabi" in capsys.readouterr().err


def test_providers_query_and_no_match(db_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A query narrows the list; one that matches nothing fails with suggestions."""
    assert main(["providers", "backup"]) == 0
    out = capsys.readouterr().out
    assert "carbonite — Carbonite [backup]" in out
    assert "aws —" not in out
    assert main(["providers", "zzqx"]) == 1


def test_deliveries_and_db_info_on_an_empty_database(
    db_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty outbox says so; `db` names the file and the schema version."""
    assert main(["deliveries"]) == 0
    assert main(["deliveries", "--failed"]) == 0
    assert main(["deliveries", "retry"]) == 0
    assert main(["db"]) == 0
    out = capsys.readouterr().out
    assert "The outbox is empty." in out
    assert "No failed deliveries." in out
    assert "Queued 0 failed delivery(ies) again" in out
    assert f"Database: {db_env}" in out


def test_db_backup_refuses_to_overwrite(
    db_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing backup file is never overwritten."""
    target = tmp_path / "taken.db"
    target.write_text("keep me")
    assert main(["db", "backup", str(target)]) == 1
    assert target.read_text() == "keep me"
    assert "exists; choose a new file name" in capsys.readouterr().err


def test_check_reads_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --file` classifies the file's text, first line as the title."""
    notice = tmp_path / "notice.txt"
    notice.write_text(
        "Security incident\nAn unauthorized party accessed customer API keys in our dashboard.\n"
    )
    assert main(["check", "--file", str(notice), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kinds"] == ["security"]


def test_check_a_missing_file_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is an error that names it."""
    assert main(["check", "--file", str(tmp_path / "nope.txt")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_check_url_classifies_each_entry(
    db_env: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --url` fetches a feed and classifies every entry."""
    feed_server.set_feed("/blog.rss", (DATA / "wordpress_blog.rss").read_bytes())
    assert main(["check", "--url", feed_server.url("/blog.rss"), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    kinds = {record["title"]: record["kinds"] for record in records}
    assert kinds["Example Cloud Vault is shutting down on September 30, 2024"] == ["shutdown"]
    assert kinds["Changes to Object Storage pricing"] == ["price_change"]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` works for every command and names what it does."""
    for command in ("run", "poll", "providers", "events", "status", "reminders", "checklist"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        assert f"usage: exitplan {command}" in capsys.readouterr().out
