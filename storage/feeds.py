"""The feeds table: which feeds to poll and the state each poll leaves behind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.db import from_iso, to_iso
from storage.deliveries import queue_notice
from storage.events import save_notice
from storage.model import Feed, FeedSource, Notice


def _feed(row: dict[str, Any]) -> Feed:
    return Feed(
        id=row["id"],
        provider=row["provider"],
        url=row["url"],
        role=row["role"],
        source=row["source"],
        active=bool(row["active"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        baselined=bool(row["baselined"]),
        failure_count=row["failure_count"] or 0,
        last_error_kind=row["last_error_kind"],
        last_error=row["last_error"],
        last_status=row["last_status"],
        next_poll_at=from_iso(row["next_poll_at"]),
        last_polled_at=from_iso(row["last_polled_at"]),
        last_success_at=from_iso(row["last_success_at"]),
        created_at=from_iso(row["created_at"]),
        gone_at=from_iso(row.get("gone_at")),
        gone_reason=row.get("gone_reason"),
        format=row.get("format") or "feed",
    )


def sync_feeds(db: Database, sources: Iterable[FeedSource], now: datetime) -> int:
    """Make the feeds table match the catalog and config: add new feeds, retire dropped ones.

    Feeds added by users (`source == "user"`) are never retired here. Returns how many
    feeds were added.
    """
    wanted = {source.url: source for source in sources}
    added = 0
    with db.atomic():
        existing = {row["url"]: row for row in db.table("feeds").rows}
        for url, source in wanted.items():
            row = existing.get(url)
            if row is None:
                db.table("feeds").insert(
                    {
                        "provider": source.provider,
                        "url": url,
                        "role": source.role,
                        "source": source.source,
                        "format": source.format,
                        "active": 1,
                        "baselined": 0,
                        "failure_count": 0,
                        "created_at": to_iso(now),
                    }
                )
                added += 1
            elif (
                not row["active"]
                or row["role"] != source.role
                or row["provider"] != source.provider
                or row.get("format") != source.format
            ):
                changes: dict[str, Any] = {
                    "active": 1,
                    "role": source.role,
                    "provider": source.provider,
                    "format": source.format,
                }
                if row.get("format") != source.format:
                    # Read in another format from now on: fetch the body afresh.
                    changes.update({"etag": None, "last_modified": None, "body_hash": None})
                db.table("feeds").update(row["id"], changes)
        for url, row in existing.items():
            if url not in wanted and row["source"] != "user" and row["active"]:
                db.table("feeds").update(row["id"], {"active": 0})
    return added


def add_feed(db: Database, source: FeedSource, now: datetime) -> Feed:
    """Add one feed (or reactivate it) and return it."""
    with db.atomic():
        rows = list(db.table("feeds").rows_where("url = ?", [source.url]))
        if rows:
            db.table("feeds").update(rows[0]["id"], {"active": 1})
            return get_feed(db, rows[0]["id"])
        db.table("feeds").insert(
            {
                "provider": source.provider,
                "url": source.url,
                "role": source.role,
                "source": source.source,
                "format": source.format,
                "active": 1,
                "baselined": 0,
                "failure_count": 0,
                "created_at": to_iso(now),
            }
        )
        feed_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    return get_feed(db, feed_id)


def get_feed(db: Database, feed_id: int) -> Feed:
    """Return one feed by id."""
    return _feed(db.table("feeds").get(feed_id))


def list_feeds(
    db: Database, provider: str | None = None, *, active_only: bool = True
) -> list[Feed]:
    """Return feeds, optionally of one provider, ordered by provider and URL."""
    clauses, params = [], []
    if provider is not None:
        clauses.append("provider = ?")
        params.append(provider)
    if active_only:
        clauses.append("active = 1")
    where = " AND ".join(clauses) or None
    rows = db.table("feeds").rows_where(where, params, order_by="provider, url")
    return [_feed(row) for row in rows]


def due_feeds(db: Database, now: datetime, limit: int | None = None) -> list[Feed]:
    """Return the active feeds whose next poll time has come, the longest-waiting first."""
    rows = db.table("feeds").rows_where(
        "active = 1 AND (next_poll_at IS NULL OR next_poll_at <= ?)",
        [to_iso(now)],
        order_by="coalesce(next_poll_at, '') , id",
        limit=limit,
    )
    return [_feed(row) for row in rows]


def record_unchanged(
    db: Database,
    feed_id: int,
    now: datetime,
    next_poll_at: datetime,
    *,
    status: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """Record a poll that found nothing new (304, or a body identical to the last one)."""
    record_unchanged_many(db, [Unchanged(feed_id, next_poll_at, status, etag, last_modified)], now)


@dataclass(frozen=True)
class Unchanged:
    """A poll that found nothing new, waiting to be written with others of its cycle."""

    feed_id: int
    next_poll_at: datetime
    status: int
    etag: str | None = None
    last_modified: str | None = None


def record_unchanged_many(db: Database, polls: Sequence[Unchanged], now: datetime) -> None:
    """Record many polls that found nothing new, in one transaction.

    A cycle where nothing changed writes thousands of these; one commit for all of them
    costs a few microseconds a feed instead of a disk sync each. A crash before the commit
    only means those feeds are polled again.
    """
    if not polls:
        return
    polled = to_iso(now)
    rows = [
        (
            poll.status,
            polled,
            polled,
            to_iso(poll.next_poll_at),
            poll.etag,
            poll.last_modified,
            poll.feed_id,
        )
        for poll in polls
    ]
    with db.atomic():
        db.conn.executemany(
            """UPDATE feeds SET failure_count = 0, last_error_kind = NULL, last_error = NULL,
               last_status = ?, last_polled_at = ?, last_success_at = ?, next_poll_at = ?,
               etag = coalesce(?, etag), last_modified = coalesce(?, last_modified)
               WHERE id = ?""",
            rows,
        )


def record_failure(
    db: Database,
    feed_id: int,
    now: datetime,
    next_poll_at: datetime,
    *,
    error_kind: str,
    error: str,
    status: int | None = None,
) -> Feed:
    """Record a failed poll: count it, keep the error, and schedule the retry."""
    with db.atomic():
        db.execute(
            """UPDATE feeds SET failure_count = failure_count + 1, last_error_kind = ?,
               last_error = ?, last_status = ?, last_polled_at = ?, next_poll_at = ?
               WHERE id = ?""",
            [error_kind, error, status, to_iso(now), to_iso(next_poll_at), feed_id],
        )
    return get_feed(db, feed_id)


def move_feed(db: Database, feed_id: int, new_url: str) -> bool:
    """Point a feed at the URL it permanently redirected to; False if that URL is taken."""
    if list(db.table("feeds").rows_where("url = ? AND id != ?", [new_url, feed_id])):
        return False
    db.table("feeds").update(feed_id, {"url": new_url})
    return True


def mark_gone(
    db: Database, feed_id: int, now: datetime, *, reason: str, notice: Notice | None = None
) -> int | None:
    """Mark a feed gone and queue its notice to the provider's subscribers, in one transaction.

    Returns how many deliveries the notice queued, or None when the feed was already gone
    (it keeps the date and reason it went with, and nobody is told again).
    """
    with db.atomic():
        row = db.table("feeds").get(feed_id)
        if row.get("gone_at"):
            return None
        db.table("feeds").update(feed_id, {"gone_at": to_iso(now), "gone_reason": reason})
        if notice is None:
            return 0
        event_id, new = save_notice(db, notice, feed_id=feed_id, provider=row["provider"], now=now)
        return queue_notice(db, event_id=event_id, provider=row["provider"], now=now) if new else 0


def mark_back(db: Database, feed_id: int) -> bool:
    """Clear a feed's gone mark once it answers again; False if it was not gone."""
    cursor = db.execute(
        "UPDATE feeds SET gone_at = NULL, gone_reason = NULL WHERE id = ? AND gone_at IS NOT NULL",
        [feed_id],
    )
    return cursor.rowcount > 0
