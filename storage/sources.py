"""The feed entries behind each event: one announcement can arrive from several feeds.

Every entry belongs to exactly one event through its row in `event_sources`, which keeps
the entry's own classification. An event shows its first source's title, link and text,
the kinds of all its sources, the most urgent severity, and the first deadline any of
them gives (see `combine`). `storage.similarity` decides which entries are one event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from storage.db import (
    date_from_iso,
    dump_json,
    from_iso,
    insert_row,
    load_json_list,
    required_iso,
    to_iso,
)
from storage.model import EntryWrite, EventSource
from storage.similarity import WINDOW_DAYS, Announcement, MergeMatch, match_announcements

#: Severities from the most to the least urgent (feeds.model.SEVERITIES; storage cannot
#: import feeds).
_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
_ROWS = """SELECT s.*, entries.title AS title, entries.link AS link, entries.text AS text,
                  feeds.role AS feed_role
           FROM event_sources s JOIN events e ON e.id = s.event_id
           JOIN entries ON entries.id = s.entry_id JOIN feeds ON feeds.id = s.feed_id"""
# The event's first source (the entry the event row names) first, then in the order added.
_ORDER = "ORDER BY s.event_id, s.entry_id != e.entry_id, s.id"


@dataclass(frozen=True)
class Candidate:
    """An event an incoming entry is the same news as, and why."""

    event_id: int
    match: MergeMatch


def classification(write: EntryWrite, published: datetime) -> dict[str, Any]:
    """The columns of a source row that a new version of its entry rewrites."""
    return {
        "published": to_iso(published),
        "kinds": dump_json(write.kinds),
        "severity": write.severity,
        "evidence": json.dumps(
            [{"label": e.label, "phrase": e.phrase, "reason": e.reason} for e in write.evidence],
            ensure_ascii=False,
        ),
        "deadline": write.deadline.isoformat() if write.deadline else None,
        "deadline_phrase": write.deadline_phrase,
        "state": write.state,
        "tags": dump_json(write.tags),
    }


def source_of_entry(db: Database, entry_id: int) -> tuple[int, int] | None:
    """(source row id, event id) of an entry, or None for an entry not stored with an event."""
    row = db.execute(
        "SELECT id, event_id FROM event_sources WHERE entry_id = ?", [entry_id]
    ).fetchone()
    if row is not None:
        return int(row[0]), int(row[1])
    event = db.execute("SELECT id FROM events WHERE entry_id = ?", [entry_id]).fetchone()
    if event is None:
        return None
    return adopt_event(db, int(event[0])), int(event[0])


def adopt_event(db: Database, event_id: int) -> int:
    """Give an event written without a source row (by older code) the row of its entry."""
    db.execute(
        """INSERT INTO event_sources (event_id, entry_id, feed_id, published, kinds, severity,
           evidence, deadline, deadline_phrase, state, tags, baseline, revision, merged_at)
           SELECT id, entry_id, feed_id, published, kinds, severity, evidence, deadline,
                  deadline_phrase, state, tags, baseline, 1, created_at
           FROM events WHERE id = ?""",
        [event_id],
    )
    return int(db.execute("SELECT last_insert_rowid()").fetchone()[0])


def add_source(
    db: Database,
    *,
    event_id: int,
    entry_id: int,
    feed_id: int,
    values: dict[str, Any],
    baseline: bool,
    reason: str | None,
    revision: int,
    now: datetime,
) -> int:
    """Attach an entry to an event; `values` come from `classification`. Returns the row id."""
    return insert_row(
        db,
        "event_sources",
        {
            **values,
            "event_id": event_id,
            "entry_id": entry_id,
            "feed_id": feed_id,
            "baseline": int(baseline),
            "reason": reason,
            "revision": revision,
            "merged_at": to_iso(now),
        },
    )


def source_rows(db: Database, event_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The source rows of some events (with entry title, link, text and feed role)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        sql = f"{_ROWS} WHERE s.event_id IN ({marks}) {_ORDER}"
        for row in db.query(sql, chunk):
            found.setdefault(row["event_id"], []).append(row)
    return found


def load_sources(db: Database, event_ids: Sequence[int]) -> dict[int, tuple[EventSource, ...]]:
    """The sources of some events, each event's first source first."""
    return {
        event_id: tuple(_source(number, row) for number, row in enumerate(rows, start=1))
        for event_id, rows in source_rows(db, event_ids).items()
    }


