"""The dispatcher: each delivery sent once, retries with backoff, paused channels."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.dispatch import dispatch_due, retry_delay
from bot.notify import DeliveryError, MemoryNotifier
from storage import EntryWrite, EvidenceRecord, FeedSource, open_db
from storage.deliveries import list_deliveries
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import list_subscriptions, subscribe

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _entry(key: str) -> EntryWrite:
    return EntryWrite(
        key=key,
        title=f"Acme Vault closes ({key})",
        link="https://acme.test/vault",
        published=NOW,
        updated=None,
        text="Acme Vault will shut down on July 31, 2026. Export your data.",
        categories=(),
        content_hash=key,
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will shut down", "a service ends"),),
        deadline=date(2026, 7, 31),
        deadline_phrase="on July 31, 2026",
        state=None,
    )


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A database with one baselined feed, a subscribed channel and one queued alert."""
    database = open_db(tmp_path / "x.db")
    sync_feeds(database, [FeedSource("acme", "https://acme.test/feed", "news")], NOW)
    feed = list_feeds(database)[0]

    def save(key: str) -> None:
        save_entries(
            database,
            feed.id,
            [_entry(key)],
            NOW,
            NOW,
            status=200,
            etag=None,
            last_modified=None,
            body_hash=key,
        )

    save("old")
    subscribe(
        database,
        platform="memory",
        workspace="team",
        channel="ops",
        provider="acme",
        kinds=("shutdown",),
        now=NOW,
    )
    save("new")
    return database


def _dispatch(db: Database, notifier: MemoryNotifier, at: datetime) -> tuple[int, int, int, int]:
    summary = dispatch_due(
        db,
        {"memory": notifier},
        at,
        provider_name=str.upper,
        max_attempts=3,
        rng=random.Random(1),
    )
    return summary.sent, summary.retried, summary.failed, summary.paused


def test_an_alert_is_sent_once_with_days_left(db: Database) -> None:
    """The alert reaches the channel with its deadline countdown, and never a second time."""
    notifier = MemoryNotifier()
    assert _dispatch(db, notifier, NOW) == (1, 0, 0, 0)
    assert _dispatch(db, notifier, NOW + timedelta(hours=1)) == (0, 0, 0, 0)
    ((alert, target, reply_to),) = notifier.sent
    assert (alert.provider_name, alert.kinds, alert.days_left, target.channel, reply_to) == (
        "ACME",
        ("shutdown",),
        91,
        "ops",
        None,
    )


def test_server_errors_retry_after_the_platforms_hint(db: Database) -> None:
    """A 503 with Retry-After waits at least that long, then the alert goes out."""
    notifier = MemoryNotifier()
    notifier.fail_next(DeliveryError("HTTP 503", retry_after=600))
    assert _dispatch(db, notifier, NOW) == (0, 1, 0, 0)
    assert _dispatch(db, notifier, NOW + timedelta(seconds=599)) == (0, 0, 0, 0)
    assert _dispatch(db, notifier, NOW + timedelta(seconds=600)) == (1, 0, 0, 0)


def test_delivery_fails_after_the_last_attempt_and_is_listed(db: Database) -> None:
    """After max_attempts errors the delivery is marked failed with its last error."""
    notifier = MemoryNotifier()
    for attempt in range(3):
        notifier.fail_next(DeliveryError(f"timeout {attempt}"))
    at = NOW
    for _ in range(3):
        _dispatch(db, notifier, at)
        at += timedelta(hours=2)
    failed = list_deliveries(db, status="failed")
    assert [(d.attempts, d.last_error) for d in failed] == [(3, "timeout 2")]
    assert notifier.sent == []


def test_channel_gone_pauses_only_that_subscription(db: Database) -> None:
    """A channel that no longer exists pauses its subscription and records why."""
    notifier = MemoryNotifier()
    notifier.fail_next(DeliveryError("channel_not_found", channel_gone=True))
    assert _dispatch(db, notifier, NOW) == (0, 0, 0, 1)
    (sub,) = list_subscriptions(db)
    assert sub.paused_reason is not None
    assert sub.paused_reason.startswith("channel_not_found")


def test_retry_delay_grows_and_respects_hints() -> None:
    """Backoff doubles per attempt (with jitter); a Retry-After hint is followed as given."""
    rng = random.Random(7)
    delays = [retry_delay(attempt, rng) for attempt in (1, 2, 3, 4)]
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert retry_delay(1, rng, retry_after=900) == 900
    assert retry_delay(5, rng, retry_after=1) == 1
