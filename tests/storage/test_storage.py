"""Storage: migrations, the poll transaction, subscriptions and the outbox."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import EntryWrite, EvidenceRecord, FeedSource, backup_db, open_db, schema_version
from storage.db import deferred_sync
from storage.deliveries import (
    alert_ref,
    count_deliveries,
    due_deliveries,
    list_deliveries,
    mark_failed,
    mark_retry,
    mark_sent,
    retry_failed,
)
from storage.entries import known_hashes, save_entries
from storage.events import list_events, upcoming_deadlines
from storage.feeds import due_feeds, list_feeds, record_failure, sync_feeds
from storage.migrations import MIGRATIONS
from storage.subscriptions import (
    list_subscriptions,
    pause_subscription,
    resume_subscription,
    subscribe,
    unsubscribe,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A migrated database in a temporary file, with one feed of provider `acme`."""
    database = open_db(tmp_path / "exitplan.db")
    feed = FeedSource("acme", "https://status.acme.test/history.rss", "status")
    sync_feeds(database, [feed], NOW)
    return database


def _write(key: str, kinds: tuple[str, ...] = ("shutdown",), **changes: object) -> EntryWrite:
    base = EntryWrite(
        key=key,
        title=f"Title {key}",
        link=f"https://acme.test/{key}",
        published=NOW,
        updated=None,
        text="Acme Vault will shut down on June 30, 2026.",
        categories=(),
        content_hash=f"hash-{key}",
        kinds=kinds,
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will shut down", "a service ends"),),
        deadline=date(2026, 6, 30),
        deadline_phrase="on June 30, 2026",
        state=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _save(db: Database, *writes: EntryWrite, at: datetime = NOW) -> int:
    feed = list_feeds(db)[0]
    result = save_entries(
        db,
        feed.id,
        writes,
        at,
        at + timedelta(minutes=10),
        status=200,
        etag='"v1"',
        last_modified=None,
        body_hash="body",
    )
    return result.deliveries


def _subscribe(db: Database, channel: str, kinds: tuple[str, ...]) -> None:
    subscribe(
        db,
        platform="console",
        workspace="local",
        channel=channel,
        provider="acme",
        kinds=kinds,
        now=NOW,
    )


def test_open_db_migrates_into_wal_mode(tmp_path: Path) -> None:
    """A new database gets every migration in order, WAL journaling, and reopening adds none."""
    path = tmp_path / "nested" / "exitplan.db"
    first = open_db(path)
    names = [migration.name for migration in MIGRATIONS.applied(first)]
    first.close()
    again = open_db(path)
    assert names[:2] == ["m001_initial", "m002_wal"]
    assert schema_version(again) == len(names)
    assert MIGRATIONS.pending(again) == []
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_first_poll_is_a_silent_baseline(db: Database) -> None:
    """Entries of a feed's first poll become events but history queues nothing."""
    _subscribe(db, "ops", ("shutdown",))
    assert _save(db, _write("a", deadline=date(2026, 1, 31)), _write("b", deadline=None)) == 0
    events = list_events(db, provider="acme")
    assert [(e.title, e.baseline) for e in events] == [("Title b", True), ("Title a", True)]


def test_baseline_still_sends_a_deadline_that_is_ahead(db: Database) -> None:
    """A shutdown read in the first poll whose deadline is still ahead reaches the channel."""
    _subscribe(db, "ops", ("shutdown",))
    assert _save(db, _write("a"), _write("old", deadline=date(2025, 12, 1))) == 1
    assert [job.event.title for job in due_deliveries(db, NOW)] == ["Title a"]


def test_new_entry_after_baseline_queues_one_alert_per_matching_channel(db: Database) -> None:
    """Only channels whose kinds match get a delivery; outages stay opt-in."""
    _save(db, _write("a"))
    _subscribe(db, "ops", ("shutdown", "price_change"))
    _subscribe(db, "noc", ("outage",))
    _subscribe(db, "firehose", ("all",))
    assert _save(db, _write("b"), at=LATER) == 2
    jobs = due_deliveries(db, LATER)
    assert sorted((j.subscription.channel, j.delivery.purpose) for j in jobs) == [
        ("firehose", "alert"),
        ("ops", "alert"),
    ]


def test_saving_the_same_entry_again_never_queues_twice(db: Database) -> None:
    """Re-storing an unchanged entry (a restart re-reading a feed) adds no delivery."""
    _save(db, _write("a"))
    _subscribe(db, "ops", ("shutdown",))
    _save(db, _write("b"), at=LATER)
    _save(db, _write("b"), at=LATER + timedelta(minutes=10))
    assert count_deliveries(db) == 1
    assert known_hashes(db, list_feeds(db)[0].id) == {"a": "hash-a", "b": "hash-b"}


def test_material_change_queues_an_update_for_alerted_channels(db: Database) -> None:
    """A moved deadline becomes an update to channels that got the alert."""
    _save(db, _write("a"))
    _subscribe(db, "ops", ("shutdown",))
    _save(db, _write("b"), at=LATER)
    job = due_deliveries(db, LATER)[0]
    mark_sent(db, job.delivery.id, LATER, "console:1")
    moved = _write("b", deadline=date(2026, 9, 30), content_hash="hash-b2")
    assert _save(db, moved, at=LATER + timedelta(hours=1)) == 1
    update = due_deliveries(db, LATER + timedelta(hours=1))[0]
    assert (update.delivery.purpose, update.delivery.revision, update.event.deadline) == (
        "update",
        2,
        date(2026, 9, 30),
    )
    assert alert_ref(db, update.event.id, update.subscription.id) == "console:1"


def test_text_only_change_updates_the_event_silently(db: Database) -> None:
    """A reworded body with the same kinds, deadline and state queues nothing."""
    _save(db, _write("a"))
    _subscribe(db, "ops", ("shutdown",))
    reworded = _write("a", text="Acme Vault closes on June 30, 2026.", content_hash="h2")
    assert _save(db, reworded, at=LATER) == 0


def test_retry_failure_and_requeue_of_deliveries(db: Database) -> None:
    """A retry waits for its time, a failure is listed, and retry_failed queues it again."""
    _save(db, _write("a"))
    _subscribe(db, "ops", ("shutdown",))
    _save(db, _write("b"), at=LATER)
    job = due_deliveries(db, LATER)[0]
    mark_retry(db, job.delivery.id, "HTTP 503", LATER + timedelta(minutes=5))
    assert due_deliveries(db, LATER + timedelta(minutes=1)) == []
    mark_failed(db, job.delivery.id, "HTTP 503 again")
    failed = list_deliveries(db, status="failed")
    assert [(d.attempts, d.last_error) for d in failed] == [(2, "HTTP 503 again")]
    assert retry_failed(db, LATER) == 1
    assert len(due_deliveries(db, LATER)) == 1


def test_subscribe_again_changes_kinds_and_unsubscribe_removes(db: Database) -> None:
    """Subscribing twice keeps one row with the new kinds; unsubscribing removes it."""
    _subscribe(db, "ops", ("shutdown",))
    _subscribe(db, "ops", ("outage",))
    assert [s.kinds for s in list_subscriptions(db)] == [("outage",)]
    assert unsubscribe(db, platform="console", workspace="local", channel="ops", provider="acme")
    assert not unsubscribe(
        db, platform="console", workspace="local", channel="ops", provider="acme"
    )
    assert list_subscriptions(db) == []


def test_failures_schedule_the_feed_later(db: Database) -> None:
    """A failed feed counts its failures and is not due again before its retry time."""
    feed = list_feeds(db)[0]
    updated = record_failure(
        db, feed.id, NOW, NOW + timedelta(minutes=20), error_kind="http_5xx", error="HTTP 503"
    )
    assert (updated.failure_count, updated.last_error_kind) == (1, "http_5xx")
    assert due_feeds(db, NOW + timedelta(minutes=5)) == []
    assert [f.id for f in due_feeds(db, NOW + timedelta(minutes=20))] == [feed.id]


def test_sync_feeds_retires_dropped_catalog_feeds(db: Database) -> None:
    """A feed no longer in the catalog stops being polled but keeps its history."""
    sync_feeds(db, [FeedSource("acme", "https://acme.test/blog.rss", "news")], NOW)
    assert [f.url for f in list_feeds(db)] == ["https://acme.test/blog.rss"]
    assert len(list_feeds(db, active_only=False)) == 2


def test_upcoming_deadlines_nearest_first(db: Database) -> None:
    """Deadlines today or later are listed nearest first; past ones are left out."""
    _save(
        db,
        _write("late", deadline=date(2026, 12, 1)),
        _write("soon", deadline=date(2026, 4, 1)),
        _write("past", deadline=date(2026, 1, 1)),
    )
    assert [e.title for e in upcoming_deadlines(db, date(2026, 3, 1))] == [
        "Title soon",
        "Title late",
    ]


def test_backup_copies_the_live_database(db: Database, tmp_path: Path) -> None:
    """The online backup holds the same feeds as the live file."""
    target = tmp_path / "backup" / "copy.db"
    backup_db(db, target)
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT url FROM feeds").fetchall() == [
        ("https://status.acme.test/history.rss",)
    ]
    copy.close()


