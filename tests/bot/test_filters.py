"""Subscription filters: regions and components, exclusions, severity, on every platform."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import core
from bot.cli import main
from bot.discord_app import DiscordBot, configure_endpoints
from bot.notify import Target
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack_commands import run_command
from feeds.fetch import FetchLimits
from feeds.model import SEVERITIES
from feeds.watcher import PollSettings, poll_once
from storage import EntryWrite, EvidenceRecord, FeedSource, Subscription
from storage.deliveries import due_deliveries, queue_catch_up
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.filters import SEVERITY_ORDER, passes_filter, term_in
from storage.reminders import reminder_plan
from storage.subscriptions import list_subscriptions, subscribe
from tests.discord_server import CHANNEL_ID, GUILD_ID, TOKEN, DiscordServer
from tests.servers import FeedServer

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
POLL = PollSettings(
    interval=600, jitter=0.0, limits=FetchLimits(total_timeout=5), allow_private=True
)
CONSOLE = Target("console", "local", "ops")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on a fresh database without the catalog's feeds."""
    runtime = open_runtime(Settings(db_path=tmp_path / "exitplan.db", poll_catalog=False), NOW)
    yield runtime
    runtime.close()


def _subscribe(
    rt: Runtime,
    channel: str,
    provider: str = "aws",
    *,
    match_terms: tuple[str, ...] = (),
    exclude_terms: tuple[str, ...] = (),
    min_severity: str | None = None,
) -> None:
    subscribe(
        rt.db,
        platform="console",
        workspace="local",
        channel=channel,
        provider=provider,
        kinds=("all",),
        now=NOW,
        match_terms=match_terms,
        exclude_terms=exclude_terms,
        min_severity=min_severity,
    )


def _delivered(rt: Runtime, at: datetime) -> list[tuple[str, str]]:
    """(channel, event title) of every delivery due at `at`, sorted."""
    return sorted((job.subscription.channel, job.event.title) for job in due_deliveries(rt.db, at))


def _rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS body with (title, guid, description) items."""
    body = "".join(
        f"<item><title>{title}</title><guid isPermaLink='false'>{guid}</guid>"
        f"<description>{text}</description><pubDate>Fri, 01 May 2026 07:00:00 GMT</pubDate>"
        "</item>"
        for title, guid, text in items
    )
    channel = f"<channel><title>t</title>{body}</channel>"
    return f"<?xml version='1.0'?><rss version='2.0'>{channel}</rss>".encode()


def _write(key: str, title: str, text: str = "", **changes: object) -> EntryWrite:
    write = EntryWrite(
        key=key,
        title=title,
        link=None,
        published=NOW,
        updated=None,
        text=text,
        categories=(),
        content_hash=f"{key}:{title}:{text}",
        kinds=("outage",),
        severity="high",
        evidence=(EvidenceRecord("outage", "errors", "an availability incident"),),
        deadline=None,
        deadline_phrase=None,
        state="open",
    )
    return replace(write, **changes)


def _save(rt: Runtime, *writes: EntryWrite, provider: str = "aws") -> None:
    """Store entries of a provider's baselined status feed."""
    if not list_feeds(rt.db, provider):
        sync_feeds(rt.db, [FeedSource(provider, f"https://{provider}.test/rss", "status")], NOW)
        feed = list_feeds(rt.db, provider)[0]
        save_entries(
            rt.db, feed.id, [], NOW, NOW, status=200, etag=None, last_modified=None, body_hash="0"
        )
    feed = list_feeds(rt.db, provider)[0]
    save_entries(
        rt.db,
        feed.id,
        list(writes),
        NOW,
        NOW,
        status=200,
        etag=None,
        last_modified=None,
        body_hash=str(random.random()),
    )


# -- matching -------------------------------------------------------------------------------


def test_terms_match_whole_words_in_any_case() -> None:
    """B2 is not B20, us-east-1 is not us-east-10, spacing and case do not matter."""
    cases = [
        ("B2", "B2 Cloud Storage price change"),
        ("B2", "Our B20 plan"),
        ("us-east-1", "errors in the US-EAST-1 Region"),
        ("us-east-1", "errors in us-east-10"),
        ("Spaces NYC3", "Spaces\nNYC3 is degraded"),
        ("Spaces NYC3", "SpacesNYC3"),
        ("GovCloud", "AWS GovCloud (US)"),
    ]
    assert [term_in(term, text) for term, text in cases] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]


