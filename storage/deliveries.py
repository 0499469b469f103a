"""The outbox: one row per message owed to one channel about one event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.db import from_iso, load_json_list, required_iso, to_iso
from storage.events import get_event
from storage.model import EVERY_PROVIDER, Delivery, Event, Subscription
from storage.subscriptions import get_subscriptions, matching_subscriptions


@dataclass(frozen=True)
class DeliveryJob:
    """A due delivery with the event it is about and the subscription it goes to."""

    delivery: Delivery
    event: Event
    subscription: Subscription


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        event_id=row["event_id"],
        subscription_id=row["subscription_id"],
        purpose=row["purpose"],
        revision=row["revision"] or 1,
        status=row["status"],
        attempts=row["attempts"] or 0,
        next_attempt_at=from_iso(row["next_attempt_at"]),
        last_error=row["last_error"],
        message_ref=row["message_ref"],
        created_at=required_iso(row["created_at"]),
        sent_at=from_iso(row["sent_at"]),
    )


def queue_deliveries(
    db: Database,
    *,
    event_id: int,
    provider: str,
    kinds: tuple[str, ...],
    revision: int,
    now: datetime,
    merged: bool = False,
) -> int:
    """Queue the messages an event (or its revision) owes its subscribers; return how many.

    A channel that already got an alert about this event gets an update; one that did not
    (the event only now matches its kinds) gets an alert. A channel whose filters (match
    terms, exclusions, minimum severity) the event does not pass gets nothing. For a
    `merged` revision (a new source of the event) a channel whose alert is not sent yet
    gets nothing either: that alert will list the new source. Call it inside the
    transaction that stored the event.
    """
    queued = 0
    event = get_event(db, event_id)
    for subscription in matching_subscriptions(db, provider, kinds):
        if event is not None and not subscription.passes(event):
            continue
        alerted = db.execute(
            "SELECT status FROM deliveries WHERE event_id = ? AND subscription_id = ? "
            "AND purpose = 'alert'",
            [event_id, subscription.id],
        ).fetchone()
        if merged and alerted is not None and alerted[0] != "sent":
            continue
        purpose = "update" if alerted else "alert"
        cursor = db.execute(
            """INSERT OR IGNORE INTO deliveries (event_id, subscription_id, purpose, revision,
               status, attempts, next_attempt_at, created_at)
               VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)""",
            [event_id, subscription.id, purpose, revision, to_iso(now), to_iso(now)],
        )
        queued += cursor.rowcount
    return queued


def queue_catch_up(
    db: Database, subscription: Subscription, now: datetime, *, incident_days: int = 7
) -> int:
    """Queue, once, what a new subscriber must not miss: deadlines ahead, open incidents.

    Returns how many alerts were queued. Events the channel was already alerted about
    are skipped.
    """
    where = "" if subscription.provider == EVERY_PROVIDER else "AND events.provider = ?"
    params: list[Any] = [now.date().isoformat(), to_iso(now - timedelta(days=incident_days))]
    if where:
        params.append(subscription.provider)
    rows = db.execute(
        f"""SELECT events.id, events.kinds, events.revision FROM events
            JOIN feeds ON feeds.id = events.feed_id
            WHERE (events.deadline >= ?
                   OR (events.state = 'open' AND feeds.role = 'status' AND events.published >= ?))
            {where}
            AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id
                            AND d.subscription_id = ? AND d.purpose = 'alert')
            ORDER BY events.deadline IS NULL, events.deadline, events.id""",  # noqa: S608
        [*params, subscription.id],
    ).fetchall()
    queued = 0
    with db.atomic():
        for event_id, kinds, revision in rows:
            if not subscription.wants(tuple(load_json_list(kinds))):
                continue
            event = get_event(db, event_id)
            if event is not None and not subscription.passes(event):
                continue
            db.execute(
                """INSERT OR IGNORE INTO deliveries (event_id, subscription_id, purpose, revision,
                   status, attempts, next_attempt_at, created_at)
                   VALUES (?, ?, 'alert', ?, 'pending', 0, ?, ?)""",
                [event_id, subscription.id, revision, to_iso(now), to_iso(now)],
            )
            queued += 1
    return queued


def queue_notice(
    db: Database, *, event_id: int, provider: str, now: datetime, every_provider: bool = True
) -> int:
    """Queue a notice to every active subscription of a provider, whatever kinds it wants.

    Filters do not apply: a notice is about exitplan's own view of the provider. With
    `every_provider` off, subscriptions to every provider (`all`) are left out. Returns
    how many were queued; call it inside the transaction that stored the notice.
    """
    rows = db.execute(
        "SELECT id FROM subscriptions WHERE provider IN (?, ?) AND paused_reason IS NULL "
        "ORDER BY id",
        [provider, EVERY_PROVIDER if every_provider else provider],
    ).fetchall()
    queued = 0
    for (subscription_id,) in rows:
        cursor = db.execute(
            """INSERT OR IGNORE INTO deliveries (event_id, subscription_id, purpose, revision,
               status, attempts, next_attempt_at, created_at)
               VALUES (?, ?, 'alert', 1, 'pending', 0, ?, ?)""",
            [event_id, subscription_id, to_iso(now), to_iso(now)],
        )
        queued += cursor.rowcount
    return queued


def due_deliveries(db: Database, now: datetime, limit: int = 100) -> list[DeliveryJob]:
    """Return pending deliveries whose time has come, to channels that are not paused."""
    rows = db.query(
        """SELECT deliveries.* FROM deliveries
           JOIN subscriptions ON subscriptions.id = deliveries.subscription_id
           WHERE deliveries.status = 'pending' AND deliveries.next_attempt_at <= ?
             AND subscriptions.paused_reason IS NULL
           ORDER BY deliveries.next_attempt_at, deliveries.id LIMIT ?""",
        [to_iso(now), limit],
    )
    deliveries = [_delivery(row) for row in rows]
    # A fan-out is many deliveries of few events: load each event and subscription once.
    events = {event_id: get_event(db, event_id) for event_id in {d.event_id for d in deliveries}}
    subscriptions = get_subscriptions(db, {d.subscription_id for d in deliveries})
    jobs = []
    for delivery in deliveries:
        event = events.get(delivery.event_id)
        subscription = subscriptions.get(delivery.subscription_id)
        if event is not None and subscription is not None:
            jobs.append(DeliveryJob(delivery, event, subscription))
    return jobs


def alert_ref(db: Database, event_id: int, subscription_id: int) -> str | None:
    """Return the platform's reference to the alert sent about an event, to thread updates."""
    row = db.execute(
        "SELECT message_ref FROM deliveries WHERE event_id = ? AND subscription_id = ? "
        "AND purpose = 'alert' AND status = 'sent'",
        [event_id, subscription_id],
    ).fetchone()
    return row[0] if row else None


