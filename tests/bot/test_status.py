"""`status`: current state from the status feed, deadlines with progress, channel summary."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot import core
from bot.notify import Target
from bot.replies import describe_days_left
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from feeds.catalog import provider_from_config
from storage import EntryWrite, FeedSource
from storage.feeds import list_feeds, sync_feeds
from tests.stored import store_entries

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
OPS = Target("console", "local", "ops")
STATUS_URL = "https://status.acme.test/history.rss"
BLOG_URL = "https://acme.test/blog.rss"

INCIDENT = EntryWrite(
    key="inc-1",
    title="Elevated errors on uploads",
    link=None,
    published=NOW,
    updated=None,
    text="Identified - A faulty load balancer is being replaced.\nInvestigating - Errors.",
    categories=(),
    content_hash="i1",
    kinds=("outage",),
    severity="medium",
    evidence=(),
    deadline=None,
    deadline_phrase=None,
    state="open",
)
SHUTDOWN = EntryWrite(
    key="post-1",
    title="Acme Vault closes",
    link=None,
    published=NOW,
    updated=None,
    text="Acme Vault shuts down on June 30, 2026.",
    categories=(),
    content_hash="s1",
    kinds=("shutdown",),
    severity="high",
    evidence=(),
    deadline=date(2026, 6, 30),
    deadline_phrase="on June 30, 2026",
    state=None,
)


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    """A runtime that knows provider acme with a status feed and a blog."""
    acme = provider_from_config(
        {
            "slug": "acme",
            "name": "Acme Cloud",
            "feeds": [{"url": STATUS_URL, "role": "status"}, {"url": BLOG_URL, "role": "news"}],
        },
        where="test",
    )
    settings = Settings(db_path=tmp_path / "x.db", poll_catalog=False, providers=(acme,))
    runtime = open_runtime(settings, NOW)
    sync_feeds(
        runtime.db,
        [FeedSource("acme", STATUS_URL, "status"), FeedSource("acme", BLOG_URL, "news")],
        NOW,
    )
    return runtime


def _store(rt: Runtime, url: str, *writes: EntryWrite, at: datetime = NOW) -> None:
    feed = next(f for f in list_feeds(rt.db) if f.url == url)
    store_entries(rt.db, feed.id, writes, at)


def _section(reply: core.Reply, heading: str) -> tuple[str, ...]:
    return next(section.lines for section in reply.sections if section.heading == heading)


def test_open_incident_shows_with_its_latest_update(rt: Runtime) -> None:
    """An open incident leads the status with the newest update's first line."""
    _store(rt, STATUS_URL, INCIDENT)
    state = _section(core.cmd_status(rt, "acme", NOW, OPS), "Current state")
    assert state[0].startswith("OPEN: #1 2026-04-01 [outage, medium] Elevated errors on uploads")
    assert state[1] == "  latest: Identified - A faulty load balancer is being replaced."


def test_resolved_incident_means_operational_since(rt: Runtime) -> None:
    """After the incident resolves, status says operational since its time."""
    later = NOW + timedelta(hours=2)
    resolved = replace(INCIDENT, state="resolved", content_hash="i2", published=later)
    _store(rt, STATUS_URL, resolved, at=later)
    state = _section(core.cmd_status(rt, "acme", later, OPS), "Current state")
    assert state == (
        "operational since 2026-04-01 14:00 UTC (last incident: Elevated errors on uploads)",
    )


def test_provider_without_incidents_is_operational(rt: Runtime) -> None:
    """A status feed with no incident yet reads as operational, with no invented history."""
    state = _section(core.cmd_status(rt, "Acme Cloud", NOW, OPS), "Current state")
    assert state == ("operational: no incident recorded yet",)


def test_deadlines_show_the_channels_checklist_progress(rt: Runtime) -> None:
    """Each deadline shows days left and how far this channel's checklist is."""
    _store(rt, BLOG_URL, SHUTDOWN)
    core.cmd_checklist(rt, OPS, "1", NOW, done=["1", "2"], user="ana")
    deadlines = _section(core.cmd_status(rt, "acme", NOW, OPS), "Deadlines")
    assert deadlines == (
        "#1 2026-04-01 [shutdown, high] Acme Vault closes — deadline 2026-06-30 "
        "(90 days left) — checklist 2 of 8 done",
    )


def test_status_without_provider_summarises_worst_first(rt: Runtime) -> None:
    """Every subscription of the channel is summarised, the most urgent first."""
    core.cmd_subscribe(rt, OPS, "acme", ["all"], NOW)
    core.cmd_subscribe(rt, OPS, "dropbox", [], NOW)
    _store(rt, BLOG_URL, SHUTDOWN)
    reply = core.cmd_status(rt, None, NOW, OPS)
    assert reply.title == "Status of this channel's providers:"
    assert reply.sections[0].lines == (
        "Acme Cloud: deadline 2026-06-30 in 90 days, checklist 0 of 8 done",
        "Dropbox: operational, nothing pending",
    )


def test_subscribing_late_catches_up_on_a_pending_shutdown(rt: Runtime) -> None:
    """A channel subscribing after the announcement still gets it, once."""
    _store(rt, BLOG_URL, replace(SHUTDOWN, key="history", deadline=None))  # baseline
    _store(rt, BLOG_URL, SHUTDOWN)
    first = core.cmd_subscribe(rt, OPS, "acme", [], NOW)
    again = core.cmd_subscribe(rt, OPS, "acme", ["shutdown", "price_change"], NOW)
    assert first.title.endswith(
        "1 announcement(s) still pending there (deadlines ahead, open incidents) will follow "
        "in this channel."
    )
    assert "pending" not in again.title


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (34, "34 days left"),
        (1, "1 day left"),
        (0, "today"),
        (-1, "passed 1 day ago"),
        (-788, "passed 788 days ago"),
    ],
)
def test_days_left_read_naturally(days: int, text: str) -> None:
    """A deadline reads as days left, today, or how long ago it passed — never negative."""
    assert describe_days_left(days) == text
