"""Events: classified announcements with their revisions, each from one or more entries.

An entry first seen joins the event of the same news from another feed of its provider
(storage.sources, storage.similarity) or starts its own; `refresh_event` recomputes an
event from its sources whenever one of them changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from storage.db import date_from_iso, from_iso, insert_row, load_json_list, required_iso, to_iso
from storage.model import EntryWrite, Event, EventSource, EvidenceRecord, Notice
from storage.similarity import Announcement
from storage.sources import (
    add_source,
    adopt_event,
    classification,
    combine,
    load_sources,
    merge_candidate,
    source_of_entry,
    source_rows,
)

_EVENT_COLUMNS = """events.*, feeds.role AS feed_role, entries.text AS text"""
_EVENT_FROM = """events JOIN feeds ON feeds.id = events.feed_id
                 JOIN entries ON entries.id = events.entry_id"""


@dataclass(frozen=True)
class EventChange:
    """How storing an entry changed its event."""

    event_id: int
    revision: int
    material: bool
    kinds: tuple[str, ...] = ()  # the event's kinds after the change
    merged: str | None = None  # why the entry joined an existing event, if it did


def _event(row: dict[str, Any], sources: tuple[EventSource, ...] = ()) -> Event:
    return Event(
        id=row["id"],
        entry_id=row["entry_id"],
        feed_id=row["feed_id"],
        provider=row["provider"],
        title=row["title"] or "",
        link=row["link"],
        published=from_iso(row["published"]),
        kinds=tuple(load_json_list(row["kinds"])),
        severity=row["severity"] or "info",
        evidence=tuple(EvidenceRecord(**item) for item in load_json_list(row["evidence"])),
        deadline=date_from_iso(row["deadline"]),
        deadline_phrase=row["deadline_phrase"],
        state=row["state"],
        baseline=bool(row["baseline"]),
        revision=row["revision"] or 1,
        created_at=required_iso(row["created_at"]),
        updated_at=required_iso(row["updated_at"]),
        feed_role=row.get("feed_role") or "news",
        text=row.get("text") or "",
        previous_kinds=tuple(load_json_list(row.get("previous_kinds"))),
        previous_deadline=date_from_iso(row.get("previous_deadline")),
        deadline_set_at=from_iso(row.get("deadline_set_at")),
        notice=row.get("notice"),
        tags=tuple(load_json_list(row.get("tags"))),
        sources=sources,
    )


def _events(db: Database, rows: Iterable[dict[str, Any]]) -> list[Event]:
    found = list(rows)
    sources = load_sources(db, [row["id"] for row in found])
    return [_event(row, sources.get(row["id"], ())) for row in found]


def _material(old: dict[str, Any], values: dict[str, Any]) -> bool:
    keys = ("title", "kinds", "severity", "deadline", "state")
    return any(old[key] != values[key] for key in keys)


def upsert_event(
    db: Database,
    write: EntryWrite,
    *,
    entry_id: int,
    feed_id: int,
    provider: str,
    now: datetime,
    baseline: bool,
) -> EventChange:
    """Store an entry's classification in its event; a revision is material if it says more.

    An entry seen for the first time joins the event of the same news from another feed
    of the provider (a new revision, `merged` saying why) or starts an event of its own.
    Call it after storing the entry, inside the poll's transaction.
    """
    published = write.published or write.updated or now
    values = classification(write, published)
    found = source_of_entry(db, entry_id)
    if found is not None:
        source_id, event_id = found
        db.table("event_sources").update(source_id, values)
        return refresh_event(db, event_id, now)
    incoming = Announcement(write.title, write.text, write.kinds, write.deadline, published)
    candidate = merge_candidate(db, provider=provider, feed_id=feed_id, incoming=incoming)
    if candidate is None:
        columns = {**values, "title": write.title, "link": write.link}
        event_id = insert_event(
            db,
            columns,
            entry_id=entry_id,
            feed_id=feed_id,
            provider=provider,
            baseline=baseline,
            now=now,
        )
        revision, reason = 1, None
    else:
        event_id, reason = candidate.event_id, candidate.match.reason
        revision = int(db.table("events").get(event_id)["revision"] or 1) + 1
    add_source(
        db,
        event_id=event_id,
        entry_id=entry_id,
        feed_id=feed_id,
        values=values,
        baseline=baseline,
        reason=reason,
        revision=revision,
        now=now,
    )
    if candidate is None:
        return EventChange(event_id, 1, material=True, kinds=write.kinds)
    return replace(refresh_event(db, event_id, now, added=True), merged=reason)


def insert_event(
    db: Database,
    columns: dict[str, Any],
    *,
    entry_id: int,
    feed_id: int,
    provider: str,
    baseline: bool,
    now: datetime,
) -> int:
    """Insert a new event whose first source is `entry_id`; return its id."""
    return insert_row(
        db,
        "events",
        {
            **columns,
            "entry_id": entry_id,
            "feed_id": feed_id,
            "provider": provider,
            "baseline": int(baseline),
            "revision": 1,
            "created_at": to_iso(now),
            "updated_at": to_iso(now),
            "deadline_set_at": to_iso(now) if columns.get("deadline") else None,
        },
    )


def refresh_event(
    db: Database, event_id: int, now: datetime, *, added: bool = False
) -> EventChange:
    """Recompute an event from its sources; a material change (or an `added` source) is a
    new revision that remembers what the event said before."""
    old = db.table("events").get(event_id)
    rows = source_rows(db, [event_id]).get(event_id)
    if not rows:
        adopt_event(db, event_id)
        rows = source_rows(db, [event_id])[event_id]
    values = combine(rows)
    bump = added or _material(old, values)
    revision = int(old["revision"] or 1) + (1 if bump else 0)
    values.update(
        {
            "entry_id": rows[0]["entry_id"],
            "feed_id": rows[0]["feed_id"],
            "revision": revision,
            "updated_at": to_iso(now),
        }
    )
    if bump:
        values["previous_kinds"] = old["kinds"]
        values["previous_deadline"] = old["deadline"]
    if old["deadline"] != values["deadline"]:
        values["deadline_set_at"] = to_iso(now)
    db.table("events").update(event_id, values)
    return EventChange(event_id, revision, bump, kinds=tuple(load_json_list(values["kinds"])))


def get_event(db: Database, event_id: int) -> Event | None:
    """Return one event, or None."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM {_EVENT_FROM} WHERE events.id = ?"  # noqa: S608
    rows = _events(db, db.query(sql, [event_id]))
    return rows[0] if rows else None


