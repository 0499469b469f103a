"""Deadline reminders: planned per subscription and deadline, queued in the outbox once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from storage.db import to_iso
from storage.events import events_with_deadlines
from storage.model import Event, Subscription
from storage.subscriptions import matching_subscriptions

#: `days_before` of the notice sent the day after a deadline passed.
DEADLINE_PASSED = -1


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder for one channel about one deadline, sent or still ahead."""

    event: Event
    subscription: Subscription
    deadline: date
    days_before: int
    due_on: date
    sent: bool

    @property
    def final(self) -> bool:
        """True for the "deadline passed" notice."""
        return self.days_before == DEADLINE_PASSED


def _known_since(event: Event, subscription: Subscription) -> date:
    """The day from which this channel could be reminded of this deadline."""
    moments = [event.created_at, subscription.created_at]
    if event.deadline_set_at is not None:
        moments.append(event.deadline_set_at)
    return max(moments).date()


def _sent(db: Database, event: Event, subscription: Subscription) -> set[int]:
    rows = db.execute(
        "SELECT days_before FROM reminders WHERE event_id = ? AND subscription_id = ? "
        "AND deadline = ?",
        [event.id, subscription.id, event.deadline.isoformat() if event.deadline else ""],
    )
    return {row[0] for row in rows.fetchall()}


def reminder_plan(
    db: Database, today: date, offsets: Sequence[int], *, horizon_days: int = 400
) -> list[PlannedReminder]:
    """Every reminder of every deadline ahead (or just passed), sent or not, by due date.

    Offsets due before the channel could know of the deadline (it subscribed later, or
    the deadline was set or moved later) are left out: those days are gone.
    """
    plan: list[PlannedReminder] = []
    for event in events_with_deadlines(
        db, today - timedelta(days=30), today + timedelta(days=horizon_days)
    ):
        deadline = event.deadline
        if deadline is None:
            continue
        for subscription in matching_subscriptions(db, event.provider, event.kinds):
            if not subscription.passes(event):
                continue  # filtered out: no alert, so no reminders either
            since = _known_since(event, subscription)
            sent = _sent(db, event, subscription)
            for days_before in (*offsets, DEADLINE_PASSED):
                due_on = deadline - timedelta(days=days_before)
                if due_on < since:
                    continue
                plan.append(
                    PlannedReminder(
                        event, subscription, deadline, days_before, due_on, days_before in sent
                    )
                )
    plan.sort(key=lambda item: (item.due_on, item.event.id, item.subscription.id))
    return plan


def due_reminders(db: Database, today: date, offsets: Sequence[int]) -> list[PlannedReminder]:
    """The reminders to send today: per channel and deadline, only the latest one due.

    After downtime, a channel gets the most recent reminder it missed, once, not a burst.
    """
    latest: dict[tuple[int, int], PlannedReminder] = {}
    for item in reminder_plan(db, today, offsets):
        if item.due_on > today:
            continue
        key = (item.event.id, item.subscription.id)
        if key not in latest or item.due_on >= latest[key].due_on:
            latest[key] = item
    return [item for item in latest.values() if not item.sent]


def queue_reminders(db: Database, today: date, offsets: Sequence[int], now: datetime) -> int:
    """Queue today's due reminders in the outbox, each once; return how many."""
    queued = 0
    with db.atomic():
        for item in due_reminders(db, today, offsets):
            cursor = db.execute(
                """INSERT OR IGNORE INTO reminders (event_id, subscription_id, deadline,
                   days_before, due_on, created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                [
                    item.event.id,
                    item.subscription.id,
                    item.deadline.isoformat(),
                    item.days_before,
                    item.due_on.isoformat(),
                    to_iso(now),
                ],
            )
            if not cursor.rowcount:
                continue
            reminder_id = cursor.lastrowid
            purpose = "final" if item.final else "reminder"
            db.execute(
                """INSERT OR IGNORE INTO deliveries (event_id, subscription_id, purpose,
                   revision, status, attempts, next_attempt_at, created_at)
                   VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)""",
                [
                    item.event.id,
                    item.subscription.id,
                    purpose,
                    reminder_id,
                    to_iso(now),
                    to_iso(now),
                ],
            )
            queued += 1
    return queued
