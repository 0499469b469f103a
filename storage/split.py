"""Undoing a wrong merge: one source of an event becomes an event of its own again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.db import date_from_iso, load_json_list, to_iso
from storage.deliveries import queue_deliveries
from storage.events import insert_event, refresh_event
from storage.model import EventSource
from storage.sources import combine, load_sources, source_rows


class SplitError(ValueError):
    """The split cannot be done; the message says why, for a person."""


@dataclass(frozen=True)
class SplitResult:
    """What a split did: the new event, the source it was made of, the alerts queued."""

    event_id: int
    split_from: int
    source: EventSource
    alerts: int


def split_source(db: Database, event_id: int, number: int, now: datetime) -> SplitResult:
    """Make source `number` (as `exitplan events` numbers them) of an event its own event.

    The new event keeps the source's own classification and is marked as split from the
    old one, which is recomputed from the sources it keeps (silently: its channels were
    told about it already). Channels that want the new event's kinds get an alert saying
    it was split, unless the source came from a feed's silent first read and has no
    deadline ahead. The source stays with its new event: it is never merged again.
    """
    with db.atomic():
        rows = source_rows(db, [event_id]).get(event_id)
        if not rows:
            raise SplitError(f"There is no event #{event_id}; `exitplan events` lists them.")
        if len(rows) < 2:
            raise SplitError(f"Event #{event_id} has one source; there is nothing to split.")
        if not 1 <= number <= len(rows):
            raise SplitError(
                f"Event #{event_id} has sources 1 to {len(rows)}; "
                "`exitplan events` lists them under the event."
            )
        source = load_sources(db, [event_id])[event_id][number - 1]
        row = rows[number - 1]
        provider = db.table("events").get(event_id)["provider"]
        if number == 1:  # the event's next source becomes its first
            db.table("events").update(
                event_id, {"entry_id": rows[1]["entry_id"], "feed_id": rows[1]["feed_id"]}
            )
        columns = combine([row])
        new_id = insert_event(
            db,
            columns,
            entry_id=row["entry_id"],
            feed_id=row["feed_id"],
            provider=provider,
            baseline=bool(row["baseline"]),
            now=now,
        )
        db.table("event_sources").update(
            row["id"],
            {
                "event_id": new_id,
                "split_from": event_id,
                "split_at": to_iso(now),
                "reason": f"split from event #{event_id} by a person",
                "revision": 1,
            },
        )
        refresh_event(db, event_id, now)
        kinds = tuple(load_json_list(columns["kinds"]))
        deadline = date_from_iso(columns["deadline"])
        pending = deadline is not None and deadline >= now.date()
        alerts = 0
        if kinds and (not row["baseline"] or pending):
            alerts = queue_deliveries(
                db, event_id=new_id, provider=provider, kinds=kinds, revision=1, now=now
            )
    return SplitResult(new_id, event_id, source, alerts)