def test_storage_keeps_the_same_severity_order_as_feeds() -> None:
    """storage/filters.py's copy of the severity order equals feeds.model.SEVERITIES."""
    assert SEVERITY_ORDER == SEVERITIES


def test_a_filter_needs_a_match_no_exclusion_and_enough_severity() -> None:
    """Each rule can keep an event out on its own; tags count as text."""

    def passes(
        match: tuple[str, ...] = ("us-east-1",),
        exclude: tuple[str, ...] = (),
        minimum: str | None = None,
        severity: str = "medium",
    ) -> bool:
        return passes_filter(
            title="Elevated errors",
            text="Some requests fail.",
            tags=("us-east-1",),
            severity=severity,
            match_terms=match,
            exclude_terms=exclude,
            min_severity=minimum,
        )

    assert [
        passes(),
        passes(match=("us-west-2",)),
        passes(exclude=("us-east-1",)),
        passes(minimum="high"),
        passes(minimum="medium"),
        passes(severity="bogus", minimum="info"),
    ] == [
        True,
        False,
        False,
        False,
        True,
        True,
    ]


# -- through the poll cycle -----------------------------------------------------------------


def test_an_aws_entry_for_another_region_does_not_reach_a_region_filtered_channel(
    rt: Runtime, feed_server: FeedServer
) -> None:
    """us-west-2 (named only in the guid) skips the us-east-1 channel; us-east-1 reaches it."""
    sync_feeds(rt.db, [FeedSource("aws", feed_server.url("/ec2.rss"), "status")], NOW)
    _subscribe(rt, "east-only", match_terms=("us-east-1",))
    _subscribe(rt, "everything")
    feed_server.set_feed("/ec2.rss", _rss())
    poll_once(rt.db, NOW, POLL, every_feed=True)
    feed_server.set_feed(
        "/ec2.rss",
        _rss(
            (
                "Service disruption: Increased launch failures",
                "https://status.aws.amazon.com/#ec2-us-west-2_1777618800",
                "We are investigating increased error rates for instance launches.",
            ),
            (
                "Performance issues: Elevated API latency",
                "https://status.aws.amazon.com/#ec2-us-east-1_1777618801",
                "We are investigating elevated latencies for EC2 APIs.",
            ),
        ),
    )
    later = NOW + timedelta(minutes=10)
    poll_once(rt.db, later, POLL, every_feed=True)
    assert _delivered(rt, later) == [
        ("east-only", "Performance issues: Elevated API latency"),
        ("everything", "Performance issues: Elevated API latency"),
        ("everything", "Service disruption: Increased launch failures"),
    ]


def test_a_statuspage_component_reaches_the_channel_filtered_to_it(
    rt: Runtime, feed_server: FeedServer
) -> None:
    """ "This incident affected: Spaces (NYC3)" matches `Spaces NYC3`; SFO2 does not."""
    sync_feeds(rt.db, [FeedSource("digitalocean", feed_server.url("/h.rss"), "status")], NOW)
    _subscribe(rt, "nyc3", provider="digitalocean", match_terms=("Spaces NYC3",))
    feed_server.set_feed("/h.rss", _rss())
    poll_once(rt.db, NOW, POLL, every_feed=True)
    feed_server.set_feed(
        "/h.rss",
        _rss(
            (
                "Degraded object storage performance",
                "https://status.digitalocean.test/incidents/a1",
                "&lt;p&gt;Investigating.&lt;/p&gt;&lt;p&gt;This incident affected: "
                "Spaces (NYC3) and Droplets.&lt;/p&gt;",
            ),
            (
                "Elevated error rates",
                "https://status.digitalocean.test/incidents/b2",
                "&lt;p&gt;Investigating.&lt;/p&gt;&lt;p&gt;This incident affected: "
                "Spaces (SFO2).&lt;/p&gt;",
            ),
        ),
    )
    later = NOW + timedelta(minutes=10)
    poll_once(rt.db, later, POLL, every_feed=True)
    assert _delivered(rt, later) == [("nyc3", "Degraded object storage performance")]


