"""The Discord bot against a Discord stand-in: commands, alerts, buttons, failures, gateway."""

from __future__ import annotations

import gc
import logging
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot import core
from bot.adapters import start_adapters
from bot.alerts import Alert
from bot.discord_app import (
    CHANNEL_GONE,
    DISCORD_API_URL,
    DISCORD_GATEWAY_URL,
    LOGIN_REFUSED,
    MANAGE_REFUSAL,
    DiscordBot,
    configure_endpoints,
)
from bot.discord_render import escape
from bot.dispatch import DispatchSummary, dispatch_due
from bot.notify import DeliveryError, Target
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from storage import EntryWrite, EvidenceRecord, FeedSource
from storage.checklists import steps_done
from storage.deliveries import list_deliveries
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import list_subscriptions, subscribe
from tests.discord_server import (
    APPLICATION_ID,
    CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    USER_ID,
    Call,
    DiscordServer,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
TARGET = Target("discord", str(GUILD_ID), str(CHANNEL_ID))
EPHEMERAL = 1 << 6
CHANNEL_POSTS = f"/channels/{CHANNEL_ID}/messages"


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def discord_server() -> Iterator[DiscordServer]:
    """A Discord stand-in on 127.0.0.1; discord.py's endpoints are restored afterwards."""
    with DiscordServer() as server:
        yield server
    configure_endpoints(None, None)


@pytest.fixture
def settings(tmp_path: Path, discord_server: DiscordServer) -> Settings:
    """Settings with the token and both URLs pointing at the stand-in."""
    return Settings(
        db_path=tmp_path / "exitplan.db",
        poll_catalog=False,
        allow_private_feeds=True,
        discord_token=TOKEN,
        discord_api_url=discord_server.api_url,
        discord_gateway_url=discord_server.gateway_url,
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """The test's own connection to the bot's database (the dispatcher's side)."""
    runtime = open_runtime(settings, NOW, sync=False)
    yield runtime
    runtime.close()


def _start(settings: Settings, server: DiscordServer, **options: Any) -> DiscordBot:
    configure_endpoints(settings.discord_api_url, settings.discord_gateway_url)
    ready = server.gateway.ready_sent + 1
    bot = DiscordBot(settings, **options)
    bot.start()
    assert server.wait_until(lambda: server.is_ready() and server.gateway.ready_sent >= ready)
    return bot


@pytest.fixture
def bot(settings: Settings, discord_server: DiscordServer, rt: Runtime) -> Iterator[DiscordBot]:
    """The bot, logged in and connected to the stand-in's gateway; stopped afterwards."""
    running = _start(settings, discord_server)
    yield running
    running.stop()


def _write(
    key: str = "vault",
    *,
    title: str = "Wasabi will discontinue Legacy Vault",
    text: str = "Legacy Vault will shut down on July 31, 2026.",
    deadline: date | None = date(2026, 7, 31),
) -> EntryWrite:
    return EntryWrite(
        key=key,
        title=title,
        link="https://wasabi.test/news/vault",
        published=NOW,
        updated=None,
        text=text,
        categories=(),
        content_hash=f"{key}:{title}:{text}:{deadline}",
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will discontinue", "a service ends"),),
        deadline=deadline,
        deadline_phrase="on July 31, 2026" if deadline else None,
        state=None,
    )


def _publish(rt: Runtime, *writes: EntryWrite, at: datetime = NOW) -> list[int]:
    """Store entries of Wasabi's news feed (baselined first); return the event ids."""
    if not list_feeds(rt.db):
        sync_feeds(rt.db, [FeedSource("wasabi", "https://wasabi.test/feed", "news")], at)
        feed = list_feeds(rt.db)[0]
        save_entries(
            rt.db, feed.id, [], at, at, status=200, etag=None, last_modified=None, body_hash="0"
        )
    feed = list_feeds(rt.db)[0]
    result = save_entries(
        rt.db,
        feed.id,
        list(writes),
        at,
        at,
        status=200,
        etag=None,
        last_modified=None,
        body_hash=str(writes),
    )
    return list(result.events)


def _subscribe(rt: Runtime, channel: int = CHANNEL_ID) -> None:
    subscribe(
        rt.db,
        platform="discord",
        workspace=str(GUILD_ID),
        channel=str(channel),
        provider="wasabi",
        kinds=("shutdown", "data_loss", "security", "price_change"),
        now=NOW,
    )


def _dispatch(rt: Runtime, bot: DiscordBot, at: datetime = NOW) -> DispatchSummary:
    return dispatch_due(
        rt.db,
        {"discord": bot.notifier},
        at,
        provider_name=rt.provider_name,
        checklist_for=rt.checklist_for,
        max_attempts=3,
    )


def _alert_message(server: DiscordServer, rt: Runtime, bot: DiscordBot) -> dict[str, Any]:
    """Subscribe, publish a shutdown and dispatch it; return the posted message."""
    _subscribe(rt)
    _publish(rt, _write())
    assert _dispatch(rt, bot) == DispatchSummary(sent=1)
    ((delivery),) = list_deliveries(rt.db)
    assert delivery.message_ref is not None
    return server.message(delivery.message_ref.split(":")[1])


def _custom_ids(message: dict[str, Any]) -> list[str]:
    return [button["custom_id"] for row in message["components"] for button in row["components"]]


def _embed(answer: dict[str, Any]) -> dict[str, Any]:
    embed: dict[str, Any] = answer["data"]["embeds"][0]
    return embed


def _message_calls(server: DiscordServer) -> list[Call]:
    """Every REST call that carries a message: posts, edits, answers and follow-ups."""
    return [
        call
        for call in server.calls()
        if (call.path.startswith("/channels/") and call.method in ("POST", "PATCH"))
        or call.path.startswith("/webhooks/")
        or (call.path.endswith("/callback") and call.body["type"] in (4, 7))
    ]


def _allowed_mentions(call: Call) -> Any:
    body = call.body["data"] if call.path.endswith("/callback") else call.body
    return body.get("allowed_mentions")


# -- connection ---------------------------------------------------------------------------------


def test_configure_endpoints_sets_both_urls_and_restores_discords() -> None:
    """One call points REST and gateway elsewhere; None puts Discord's own back."""
    configure_endpoints("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway")
    assert discord.http.Route.BASE == "http://127.0.0.1:9/api/v10"
    assert yarl.URL("ws://127.0.0.1:9/gateway") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    configure_endpoints(None, None)
    assert discord.http.Route.BASE == DISCORD_API_URL == "https://discord.com/api/v10"
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == DISCORD_GATEWAY_URL


def test_bot_logs_in_syncs_commands_and_identifies_with_minimal_intents(
    bot: DiscordBot, discord_server: DiscordServer
) -> None:
    """Login, application info and one bulk overwrite; IDENTIFY asks only for GUILDS."""
    assert [(c.method, c.path) for c in discord_server.calls()] == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("PUT", f"/applications/{APPLICATION_ID}/commands"),
    ]
    (identify,) = discord_server.gateway.identifies
    assert (identify["token"], identify["intents"]) == (TOKEN, discord.Intents(guilds=True).value)
    assert discord_server.gateway.heartbeats[0] is None  # sent at once after HELLO
    assert bot.is_ready()


def test_synced_commands_are_one_guild_only_group_open_to_read(
    bot: DiscordBot, discord_server: DiscordServer
) -> None:
    """/exitplan is guild-only with every verb; its provider options autocomplete."""
    (command,) = discord_server.commands()
    assert (command["name"], command["dm_permission"], command["contexts"]) == (
        "exitplan",
        False,
        [0],
    )
    assert command["default_member_permissions"] is None
    options = {option["name"]: option for option in command["options"]}
    assert sorted(options) == sorted(
        [
            "subscribe",
            "unsubscribe",
            "pause",
            "resume",
            "list",
            "providers",
            "status",
            "health",
            "checklist",
            "help",
        ]
    )
    provider = options["subscribe"]["options"][0]
    assert (provider["name"], provider["required"], provider["autocomplete"]) == (
        "provider",
        True,
        True,
    )
    kinds = options["subscribe"]["options"][1]
    assert [choice["value"] for choice in kinds["choices"]][:3] == [
        "default",
        "default,outage",
        "all",
    ]
    assert options["status"]["options"][0]["autocomplete"] is True
    assert options["checklist"]["options"][0]["type"] == 4  # an integer with autocomplete


def test_commands_sync_to_one_guild_when_configured(
    settings: Settings, discord_server: DiscordServer, rt: Runtime
) -> None:
    """With EXITPLAN_DISCORD_GUILD set, commands go to that guild only (instant)."""
    bot = _start(replace(settings, discord_guild=GUILD_ID), discord_server)
    try:
        puts = [call.path for call in discord_server.calls("PUT")]
        assert puts == [f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"]
        assert [c["name"] for c in discord_server.commands(GUILD_ID)] == ["exitplan"]
        assert discord_server.answer(discord_server.slash("help"))["type"] == 4
    finally:
        bot.stop()


def test_start_adapters_starts_the_bot_when_the_token_is_set(
    settings: Settings, discord_server: DiscordServer, rt: Runtime
) -> None:
    """`exitplan run`'s adapter start-up gives a running Discord adapter."""
    (adapter,) = start_adapters(settings)
    try:
        assert (adapter.platform, adapter.notifier.platform) == ("discord", "discord")
        assert discord_server.wait_until(discord_server.is_ready)
    finally:
        adapter.stop()


def test_stop_closes_the_client_and_leaves_nothing_behind(
    settings: Settings, discord_server: DiscordServer, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """stop() closes the gateway, joins the threads and leaves no warning or task."""
    caplog.set_level(logging.DEBUG, logger="asyncio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bot = _start(settings, discord_server)
        bot.stop()
        gc.collect()
    assert discord_server.wait_until(lambda: discord_server.gateway.closed == 1)
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []
    names = [thread.name for thread in threading.enumerate()]
    assert [name for name in names if name == "discord" or name.startswith("discord-db")] == []
    assert "Task was destroyed" not in caplog.text
    assert "Task exception was never retrieved" not in caplog.text


# -- commands ----------------------------------------------------------------------------------


def test_subscribe_answers_the_channel_and_stores_the_subscription(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """`/exitplan subscribe provider:wasabi` subscribes the channel; everyone sees it."""
    answer = discord_server.answer(discord_server.slash("subscribe", {"provider": "wasabi"}))
    assert answer["type"] == 4
    assert answer["data"].get("flags", 0) & EPHEMERAL == 0
    assert _embed(answer)["title"].startswith("Subscribed: Wasabi (shutdown, data loss")
    (sub,) = list_subscriptions(rt.db, platform="discord")
    assert (sub.workspace, sub.channel, sub.provider, sub.kinds) == (
        str(GUILD_ID),
        str(CHANNEL_ID),
        "wasabi",
        ("shutdown", "data_loss", "security", "price_change"),
    )


def test_subscribe_takes_a_kinds_choice(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """kinds:"default,outage" adds outages to the defaults."""
    interaction = discord_server.slash("subscribe", {"provider": "s3", "kinds": "default,outage"})
    assert discord_server.answer(interaction)["type"] == 4
    (sub,) = list_subscriptions(rt.db, platform="discord")
    assert (sub.provider, sub.kinds) == (
        "aws",
        ("shutdown", "data_loss", "security", "price_change", "outage"),
    )


def test_subscribe_needs_manage_channels(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A member without Manage Channels is told so privately, and nothing changes."""
    answer = discord_server.answer(
        discord_server.slash("subscribe", {"provider": "wasabi"}, permissions=0)
    )
    assert answer["data"]["flags"] == EPHEMERAL
    assert answer["data"]["content"] == escape(MANAGE_REFUSAL)
    assert list_subscriptions(rt.db) == []


def test_unknown_provider_is_refused_privately_with_suggestions(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A typo gets a private red answer naming close providers."""
    answer = discord_server.answer(discord_server.slash("subscribe", {"provider": "wasbi"}))
    assert answer["data"]["flags"] == EPHEMERAL
    assert _embed(answer)["color"] == 0xE74C3C
    assert "Did you mean: wasabi" in _embed(answer)["title"]


def test_unsubscribe_removes_the_subscription(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """`/exitplan unsubscribe provider:wasabi` removes the channel's subscription."""
    _subscribe(rt)
    answer = discord_server.answer(discord_server.slash("unsubscribe", {"provider": "wasabi"}))
    assert _embed(answer)["title"] == "Unsubscribed from Wasabi."
    assert list_subscriptions(rt.db) == []


def test_reading_commands_answer_only_the_caller(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """list, providers, status and help are ephemeral and open to members without rights."""
    _subscribe(rt)
    answers = {
        name: discord_server.answer(discord_server.slash(name, options, permissions=0))
        for name, options in [
            ("list", {}),
            ("providers", {"query": "backblaze"}),
            ("status", {"provider": "wasabi"}),
            ("status", {}),
            ("help", {}),
        ]
    }
    assert {name: answer["data"]["flags"] for name, answer in answers.items()} == dict.fromkeys(
        answers, EPHEMERAL
    )
    assert _embed(answers["list"])["description"].startswith("• Wasabi: shutdown, data loss")
    assert "backblaze — Backblaze" in _embed(answers["providers"])["description"]
    assert _embed(answers["status"])["color"] == 0x2ECC71


def test_help_names_every_synced_subcommand(bot: DiscordBot, discord_server: DiscordServer) -> None:
    """Each subcommand of the synced payload appears in `/exitplan help`."""
    description = _embed(discord_server.answer(discord_server.slash("help")))["description"]
    (command,) = discord_server.commands()
    missing = [o["name"] for o in command["options"] if f"/exitplan {o['name']}" not in description]
    assert missing == []


def test_provider_autocomplete_offers_catalog_names_and_aliases(
    bot: DiscordBot, discord_server: DiscordServer
) -> None:
    """Typing "b2" offers Backblaze, found by its alias, with the slug as value."""
    answer = discord_server.answer(
        discord_server.autocomplete("subscribe", {"provider": "b2"}, "provider")
    )
    assert answer["type"] == 8
    assert {"name": "Backblaze (backblaze) · alias B2", "value": "backblaze"} in answer["data"][
        "choices"
    ]


def test_event_autocomplete_offers_recent_events(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """`checklist event:` suggests events by number and title."""
    (event_id,) = _publish(rt, _write())
    answer = discord_server.answer(discord_server.autocomplete("checklist", {"event": ""}, "event"))
    assert answer["data"]["choices"] == [
        {"name": f"#{event_id} wasabi: Wasabi will discontinue Legacy Vault", "value": event_id}
    ]


def test_checklist_command_posts_the_checklist_with_working_buttons(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """`/exitplan checklist event:N` shows the channel's checklist; its buttons tick steps."""
    (event_id,) = _publish(rt, _write())
    interaction = discord_server.slash("checklist", {"event": event_id}, permissions=0)
    answer = discord_server.answer(interaction)
    assert answer["data"].get("flags", 0) == 0
    assert _embed(answer)["fields"][-1]["name"] == "Migration plan (0 of 8 done)"
    message = discord_server.original(interaction)
    click = discord_server.click(message["id"], f"exitplan:step:{event_id}:copy")
    assert _embed(discord_server.answer(click))["fields"][-1]["name"] == (
        "Migration plan (1 of 8 done)"
    )


def test_checklist_of_an_unknown_event_is_refused_privately(
    bot: DiscordBot, discord_server: DiscordServer
) -> None:
    """An event number that does not exist gets a private red answer."""
    answer = discord_server.answer(discord_server.slash("checklist", {"event": 999}))
    assert (answer["data"]["flags"], _embed(answer)["title"]) == (
        EPHEMERAL,
        "No event #999; alerts show their number.",
    )


def test_slow_commands_are_acknowledged_then_followed_up(
    settings: Settings, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A command that may take long is deferred (private for reading commands), then answered."""
    bot = _start(settings, discord_server, ack_within=0)
    try:
        interaction = discord_server.slash("list")
        deferred = discord_server.answer(interaction)
        assert (deferred["type"], deferred["data"]["flags"]) == (5, EPHEMERAL)
        assert discord_server.wait_until(lambda: bool(discord_server.followups(interaction)))
        (followup,) = discord_server.followups(interaction)
        assert (
            followup.body["embeds"][0]["title"] == "No subscriptions yet. Try \\`subscribe aws\\`."
        )
        assert followup.body["allowed_mentions"] == {"parse": []}
    finally:
        bot.stop()


# -- alerts and buttons -----------------------------------------------------------------------


def test_an_alert_is_an_embed_with_a_button_per_step(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """The shutdown reaches the channel once, as an embed with eight step buttons."""
    message = _alert_message(discord_server, rt, bot)
    (post,) = discord_server.posts()
    embed = post.body["embeds"][0]
    assert (embed["title"], embed["url"], embed["author"]["name"], embed["color"]) == (
        "Wasabi will discontinue Legacy Vault",
        "https://wasabi.test/news/vault",
        "Wasabi",
        0xD62D20,
    )
    assert embed["fields"][0] == {
        "name": "Deadline",
        "value": "2026-07-31 (<t:1785456000:R>)\n“on July 31, 2026”",
        "inline": True,
    }
    assert embed["timestamp"] == "2026-05-01T08:00:00+00:00"
    assert len(_custom_ids(message)) == 8
    assert _dispatch(rt, bot, NOW + timedelta(hours=1)) == DispatchSummary()


def test_feed_text_can_never_ping_or_mask_a_link(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A hostile title is escaped in the embed and the message allows no mentions."""
    _subscribe(rt)
    _publish(rt, _write(title="@everyone @here <@123> <@&456> [masked](https://evil.test)"))
    assert _dispatch(rt, bot) == DispatchSummary(sent=1)
    (post,) = discord_server.posts()
    assert post.body["embeds"][0]["title"] == (
        "@\u200beveryone @\u200bhere \\<@123> \\<@&456> \\[masked\\](https://evil.test)"
    )
    assert post.body["allowed_mentions"] == {"parse": []}


def test_a_button_click_ticks_the_step_records_who_and_edits_the_message(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """Clicking step 4 ticks it for this channel with the member and redraws the embed."""
    message = _alert_message(discord_server, rt, bot)
    answer = discord_server.answer(discord_server.click(message["id"], _custom_ids(message)[3]))
    assert answer["type"] == 7
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    field = _embed(answer)["fields"][-1]
    assert field["name"] == "Migration plan (1 of 8 done)"
    assert (
        f"☑ **4.** ~~Copy all data to a second location outside Wasabi~~ — <@{USER_ID}>"
        in (field["value"])
    )
    button = answer["data"]["components"][0]["components"][3]
    assert (button["label"], button["style"]) == ("✓ 4. copy", 3)
    (event_id,) = {int(message_id) for message_id in [_custom_ids(message)[3].split(":")[2]]}
    done = steps_done(
        rt.db,
        platform="discord",
        workspace=str(GUILD_ID),
        channel=str(CHANNEL_ID),
        event_id=event_id,
    )
    assert {step: tick.done_by for step, tick in done.items()} == {"copy": f"<@{USER_ID}>"}


def test_a_second_click_unticks_the_step(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """Buttons toggle: the same button again clears the tick."""
    message = _alert_message(discord_server, rt, bot)
    custom_id = _custom_ids(message)[0]
    discord_server.answer(discord_server.click(message["id"], custom_id))
    answer = discord_server.answer(discord_server.click(message["id"], custom_id))
    assert _embed(answer)["fields"][-1]["name"] == "Migration plan (0 of 8 done)"


def test_buttons_keep_working_after_a_restart(
    settings: Settings, bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A click on an alert sent before exitplan restarted still ticks and redraws."""
    message = _alert_message(discord_server, rt, bot)
    ids = _custom_ids(message)
    discord_server.answer(discord_server.click(message["id"], ids[0]))
    bot.stop()
    restarted = _start(settings, discord_server)
    try:
        assert len(discord_server.gateway.identifies) == 2
        answer = discord_server.answer(discord_server.click(message["id"], ids[1]))
        assert answer["type"] == 7
        assert _embed(answer)["fields"][-1]["name"] == "Migration plan (2 of 8 done)"
    finally:
        restarted.stop()


def test_a_click_on_a_reminder_redraws_a_reminder(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A reminder's buttons tick the same checklist and keep the message a reminder."""
    (event_id,) = _publish(rt, _write())
    alert = core.alert_for(rt, TARGET, event_id, NOW)
    assert alert is not None
    reminder = replace(alert, purpose="reminder", days_left=30)
    reference = bot.notifier.send(reminder, TARGET, reply_to=None)
    message = discord_server.message(reference.split(":")[1])
    assert _custom_ids(message)[0] == f"exitplan:step:{event_id}:owner:reminder"
    answer = discord_server.answer(discord_server.click(message["id"], _custom_ids(message)[0]))
    assert _embed(answer)["description"].startswith("**REMINDER: ")
    assert _embed(answer)["fields"][-1]["name"] == "Migration plan (1 of 8 done)"


def test_slow_clicks_are_acknowledged_then_the_message_is_edited(
    settings: Settings, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A deferred click (type 6) is followed by an edit of the clicked message."""
    bot = _start(settings, discord_server, ack_within=0)
    try:
        message = _alert_message(discord_server, rt, bot)
        interaction = discord_server.click(message["id"], _custom_ids(message)[2])
        assert discord_server.answer(interaction)["type"] == 6
        edit = f"/webhooks/{APPLICATION_ID}/.+/messages/@original"
        assert discord_server.wait_until(lambda: bool(discord_server.calls("PATCH", edit)))
        (call,) = discord_server.calls("PATCH", edit)
        assert call.body["embeds"][0]["fields"][-1]["name"] == "Migration plan (1 of 8 done)"
        assert call.body["allowed_mentions"] == {"parse": []}
    finally:
        bot.stop()


def test_an_update_is_a_reply_to_the_original_alert(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A revised announcement is posted as a reply to the first alert, without buttons."""
    message = _alert_message(discord_server, rt, bot)
    _publish(
        rt, _write(text="Legacy Vault will shut down on June 30, 2026.", deadline=date(2026, 6, 30))
    )
    assert _dispatch(rt, bot) == DispatchSummary(sent=1)
    first, update = discord_server.posts()
    assert update.body["message_reference"] == {
        "type": 0,
        "message_id": int(message["id"]),
        "channel_id": CHANNEL_ID,
        "guild_id": GUILD_ID,
        "fail_if_not_exists": False,
    }
    assert update.body["embeds"][0]["description"].startswith("**UPDATE: SHUTDOWN · high**")
    assert "components" not in update.body or update.body["components"] == []
    assert first.body["embeds"][0]["title"] == update.body["embeds"][0]["title"]


def test_every_message_is_sent_with_no_allowed_mentions(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """Posts, replies, command answers, refusals and edits all carry allowed_mentions none."""
    discord_server.answer(discord_server.slash("subscribe", {"provider": "wasabi"}))
    discord_server.answer(discord_server.slash("subscribe", {"provider": "x"}, permissions=0))
    discord_server.answer(discord_server.slash("list"))
    _publish(rt, _write())
    assert _dispatch(rt, bot) == DispatchSummary(sent=1)
    ((delivery),) = list_deliveries(rt.db)
    message = discord_server.message(str(delivery.message_ref).split(":")[1])
    discord_server.answer(discord_server.click(message["id"], _custom_ids(message)[0]))
    _publish(rt, _write(deadline=date(2026, 6, 30)))
    assert _dispatch(rt, bot) == DispatchSummary(sent=1)
    calls = _message_calls(discord_server)
    assert len(calls) == 6
    assert [_allowed_mentions(call) for call in calls] == [{"parse": []}] * 6


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        (404, 10003, "Unknown Channel"),
        (403, 50001, "Missing Access"),
        (403, 50013, "Missing Permissions"),
    ],
    ids=["unknown-channel", "missing-access", "missing-permissions"],
)
def test_a_channel_the_bot_cannot_post_in_pauses_the_subscription(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime, error: tuple[int, int, str]
) -> None:
    """Unknown Channel, Missing Access and Missing Permissions pause it with the reason."""
    status, code, message = error
    _subscribe(rt)
    _publish(rt, _write())
    discord_server.fail_with_code("POST", CHANNEL_POSTS, status, code, message)
    assert _dispatch(rt, bot) == DispatchSummary(paused=1)
    (sub,) = list_subscriptions(rt.db, platform="discord")
    assert (
        sub.paused_reason == f"{CHANNEL_GONE[code]} (subscribe again once the bot can post there)"
    )
    listing = _embed(discord_server.answer(discord_server.slash("list")))["description"]
    assert f"PAUSED: {escape(CHANNEL_GONE[code])}" in listing


def test_a_short_rate_limit_is_waited_out_by_discord_py(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A 429 with a small retry_after is retried by discord.py; the alert goes out once."""
    _subscribe(rt)
    _publish(rt, _write())
    discord_server.rate_limit_next("POST", CHANNEL_POSTS, 0.05)
    assert _dispatch(rt, bot) == DispatchSummary(sent=1)
    assert len(discord_server.posts()) == 2


def test_a_long_rate_limit_is_left_to_the_dispatcher(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A 429 longer than discord.py will sleep becomes a retry after Discord's hint."""
    _subscribe(rt)
    _publish(rt, _write())
    discord_server.rate_limit_next("POST", CHANNEL_POSTS, 120)
    assert _dispatch(rt, bot) == DispatchSummary(retried=1)
    (delivery,) = list_deliveries(rt.db)
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at >= NOW + timedelta(seconds=120)
    assert _dispatch(rt, bot, NOW + timedelta(seconds=119)) == DispatchSummary()
    assert _dispatch(rt, bot, delivery.next_attempt_at) == DispatchSummary(sent=1)
    assert len(discord_server.posts()) == 2


def test_a_server_error_is_retried_later(
    bot: DiscordBot, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A 503 is a retryable failure, not a paused channel."""
    _subscribe(rt)
    _publish(rt, _write())
    discord_server.fail_next("POST", CHANNEL_POSTS, 503, {"message": "upstream", "code": 0})
    assert _dispatch(rt, bot) == DispatchSummary(retried=1)
    (delivery,) = list_deliveries(rt.db)
    assert delivery.last_error == "Discord server error (HTTP 503)"


def test_discord_unreachable_at_start_is_tried_again(
    settings: Settings, discord_server: DiscordServer, rt: Runtime
) -> None:
    """A 503 at login is not fatal: the bot logs in again after a short backoff."""
    discord_server.fail_next("GET", "/users/@me", 503, {"message": "upstream", "code": 0})
    bot = _start(settings, discord_server)
    try:
        assert bot.failure is None
        assert [c.path for c in discord_server.calls("GET", "/users/@me")] == ["/users/@me"] * 2
        assert len(discord_server.gateway.identifies) == 1
    finally:
        bot.stop()


def test_stop_before_start_does_nothing(settings: Settings) -> None:
    """A bot that never started can be stopped (exitplan failing early) without error."""
    bot = DiscordBot(settings)
    bot.stop()
    bot.stop()
    assert not bot.is_ready()


def test_an_invalid_token_stops_the_bot_with_a_clear_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A rejected token is logged with the fix; sends fail softly; stop() is clean."""
    with DiscordServer(token="the-real-token") as server:  # noqa: S106 - a stand-in token
        settings = Settings(
            db_path=tmp_path / "exitplan.db",
            discord_token=TOKEN,
            discord_api_url=server.api_url,
            discord_gateway_url=server.gateway_url,
        )
        configure_endpoints(settings.discord_api_url, settings.discord_gateway_url)
        bot = DiscordBot(settings)
        bot.start()
        try:
            assert bot.failure == LOGIN_REFUSED
            assert LOGIN_REFUSED in caplog.text
            with pytest.raises(DeliveryError) as raised:
                bot.notifier.send(_any_alert(), TARGET, reply_to=None)
            assert (raised.value.permanent, raised.value.channel_gone) == (False, False)
            assert server.gateway.connections == 0
        finally:
            bot.stop()
    configure_endpoints(None, None)


def _any_alert() -> Alert:
    return Alert(
        event_id=1,
        purpose="alert",
        provider="wasabi",
        provider_name="Wasabi",
        title="t",
        link=None,
        kinds=("shutdown",),
        severity="high",
        published=None,
        deadline=None,
        days_left=None,
        deadline_phrase=None,
        state=None,
        evidence=(),
        summary="",
    )


# -- gateway ----------------------------------------------------------------------------------


def test_a_dropped_connection_is_resumed_and_commands_still_answer(
    bot: DiscordBot, discord_server: DiscordServer
) -> None:
    """After the socket drops, the bot RESUMEs its session instead of identifying again."""
    discord_server.drop_connection(4000)
    assert discord_server.wait_until(lambda: discord_server.gateway.resumed_sent == 1)
    assert discord_server.gateway.resumes == [{"token": TOKEN, "session_id": "session-1", "seq": 1}]
    assert len(discord_server.gateway.identifies) == 1
    assert discord_server.answer(discord_server.slash("help"))["type"] == 4


def test_a_reconnect_request_is_resumed(bot: DiscordBot, discord_server: DiscordServer) -> None:
    """Op 7 RECONNECT makes the bot reconnect and resume its session."""
    discord_server.request_reconnect()
    assert discord_server.wait_until(lambda: discord_server.gateway.resumed_sent == 1)
    assert discord_server.gateway.connections == 2
    assert len(discord_server.gateway.identifies) == 1


def test_a_heartbeat_request_is_answered_with_the_last_sequence(
    bot: DiscordBot, discord_server: DiscordServer
) -> None:
    """Op 1 from the gateway gets an immediate heartbeat carrying the READY sequence."""
    discord_server.request_heartbeat()
    assert discord_server.wait_until(lambda: 1 in discord_server.gateway.heartbeats)
