"""Pause and resume: settings kept, nothing queued while paused, catch-up once on resume."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import core
from bot.cli import main
from bot.discord_app import DiscordBot, configure_endpoints
from bot.notify import Target
from bot.pause import cmd_pause, cmd_resume
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack_commands import ADMINS_ONLY, run_command
from storage import EntryWrite, EvidenceRecord, FeedSource
from storage.deliveries import due_deliveries
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.reminders import queue_reminders
from storage.subscriptions import list_subscriptions
from tests.discord_server import TOKEN, USER_ID, DiscordServer

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
CONSOLE = Target("console", "local", "ops")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on a fresh database with Backblaze's news feed read once (the baseline)."""
    runtime = open_runtime(Settings(db_path=tmp_path / "exitplan.db", poll_catalog=False), NOW)
    sync_feeds(runtime.db, [FeedSource("backblaze", "https://b2.test/feed", "news")], NOW)
    _save(runtime, NOW)
    yield runtime
    runtime.close()


def _write(key: str, title: str, deadline: date | None = None) -> EntryWrite:
    return EntryWrite(
        key=key,
        title=title,
        link=None,
        published=NOW,
        updated=None,
        text="B2 Legacy Vaults close; copy your data out.",
        categories=(),
        content_hash=key,
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "close", "a service ends"),),
        deadline=deadline,
        deadline_phrase="on July 31, 2026" if deadline else None,
        state=None,
    )


def _save(rt: Runtime, at: datetime, *writes: EntryWrite) -> None:
    feed = list_feeds(rt.db)[0]
    save_entries(
        rt.db,
        feed.id,
        list(writes),
        at,
        at,
        status=200,
        etag=None,
        last_modified=None,
        body_hash=str(random.random()),
    )


def _titles(rt: Runtime, at: datetime) -> list[tuple[str, str]]:
    """(purpose, title) of every delivery due at `at`."""
    return sorted((job.delivery.purpose, job.event.title) for job in due_deliveries(rt.db, at))


def test_pause_keeps_settings_and_list_shows_who_and_when(rt: Runtime) -> None:
    """A paused subscription keeps kinds and filters; list says "PAUSED: by alice on DATE"."""
    core.cmd_subscribe(rt, CONSOLE, "b2", ["shutdown"], NOW, match=["B2"])
    reply = cmd_pause(rt, CONSOLE, "backblaze", NOW, user="alice")
    (sub,) = list_subscriptions(rt.db)
    assert (reply.ok, sub.kinds, sub.match_terms, sub.paused_by) == (
        True,
        ("shutdown",),
        ("B2",),
        "alice",
    )
    assert core.cmd_list(rt, CONSOLE).sections[0].lines == (
        "Backblaze: shutdown (match: B2) — PAUSED: by alice on 2026-05-01",
    )


def test_nothing_is_queued_while_paused_and_resume_catches_up_once(rt: Runtime) -> None:
    """News from the pause is skipped; a pending deadline follows on resume, once."""
    core.cmd_subscribe(rt, CONSOLE, "backblaze", [], NOW)
    cmd_pause(rt, CONSOLE, "backblaze", NOW, user="alice")
    later = NOW + timedelta(days=1)
    _save(
        rt,
        later,
        _write("news", "B2 Fireball service ends"),
        _write("eol", "B2 Legacy Vaults will be discontinued", date(2026, 7, 31)),
    )
    assert _titles(rt, later) == []
    resumed = cmd_resume(rt, CONSOLE, "backblaze", later)
    again = cmd_resume(rt, CONSOLE, "backblaze", later)
    assert (resumed.title, again.title) == (
        "Resumed Backblaze here. 1 announcement(s) still pending (deadlines ahead, open "
        "incidents) will follow.",
        "Backblaze is not paused here.",
    )
    assert _titles(rt, later) == [("alert", "B2 Legacy Vaults will be discontinued")]


def test_reminders_skip_a_paused_channel_and_resume_with_the_latest(rt: Runtime) -> None:
    """No reminder is queued while paused; after resume only the latest due one is sent."""
    core.cmd_subscribe(rt, CONSOLE, "backblaze", [], NOW)
    _save(rt, NOW, _write("eol", "B2 Legacy Vaults will be discontinued", date(2026, 7, 31)))
    cmd_pause(rt, CONSOLE, "backblaze", NOW, user="alice")
    offsets = (60, 30)
    july = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)  # 29 days before: both reminders are due
    paused = queue_reminders(rt.db, july.date(), offsets, july)
    cmd_resume(rt, CONSOLE, "backblaze", july)
    resumed = queue_reminders(rt.db, july.date(), offsets, july)
    reminders = [(p, t) for p, t in _titles(rt, july) if p == "reminder"]
    assert (paused, resumed, reminders) == (
        0,
        1,
        [("reminder", "B2 Legacy Vaults will be discontinued")],
    )


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("pause", "Backblaze is already paused here by alice; `resume` it."),
        ("pause-unknown", "Unknown provider 'backblaz'."),
        ("pause-unsubscribed", "This channel is not subscribed to Wasabi."),
    ],
)
def test_pause_refusals(rt: Runtime, command: str, expected: str) -> None:
    """Pausing twice, an unknown provider or one not subscribed is refused with the reason."""
    core.cmd_subscribe(rt, CONSOLE, "backblaze", [], NOW)
    cmd_pause(rt, CONSOLE, "backblaze", NOW, user="alice")
    name = {"pause": "backblaze", "pause-unknown": "backblaz", "pause-unsubscribed": "wasabi"}
    reply = cmd_pause(rt, CONSOLE, name[command], NOW, user="bob")
    assert (reply.ok, reply.title.startswith(expected)) == (False, True)


