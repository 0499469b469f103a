"""The poll cycle against feeds served on 127.0.0.1: baseline, updates, failures, restarts."""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from feeds.fetch import FetchLimits
from feeds.watcher import PollSettings, poll_once
from storage import EvidenceRecord, FeedSource, open_db
from storage.deliveries import count_deliveries, due_deliveries
from storage.events import list_events
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import subscribe
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SETTINGS = PollSettings(
    interval=600,
    jitter=0.0,
    limits=FetchLimits(total_timeout=5, read_timeout=5),
    allow_private=True,  # the test servers listen on 127.0.0.1
)


def _setup(tmp_path: Path, server: FeedServer, *paths: str) -> Database:
    db = open_db(tmp_path / "exitplan.db")
    sources = [FeedSource("example", server.url(path), "status") for path in paths]
    sync_feeds(db, sources, NOW)
    subscribe(
        db,
        platform="console",
        workspace="local",
        channel="ops",
        provider="example",
        kinds=("all",),
        now=NOW,
    )
    return db


def _poll(db: Database, at: datetime) -> tuple[int, int, int, int, int]:
    s = poll_once(db, at, SETTINGS, rng=random.Random(3), every_feed=True)
    return s.polled, s.not_modified, s.new_entries, s.updated_entries, s.alerts_queued


