"""Providers' feed health: which providers exitplan cannot read at all, and telling once.

A provider is unreachable when every active feed of it has been failing for longer
than a threshold. Its subscribers (to that provider by name) get one notice when that
starts and, if they got it, one more when a feed can be read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.db import from_iso, required_iso, to_iso
from storage.deliveries import queue_notice
from storage.events import save_notice
from storage.feeds import list_feeds
from storage.model import Feed, Notice

#: The state of a provider in the provider_health table.
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class ProviderOutage:
    """A provider none of whose feeds could be read since `since`."""

    provider: str
    since: datetime
    feeds: tuple[Feed, ...]

    @property
    def last_error(self) -> str:
        """The latest error of its most recently polled feed, as "kind: message"."""
        latest = max(self.feeds, key=lambda feed: feed.last_polled_at or self.since)
        return f"{latest.last_error_kind}: {latest.last_error}"


@dataclass(frozen=True)
class ProviderHealth:
    """A provider exitplan told its subscribers it cannot read, and the notice it sent."""

    provider: str
    state: str
    since: datetime
    last_error: str | None
    event_id: int | None
    checked_at: datetime


def failing_since(feed: Feed) -> datetime | None:
    """Since when a failing feed has not been read (None for a feed that works)."""
    if not feed.failure_count:
        return None
    return feed.last_success_at or feed.created_at


def unreachable_providers(db: Database, now: datetime, after: timedelta) -> list[ProviderOutage]:
    """Providers whose every active feed has been failing for more than `after`."""
    by_provider: dict[str, list[Feed]] = {}
    for feed in list_feeds(db):
        by_provider.setdefault(feed.provider, []).append(feed)
    outages = []
    for provider, feeds in by_provider.items():
        moments = [failing_since(feed) for feed in feeds]
        if any(moment is None for moment in moments):
            continue
        since = max(moment for moment in moments if moment is not None)
        if now - since > after:
            outages.append(ProviderOutage(provider, since, tuple(feeds)))
    return outages


def _health(row: dict[str, Any]) -> ProviderHealth:
    return ProviderHealth(
        provider=row["provider"],
        state=row["state"],
        since=required_iso(row["since"]),
        last_error=row["last_error"],
        event_id=row["event_id"],
        checked_at=required_iso(row["checked_at"]),
    )


def list_provider_health(db: Database) -> list[ProviderHealth]:
    """Every provider currently marked unreachable, by slug."""
    return [_health(row) for row in db.table("provider_health").rows_where(order_by="provider")]


def mark_unreachable(db: Database, outage: ProviderOutage, notice: Notice, now: datetime) -> int:
    """Record an unreachable provider and queue its notice to each subscriber, once.

    Safe to call at every check while the outage lasts: a channel that subscribed (or
    resumed) since gets the notice too, nobody gets it twice. Subscriptions to every
    provider are left out (they would hear about each broken feed URL of the catalog).
    Returns how many deliveries were queued.
    """
    with db.atomic():
        known = db.execute(
            "SELECT event_id FROM provider_health WHERE provider = ? AND since = ?",
            [outage.provider, to_iso(outage.since)],
        ).fetchone()
        if known is not None and known[0] is not None:
            event_id = int(known[0])
        else:
            event_id, _new = save_notice(
                db, notice, feed_id=outage.feeds[0].id, provider=outage.provider, now=now
            )
        db.table("provider_health").upsert(
            {
                "provider": outage.provider,
                "state": UNREACHABLE,
                "since": to_iso(outage.since),
                "last_error": outage.last_error,
                "event_id": event_id,
                "checked_at": to_iso(now),
            },
            pk="provider",
        )
        return queue_notice(
            db, event_id=event_id, provider=outage.provider, now=now, every_provider=False
        )


def mark_recovered(db: Database, provider: str, notice: Notice | None, now: datetime) -> int:
    """Clear a provider's unreachable mark; tell the channels that got the warning.

    A warning still waiting to be sent is dropped instead (it is no longer true). With
    no notice (the provider has no feed left), the mark is cleared silently. Returns how
    many deliveries were queued.
    """
    with db.atomic():
        rows = list(db.table("provider_health").rows_where("provider = ?", [provider]))
        if not rows:
            return 0
        warning = rows[0]["event_id"]
        told = [
            row[0]
            for row in db.execute(
                "SELECT subscription_id FROM deliveries WHERE event_id = ? AND status = 'sent' "
                "ORDER BY subscription_id",
                [warning],
            ).fetchall()
        ]
        db.execute("DELETE FROM deliveries WHERE event_id = ? AND status != 'sent'", [warning])
        db.table("provider_health").delete(provider)
        if notice is None or not told:
            return 0
        feed_id = db.execute("SELECT feed_id FROM events WHERE id = ?", [warning]).fetchone()[0]
        event_id, _new = save_notice(db, notice, feed_id=feed_id, provider=provider, now=now)
        queued = 0
        for subscription_id in told:
            cursor = db.execute(
                """INSERT OR IGNORE INTO deliveries (event_id, subscription_id, purpose, revision,
                   status, attempts, next_attempt_at, created_at)
                   SELECT ?, id, 'alert', 1, 'pending', 0, ?, ? FROM subscriptions WHERE id = ?""",
                [event_id, to_iso(now), to_iso(now), subscription_id],
            )
            queued += cursor.rowcount
        return queued


def provider_unreachable_since(db: Database, provider: str) -> datetime | None:
    """Since when a provider is marked unreachable, or None."""
    row = db.execute("SELECT since FROM provider_health WHERE provider = ?", [provider]).fetchone()
    return from_iso(row[0]) if row else None
