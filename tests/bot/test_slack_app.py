"""The Slack app against the local stand-in: commands, alerts, checkboxes, failures."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters import AdapterError
from bot.core import cmd_list
from bot.dispatch import DispatchSummary, dispatch_due
from bot.notify import Target
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack_app import SlackAdapter, start_slack
from bot.slack_render import step_block_id
from storage import EntryWrite, EvidenceRecord, FeedSource
from storage.checklists import steps_done
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import list_subscriptions, subscribe
from tests.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    TEAM,
    Message,
    SlackServer,
    signed_post,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
FEED = "https://backblaze.test/blog/feed"
OPS = "C0OPS"
SECRET = "signing-secret"  # noqa: S105 - the test's own signing secret
ROOT = Path(__file__).parent.parent.parent


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """The Slack stand-in on 127.0.0.1, closed after the test."""
    with SlackServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, slack: SlackServer) -> Settings:
    """Settings with tokens that point at the stand-in (Socket Mode)."""
    return Settings(
        db_path=tmp_path / "exitplan.db",
        poll_catalog=False,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """The test's own Runtime on the same database as the app, with a baselined feed."""
    runtime = open_runtime(settings, NOW, sync=False)
    sync_feeds(runtime.db, [FeedSource("backblaze", FEED, "news")], NOW)
    _save(runtime, [])
    yield runtime
    runtime.close()


@pytest.fixture
def adapter(settings: Settings, rt: Runtime) -> Iterator[SlackAdapter]:
    """The Slack app, connected to the stand-in over Socket Mode, stopped after the test."""
    app = start_slack(settings, clock=lambda: NOW)
    yield app
    app.stop()


def _write(
    key: str, title: str = "B2 Legacy Vaults will be discontinued", **changes: Any
) -> EntryWrite:
    write = EntryWrite(
        key=key,
        title=title,
        link=f"https://backblaze.test/blog/{key}",
        published=NOW,
        updated=None,
        text="Legacy Vaults will shut down on July 31, 2026. Copy your data out before then.",
        categories=(),
        content_hash=key,
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will be discontinued", "a service ends"),),
        deadline=date(2026, 7, 31),
        deadline_phrase="on July 31, 2026",
        state=None,
    )
    return replace(write, **changes)


def _save(rt: Runtime, writes: list[EntryWrite]) -> tuple[int, ...]:
    feed = list_feeds(rt.db)[0]
    result = save_entries(
        rt.db,
        feed.id,
        writes,
        NOW,
        NOW,
        status=200,
        etag=None,
        last_modified=None,
        body_hash=str(random.random()),
    )
    return result.events


def _subscribe(rt: Runtime, channel: str = OPS, provider: str = "backblaze") -> None:
    subscribe(
        rt.db,
        platform="slack",
        workspace=TEAM,
        channel=channel,
        provider=provider,
        kinds=("shutdown", "data_loss", "security", "price_change"),
        now=NOW,
    )


def _dispatch(rt: Runtime, adapter: SlackAdapter, at: datetime = NOW) -> DispatchSummary:
    return dispatch_due(
        rt.db,
        {"slack": adapter.notifier},
        at,
        provider_name=rt.provider_name,
        checklist_for=rt.checklist_for,
        rng=random.Random(3),
    )


