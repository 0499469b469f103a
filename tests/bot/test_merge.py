"""One shutdown on a provider's blog and status page: one alert naming both, and a split."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.alerts import Alert, AlertSource
from bot.cli import main
from bot.console import render_alert_text
from bot.discord_render import EmbedField
from bot.discord_render import render_alert as discord_alert
from bot.dispatch import dispatch_due
from bot.notify import MemoryNotifier
from bot.slack_render import render_alert as slack_alert
from feeds.fetch import FetchLimits
from feeds.watcher import PollSettings, poll_once
from storage import FeedSource, open_db
from storage.feeds import sync_feeds
from storage.subscriptions import subscribe
from tests.servers import FeedServer

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SETTINGS = PollSettings(
    interval=600,
    jitter=0.0,
    limits=FetchLimits(total_timeout=5, read_timeout=5),
    allow_private=True,  # the test servers listen on 127.0.0.1
)
REASON = "same deadline 2026-06-30 and kind shutdown"
POST_TITLE = "Retiring Acme Vault on June 30, 2026"
POST_LINK = "https://blog.acme.test/2026/05/retiring-vault/"
NOTICE_TITLE = "Acme Vault end of service"
NOTICE_LINK = "https://status.acme.test/incidents/vault-eos"
OLD_POST = (
    "Faster uploads with the new CLI",
    "https://blog.acme.test/2026/01/faster-cli/",
    "Our new command line tool uploads in parallel.",
    datetime(2026, 1, 12, tzinfo=UTC),
)
POST = (
    POST_TITLE,
    POST_LINK,
    "Today we are announcing that Acme Vault, our cold archive service, will be shut down "
    "on June 30, 2026. Data left in Vault after that date will be deleted. Please move "
    "your archives to Acme Object Storage.",
    T0 + timedelta(hours=1),
)
OLD_INCIDENT = (
    "Scheduled maintenance of the control panel",
    "https://status.acme.test/incidents/panel",
    "<strong>Completed</strong> - The scheduled maintenance has been completed.",
    datetime(2026, 3, 2, tzinfo=UTC),
)
NOTICE = (
    NOTICE_TITLE,
    NOTICE_LINK,
    "<strong>Scheduled</strong> - Acme Vault will be shut down on June 30, 2026. Customers "
    "must move their data out of Vault before then.",
    T0 + timedelta(hours=3),
)


def _rss(title: str, *items: tuple[str, str, str, datetime], built: str = "") -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate>"
        f"<description><![CDATA[<p>{text}</p>]]></description></item>"
        for t, link, text, when in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://acme.test</link>"
        f"<description>{built}</description>{body}</channel></rss>"
    ).encode()


def _blog(*items: tuple[str, str, str, datetime], built: str = "") -> bytes:
    return _rss("Acme Blog", *items, built=built)


def _status(*items: tuple[str, str, str, datetime]) -> bytes:
    return _rss("Acme Status - Incident History", *items)


@pytest.fixture
def served(feed_server: FeedServer) -> FeedServer:
    """Acme's blog and status page, each with one old item only."""
    feed_server.set_feed("/blog.rss", _blog(OLD_POST))
    feed_server.set_feed("/history.rss", _status(OLD_INCIDENT))
    return feed_server


def _open(path: Path, server: FeedServer) -> Database:
    db = open_db(path)
    sync_feeds(
        db,
        [
            FeedSource("acme", server.url("/blog.rss"), "news"),
            FeedSource("acme", server.url("/history.rss"), "status"),
        ],
        T0,
    )
    return db


def _cycle(db: Database, notifier: MemoryNotifier, at: datetime) -> list[tuple[Alert, str | None]]:
    """Poll every feed, send what is due, and return what this cycle sent."""
    before = len(notifier.sent)
    poll_once(db, at, SETTINGS, rng=random.Random(1), every_feed=True)
    dispatch_due(db, {"memory": notifier}, at, provider_name=lambda slug: "Acme")
    return [(alert, reply_to) for alert, _, reply_to in notifier.sent[before:]]


def _sources(alert: Alert) -> list[tuple[int, str, str, str | None, bool]]:
    return [(s.number, s.role, s.title, s.reason, s.new) for s in alert.sources]


