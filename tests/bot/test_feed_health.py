"""Feed health in the channel: one warning when a provider cannot be read, one on recovery."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import build_alert
from bot.console import ConsoleNotifier
from bot.discord_app import DiscordBot, configure_endpoints
from bot.feed_health import HealthSummary, check_feed_health, cmd_health
from bot.notify import Target
from bot.runner import Runner
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings, load_settings
from bot.slack_commands import run_command
from bot.slack_render import render_alert
from storage import FeedSource
from storage.deliveries import due_deliveries, list_deliveries
from storage.feeds import list_feeds, record_failure, record_unchanged, sync_feeds
from storage.health import list_provider_health
from storage.subscriptions import subscribe
from tests.discord_server import CHANNEL_ID, GUILD_ID, TOKEN, DiscordServer

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
DAY = 86400.0
B2_FEEDS = ("https://status.b2.test/history.rss", "https://b2.test/blog/feed")
WASABI_FEED = "https://status.wasabi.test/history.rss"


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """Backblaze (two feeds) and Wasabi (one), all read at T0; three console channels."""
    runtime = open_runtime(Settings(db_path=tmp_path / "exitplan.db", poll_catalog=False), T0)
    sync_feeds(
        runtime.db,
        [
            FeedSource("backblaze", B2_FEEDS[0], "status"),
            FeedSource("backblaze", B2_FEEDS[1], "news"),
            FeedSource("wasabi", WASABI_FEED, "status"),
        ],
        T0,
    )
    for feed in list_feeds(runtime.db):
        record_unchanged(runtime.db, feed.id, T0, T0, status=304)
    for channel, provider in [("ops", "backblaze"), ("everything", "*"), ("w", "wasabi")]:
        _subscribe(runtime, channel, provider)
    yield runtime
    runtime.close()


def _subscribe(rt: Runtime, channel: str, provider: str) -> None:
    subscribe(
        rt.db,
        platform="console",
        workspace="local",
        channel=channel,
        provider=provider,
        kinds=("shutdown",),
        now=T0,
    )


def _fail(rt: Runtime, at: datetime, provider: str = "backblaze") -> None:
    """Every feed of a provider fails a poll at `at`."""
    for feed in list_feeds(rt.db, provider):
        record_failure(rt.db, feed.id, at, at, error_kind="http_5xx", error="HTTP 503")


def _read_again(rt: Runtime, at: datetime, url: str = B2_FEEDS[0]) -> None:
    (feed,) = [feed for feed in list_feeds(rt.db) if feed.url == url]
    record_unchanged(rt.db, feed.id, at, at, status=304)


def _check(rt: Runtime, at: datetime) -> HealthSummary:
    return check_feed_health(rt.db, at, after=DAY, provider_name=rt.provider_name)


def _runner(rt: Runtime, clock: list[datetime], out: io.StringIO) -> Runner:
    return Runner(rt, {"console": ConsoleNotifier(out)}, clock=lambda: clock[0])


def test_one_warning_then_one_recovery_notice(rt: Runtime) -> None:
    """After a day of failures the provider's channel hears once; once more when it is back."""
    clock = [T0 + timedelta(hours=1)]
    out = io.StringIO()
    runner = _runner(rt, clock, out)
    _fail(rt, clock[0])
    seen = []
    for hours in (23, 25, 26, 27):
        clock[0] = T0 + timedelta(hours=hours)
        _fail(rt, clock[0])
        seen.append(runner.check_health())
    _read_again(rt, T0 + timedelta(hours=28))
    for hours in (29, 30):
        clock[0] = T0 + timedelta(hours=hours)
        seen.append(runner.check_health())
    assert seen == [
        HealthSummary(),
        HealthSummary(unreachable=("backblaze",), queued=1),
        HealthSummary(unreachable=("backblaze",)),
        HealthSummary(unreachable=("backblaze",)),
        HealthSummary(recovered=("backblaze",), queued=1),
        HealthSummary(),
    ]
    headlines = [line for line in out.getvalue().splitlines() if line.startswith("== ")]
    assert headlines == [
        "== FEEDS UNREACHABLE · medium == Backblaze",
        "== FEEDS RECOVERED · info == Backblaze",
    ]
    assert "exitplan has not been able to read any feed of Backblaze since 2026-05-01 08:00" in (
        out.getvalue()
    )