def _texts(blocks: list[dict[str, Any]]) -> str:
    """Every text in a list of blocks, one per line, to assert on what a person reads."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(found)


def _command(slack: SlackServer, text: str, **where: str) -> dict[str, Any]:
    before = len(slack.responses())
    slack.wait_for_ack(slack.slash_command(text, **where))
    return slack.wait_for_responses(before + 1)[-1]


def _alert(slack: SlackServer, rt: Runtime, adapter: SlackAdapter) -> tuple[int, Message]:
    _subscribe(rt)
    (event_id,) = _save(rt, [_write("vaults")])
    assert _dispatch(rt, adapter).sent == 1
    (message,) = slack.messages(OPS)
    return event_id, message


# -- connection ------------------------------------------------------------------------


def test_socket_mode_connects_through_the_url_apps_connections_open_returns(
    slack: SlackServer, adapter: SlackAdapter
) -> None:
    """The app opens one websocket, at the URL the Web API gave for the app token."""
    (opened,) = slack.calls("apps.connections.open")
    assert (opened.token, slack.connections, adapter.team_id) == (APP_TOKEN, 1, TEAM)


def test_socket_mode_reconnects_when_slack_recycles_the_connection(
    slack: SlackServer, adapter: SlackAdapter
) -> None:
    """On `disconnect` the app asks apps.connections.open again and keeps answering."""
    slack.ask_to_reconnect()
    slack.wait_for(lambda: slack.connections >= 2)
    answer = _command(slack, "help")
    assert (len(slack.calls("apps.connections.open")), answer["text"][:18]) == (
        2,
        "exitplan commands:",
    )


def test_a_wrong_bot_token_stops_start_with_the_setting_to_fix(settings: Settings) -> None:
    """auth.test failing names SLACK_BOT_TOKEN instead of a stack trace."""
    with pytest.raises(AdapterError, match="SLACK_BOT_TOKEN"):
        start_slack(replace(settings, slack_bot_token="xoxb-wrong"))  # noqa: S106 - a bad token


def test_socket_mode_without_an_app_token_names_the_fix(settings: Settings) -> None:
    """Socket Mode needs SLACK_APP_TOKEN; the error says so, and how to use HTTP instead."""
    with pytest.raises(AdapterError, match="SLACK_APP_TOKEN"):
        start_slack(replace(settings, slack_app_token=None))


def test_stop_leaves_no_threads_behind(settings: Settings, rt: Runtime, slack: SlackServer) -> None:
    """After stop() every thread the app started has ended, handlers included."""
    before = set(threading.enumerate())
    app = start_slack(settings, clock=lambda: NOW)
    _command(slack, "help")
    app.stop()
    assert set(threading.enumerate()) - before == set()


# -- the slash command ---------------------------------------------------------------------


def test_subscribe_by_alias_answers_the_channel(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """`/exitplan subscribe b2` resolves the alias, stores the subscription, tells the channel."""
    answer = _command(slack, "subscribe b2 shutdown price")
    assert (answer["response_type"], answer["text"]) == (
        "in_channel",
        "Subscribed: Backblaze (shutdown, price change). Outages are opt-in: add `outage`.",
    )
    subs = list_subscriptions(rt.db)
    assert [(s.platform, s.workspace, s.channel, s.provider, s.kinds) for s in subs] == [
        ("slack", TEAM, OPS, "backblaze", ("shutdown", "price_change"))
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribe backblaz", "Unknown provider 'backblaz'. Did you mean: backblaze"),
        ("subscribe", "Usage: `/exitplan subscribe PROVIDER [KIND...]`"),
        ("unsubscribe backblaze", "This channel is not subscribed to Backblaze."),
        ("list", "No subscriptions yet. Try `subscribe aws`."),
        ("providers wasabi", "1 provider(s):"),
        ("status backblaze", "Backblaze (backblaze)"),
        ("checklist 999", "No event '999'"),
        ("help", "exitplan commands:"),
        ("", "exitplan commands:"),
        ("frobnicate", "Unknown command 'frobnicate'."),
    ],
)
def test_commands_answer_only_the_caller(
    slack: SlackServer, adapter: SlackAdapter, text: str, expected: str
) -> None:
    """Every command other than a successful (un)subscribe answers ephemerally."""
    answer = _command(slack, text)
    assert (answer["response_type"], answer["text"].startswith(expected)) == ("ephemeral", True)


def test_unsubscribe_list_and_status_follow_the_channel(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """list and status show this channel's subscription; unsubscribe removes it for all."""
    _command(slack, "subscribe backblaze")
    listed = _command(slack, "list")
    status = _command(slack, "status b2")
    gone = _command(slack, "unsubscribe backblaze")
    assert listed["text"].splitlines()[-1].strip() == (
        "Backblaze: shutdown, data loss, security, price change"
    )
    assert "This channel:\n  Backblaze: shutdown" in status["text"]
    assert (gone["response_type"], gone["text"]) == ("in_channel", "Unsubscribed from Backblaze.")
    assert list_subscriptions(rt.db) == []


