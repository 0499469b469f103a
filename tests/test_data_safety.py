"""Data safety: backups while running, restores that check before replacing anything,
migrations that refuse a newer schema, and secrets that never reach a log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.cli import main
from bot.discord_app import LOGIN_REFUSED
from storage import StorageError, open_db
from storage.db import known_migrations
from storage.migrations import MIGRATIONS
from tests.discord_server import DiscordServer
from tests.servers import FeedServer
from tests.slack_server import BOT_TOKEN, SlackServer

_DEADLINE = 30.0
FEED = "/news.rss"
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Acme news</title>'
    b"<link>https://acme.test/</link><item><title>Acme opens a data center</title>"
    b"<guid>dc-1</guid><link>https://acme.test/dc</link></item></channel></rss>"
)


def _wait_for(condition: Callable[[], object], what: str, timeout: float = _DEADLINE) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The database the `exitplan` commands of a test use."""
    path = tmp_path / "exitplan.db"
    monkeypatch.setenv("EXITPLAN_DB", str(path))
    monkeypatch.setenv("EXITPLAN_POLL_CATALOG", "false")
    return path


def _subscriptions(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT provider FROM subscriptions ORDER BY 1")]
    finally:
        conn.close()


def _add_future_migration(path: Path) -> None:
    """Record a migration no version of this code has, as a newer exitplan would."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('exitplan', 'm099_from_the_future', '2030-01-01 00:00:00+00:00')"
        )
    conn.close()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if "before-restore" in p.name)


# -- restore ------------------------------------------------------------------------------


def test_restore_saves_the_current_database_then_brings_the_backup_back(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db restore` puts the backup's data back and keeps what it replaced next to it."""
    assert main(["subscribe", "backblaze"]) == 0
    backup = tmp_path / "monday.db"
    assert main(["db", "backup", str(backup)]) == 0
    assert main(["subscribe", "wasabi"]) == 0
    capsys.readouterr()

    assert main(["db", "restore", str(backup)]) == 0
    out = capsys.readouterr().out
    (saved,) = _siblings(db_path)

    assert _subscriptions(db_path) == ["backblaze"]
    assert _subscriptions(db_path.with_name(saved)) == ["backblaze", "wasabi"]
    assert saved.startswith("exitplan.db.before-restore-20")
    assert out.splitlines() == [
        f"Checked {backup}: an exitplan database, integrity ok, schema version "
        f"{len(_migrations(db_path))} (this exitplan: {len(_migrations(db_path))}).",
        f"Saved the current database as {db_path.with_name(saved)}.",
        f"Restored {db_path} from {backup}; schema version now {len(_migrations(db_path))}. "
        "Start exitplan again.",
    ]


def _migrations(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations")]
    finally:
        conn.close()


def _corrupt(path: Path) -> None:
    """Overwrite the middle of every page after the first, leaving the header intact."""
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(page, len(data), page):
        data[start + 100 : start + 400] = b"\xa5" * 300
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda p: p.write_text("exitplan backup\n"), "is not an SQLite database"),
        (_corrupt, "nothing was restored"),
        (_add_future_migration, "newer than this exitplan's"),
        (lambda p: p.unlink(), "cannot read"),
    ],
    ids=["not-sqlite", "corrupt", "newer-schema", "missing"],
)
def test_restore_refuses_a_bad_backup_and_changes_nothing(
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: Callable[[Path], object],
    message: str,
) -> None:
    """A file that is not SQLite, fails the integrity check, comes from a newer exitplan
    or is missing is refused with the reason; the current database stays as it was."""
    assert main(["subscribe", "backblaze"]) == 0
    backup = tmp_path / "bad.db"
    assert main(["db", "backup", str(backup)]) == 0
    spoil(backup)
    assert main(["subscribe", "wasabi"]) == 0
    capsys.readouterr()

    code = main(["db", "restore", str(backup)])
    err = capsys.readouterr().err

    assert (code, message in err, err.startswith("exitplan: ")) == (1, True, True), err
    assert _subscriptions(db_path) == ["backblaze", "wasabi"]
    assert _siblings(db_path) == []


def test_restore_of_an_older_backup_applies_the_newer_migrations(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup whose schema lacks the latest migration is restored, then migrated forward."""
    known = known_migrations()
    backup = tmp_path / "older.db"
    older = Database(backup)
    MIGRATIONS.apply(older, stop_before=known[-1])
    older.close()
    open_db(db_path).close()
    capsys.readouterr()

    assert main(["db", "restore", str(backup)]) == 0
    out = capsys.readouterr().out

    assert f"schema version {len(known) - 1} (this exitplan: {len(known)})" in out
    assert f"schema version now {len(known)}." in out
    assert sorted(_migrations(db_path)) == sorted(known)


# -- newer schema -------------------------------------------------------------------------


def test_open_db_refuses_a_database_a_newer_exitplan_migrated(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Migrations do not run on a newer schema: the error names the versions and the fix,
    and every command exits 1 with it instead of touching the database."""
    open_db(db_path).close()
    _add_future_migration(db_path)
    applied = len(_migrations(db_path))

    with pytest.raises(StorageError) as raised:
        open_db(db_path)
    code = main(["subscriptions"])
    err = capsys.readouterr().err

    assert str(raised.value) == (
        f"the database {db_path} has schema version {applied}, newer than this exitplan's "
        f"{applied - 1}: it has migration(s) m099_from_the_future that this version does "
        "not know. Upgrade exitplan, or restore a backup made with this version "
        "(`exitplan db restore PATH`)"
    )
    assert (code, err) == (1, f"exitplan: {raised.value}\n")
    assert len(_migrations(db_path)) == applied


# -- while running ------------------------------------------------------------------------


@pytest.fixture
def running(tmp_path: Path, feed_server: FeedServer) -> Iterator[subprocess.Popen[str]]:
    """`exitplan run` (console only) polling a local feed every second, stopped after."""
    feed_server.set_feed(FEED, RSS)
    config = tmp_path / "exitplan.toml"
    config.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\npoll_catalog = false\n'
        'allow_private_feeds = true\npoll_interval = "1s"\n'
        f'[[providers]]\nslug = "acme"\nfeeds = [{{ url = "{feed_server.url(FEED)}" }}]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
    env["EXITPLAN_CONFIG"] = str(config)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: feed_server.hits(FEED) >= 2, "two polls")
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=_DEADLINE)