def test_exclusions_and_minimum_severity_keep_events_out(rt: Runtime) -> None:
    """GovCloud news skips a channel excluding it; medium news skips one wanting high."""
    _subscribe(rt, "no-govcloud", exclude_terms=("GovCloud",))
    _subscribe(rt, "high", min_severity="high")
    _save(
        rt,
        _write("a", "Elevated errors in AWS GovCloud (US-West)", severity="critical"),
        _write("b", "Delayed CloudWatch metrics", severity="medium"),
    )
    assert _delivered(rt, NOW) == [
        ("high", "Elevated errors in AWS GovCloud (US-West)"),
        ("no-govcloud", "Delayed CloudWatch metrics"),
    ]


def test_a_filtered_out_deadline_gets_no_reminders(rt: Runtime) -> None:
    """Reminders follow the filters: only the channel the event passes has a plan."""
    _subscribe(rt, "b2", provider="backblaze", match_terms=("B2",))
    _subscribe(rt, "other", provider="backblaze", match_terms=("Computer Backup",))
    _save(
        rt,
        _write(
            "eol",
            "B2 Legacy Vaults will be discontinued",
            "Copy your data out by July 31, 2026.",
            kinds=("shutdown",),
            deadline=date(2026, 7, 31),
        ),
        provider="backblaze",
    )
    plan = reminder_plan(rt.db, NOW.date(), (30, 7))
    assert sorted({item.subscription.channel for item in plan}) == ["b2"]


def test_catch_up_on_subscribe_follows_the_filters(rt: Runtime) -> None:
    """Subscribing late catches up only the open incidents the filters let through."""
    _save(
        rt,
        _write("east", "Elevated errors", tags=("us-east-1",)),
        _write("west", "Elevated errors in Oregon", tags=("us-west-2",)),
    )
    _subscribe(rt, "late", match_terms=("us-east-1",))
    (late,) = list_subscriptions(rt.db, channel="late")
    assert (queue_catch_up(rt.db, late, NOW), _delivered(rt, NOW)) == (
        1,
        [("late", "Elevated errors")],
    )


# -- each platform's syntax ------------------------------------------------------------------


def _filters(sub: Subscription) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    return sub.match_terms, sub.exclude_terms, sub.min_severity


def test_core_subscribe_stores_filters_and_list_shows_them(rt: Runtime) -> None:
    """cmd_subscribe validates and stores the filters; list shows them on the line."""
    reply = core.cmd_subscribe(
        rt,
        CONSOLE,
        "aws",
        ["outage"],
        NOW,
        match=["us-east-1, Spaces NYC3", "us-east-1"],
        exclude=["GovCloud"],
        min_severity="High",
    )
    (sub,) = list_subscriptions(rt.db)
    assert (reply.ok, _filters(sub), core.cmd_list(rt, CONSOLE).sections[0].lines) == (
        True,
        (("us-east-1", "Spaces NYC3"), ("GovCloud",), "high"),
        (
            "Amazon Web Services: outage (match: us-east-1, Spaces NYC3 · exclude: GovCloud · "
            "severity high or worse)",
        ),
    )


def test_subscribing_again_without_filters_removes_them_and_says_so(rt: Runtime) -> None:
    """The second subscribe states the whole subscription; the answer names the change."""
    core.cmd_subscribe(rt, CONSOLE, "aws", [], NOW, match=["us-east-1"])
    reply = core.cmd_subscribe(rt, CONSOLE, "aws", [], NOW)
    (sub,) = list_subscriptions(rt.db)
    assert (reply.title.split(":")[0], "Filters removed." in reply.title, _filters(sub)) == (
        "Updated the subscription",
        True,
        ((), (), None),
    )


@pytest.mark.parametrize(
    ("match", "exclude", "level", "error"),
    [
        (["us-east-1"], [], "urgent", "Unknown severity 'urgent'. Choose from: critical, high"),
        (["B2"], ["b2"], None, "'b2' cannot be both matched and excluded."),
        (["--"], [], None, "The term '--' has no letter or digit to look for."),
    ],
)
def test_bad_filters_are_refused_and_nothing_is_stored(
    rt: Runtime, match: list[str], exclude: list[str], level: str | None, error: str
) -> None:
    """A bad severity, a term both matched and excluded, or a term of punctuation is refused."""
    reply = core.cmd_subscribe(
        rt, CONSOLE, "aws", [], NOW, match=match, exclude=exclude, min_severity=level
    )
    assert (reply.ok, reply.title.startswith(error), list_subscriptions(rt.db)) == (
        False,
        True,
        [],
    )