def test_only_the_providers_own_subscribers_are_warned(rt: Runtime) -> None:
    """The channel subscribed to every provider and another provider's channel hear nothing."""
    _fail(rt, T0 + timedelta(hours=1))
    _check(rt, T0 + timedelta(hours=25))
    warned = [job.subscription.channel for job in due_deliveries(rt.db, T0 + timedelta(days=2))]
    assert warned == ["ops"]


def test_one_working_feed_keeps_the_provider_reachable(rt: Runtime) -> None:
    """Only one of Backblaze's feeds fails: no warning, however long."""
    (status,) = [feed for feed in list_feeds(rt.db) if feed.url == B2_FEEDS[0]]
    record_failure(rt.db, status.id, T0, T0, error_kind="timeout", error="no answer in 60s")
    assert _check(rt, T0 + timedelta(days=5)) == HealthSummary()


def test_every_feed_failing_is_exitplans_network_and_warns_nobody(rt: Runtime) -> None:
    """When Wasabi fails too, exitplan itself is cut off: no channel is warned."""
    _fail(rt, T0 + timedelta(hours=1))
    _fail(rt, T0 + timedelta(hours=1), provider="wasabi")
    summary = _check(rt, T0 + timedelta(hours=25))
    assert (summary, list_deliveries(rt.db), list_provider_health(rt.db)) == (
        HealthSummary(network_down=True),
        [],
        [],
    )


def test_a_channel_subscribing_during_the_outage_is_warned_once(rt: Runtime) -> None:
    """A later subscriber gets the warning at the next check, and only once."""
    _fail(rt, T0 + timedelta(hours=1))
    _check(rt, T0 + timedelta(hours=25))
    _subscribe(rt, "late", "backblaze")
    queued = [_check(rt, T0 + timedelta(hours=h)).queued for h in (26, 27)]
    assert queued == [1, 0]


def test_a_warning_not_yet_sent_is_dropped_on_recovery(rt: Runtime) -> None:
    """If the provider is back before the warning went out, neither message is sent."""
    _fail(rt, T0 + timedelta(hours=1))
    _check(rt, T0 + timedelta(hours=25))
    _read_again(rt, T0 + timedelta(hours=25, minutes=30))
    summary = _check(rt, T0 + timedelta(hours=26))
    assert (summary, list_deliveries(rt.db)) == (HealthSummary(recovered=("backblaze",)), [])


def test_a_second_outage_warns_again(rt: Runtime) -> None:
    """After a recovery, a new day-long outage is a new warning."""
    clock = [T0]
    out = io.StringIO()
    runner = _runner(rt, clock, out)
    _fail(rt, T0 + timedelta(hours=1))
    clock[0] = T0 + timedelta(hours=25)
    runner.check_health()
    _read_again(rt, T0 + timedelta(hours=26))
    clock[0] = T0 + timedelta(hours=27)
    runner.check_health()
    _fail(rt, T0 + timedelta(hours=28))
    clock[0] = T0 + timedelta(hours=51)
    summary = runner.check_health()
    assert (summary.queued, out.getvalue().count("== FEEDS UNREACHABLE")) == (1, 2)