def test_statuspage_update_and_new_incident_alert_after_a_silent_baseline(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The first read alerts nothing; a new incident alerts, a resolved one becomes an update."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    assert _poll(db, NOW) == (1, 0, 3, 0, 0)
    assert _poll(db, NOW + timedelta(minutes=10)) == (1, 1, 0, 0, 0)
    assert feed_server.requests[-1].headers.get("If-None-Match")

    updated = (DATA / "statuspage_history_updated.rss").read_bytes()
    feed_server.set_feed("/history.rss", updated)
    polled, _, new, changed, queued = _poll(db, NOW + timedelta(minutes=20))
    assert (polled, new, changed) == (1, 1, 1)
    titles = {job.event.title for job in due_deliveries(db, NOW + timedelta(minutes=20))}
    assert "Delayed replication between regions" in titles
    assert queued == len(titles) >= 1


def test_no_duplicate_alerts_after_a_restart(tmp_path: Path, feed_server: FeedServer) -> None:
    """Reopening the database and re-reading the same feed queues nothing new."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    _poll(db, NOW)
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history_updated.rss").read_bytes())
    first = _poll(db, NOW + timedelta(minutes=10))
    db.close()

    reopened = open_db(tmp_path / "exitplan.db")
    feed = list_feeds(reopened)[0]
    reopened.table("feeds").update(
        feed.id, {"etag": None, "last_modified": None, "body_hash": None}
    )
    again = _poll(reopened, NOW + timedelta(minutes=20))
    assert first[4] >= 1
    assert again == (1, 0, 0, 0, 0)


def test_a_failing_feed_backs_off_without_stopping_the_others(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A 503 with Retry-After is recorded and retried no sooner; the healthy feed is read."""
    feed_server.set_feed("/ok.rss", (DATA / "statuspage_history.rss").read_bytes())
    feed_server.set_response("/down.rss", 503, b"busy", {"Retry-After": "7200"})
    db = _setup(tmp_path, feed_server, "/ok.rss", "/down.rss")
    summary = poll_once(db, NOW, SETTINGS, rng=random.Random(1), every_feed=True)
    assert [(f.kind, f.failures_in_a_row) for f in summary.failures] == [("http_5xx", 1)]
    assert summary.new_entries == 3
    down = next(f for f in list_feeds(db) if f.url.endswith("/down.rss"))
    assert down.next_poll_at is not None
    assert down.next_poll_at >= NOW + timedelta(seconds=7200)
    assert (down.failure_count, down.last_error_kind) == (1, "http_5xx")


def test_html_instead_of_a_feed_is_recorded_as_not_a_feed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A page served where a feed should be is a clear failure, not an empty feed."""
    feed_server.set_feed("/page", (DATA / "not_a_feed.html").read_bytes(), "text/html")
    db = _setup(tmp_path, feed_server, "/page")
    summary = poll_once(db, NOW, SETTINGS, every_feed=True)
    assert [f.kind for f in summary.failures] == ["not_a_feed"]
    assert list_events(db, include_other=True) == []


def test_a_permanent_redirect_moves_the_stored_url(tmp_path: Path, feed_server: FeedServer) -> None:
    """After a 301 the feed is polled at its new address."""
    feed_server.set_feed("/new.rss", (DATA / "statuspage_history.rss").read_bytes())
    feed_server.set_redirect("/old.rss", feed_server.url("/new.rss"), 301)
    db = _setup(tmp_path, feed_server, "/old.rss")
    poll_once(db, NOW, SETTINGS, every_feed=True)
    assert [f.url for f in list_feeds(db)] == [feed_server.url("/new.rss")]


def test_status_entries_carry_their_incident_state(tmp_path: Path, feed_server: FeedServer) -> None:
    """Statuspage incidents are stored with open or resolved state from their newest update."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history_updated.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    poll_once(db, NOW, SETTINGS, every_feed=True)
    states = {e.title: e.state for e in list_events(db, include_other=True)}
    assert states["Delayed replication between regions"] == "open"
    assert states["Elevated error rates for object uploads in eu-west"] == "resolved"


GONE = replace(SETTINGS, provider_names={"example": "Example Cloud"})


def _told(db: Database, at: datetime) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    """Who is owed what at `at`: channel, event title, kinds and notice of each delivery."""
    return [
        (job.subscription.channel, job.event.title, job.event.kinds, job.event.notice)
        for job in due_deliveries(db, at)
    ]


def test_a_410_marks_the_feed_gone_and_tells_every_subscriber_once(
    tmp_path: Path, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """410 Gone: the feed is gone, checked daily, its subscribers told once; it may come back."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    for channel, provider, kinds in (("sre", "example", ("shutdown",)), ("misc", "other", ())):
        subscribe(
            db,
            platform="console",
            workspace="local",
            channel=channel,
            provider=provider,
            kinds=kinds,
            now=NOW,
        )
    url = feed_server.url("/history.rss")
    poll_once(db, NOW, GONE, every_feed=True)
    feed_server.set_response("/history.rss", 410, b"gone")
    gone_at = NOW + timedelta(hours=1)

    summary = poll_once(db, gone_at, GONE, rng=random.Random(1), every_feed=True)

    feed = list_feeds(db)[0]
    assert (feed.gone_at, feed.gone_reason, feed.next_poll_at) == (
        gone_at,
        "HTTP 410 Gone",
        gone_at + timedelta(days=1),
    )
    assert (summary.gone, summary.alerts_queued) == (1, 2)
    title = f"Example Cloud feed is gone: {url}"
    assert _told(db, gone_at) == [("ops", title, (), "feed_gone"), ("sre", title, (), "feed_gone")]
    event = due_deliveries(db, gone_at)[0].event
    assert event.evidence == (
        EvidenceRecord(
            "feed_gone", "HTTP 410 Gone", "the server says the feed was removed for good"
        ),
    )
    assert event.text == (
        "exitplan can no longer read this status feed of Example Cloud (HTTP 410 Gone). A "
        "disappearing feed can be a sign of a shutdown: check Example Cloud's website, status "
        "page and account notices, and look for a new feed address (add it with `exitplan "
        "providers add example URL`). exitplan still checks this one daily. Last error: the "
        "server says the feed was removed for good."
    )
    assert [e.title for e in list_events(db) if e.notice] == []  # never counted as news

    next_day = gone_at + timedelta(days=1)
    again = poll_once(db, next_day, GONE, rng=random.Random(1), every_feed=True)
    feed = list_feeds(db)[0]
    assert (again.gone, again.alerts_queued, feed.gone_at) == (0, 0, gone_at)
    assert feed.next_poll_at == next_day + timedelta(days=1)

    feed_server.set_feed("/history.rss", (DATA / "statuspage_history_updated.rss").read_bytes())
    with caplog.at_level(logging.INFO, logger="feeds.watcher"):
        poll_once(db, gone_at + timedelta(days=2), GONE, every_feed=True)
    feed = list_feeds(db)[0]
    assert (feed.gone_at, feed.gone_reason, feed.failure_count) == (None, None, 0)
    assert f"feed is back feed={url} gone_since={gone_at.isoformat()}" in caplog.messages

    feed_server.set_response("/history.rss", 410, b"gone")
    deliveries = count_deliveries(db)
    gone_again = poll_once(db, gone_at + timedelta(days=3), GONE, every_feed=True)
    assert (gone_again.gone, count_deliveries(db)) == (1, deliveries)  # nobody told twice


def test_a_feed_failing_for_three_days_is_gone(tmp_path: Path, feed_server: FeedServer) -> None:
    """Failures for less than gone_after since the last read are backoff; past it, gone."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    poll_once(db, NOW, GONE, every_feed=True)
    feed_server.set_response("/history.rss", 503, b"busy")

    for hours in (1, 24, 71):
        summary = poll_once(db, NOW + timedelta(hours=hours), GONE, every_feed=True)
        assert (summary.gone, list_feeds(db)[0].gone_at) == (0, None)
    late = NOW + timedelta(days=3, minutes=1)
    summary = poll_once(db, late, GONE, every_feed=True)

    feed = list_feeds(db)[0]
    assert (summary.gone, feed.gone_at, feed.gone_reason, feed.failure_count) == (
        1,
        late,
        "unreachable since 2026-06-01 12:00 UTC",
        4,
    )
    jobs = due_deliveries(db, late)
    assert [job.event.evidence for job in jobs] == [
        (
            EvidenceRecord(
                "feed_gone",
                "unreachable since 2026-06-01 12:00 UTC",
                "http_5xx: HTTP 503 Service Unavailable",
            ),
        )
    ]


def test_a_feed_that_never_worked_is_gone_without_telling_anyone(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A feed never read is gone three days after it was added, but cannot have disappeared."""
    feed_server.set_response("/typo.rss", 404, b"no")
    db = _setup(tmp_path, feed_server, "/typo.rss")
    poll_once(db, NOW, GONE, every_feed=True)
    late = NOW + timedelta(days=3, seconds=1)

    summary = poll_once(db, late, GONE, every_feed=True)

    feed = list_feeds(db)[0]
    assert (summary.gone, summary.alerts_queued, feed.gone_at, feed.gone_reason) == (
        1,
        0,
        late,
        "unreachable since 2026-06-01 12:00 UTC",
    )
    assert (_told(db, late), list_events(db, include_other=True)) == ([], [])


def test_a_refused_address_is_never_taken_for_a_gone_feed(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A feed the address guard refuses keeps saying so; it is a setting, not a disappearance."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    strict = replace(GONE, allow_private=False)

    summary = poll_once(db, NOW + timedelta(days=4), strict, every_feed=True)

    feed = list_feeds(db)[0]
    assert (summary.gone, feed.gone_at, feed.last_error_kind) == (0, None, "blocked")


def _stored(db: Database) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    return [(e.title, e.severity, e.kinds, e.link) for e in list_events(db, include_other=True)]


def test_a_pool_of_parse_workers_stores_what_reading_in_process_stores(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """Bodies read in a worker process give the same entries, events and counts."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    feed_server.set_feed("/updated.rss", (DATA / "statuspage_history_updated.rss").read_bytes())
    results = []
    for name, workers in (("inline", 0), ("pool", 1)):
        folder = tmp_path / name
        folder.mkdir()
        db = _setup(folder, feed_server, "/history.rss", "/updated.rss")
        settings = replace(SETTINGS, parse_workers=workers, pool_min_feeds=1)
        summary = poll_once(db, NOW, settings, rng=random.Random(3), every_feed=True)
        results.append((summary.polled, summary.new_entries, summary.read_modes, _stored(db)))
    assert results[1] == results[0]
    assert results[0][:3] == (2, 7, {"full": 2})


def test_a_feed_that_gained_an_item_is_read_incrementally(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """After the first full read, a changed body parses only its new and changed items."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    db = _setup(tmp_path, feed_server, "/history.rss")
    first = poll_once(db, NOW, SETTINGS, rng=random.Random(3), every_feed=True)
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history_updated.rss").read_bytes())
    later = NOW + timedelta(minutes=10)
    second = poll_once(db, later, SETTINGS, rng=random.Random(3), every_feed=True)
    modes = (first.read_modes, second.read_modes)
    assert (modes, second.new_entries, second.updated_entries) == (
        ({"full": 1}, {"incremental": 1}),
        1,
        1,
    )