def test_console_pause_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`exitplan pause b2 --by alice`, `subscriptions`, `exitplan resume b2`."""
    monkeypatch.setenv("EXITPLAN_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("EXITPLAN_POLL_CATALOG", "false")
    assert main(["subscribe", "b2"]) == 0
    assert main(["pause", "b2", "--by", "alice"]) == 0
    assert main(["subscriptions"]) == 0
    assert main(["resume", "b2"]) == 0
    assert main(["resume", "b2"]) == 1
    captured = capsys.readouterr()
    assert "Paused Backblaze here." in captured.out
    assert "Backblaze: shutdown, data loss, security, price change — PAUSED: by alice on " in (
        captured.out
    )
    assert "Resumed Backblaze here." in captured.out
    assert "Backblaze is not paused here." in captured.err


def test_slack_pause_and_resume_are_public_and_need_the_right_to_change(rt: Runtime) -> None:
    """`/exitplan pause b2` is posted in the channel; someone not allowed is refused."""
    slack = Target("slack", "T1", "C1")
    core.cmd_subscribe(rt, slack, "backblaze", [], NOW)
    refused = run_command(rt, slack, "U2", "pause b2", NOW, may_change=lambda user: user == "U1")
    paused = run_command(rt, slack, "U1", "pause b2", NOW, may_change=lambda _: True)
    (sub,) = list_subscriptions(rt.db, platform="slack")
    resumed = run_command(rt, slack, "U1", "resume b2", NOW, may_change=lambda _: True)
    assert (refused.reply.title, paused.public, sub.paused_by, resumed.public) == (
        ADMINS_ONLY,
        True,
        "U1",
        True,
    )
    assert list_subscriptions(rt.db, platform="slack")[0].active


@pytest.fixture
def discord_bot(tmp_path: Path) -> Iterator[tuple[DiscordServer, Runtime]]:
    """The Discord bot against the stand-in, with the test's own runtime on its database."""
    with DiscordServer() as server:
        settings = Settings(
            db_path=tmp_path / "discord.db",
            poll_catalog=False,
            discord_token=TOKEN,
            discord_api_url=server.api_url,
            discord_gateway_url=server.gateway_url,
        )
        runtime = open_runtime(settings, NOW, sync=False)
        configure_endpoints(settings.discord_api_url, settings.discord_gateway_url)
        bot = DiscordBot(settings)
        bot.start()
        assert server.wait_until(server.is_ready)
        yield server, runtime
        bot.stop()
        runtime.close()
    configure_endpoints(None, None)


def test_discord_pause_and_resume(discord_bot: tuple[DiscordServer, Runtime]) -> None:
    """`/exitplan pause provider:wasabi` pauses by the member's name; resume takes it up."""
    server, runtime = discord_bot
    server.answer(server.slash("subscribe", {"provider": "wasabi"}))
    paused = server.answer(server.slash("pause", {"provider": "wasabi"}))
    (sub,) = list_subscriptions(runtime.db, platform="discord")
    resumed = server.answer(server.slash("resume", {"provider": "wasabi"}))
    refused = server.answer(server.slash("pause", {"provider": "wasabi"}, permissions=0))
    assert (
        paused["data"]["embeds"][0]["title"].startswith("Paused Wasabi here."),
        sub.paused_by,
        resumed["data"]["embeds"][0]["title"],
        refused["data"]["flags"],
    ) == (True, f"user{USER_ID % 1000}", "Resumed Wasabi here.", 1 << 6)


def test_resume_keeps_what_the_filters_keep_out_out(rt: Runtime) -> None:
    """Catch-up on resume goes through the same filters as any alert."""
    core.cmd_subscribe(rt, CONSOLE, "backblaze", [], NOW, match=["Computer Backup"])
    cmd_pause(rt, CONSOLE, "backblaze", NOW, user="alice")
    _save(rt, NOW, _write("eol", "B2 Legacy Vaults will be discontinued", date(2026, 7, 31)))
    reply = cmd_resume(rt, CONSOLE, "backblaze", NOW)
    assert (reply.title, _titles(rt, NOW)) == ("Resumed Backblaze here.", [])


def test_resuming_a_chat_error_pause_resends_what_failed(rt: Runtime) -> None:
    """A subscription paused by a chat error resumes too, with its failed deliveries queued."""
    core.cmd_subscribe(rt, CONSOLE, "backblaze", [], NOW)
    _save(rt, NOW, _write("news", "B2 Fireball service ends"))
    (job,) = due_deliveries(rt.db, NOW)
    rt.db.execute("UPDATE deliveries SET status = 'failed' WHERE id = ?", [job.delivery.id])
    rt.db.execute(
        "UPDATE subscriptions SET paused_reason = 'channel_not_found', paused_at = ?",
        [NOW.isoformat()],
    )
    listed = core.cmd_list(rt, CONSOLE).sections[0].lines
    reply = cmd_resume(rt, CONSOLE, "backblaze", NOW)
    assert (listed, reply.ok, _titles(rt, NOW)) == (
        (
            "Backblaze: shutdown, data loss, security, price change — PAUSED: channel_not_found "
            "on 2026-05-01",
        ),
        True,
        [("alert", "B2 Fireball service ends")],
    )