def mark_sent(db: Database, delivery_id: int, now: datetime, message_ref: str | None) -> None:
    """Record that a delivery reached its channel."""
    db.execute(
        """UPDATE deliveries SET status = 'sent', sent_at = ?, message_ref = ?,
           attempts = attempts + 1, last_error = NULL WHERE id = ?""",
        [to_iso(now), message_ref, delivery_id],
    )


def mark_retry(db: Database, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
    """Record a failed attempt that will be tried again at `next_attempt_at`."""
    db.execute(
        """UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
           WHERE id = ?""",
        [error, to_iso(next_attempt_at), delivery_id],
    )


def mark_failed(db: Database, delivery_id: int, error: str) -> None:
    """Record that a delivery gave up; `exitplan deliveries --failed` shows it."""
    db.execute(
        """UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?
           WHERE id = ?""",
        [error, delivery_id],
    )


def retry_failed(db: Database, now: datetime) -> int:
    """Put every failed delivery back in the queue; return how many."""
    cursor = db.execute(
        """UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?
           WHERE status = 'failed'""",
        [to_iso(now)],
    )
    return cursor.rowcount


def list_deliveries(db: Database, *, status: str | None = None, limit: int = 100) -> list[Delivery]:
    """Return deliveries, newest first, optionally of one status."""
    where = "status = ?" if status else None
    params = [status] if status else []
    rows = db.table("deliveries").rows_where(where, params, order_by="id DESC", limit=limit)
    return [_delivery(row) for row in rows]


def count_deliveries(db: Database, status: str | None = None) -> int:
    """Count deliveries, optionally of one status."""
    if status is None:
        return int(db.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    sql = "SELECT count(*) FROM deliveries WHERE status = ?"
    return int(db.execute(sql, [status]).fetchone()[0])


@dataclass(frozen=True)
class OutboxStats:
    """The outbox at one moment: pending deliveries by platform, the oldest due one."""

    pending: tuple[tuple[str, int], ...]
    oldest_due_at: datetime | None


def outbox_stats(db: Database, now: datetime) -> OutboxStats:
    """Pending deliveries per platform (every subscribed platform, zeros included) and the
    time the oldest delivery due at `now` to an unpaused channel became due."""
    rows = db.execute(
        """SELECT subscriptions.platform, count(deliveries.id) FROM subscriptions
           LEFT JOIN deliveries ON deliveries.subscription_id = subscriptions.id
             AND deliveries.status = 'pending'
           GROUP BY subscriptions.platform ORDER BY subscriptions.platform"""
    ).fetchall()
    oldest = db.execute(
        """SELECT min(deliveries.next_attempt_at) FROM deliveries
           JOIN subscriptions ON subscriptions.id = deliveries.subscription_id
           WHERE deliveries.status = 'pending' AND deliveries.next_attempt_at <= ?
             AND subscriptions.paused_reason IS NULL""",
        [to_iso(now)],
    ).fetchone()
    return OutboxStats(
        pending=tuple((str(platform), int(count)) for platform, count in rows),
        oldest_due_at=from_iso(oldest[0] if oldest else None),
    )