def test_backup_while_running_is_consistent_and_restore_waits_for_the_stop(
    running: subprocess.Popen[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While `exitplan run` polls, `db backup` makes an intact copy and `db restore` refuses;
    once it has stopped, the restore goes through."""
    monkeypatch.setenv("EXITPLAN_CONFIG", str(tmp_path / "exitplan.toml"))
    backup = tmp_path / "copy.db"
    assert main(["db", "backup", str(backup)]) == 0
    refused = main(["db", "restore", str(backup)])
    err = capsys.readouterr().err
    running.send_signal(signal.SIGTERM)
    running.wait(timeout=_DEADLINE)
    restored = main(["db", "restore", str(backup)])

    conn = sqlite3.connect(backup)
    try:
        checked = conn.execute("PRAGMA integrity_check").fetchone()
        entries = conn.execute("SELECT title FROM entries").fetchall()
    finally:
        conn.close()
    assert (checked, entries) == (("ok",), [("Acme opens a data center",)])
    assert (refused, restored) == (1, 0)
    assert "is in use by another process (is `exitplan run` running?)" in err


# -- secrets ------------------------------------------------------------------------------

# Tails that cannot occur by chance in a log: not hex, so no memory address (0x7f3a9c…)
# printed at debug level can look like one.
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-0000-SECRET-bot-qzbotwq",
    "SLACK_APP_TOKEN": "xapp-1-SECRET-app-qzappwq",
    "SLACK_SIGNING_SECRET": "SECRET-signing-qzsignwq",
    "DISCORD_TOKEN": "MTIz.SECRET-discord.qzdiscwq",
}


def _run_verbose(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `exitplan run -v` with `env`; its output goes to tmp_path/out and tmp_path/err."""
    config = tmp_path / "exitplan.toml"
    config.write_text(f'database = "{tmp_path / "exitplan.db"}"\npoll_catalog = false\n')
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
    with (tmp_path / "out").open("w") as out, (tmp_path / "err").open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "-v"],
            env=base | {"EXITPLAN_CONFIG": str(config)} | env,
            stdout=out,
            stderr=err,
            text=True,
        )


def _output(tmp_path: Path) -> tuple[str, str]:
    return (tmp_path / "out").read_text(), (tmp_path / "err").read_text()


def _leaks(output: str) -> list[str]:
    """The secret values, or their distinctive tails, found in `output`."""
    return [
        name
        for name, value in SECRETS.items()
        if value in output or value.rsplit("-", 1)[-1] in output
    ]


@pytest.mark.parametrize("rejected", ["bot", "app"])
def test_rejected_slack_tokens_never_appear_in_debug_logs(tmp_path: Path, rejected: str) -> None:
    """`run -v` with Slack tokens the Web API refuses stops with the fix, and neither
    stdout nor stderr holds any token or the signing secret, even at debug level."""
    env = dict(SECRETS)
    del env["DISCORD_TOKEN"]
    with SlackServer() as slack:
        env["EXITPLAN_SLACK_API_URL"] = slack.api_url
        if rejected == "app":
            env["SLACK_BOT_TOKEN"] = BOT_TOKEN  # accepted, so the app token is tried
        process = _run_verbose(tmp_path, env)
        process.wait(timeout=_DEADLINE)
        calls = [call.method for call in slack.calls()]
    out, err = _output(tmp_path)
    refusal = {"bot": "Slack refused SLACK_BOT_TOKEN", "app": "Slack refused SLACK_APP_TOKEN"}
    assert (process.returncode, refusal[rejected] in err) == (2, True), err
    assert ("apps.connections.open" in calls) == (rejected == "app")
    assert "DEBUG" in err
    assert _leaks(out + err) == []


def test_a_rejected_discord_token_never_appears_in_debug_logs(tmp_path: Path) -> None:
    """`run -v` with a Discord token the API refuses logs the refusal, not the token."""
    with DiscordServer(token="another-token") as discord:  # noqa: S106 - a stand-in token
        env = {
            "DISCORD_TOKEN": SECRETS["DISCORD_TOKEN"],
            "EXITPLAN_DISCORD_API_URL": discord.api_url,
            "EXITPLAN_DISCORD_GATEWAY_URL": discord.gateway_url,
        }
        process = _run_verbose(tmp_path, env)
        try:
            _wait_for(lambda: LOGIN_REFUSED in _output(tmp_path)[1], "the refusal in the log")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=_DEADLINE)
    out, err = _output(tmp_path)
    assert (process.returncode, LOGIN_REFUSED in err, "DEBUG" in err) == (0, True, True), err
    assert _leaks(out + err) == []