def test_status_without_a_provider_gives_the_channel_overview(
    slack: SlackServer, adapter: SlackAdapter
) -> None:
    """`/exitplan status` alone answers with every provider this channel follows."""
    _command(slack, "subscribe backblaze")
    answer = _command(slack, "status")
    title, _, rest = answer["text"].partition("\n")
    assert (answer["response_type"], title) == ("ephemeral", "Status of this channel's providers:")
    assert "Backblaze" in rest


def test_only_listed_users_may_change_subscriptions(
    slack: SlackServer, settings: Settings, rt: Runtime
) -> None:
    """With EXITPLAN_SLACK_ADMINS set, others are refused and nothing is stored."""
    app = start_slack(replace(settings, slack_admins=("U0BOSS",)), clock=lambda: NOW)
    try:
        refused = _command(slack, "subscribe backblaze", user="U0ALICE")
        allowed = _command(slack, "subscribe backblaze", user="U0BOSS")
    finally:
        app.stop()
    assert refused["text"].startswith("Only the people in EXITPLAN_SLACK_ADMINS")
    assert allowed["text"].startswith("Subscribed: Backblaze")
    assert len(list_subscriptions(rt.db)) == 1


def test_workspace_admins_may_change_subscriptions(
    slack: SlackServer, settings: Settings, rt: Runtime
) -> None:
    """`admins` in EXITPLAN_SLACK_ADMINS asks users.info whether the person is an admin."""
    slack.admins = {"U0ADMIN"}
    app = start_slack(replace(settings, slack_admins=("admins",)), clock=lambda: NOW)
    try:
        refused = _command(slack, "unsubscribe backblaze", user="U0ALICE")
        allowed = _command(slack, "subscribe backblaze", user="U0ADMIN")
    finally:
        app.stop()
    assert [c.args["user"] for c in slack.calls("users.info")] == ["U0ALICE", "U0ADMIN"]
    assert (refused["response_type"], allowed["response_type"]) == ("ephemeral", "in_channel")


def test_a_failing_response_url_falls_back_to_an_ephemeral_message(
    slack: SlackServer, adapter: SlackAdapter
) -> None:
    """If the response_url refuses the answer, chat.postEphemeral reaches the caller."""
    slack.fail_next_response(404)
    slack.wait_for_ack(slack.slash_command("help"))
    (call,) = slack.wait_for_calls("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"], call.args["text"][:18]) == (
        OPS,
        "U0ALICE",
        "exitplan commands:",
    )


# -- alerts ------------------------------------------------------------------------------