def _source(number: int, row: dict[str, Any]) -> EventSource:
    return EventSource(
        number=number,
        entry_id=row["entry_id"],
        feed_id=row["feed_id"],
        feed_role=row["feed_role"] or "news",
        title=row["title"] or "",
        link=row["link"],
        published=from_iso(row["published"]),
        kinds=tuple(load_json_list(row["kinds"])),
        deadline=date_from_iso(row["deadline"]),
        reason=row["reason"],
        revision=row["revision"] or 1,
        merged_at=required_iso(row["merged_at"]),
        split_from=row["split_from"],
    )


def combine(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """An event's columns from its source rows (first source first).

    Title, link, publication and state are the first source's (state: the first that has
    one); kinds, evidence and tags are the union, in source order; severity the most
    urgent; the deadline the first source's, else the first one any later source gives.
    """
    lead = rows[0]
    kinds: list[str] = []
    tags: list[str] = []
    evidence: list[dict[str, str]] = []
    for row in rows:
        kinds.extend(kind for kind in load_json_list(row["kinds"]) if kind not in kinds)
        tags.extend(tag for tag in load_json_list(row.get("tags")) if tag not in tags)
        labels = {item["label"] for item in evidence}
        items = load_json_list(row["evidence"])
        evidence.extend(item for item in items if row is lead or item["label"] not in labels)
    dated = next((row for row in rows if row["deadline"]), None)
    stated = next((row for row in rows if row["state"]), None)
    severities = [row["severity"] or "info" for row in rows]
    return {
        "title": lead["title"],
        "link": lead["link"],
        "published": lead["published"],
        "kinds": dump_json(kinds),
        "severity": min(severities, key=_severity_rank),
        "evidence": json.dumps(evidence, ensure_ascii=False),
        "deadline": dated["deadline"] if dated else None,
        "deadline_phrase": dated["deadline_phrase"] if dated else None,
        "state": stated["state"] if stated else None,
        "tags": dump_json(tags),
    }


def _severity_rank(severity: str) -> int:
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else len(_SEVERITY_ORDER)


def merge_candidate(
    db: Database, *, provider: str, feed_id: int, incoming: Announcement
) -> Candidate | None:
    """The provider's event that `incoming` (an entry of `feed_id`) is the same news as.

    Only events with no source in the same feed are considered (a feed's entries are
    separate items by definition), and no notices. Each of an event's sources is compared;
    a shared deadline beats similar wording, then the closer match, then the newer event.
    """
    if not incoming.kinds:
        return None
    window = timedelta(days=WINDOW_DAYS)
    sql = f"""{_ROWS} WHERE e.provider = ? AND e.notice IS NULL AND e.kinds != '[]'
              AND e.published BETWEEN ? AND ?
              AND NOT EXISTS (SELECT 1 FROM event_sources o
                              WHERE o.event_id = e.id AND o.feed_id = ?)
              {_ORDER}"""  # noqa: S608 - constant fragments
    params = [
        provider,
        to_iso(incoming.published - window),
        to_iso(incoming.published + window),
        feed_id,
    ]
    best: Candidate | None = None
    for row in db.query(sql, params):
        match = match_announcements(_announcement(row), incoming)
        if match is None:
            continue
        key = (match.strength, row["event_id"])
        if best is None or key > (best.match.strength, best.event_id):
            best = Candidate(row["event_id"], match)
    return best


def _announcement(row: dict[str, Any]) -> Announcement:
    return Announcement(
        title=row["title"] or "",
        text=row["text"] or "",
        kinds=tuple(load_json_list(row["kinds"])),
        deadline=date_from_iso(row["deadline"]),
        published=required_iso(row["published"]),
    )