@pytest.fixture
def db(tmp_path: Path, served: FeedServer) -> Database:
    """Both feeds read once (the silent baseline), and a channel that wants shutdowns."""
    database = _open(tmp_path / "exitplan.db", served)
    poll_once(database, T0, SETTINGS, rng=random.Random(1), every_feed=True)
    subscribe(
        database,
        platform="memory",
        workspace="team",
        channel="ops",
        provider="acme",
        kinds=("shutdown",),
        now=T0,
    )
    return database


def test_a_later_status_notice_is_a_threaded_follow_up_naming_both_sources(
    db: Database, served: FeedServer
) -> None:
    """The blog post alerts; the status notice of the same shutdown follows up under it."""
    notifier = MemoryNotifier()
    served.set_feed("/blog.rss", _blog(POST, OLD_POST))
    ((alert, reply_to),) = _cycle(db, notifier, T0 + timedelta(hours=2))
    assert (alert.purpose, alert.title, alert.sources, reply_to) == ("alert", POST_TITLE, (), None)

    served.set_feed("/history.rss", _status(NOTICE, OLD_INCIDENT))
    ((update, reply_to),) = _cycle(db, notifier, T0 + timedelta(hours=4))
    assert (update.purpose, update.event_id, update.headline, reply_to) == (
        "update",
        alert.event_id,
        "ALSO ANNOUNCED: SHUTDOWN · high",
        "memory:1",
    )
    assert _sources(update) == [
        (1, "news feed", POST_TITLE, None, False),
        (2, "status page", NOTICE_TITLE, REASON, True),
    ]
    text = render_alert_text(update)
    assert f"Also announced on the status page: {NOTICE_TITLE} (merged: {REASON})" in text
    assert f"  2. status page: {NOTICE_TITLE} (merged: {REASON}) — {NOTICE_LINK}" in text


def test_both_sources_in_one_poll_make_one_alert_naming_both(
    db: Database, served: FeedServer
) -> None:
    """Published on the blog and the status page before the next poll: exactly one alert."""
    notifier = MemoryNotifier()
    served.set_feed("/blog.rss", _blog(POST, OLD_POST))
    served.set_feed("/history.rss", _status(NOTICE, OLD_INCIDENT))
    ((alert, _),) = _cycle(db, notifier, T0 + timedelta(hours=4))
    assert (alert.purpose, alert.headline) == ("alert", "SHUTDOWN · high")
    # the two feeds are read concurrently, so either may be the first source
    assert sorted((s.role, s.title, s.new) for s in alert.sources) == [
        ("news feed", POST_TITLE, False),
        ("status page", NOTICE_TITLE, False),
    ]
    assert [s.reason for s in alert.sources] == [None, REASON]
    assert _cycle(db, notifier, T0 + timedelta(hours=5)) == []


def test_no_duplicate_alerts_after_reopening_the_database(
    db: Database, served: FeedServer, tmp_path: Path
) -> None:
    """After a restart, both feeds read again (a source reworded, nothing new) send nothing."""
    notifier = MemoryNotifier()
    served.set_feed("/blog.rss", _blog(POST, OLD_POST))
    served.set_feed("/history.rss", _status(NOTICE, OLD_INCIDENT))
    assert len(_cycle(db, notifier, T0 + timedelta(hours=4))) == 1
    db.close()
    again = _open(tmp_path / "exitplan.db", served)
    served.set_feed("/blog.rss", _blog(POST, OLD_POST, built="rebuilt"))
    title, link, text, when = NOTICE
    reworded = (title, link, text + " Export tools are ready.", when)
    served.set_feed("/history.rss", _status(reworded, OLD_INCIDENT))
    assert _cycle(again, notifier, T0 + timedelta(hours=6)) == []
    assert len(notifier.sent) == 1


