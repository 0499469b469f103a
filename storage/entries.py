"""Entries of feeds, and the one transaction that stores a poll's findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.db import dump_json, insert_row, to_iso
from storage.deliveries import queue_deliveries
from storage.events import upsert_event
from storage.model import EntryWrite, ItemHashes, SaveResult


def known_hashes(db: Database, feed_id: int) -> dict[str, str]:
    """Map each stored entry key of a feed to its content hash."""
    rows = db.execute("SELECT key, content_hash FROM entries WHERE feed_id = ?", [feed_id])
    return {key: content_hash or "" for key, content_hash in rows.fetchall()}


def item_hashes(db: Database, feed_id: int) -> ItemHashes | None:
    """How the feed's last stored body split into items, or None when it was not split."""
    row = db.execute(
        "SELECT header_hash, item_hashes FROM feeds WHERE id = ?", [feed_id]
    ).fetchone()
    if row is None or row[0] is None or row[1] is None:
        return None
    return ItemHashes(row[0], tuple(row[1].split()))


def count_entries(db: Database, feed_id: int | None = None) -> int:
    """Count stored entries, of one feed or of all."""
    if feed_id is None:
        return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
    sql = "SELECT count(*) FROM entries WHERE feed_id = ?"
    return int(db.execute(sql, [feed_id]).fetchone()[0])


def save_entries(
    db: Database,
    feed_id: int,
    writes: Sequence[EntryWrite],
    now: datetime,
    next_poll_at: datetime,
    *,
    status: int,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    items: ItemHashes | None = None,
) -> SaveResult:
    """Store a successful poll in one transaction: entries, events and their outbox rows.

    The feed's first successful poll is its baseline: events are stored (they show in
    `status` and `events`) but only those whose deadline is still ahead are queued for
    delivery; years of history never flood a channel, a pending shutdown is never missed.
    An entry that is news already told by another feed joins that event: its channels
    get one follow-up naming the new source, not a second alert. `items` is how the body
    split into items (None: it was not split), kept so the next poll parses only new items.
    """
    new_entries = updated_entries = deliveries = 0
    event_ids: list[int] = []
    with db.atomic():
        provider, baselined = db.execute(
            "SELECT provider, baselined FROM feeds WHERE id = ?", [feed_id]
        ).fetchone()
        baseline = not baselined
        for write in writes:
            entry_id, is_new = _upsert_entry(db, feed_id, write, now)
            if is_new:
                new_entries += 1
            else:
                updated_entries += 1
            change = upsert_event(
                db,
                write,
                entry_id=entry_id,
                feed_id=feed_id,
                provider=provider,
                now=now,
                baseline=baseline,
            )
            event_ids.append(change.event_id)
            if change.material and (not baseline or _pending(write, now)):
                deliveries += queue_deliveries(
                    db,
                    event_id=change.event_id,
                    provider=provider,
                    kinds=change.kinds or write.kinds,
                    revision=change.revision,
                    now=now,
                    merged=change.merged is not None,
                )
        polled = to_iso(now)
        db.conn.execute(
            """UPDATE feeds SET baselined = 1, etag = ?, last_modified = ?, body_hash = ?,
               header_hash = ?, item_hashes = ?, failure_count = 0, last_error_kind = NULL,
               last_error = NULL, last_status = ?, last_polled_at = ?, last_success_at = ?,
               next_poll_at = ? WHERE id = ?""",
            [
                etag,
                last_modified,
                body_hash,
                items.header if items else None,
                " ".join(items.items) if items else None,
                status,
                polled,
                polled,
                to_iso(next_poll_at),
                feed_id,
            ],
        )
    return SaveResult(new_entries, updated_entries, tuple(event_ids), deliveries)


def _pending(write: EntryWrite, now: datetime) -> bool:
    """True for an announcement whose deadline is still ahead: even a baseline sends it."""
    return bool(write.kinds) and write.deadline is not None and write.deadline >= now.date()


def _upsert_entry(db: Database, feed_id: int, write: EntryWrite, now: datetime) -> tuple[int, bool]:
    values: dict[str, Any] = {
        "title": write.title,
        "link": write.link,
        "published": to_iso(write.published) if write.published else None,
        "updated": to_iso(write.updated) if write.updated else None,
        "text": write.text,
        "categories": dump_json(write.categories),
        "content_hash": write.content_hash,
        "last_changed": to_iso(now),
    }
    found = db.execute(
        "SELECT id FROM entries WHERE feed_id = ? AND key = ?", [feed_id, write.key]
    ).fetchone()
    if found is not None:
        db.table("entries").update(found[0], values)
        return int(found[0]), False
    values.update({"feed_id": feed_id, "key": write.key, "first_seen": to_iso(now)})
    return insert_row(db, "entries", values), True