def test_health_lists_the_channels_failing_feeds_with_their_last_error(rt: Runtime) -> None:
    """`health` shows each failing feed of the channel's providers, since when and why."""
    _fail(rt, T0 + timedelta(hours=1))
    _check(rt, T0 + timedelta(hours=25))
    reply = cmd_health(rt, Target("console", "local", "ops"), T0 + timedelta(hours=26))
    assert reply.text == (
        "2 of 2 feed(s) of this channel's providers are failing:\n"
        "\n"
        "Backblaze: 2 of 2 feed(s) failing, unreachable since 2026-05-01 08:00 UTC:\n"
        f"  news: {B2_FEEDS[1]} — failing since 2026-05-01 08:00 UTC (1d 2h), 1x http_5xx: "
        "HTTP 503\n"
        f"  status: {B2_FEEDS[0]} — failing since 2026-05-01 08:00 UTC (1d 2h), 1x http_5xx: "
        "HTTP 503"
    )


def test_health_says_so_when_every_feed_is_read(rt: Runtime) -> None:
    """A channel whose providers' feeds all work is told so."""
    reply = cmd_health(rt, Target("console", "local", "w"), T0)
    assert reply.text == "All 1 feed(s) of this channel's providers are being read."


def test_slack_health_answers_the_caller(rt: Runtime) -> None:
    """`/exitplan health` lists the channel's failing feeds, privately."""
    slack = Target("slack", "T1", "C1")
    subscribe(
        rt.db,
        platform="slack",
        workspace="T1",
        channel="C1",
        provider="backblaze",
        kinds=("shutdown",),
        now=T0,
    )
    _fail(rt, T0 + timedelta(hours=1))
    result = run_command(rt, slack, "U1", "health", T0, may_change=lambda _: True)
    assert (result.public, result.reply.title) == (
        False,
        "2 of 2 feed(s) of this channel's providers are failing:",
    )


def test_discord_health_answers_the_caller(tmp_path: Path) -> None:
    """`/exitplan health` on Discord answers privately with the failing feeds."""
    with DiscordServer() as server:
        settings = Settings(
            db_path=tmp_path / "discord.db",
            poll_catalog=False,
            discord_token=TOKEN,
            discord_api_url=server.api_url,
            discord_gateway_url=server.gateway_url,
        )
        runtime = open_runtime(settings, T0, sync=False)
        sync_feeds(runtime.db, [FeedSource("wasabi", WASABI_FEED, "status")], T0)
        _fail(runtime, T0, provider="wasabi")
        subscribe(
            runtime.db,
            platform="discord",
            workspace=str(GUILD_ID),
            channel=str(CHANNEL_ID),
            provider="wasabi",
            kinds=("shutdown",),
            now=T0,
        )
        configure_endpoints(settings.discord_api_url, settings.discord_gateway_url)
        bot = DiscordBot(settings)
        bot.start()
        try:
            assert server.wait_until(server.is_ready)
            answer = server.answer(server.slash("health", permissions=0))
        finally:
            bot.stop()
            runtime.close()
            configure_endpoints(None, None)
    embed = answer["data"]["embeds"][0]
    assert (answer["data"]["flags"], embed["title"], "HTTP 503" in embed["description"]) == (
        1 << 6,
        "1 of 1 feed(s) of this channel's providers are failing:",
        True,
    )


def test_feed_health_after_is_a_setting() -> None:
    """`EXITPLAN_FEED_HEALTH_AFTER` takes a duration; the default is a day."""
    assert (
        load_settings(environ={"HOME": "/h"}).feed_health_after,
        load_settings(environ={"HOME": "/h", "EXITPLAN_FEED_HEALTH_AFTER": "6h"}).feed_health_after,
    ) == (DAY, 6 * 3600.0)


def test_slack_leads_health_notices_with_their_own_emoji(rt: Runtime) -> None:
    """The warning's Slack header is the satellite dish and "FEEDS UNREACHABLE"."""
    _fail(rt, T0 + timedelta(hours=1))
    _check(rt, T0 + timedelta(hours=25))
    (job,) = due_deliveries(rt.db, T0 + timedelta(hours=25))
    alert = build_alert(job.event, provider_name="Backblaze", purpose="alert", today=T0.date())
    header = render_alert(alert)[0]["text"]["text"]
    assert header == ":satellite_antenna: FEEDS UNREACHABLE · medium"