def test_slack_and_discord_list_the_sources_and_the_new_one() -> None:
    """Both renderers name every source with its reason and lead with the new one."""
    sources = (
        AlertSource(1, "news feed", POST_TITLE, POST_LINK, None),
        AlertSource(2, "status page", NOTICE_TITLE, NOTICE_LINK, REASON, new=True),
    )
    alert = Alert(
        event_id=4,
        purpose="update",
        provider="acme",
        provider_name="Acme",
        title=POST_TITLE,
        link=POST_LINK,
        kinds=("shutdown",),
        severity="high",
        published=T0,
        deadline=date(2026, 6, 30),
        days_left=57,
        deadline_phrase="on June 30, 2026",
        state=None,
        evidence=(),
        summary="",
        sources=sources,
    )
    blocks = slack_alert(alert)
    texts = [block["text"]["text"] for block in blocks if "text" in block]
    contexts = [block["elements"][0]["text"] for block in blocks if block["type"] == "context"]
    assert (
        f":link: Also announced on the <{NOTICE_LINK}|status page: {NOTICE_TITLE}> "
        f"(merged: {REASON})"
    ) in texts
    assert (
        f"Sources: 1. <{POST_LINK}|news feed>, 2. <{NOTICE_LINK}|status page> (merged: {REASON})"
        in contexts
    )
    embed = discord_alert(alert).embed
    assert (
        EmbedField(
            "Sources (2)",
            f"1. news feed: {POST_TITLE} — {POST_LINK}\n"
            f"2. status page: {NOTICE_TITLE} — {NOTICE_LINK} (merged: {REASON})",
        )
        in embed.fields
    )
    assert (
        f"🔗 Also announced on the status page: {NOTICE_TITLE} — {NOTICE_LINK} (merged: {REASON})"
        in embed.description
    )


# -- the console: events, status and split ---------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, served: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file watching acme's blog and status page on the local server."""
    path = tmp_path / "exitplan.toml"
    path.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\n'
        "poll_catalog = false\n"
        "allow_private_feeds = true\n"
        "[[providers]]\n"
        'slug = "acme"\n'
        'name = "Acme"\n'
        "feeds = [\n"
        f'  {{ url = "{served.url("/blog.rss")}", role = "news" }},\n'
        f'  {{ url = "{served.url("/history.rss")}", role = "status" }},\n'
        "]\n"
    )
    monkeypatch.setenv("EXITPLAN_CONFIG", str(path))
    return path


def _merged_event_id(tmp_path: Path) -> int:
    db = open_db(tmp_path / "exitplan.db")
    try:
        row = db.execute(
            "SELECT event_id FROM event_sources GROUP BY event_id HAVING count(*) = 2"
        ).fetchone()
        return int(row[0])
    finally:
        db.close()


def test_events_shows_the_merge_and_split_undoes_it_with_an_alert(
    config: Path, served: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`events` numbers the sources with the reason; `events split` makes two and says so."""
    assert main(["poll", "--once", "--now"]) == 0
    served.set_feed("/blog.rss", _blog(POST, OLD_POST))
    assert main(["poll", "--once", "--now"]) == 0
    served.set_feed("/history.rss", _status(NOTICE, OLD_INCIDENT))
    assert main(["poll", "--once", "--now"]) == 0
    assert "== ALSO ANNOUNCED: SHUTDOWN · high == Acme" in capsys.readouterr().out
    event_id = _merged_event_id(tmp_path)

    assert main(["events"]) == 0
    listed = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(listed) if line.startswith(f"Acme: #{event_id} "))
    assert listed[at].endswith("(2 sources)")
    assert listed[at + 1 : at + 3] == [
        f"    source 1: news feed: {POST_TITLE} {POST_LINK}",
        f"    source 2: status page: {NOTICE_TITLE} {NOTICE_LINK} — merged: {REASON}",
    ]
    assert main(["status", "acme"]) == 0
    latest = [line for line in capsys.readouterr().out.splitlines() if POST_TITLE in line]
    assert [line.endswith("(2 sources)") for line in latest] == [True]

    assert main(["events", "split", f"#{event_id}", "2"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(
        f"Split source 2 (status page: {NOTICE_TITLE}) off event #{event_id}: it is event #"
    )
    assert "1 alert(s) saying so queued" in said
    assert main(["poll", "--once"]) == 0
    sent = capsys.readouterr().out
    assert f"== SHUTDOWN · high == Acme\n{NOTICE_TITLE}\n{NOTICE_LINK}" in sent
    assert f"Split from event #{event_id} by a person: separate news, not the same." in sent

    assert main(["events"]) == 0
    listed = capsys.readouterr().out
    assert "(2 sources)" not in listed
    assert f"source 1: status page: {NOTICE_TITLE} {NOTICE_LINK} — split from event" in listed


def test_split_refuses_an_event_with_one_source(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Splitting what was never merged fails with the reason and changes nothing."""
    assert main(["poll", "--once", "--now"]) == 0
    capsys.readouterr()
    assert main(["events", "split", "1", "1"]) == 1
    assert (
        capsys.readouterr().err == "exitplan: Event #1 has one source; there is nothing to split.\n"
    )
    assert main(["events", "split", "one", "1"]) == 2