def list_events(
    db: Database,
    *,
    provider: str | None = None,
    kinds: tuple[str, ...] = (),
    since: datetime | None = None,
    include_other: bool = False,
    role: str | None = None,
    limit: int = 50,
) -> list[Event]:
    """Return events, newest first, filtered by provider, kinds, time and feed role."""
    clauses: list[str] = []
    params: list[Any] = []
    if provider is not None:
        clauses.append("events.provider = ?")
        params.append(provider)
    if kinds:
        marks = ",".join("?" * len(kinds))
        clauses.append(
            f"EXISTS (SELECT 1 FROM json_each(events.kinds) WHERE value IN ({marks}))"  # noqa: S608
        )
        params.extend(kinds)
    elif not include_other:
        clauses.append("events.kinds != '[]'")
    if since is not None:
        clauses.append("events.published >= ?")
        params.append(to_iso(since))
    if role is not None:
        clauses.append("feeds.role = ?")
        params.append(role)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (
        f"SELECT {_EVENT_COLUMNS} FROM {_EVENT_FROM} {where} "  # noqa: S608
        "ORDER BY events.published DESC, events.id DESC LIMIT ?"
    )
    return _events(db, db.query(sql, [*params, limit]))


def upcoming_deadlines(
    db: Database, today: date, *, provider: str | None = None, limit: int = 20
) -> list[Event]:
    """Return events whose deadline is today or later, the nearest first."""
    clauses = ["events.deadline >= ?"]
    params: list[Any] = [today.isoformat()]
    if provider is not None:
        clauses.append("events.provider = ?")
        params.append(provider)
    sql = (
        f"SELECT {_EVENT_COLUMNS} FROM {_EVENT_FROM} WHERE "  # noqa: S608
        + " AND ".join(clauses)
        + " ORDER BY events.deadline, events.id LIMIT ?"
    )
    return _events(db, db.query(sql, [*params, limit]))


def count_events(db: Database) -> int:
    """Count stored events."""
    return int(db.execute("SELECT count(*) FROM events").fetchone()[0])


def events_with_deadlines(db: Database, start: date, end: date) -> list[Event]:
    """Events whose deadline falls between two dates (inclusive), the nearest first."""
    sql = (
        f"SELECT {_EVENT_COLUMNS} FROM {_EVENT_FROM} "  # noqa: S608
        "WHERE events.deadline >= ? AND events.deadline <= ? "
        "ORDER BY events.deadline, events.id"
    )
    return _events(db, db.query(sql, [start.isoformat(), end.isoformat()]))


def save_notice(
    db: Database, notice: Notice, *, feed_id: int, provider: str, now: datetime
) -> tuple[int, bool]:
    """Store a notice as an entry of its feed with an event that has no kinds.

    Returns the event id and whether it is new; a key already stored is kept as it was,
    so a notice is stored (and told) once.
    """
    with db.atomic():
        found = db.execute(
            "SELECT events.id FROM events JOIN entries ON entries.id = events.entry_id "
            "WHERE entries.feed_id = ? AND entries.key = ?",
            [feed_id, notice.key],
        ).fetchone()
        if found is not None:
            return int(found[0]), False
        digest = hashlib.sha256(f"{notice.title}\n{notice.text}".encode()).hexdigest()
        db.table("entries").insert(
            {
                "feed_id": feed_id,
                "key": notice.key,
                "title": notice.title,
                "link": notice.link,
                "published": to_iso(now),
                "text": notice.text,
                "categories": "[]",
                "content_hash": digest,
                "first_seen": to_iso(now),
                "last_changed": to_iso(now),
            }
        )
        entry_id = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
        db.table("events").insert(
            {
                "entry_id": entry_id,
                "feed_id": feed_id,
                "provider": provider,
                "title": notice.title,
                "link": notice.link,
                "published": to_iso(now),
                "kinds": "[]",
                "severity": notice.severity,
                "evidence": json.dumps(
                    [
                        {"label": e.label, "phrase": e.phrase, "reason": e.reason}
                        for e in notice.evidence
                    ],
                    ensure_ascii=False,
                ),
                "baseline": 0,
                "revision": 1,
                "created_at": to_iso(now),
                "updated_at": to_iso(now),
                "notice": notice.notice,
            }
        )
        event_id = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
        adopt_event(db, event_id)
        return event_id, True
