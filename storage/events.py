"""Events: classified announcements, one per entry, with their revisions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from storage.db import date_from_iso, dump_json, from_iso, load_json_list, required_iso, to_iso
from storage.model import EntryWrite, Event, EvidenceRecord, Notice

_EVENT_COLUMNS = """events.*, feeds.role AS feed_role, entries.text AS text"""
_EVENT_FROM = """events JOIN feeds ON feeds.id = events.feed_id
                 JOIN entries ON entries.id = events.entry_id"""


@dataclass(frozen=True)
class EventChange:
    """How storing an entry changed its event."""

    event_id: int
    revision: int
    material: bool


def _event(row: dict[str, Any]) -> Event:
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
    )


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
    """Create or revise the event of an entry; a revision is material if what it says changed."""
    values: dict[str, Any] = {
        "title": write.title,
        "link": write.link,
        "published": to_iso(write.published or write.updated or now),
        "kinds": dump_json(write.kinds),
        "severity": write.severity,
        "evidence": json.dumps(
            [{"label": e.label, "phrase": e.phrase, "reason": e.reason} for e in write.evidence],
            ensure_ascii=False,
        ),
        "deadline": write.deadline.isoformat() if write.deadline else None,
        "deadline_phrase": write.deadline_phrase,
        "state": write.state,
        "updated_at": to_iso(now),
    }
    old = db.execute("SELECT * FROM events WHERE entry_id = ?", [entry_id]).fetchone()
    if old is None:
        values.update(
            {
                "entry_id": entry_id,
                "feed_id": feed_id,
                "provider": provider,
                "baseline": int(baseline),
                "revision": 1,
                "created_at": to_iso(now),
                "deadline_set_at": to_iso(now) if write.deadline else None,
            }
        )
        db.table("events").insert(values)
        event_id = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
        return EventChange(event_id, 1, material=True)
    columns = [d[0] for d in db.execute("SELECT * FROM events LIMIT 0").description]
    old_row = dict(zip(columns, old, strict=True))
    material = _material(old_row, values)
    revision = old_row["revision"] + (1 if material else 0)
    values["revision"] = revision
    if material:
        values["previous_kinds"] = old_row["kinds"]
        values["previous_deadline"] = old_row["deadline"]
    if old_row["deadline"] != values["deadline"]:
        values["deadline_set_at"] = to_iso(now)
    db.table("events").update(old_row["id"], values)
    return EventChange(old_row["id"], revision, material=material)


def get_event(db: Database, event_id: int) -> Event | None:
    """Return one event, or None."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM {_EVENT_FROM} WHERE events.id = ?"  # noqa: S608
    rows = list(db.query(sql, [event_id]))
    return _event(rows[0]) if rows else None


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
    return [_event(row) for row in db.query(sql, [*params, limit])]


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
    return [_event(row) for row in db.query(sql, [*params, limit])]


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
    return [_event(row) for row in db.query(sql, [start.isoformat(), end.isoformat()])]


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
        return int(db.execute("SELECT last_insert_rowid()").fetchone()[0]), True
