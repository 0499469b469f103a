"""Apprise channels end to end: subscribe a URL, poll, and a local JSON webhook hears once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.alerts import Alert
from bot.apprise_app import AppriseNotifier, check_url, mask_url
from bot.apprise_render import escape_markdown, render_alert_markdown
from bot.checklists import Checklist, Step
from bot.cli import main
from bot.notify import DeliveryError, Target
from storage import open_db
from storage.apprise_targets import (
    add_target,
    find_target,
    list_targets,
    remove_target_if_unused,
    target_id_of,
)
from storage.subscriptions import list_subscriptions, subscribe
from tests.servers import FeedServer
from tests.webhook_server import WebhookServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
NEW_POST = """
	<item>
		<title>Example Cloud Drive will be discontinued</title>
		<link>https://blog.example-cloud.test/2026/11/drive-retirement/</link>
		<pubDate>Sun, 01 Nov 2026 09:00:00 +0000</pubDate>
		<guid isPermaLink="false">https://blog.example-cloud.test/?p=9001</guid>
		<description><![CDATA[<p>We are retiring Example Cloud Drive. The service will shut
		down on December 31, 2026 and all remaining files will be permanently deleted.</p>]]>
		</description>
	</item>
"""


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    """A JSON webhook receiver on 127.0.0.1, closed after the test."""
    with WebhookServer() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file watching one provider whose blog the local feed server serves."""
    feed_server.set_feed("/blog.rss", (DATA / "wordpress_blog.rss").read_bytes())
    path = tmp_path / "exitplan.toml"
    path.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\n'
        "poll_catalog = false\n"
        "allow_private_feeds = true\n"
        "[[providers]]\n"
        'slug = "example-cloud"\n'
        'name = "Example Cloud"\n'
        'aliases = ["excloud"]\n'
        f'feeds = [{{ url = "{feed_server.url("/blog.rss")}", role = "news" }}]\n'
    )
    monkeypatch.setenv("EXITPLAN_CONFIG", str(path))
    return path


def _publish_new_post(feed_server: FeedServer) -> None:
    body = (DATA / "wordpress_blog.rss").read_text("utf-8")
    head, sep, tail = body.partition("\t<item>")
    feed_server.set_feed("/blog.rss", (head + NEW_POST + sep + tail).encode())


def _alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "event_id": 42,
        "purpose": "alert",
        "provider": "backblaze",
        "provider_name": "Backblaze",
        "title": "Legacy Vaults will be discontinued",
        "link": "https://backblaze.test/blog/vaults",
        "kinds": ("shutdown",),
        "severity": "high",
        "published": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
        "deadline": date(2026, 7, 31),
        "days_left": 91,
        "deadline_phrase": "on July 31, 2026",
        "state": None,
        "evidence": (("shutdown", "will be discontinued"),),
        "summary": "Legacy Vaults will shut down on July 31, 2026.",
        "checklist": Checklist(
            event_id=42,
            kind="shutdown",
            title="Migration plan",
            steps=(
                Step(
                    1,
                    "owner",
                    "Name an owner",
                    None,
                    done_by="alice",
                    done_at=datetime(2026, 5, 2, tzinfo=UTC),
                ),
                Step(2, "copy", "Copy all data out", "rclone sync b2: s3:"),
            ),
        ),
    }
    values.update(changes)
    return Alert(**values)