def test_console_subscribe_takes_filter_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`exitplan subscribe aws --match … --exclude … --min-severity high` stores and shows them."""
    monkeypatch.setenv("EXITPLAN_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("EXITPLAN_POLL_CATALOG", "false")
    argv = ["subscribe", "aws", "--kinds", "outage", "--match", "us-east-1", "Spaces NYC3"]
    assert main([*argv, "--exclude", "GovCloud", "--min-severity", "high"]) == 0
    assert main(["subscriptions"]) == 0
    out = capsys.readouterr().out
    assert "Only news that passes the filters (match: us-east-1, Spaces NYC3 · " in out
    assert (
        "Amazon Web Services: outage (match: us-east-1, Spaces NYC3 · exclude: GovCloud · "
        "severity high or worse)"
    ) in out


def test_slack_subscribe_reads_filter_words(rt: Runtime) -> None:
    """`/exitplan subscribe aws outage match:us-east-1 match:"Spaces NYC3" exclude:… min:high`."""
    text = (
        'subscribe aws outage match:us-east-1,us-west-2 match:"Spaces NYC3" exclude:GovCloud '
        "min:high"
    )
    slack = Target("slack", "T1", "C1")
    result = run_command(rt, slack, "U1", text, NOW, may_change=lambda _: True)
    (sub,) = list_subscriptions(rt.db, platform="slack")
    assert (result.public, sub.kinds, _filters(sub)) == (
        True,
        ("outage",),
        (("us-east-1", "us-west-2", "Spaces NYC3"), ("GovCloud",), "high"),
    )


def test_slack_subscribe_accepts_typographic_quotes(rt: Runtime) -> None:
    """Slack clients turn "…" into “…”; a quoted term still stays one term."""
    text = "subscribe digitalocean match:“Spaces NYC3”"
    run_command(rt, Target("slack", "T1", "C1"), "U1", text, NOW, may_change=lambda _: True)
    (sub,) = list_subscriptions(rt.db, platform="slack")
    assert sub.match_terms == ("Spaces NYC3",)


def test_status_shows_a_channels_filters(rt: Runtime) -> None:
    """Channel status lists filtered subscriptions; provider status shows the channel's line."""
    core.cmd_subscribe(rt, CONSOLE, "aws", ["outage"], NOW, match=["us-east-1"])
    channel = core.cmd_status(rt, None, NOW, CONSOLE)
    provider = core.cmd_status(rt, "aws", NOW, CONSOLE)
    line = "Amazon Web Services: outage (match: us-east-1)"
    assert (
        [s.lines for s in channel.sections if s.heading == "Filtered"],
        [s.lines for s in provider.sections if s.heading == "This channel"],
    ) == ([(line,)], [(line,)])


@pytest.fixture
def discord_bot(tmp_path: Path) -> Iterator[tuple[DiscordBot, DiscordServer, Runtime]]:
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
        yield bot, server, runtime
        bot.stop()
        runtime.close()
    configure_endpoints(None, None)


def test_discord_subscribe_takes_match_exclude_and_min_severity_options(
    discord_bot: tuple[DiscordBot, DiscordServer, Runtime],
) -> None:
    """The options are stored as filters; commas separate terms; the answer names them."""
    _bot, server, runtime = discord_bot
    options = {
        "provider": "aws",
        "match": "us-east-1, Spaces NYC3",
        "exclude": "GovCloud",
        "min_severity": "high",
    }
    answer = server.answer(server.slash("subscribe", options))
    (sub,) = list_subscriptions(runtime.db, platform="discord")
    assert ((sub.workspace, sub.channel), _filters(sub)) == (
        (str(GUILD_ID), str(CHANNEL_ID)),
        (("us-east-1", "Spaces NYC3"), ("GovCloud",), "high"),
    )
    assert "match: us-east-1, Spaces NYC3" in answer["data"]["embeds"][0]["title"]


def test_discord_subscribe_offers_severity_choices(
    discord_bot: tuple[DiscordBot, DiscordServer, Runtime],
) -> None:
    """The synced `min_severity` option is a choice of severities."""
    _bot, server, _runtime = discord_bot
    (command,) = server.commands()
    subscribe_options = next(o for o in command["options"] if o["name"] == "subscribe")["options"]
    level = next(o for o in subscribe_options if o["name"] == "min_severity")
    assert [choice["value"] for choice in level["choices"]] == ["critical", "high", "medium", "low"]