def test_resuming_a_paused_subscription_requeues_what_failed(db: Database) -> None:
    """The alert that hit a gone channel is sent once the channel is back."""
    _save(db, _write("a"))
    _subscribe(db, "ops", ("shutdown",))
    _save(db, _write("b"), at=LATER)
    (job,) = due_deliveries(db, LATER)
    mark_failed(db, job.delivery.id, "channel_not_found")
    pause_subscription(db, job.subscription.id, "channel_not_found", LATER)
    assert due_deliveries(db, LATER) == []
    resume_subscription(db, job.subscription.id, LATER + timedelta(hours=1))
    assert [j.delivery.id for j in due_deliveries(db, LATER + timedelta(hours=1))] == [
        job.delivery.id
    ]


def test_deferred_sync_keeps_every_commit_and_restores_the_setting(tmp_path: Path) -> None:
    """Commits inside the block are visible to another connection; full sync comes back."""
    db = open_db(tmp_path / "exitplan.db")
    with deferred_sync(db):
        inside = db.execute("PRAGMA synchronous").fetchone()[0]
        sync_feeds(db, [FeedSource("acme", "https://acme.test/feed", "news")], NOW)
        other = sqlite3.connect(tmp_path / "exitplan.db")
        seen = other.execute("SELECT url FROM feeds").fetchall()
        other.close()
    after = db.execute("PRAGMA synchronous").fetchone()[0]
    assert (inside, seen, after) == (1, [("https://acme.test/feed",)], 2)