def test_subscribed_webhook_hears_a_new_shutdown_exactly_once(
    config: Path,
    feed_server: FeedServer,
    webhook: WebhookServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A json:// subscription gets one JSON message with title and checklist, none on re-poll."""
    url = f"json://127.0.0.1:{webhook.port}/hook"
    assert main(["subscribe", "excloud", "--to", url]) == 0
    assert main(["poll", "--once", "--now"]) == 0
    assert webhook.received == []

    _publish_new_post(feed_server)
    assert main(["poll", "--once", "--now"]) == 0
    out = capsys.readouterr()
    assert "== SHUTDOWN" not in out.out  # the console is not subscribed
    assert len(webhook.received) == 1
    message = webhook.received[0]
    assert (message.path, message.content_type) == ("/hook", "application/json")
    assert message.body["title"] == (
        "SHUTDOWN · high — Example Cloud: Example Cloud Drive will be discontinued"
    )
    body = message.body["message"]
    assert body.startswith("**SHUTDOWN · high** · Example Cloud\n")
    assert (
        "[Example Cloud Drive will be discontinued]"
        "(https://blog.example-cloud.test/2026/11/drive-retirement/)"
    ) in body
    assert "**Deadline 2026-12-31 (" in body
    assert "(0 of " in body
    assert "\n- [ ] 1. " in body

    assert main(["poll", "--once", "--now"]) == 0
    assert len(webhook.received) == 1


def test_subscriptions_show_the_url_masked_and_unsubscribe_forgets_it(
    config: Path, webhook: WebhookServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The listing shows scheme and host only; unsubscribing the last provider drops the URL."""
    url = f"json://user:s3cretpassw0rd@127.0.0.1:{webhook.port}/hook"
    assert main(["subscribe", "excloud", "--to", url, "--kinds", "shutdown"]) == 0
    assert main(["subscriptions"]) == 0
    listed = capsys.readouterr().out
    assert "Alerts go to json://127.0.0.1 (apprise target 1)." in listed
    assert (
        "json://127.0.0.1 (apprise target 1): 1 subscription(s):\n\n  Example Cloud: shutdown\n"
        in (listed)
    )
    assert "s3cret" not in listed
    assert "/hook" not in listed

    assert main(["unsubscribe", "excloud", "--to", url]) == 0
    assert main(["unsubscribe", "excloud", "--to", url]) == 1
    captured = capsys.readouterr()
    assert "Unsubscribed from Example Cloud. json://127.0.0.1 is no longer stored." in captured.out
    assert "No subscription sends to that URL." in captured.err
    db = open_db(config.parent / "exitplan.db")
    assert (list_targets(db), list_subscriptions(db)) == ([], [])


def test_subscribe_refuses_a_url_apprise_cannot_use(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown scheme is refused with a pointer to Apprise's URL forms; nothing is stored."""
    assert main(["subscribe", "excloud", "--to", "nosuchservice://token123/x"]) == 1
    assert main(["subscribe", "nosuchprovider", "--to", "json://127.0.0.1:9/x"]) == 1
    err = capsys.readouterr().err
    assert "Apprise does not accept this nosuchservice:// URL" in err
    assert "Unknown provider 'nosuchprovider'" in err
    assert list_targets(open_db(config.parent / "exitplan.db")) == []


def test_failed_send_is_retryable_and_names_no_secret(
    tmp_path: Path, webhook: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 from the webhook raises a retryable DeliveryError whose text hides the password."""
    db_path = tmp_path / "exitplan.db"
    db = open_db(db_path)
    url = f"json://user:s3cretpassw0rd@127.0.0.1:{webhook.port}/hook"
    target = add_target(db, url, NOW)
    db.close()
    webhook.fail_next(500)
    notifier = AppriseNotifier(db_path)
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(DeliveryError) as raised,
    ):
        notifier.send(_alert(), Target("apprise", "apprise", target.channel), reply_to=None)
    assert (raised.value.permanent, raised.value.channel_gone) == (False, False)
    assert str(raised.value).startswith("apprise send to json://127.0.0.1 failed (failure): ")
    assert "500" in str(raised.value)
    assert "s3cretpassw0rd" not in str(raised.value)
    assert len(webhook.received) == 1

    ref = notifier.send(_alert(), Target("apprise", "apprise", target.channel), reply_to=None)
    assert ref == f"apprise:{target.channel}:42"
    assert len(webhook.received) == 2


def test_send_to_a_forgotten_target_is_permanent(tmp_path: Path) -> None:
    """A channel naming no stored target fails permanently instead of retrying forever."""
    notifier = AppriseNotifier(tmp_path / "exitplan.db")
    with pytest.raises(DeliveryError) as raised:
        notifier.send(_alert(), Target("apprise", "apprise", "target:99"), reply_to=None)
    assert (raised.value.permanent, str(raised.value)) == (
        True,
        "apprise target target:99 is no longer stored",
    )


def test_alert_renders_as_markdown() -> None:
    """Title and body carry headline, provider, link, deadline, evidence and checklist."""
    message = render_alert_markdown(_alert())
    assert message.title == "SHUTDOWN · high — Backblaze: Legacy Vaults will be discontinued"
    assert message.body == "\n".join(
        [
            "**SHUTDOWN · high** · Backblaze",
            "",
            "[Legacy Vaults will be discontinued](https://backblaze.test/blog/vaults)",
            "",
            "Published 2026-05-01 09:30 UTC · **Deadline 2026-07-31 (91 days left)**",
            "",
            '**Why:** "will be discontinued" (shutdown)',
            "",
            "> Legacy Vaults will shut down on July 31, 2026.",
            "",
            "**Migration plan** (1 of 2 done)",
            "",
            "- [x] 1. Name an owner — alice, 2026-05-02",
            "- [ ] 2. Copy all data out",
            "",
            "Tick steps with: `exitplan checklist 42 --done NUMBER`",
            "",
            "Event #42 · `exitplan status backblaze`",
        ]
    )


def test_feed_text_cannot_forge_links_or_markup() -> None:
    """Markdown metacharacters in feed text are escaped; a non-http link is not linked."""
    message = render_alert_markdown(
        _alert(title="Click [here](https://evil.test) <b>now</b>", link="javascript:alert(1)")
    )
    assert message.body.splitlines()[2] == (r"Click \[here\](https://evil.test) \<b\>now\</b\>")
    assert escape_markdown("a_b *c* `d` #e |f| ~g~ !h \x1b[31m") == (
        r"a\_b \*c\* \`d\` \#e \|f\| \~g\~ \!h \[31m"
    )


def test_mask_url_keeps_scheme_and_host_only() -> None:
    """Passwords, paths and tokens in the host position never show."""
    assert [
        mask_url("json://user:pw@127.0.0.1:8080/hook"),
        mask_url("mailto://user:secretpw@gmail.com"),
        mask_url("tgram://123456789:AAHabcdefghijklmnopqrstuvwxyz123/12345"),
        mask_url("nosuchservice://abcdefsecret/x"),
    ] == ["json://127.0.0.1", "mailtos://gmail.com", "tgram://1...3", "nosuchservice://…"]
    assert check_url("json://127.0.0.1/hook") is None
    assert check_url("no scheme here") == (
        "That is not an Apprise URL; one looks like SCHEME://…, for example json://host/path, "
        "msteams://…, mailto://…, ntfy://topic"
    )


def test_targets_are_stored_once_and_removed_only_when_unused(tmp_path: Path) -> None:
    """The same URL gives the same target; it is kept while a subscription still uses it."""
    db = open_db(tmp_path / "exitplan.db")
    first = add_target(db, "json://127.0.0.1/a", NOW)
    assert add_target(db, "json://127.0.0.1/a", NOW) == first
    assert (first.channel, target_id_of(first.channel), target_id_of("C0123")) == (
        f"target:{first.id}",
        first.id,
        None,
    )
    assert "json://" not in repr(first)
    subscribe(
        db,
        platform="apprise",
        workspace="apprise",
        channel=first.channel,
        provider="aws",
        kinds=("shutdown",),
        now=NOW,
    )
    assert remove_target_if_unused(db, first.id) is False
    db.execute("DELETE FROM subscriptions")
    assert remove_target_if_unused(db, first.id) is True
    assert find_target(db, "json://127.0.0.1/a") is None


def test_filters_apply_to_apprise_subscriptions(
    config: Path, feed_server: FeedServer, webhook: WebhookServer
) -> None:
    """`--exclude` works with `--to` as on the console: an excluded term keeps the alert away."""
    url = f"json://127.0.0.1:{webhook.port}/hook"
    assert main(["subscribe", "excloud", "--to", url, "--exclude", "Drive"]) == 0
    assert main(["poll", "--once", "--now"]) == 0
    _publish_new_post(feed_server)
    assert main(["poll", "--once", "--now"]) == 0
    assert webhook.received == []