def test_an_alert_reaches_only_subscribed_channels_once(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """A Backblaze shutdown goes to the channel following Backblaze, not the Wasabi one."""
    _subscribe(rt, OPS, "backblaze")
    _subscribe(rt, "C0DEV", "wasabi")
    _save(rt, [_write("vaults")])
    first, again = _dispatch(rt, adapter), _dispatch(rt, adapter, NOW + timedelta(hours=1))
    (message,) = slack.messages()
    assert (first.sent, again.sent, message.channel) == (1, 0, OPS)
    assert message.text == (
        "SHUTDOWN · high: Backblaze — B2 Legacy Vaults will be discontinued · "
        "deadline 2026-07-31 (91 days left)"
    )
    shown = _texts(message.blocks)
    for part in (
        ":no_entry: SHUTDOWN · high",
        "*<https://backblaze.test/blog/vaults|B2 Legacy Vaults will be discontinued>*",
        "*Deadline*\n2026-07-31 · *91 days left*",
        "“will be discontinued” (shutdown)",
        "*Migration plan* · 0 of",
    ):
        assert part in shown


def test_feed_text_can_neither_ping_nor_forge_links(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """Mentions and links in an entry arrive as harmless text, in blocks and fallback."""
    _subscribe(rt)
    hostile = "<!channel> <@U0CEO> read <https://evil.test|backblaze.com> & @here"
    _save(rt, [_write("hostile", title=hostile, link="javascript:alert(1)")])
    _dispatch(rt, adapter)
    (message,) = slack.messages(OPS)
    payload = json.dumps(message.blocks) + message.text
    for forbidden in ("<!channel>", "<@U0CEO>", "<https://evil", "javascript:", " @here"):
        assert forbidden not in payload
    assert "&lt;!channel&gt; &lt;@U0CEO&gt; read &lt;https://evil.test|backblaze.com&gt;" in payload


def test_an_update_is_a_reply_in_the_alerts_thread(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """A moved deadline is posted under the first alert, not as a new alert."""
    _, alert = _alert(slack, rt, adapter)
    _save(rt, [_write("vaults", deadline=date(2026, 9, 30), deadline_phrase="September 30")])
    assert _dispatch(rt, adapter).sent == 1
    update = slack.messages(OPS)[-1]
    assert (update.thread_ts, update.text.startswith("UPDATE: SHUTDOWN")) == (alert.ts, True)
    assert "Deadline moved from 2026-07-31 to 2026-09-30" in _texts(update.blocks)


# -- checkboxes -------------------------------------------------------------------------------


def test_ticking_a_box_records_who_and_updates_the_message_for_everyone(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """A checkbox click stores the tick per channel and edits the alert with chat.update."""
    event_id, message = _alert(slack, rt, adapter)
    block_id = step_block_id(event_id, "alert", "owner")
    slack.wait_for_ack(slack.block_action(message, block_id, selected=True))
    slack.wait_for_calls("chat.update")
    (edited,) = slack.messages(OPS)
    step = next(b for b in edited.blocks if b.get("block_id") == block_id)
    done = steps_done(rt.db, platform="slack", workspace=TEAM, channel=OPS, event_id=event_id)
    assert (done["owner"].done_by, done["owner"].done_at) == ("U0ALICE", NOW)
    assert step["accessory"]["initial_options"] == step["accessory"]["options"]
    assert "done by <@U0ALICE> on 2026-05-01" in step["text"]["text"]
    assert "*Migration plan* · 1 of" in _texts(edited.blocks)


def test_unticking_a_box_clears_it(slack: SlackServer, rt: Runtime, adapter: SlackAdapter) -> None:
    """Clearing a checkbox removes the tick and the message shows the step open again."""
    event_id, message = _alert(slack, rt, adapter)
    block_id = step_block_id(event_id, "alert", "owner")
    slack.wait_for_ack(slack.block_action(message, block_id, selected=True))
    slack.wait_for_calls("chat.update")
    slack.wait_for_ack(slack.block_action(slack.messages(OPS)[0], block_id, selected=False))
    slack.wait_for_calls("chat.update", 2)
    step = next(b for b in slack.messages(OPS)[0].blocks if b.get("block_id") == block_id)
    assert "initial_options" not in step["accessory"]
    assert steps_done(rt.db, platform="slack", workspace=TEAM, channel=OPS, event_id=event_id) == {}


def test_the_checklist_command_ticks_steps_and_updates_the_alert(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """`/exitplan checklist N done 1 2` ticks both and edits the channel's alert."""
    event_id, _ = _alert(slack, rt, adapter)
    answer = _command(slack, f"checklist {event_id} done 1 2")
    slack.wait_for_calls("chat.update")
    lines = answer["text"].splitlines()
    assert [line.strip()[:6] for line in lines[2:4]] == ["[x] 1.", "[x] 2."]
    assert "*Migration plan* · 2 of" in _texts(slack.messages(OPS)[0].blocks)


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", ["channel_not_found", "is_archived", "invalid_auth", "account_inactive"]
)
def test_a_channel_slack_refuses_pauses_its_subscription_with_the_reason(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter, error: str
) -> None:
    """The delivery pauses the subscription; `list` shows why; nothing is posted."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.fail_next("chat.postMessage", error)
    assert _dispatch(rt, adapter).paused == 1
    (sub,) = list_subscriptions(rt.db)
    assert sub.paused_reason is not None
    assert sub.paused_reason.startswith(f"Slack: {error}: ")
    assert "PAUSED: Slack: " + error in cmd_list(rt, Target("slack", TEAM, OPS)).text
    assert slack.messages() == []


def test_not_in_channel_joins_the_public_channel_and_posts_once(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """The bot joins a public channel it was not in and posts the alert exactly once."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.fail_next("chat.postMessage", "not_in_channel")
    assert _dispatch(rt, adapter).sent == 1
    assert [c.args["channel"] for c in slack.calls("conversations.join")] == [OPS]
    assert (len(slack.calls("chat.postMessage")), len(slack.messages(OPS))) == (2, 1)


def test_not_in_a_private_channel_pauses_until_the_bot_is_invited_back(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """A private channel cannot be joined: pause; the bot's member_joined_channel resumes it."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.fail_next("chat.postMessage", "not_in_channel")
    slack.fail_next("conversations.join", "method_not_supported_for_channel_type")
    assert _dispatch(rt, adapter).paused == 1
    (paused,) = list_subscriptions(rt.db)
    slack.event({"type": "member_joined_channel", "user": "U0BOB", "channel": OPS, "team": TEAM})
    slack.event({"type": "member_joined_channel", "user": BOT_USER, "channel": OPS, "team": TEAM})
    slack.wait_for(lambda: list_subscriptions(rt.db)[0].paused_reason is None)
    assert (paused.paused_reason or "").startswith("Slack: not_in_channel: ")


def test_unarchiving_a_channel_resumes_its_subscriptions(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """channel_unarchive lifts the pause that is_archived caused."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.fail_next("chat.postMessage", "is_archived")
    _dispatch(rt, adapter)
    slack.event({"type": "channel_unarchive", "channel": OPS, "user": "U0BOB"})
    slack.wait_for(lambda: list_subscriptions(rt.db)[0].paused_reason is None)


def test_a_token_that_works_again_resumes_what_invalid_auth_paused(
    slack: SlackServer, settings: Settings, rt: Runtime, adapter: SlackAdapter
) -> None:
    """After a restart with a working token, subscriptions paused by invalid_auth resume."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.fail_next("chat.postMessage", "invalid_auth")
    _dispatch(rt, adapter)
    paused = list_subscriptions(rt.db)[0].paused_reason
    restarted = start_slack(settings, clock=lambda: NOW)
    restarted.stop()
    assert (paused or "").startswith("Slack: invalid_auth")
    assert list_subscriptions(rt.db)[0].paused_reason is None


def test_a_429_waits_for_retry_after_then_sends_once(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """Rate limited: no attempt before Retry-After has passed, then one message."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.rate_limit_next("chat.postMessage", retry_after=600)
    assert _dispatch(rt, adapter).retried == 1
    early = _dispatch(rt, adapter, NOW + timedelta(seconds=599))
    late = _dispatch(rt, adapter, NOW + timedelta(seconds=601))
    assert (early.sent, late.sent, len(slack.calls("chat.postMessage"))) == (0, 1, 2)
    assert len(slack.messages(OPS)) == 1


def test_a_server_error_retries_with_backoff_and_sends_once(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """A 503 schedules a retry later (backoff); the retry posts the alert once."""
    _subscribe(rt)
    _save(rt, [_write("vaults")])
    slack.server_error_next("chat.postMessage", 503)
    assert _dispatch(rt, adapter).retried == 1
    assert _dispatch(rt, adapter, NOW + timedelta(seconds=1)).sent == 0
    assert _dispatch(rt, adapter, NOW + timedelta(hours=1)).sent == 1
    assert len(slack.messages(OPS)) == 1


# -- App Home ---------------------------------------------------------------------------------


def test_app_home_shows_subscriptions_incidents_and_deadlines(
    slack: SlackServer, rt: Runtime, adapter: SlackAdapter
) -> None:
    """Opening App Home publishes the workspace's subscriptions, pauses and progress."""
    _subscribe(rt, OPS, "backblaze")
    _subscribe(rt, "C0DEV", "backblaze")
    _save(rt, [_write("vaults")])
    slack.fail_next("chat.postMessage", "channel_not_found")
    _dispatch(rt, adapter)
    slack.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0HOME", "tab": "home"})
    (call,) = slack.wait_for_calls("views.publish")
    view = (
        json.loads(call.args["view"]) if isinstance(call.args["view"], str) else call.args["view"]
    )
    shown = _texts(view["blocks"])
    assert (call.args["user_id"], view["type"]) == ("U0ALICE", "home")
    assert "<#C0DEV> · Backblaze (shutdown, data loss, security, price change)" in shown
    assert "*Paused:* Slack: channel_not_found" in shown
    assert "deadline 2026-07-31 (91 days left)" in shown
    assert "<#C0DEV>: 0 of" in shown
    assert "No open incidents." in shown


# -- HTTP mode --------------------------------------------------------------------------------


def test_http_mode_verifies_signatures_and_rejects_stale_requests(
    slack: SlackServer, settings: Settings, rt: Runtime
) -> None:
    """Only a request signed with the secret and a fresh timestamp runs the command."""
    http = replace(
        settings, slack_mode="http", slack_app_token=None, slack_signing_secret=SECRET, http_port=0
    )
    app = start_slack(http, clock=lambda: NOW)
    try:
        port = app.http_port
        assert port is not None
        body = urllib.parse.urlencode(slack.command_payload("subscribe backblaze"))
        fresh = int(time.time())
        url = f"http://127.0.0.1:{port}/slack/events"
        forged = signed_post(url, body, timestamp=fresh, secret="guess")  # noqa: S106 - forged
        stale = signed_post(url, body, timestamp=fresh - 600, secret=SECRET)
        good = signed_post(url, body, timestamp=fresh, secret=SECRET)
        (answer,) = slack.wait_for_responses(1)
    finally:
        app.stop()
    assert (forged, stale, good) == (401, 401, 200)
    assert answer["text"].startswith("Subscribed: Backblaze")
    assert len(list_subscriptions(rt.db)) == 1


def test_http_mode_needs_a_signing_secret(settings: Settings) -> None:
    """HTTP mode without SLACK_SIGNING_SECRET refuses to start and says which setting."""
    http = replace(settings, slack_mode="http", http_port=0)
    with pytest.raises(AdapterError, match="SLACK_SIGNING_SECRET"):
        start_slack(http)


# -- the manifest -----------------------------------------------------------------------------


def test_the_manifest_declares_what_the_app_handles() -> None:
    """The manifest has the command, Socket Mode, interactivity, App Home and the events."""
    manifest = (ROOT / "deploy" / "slack-app-manifest.yaml").read_text("utf-8")
    for line in (
        "command: /exitplan",
        "socket_mode_enabled: true",
        "home_tab_enabled: true",
        "is_enabled: true",
        "- app_home_opened",
        "- member_joined_channel",
        "- channel_unarchive",
    ):
        assert line in manifest
    scopes = [
        line.split("#")[0].strip(" -")
        for line in manifest.split("bot:\n", 1)[1].split("settings:", 1)[0].splitlines()
        if line.strip().startswith("- ")
    ]
    assert scopes == ["commands", "chat:write", "channels:join", "channels:read", "groups:read"]
