"""Opening the database: one SQLite file, migrated, in WAL mode, with a busy timeout."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage.migrations import MIGRATIONS

#: How long a writer waits for another connection's lock before giving up, in seconds.
BUSY_TIMEOUT_SECONDS = 10.0


class StorageError(RuntimeError):
    """The database cannot be opened or written; the message names the fix."""


def open_db(path: Path | str) -> Database:
    """Open (creating if needed) the database at `path` and apply pending migrations."""
    target = Path(path)
    if str(path) != ":memory:":
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"cannot create the folder for the database {target}: {error.strerror}; "
                "set EXITPLAN_DB to a writable path"
            ) from error
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
        db = Database(conn)
        db.execute("PRAGMA foreign_keys=ON")
        MIGRATIONS.apply(db)
    except sqlite3.DatabaseError as error:
        raise StorageError(
            f"cannot open the database {target}: {error}; check that it is an exitplan "
            "SQLite file and writable, or set EXITPLAN_DB to another path"
        ) from error
    return db


def schema_version(db: Database) -> int:
    """Return how many numbered migrations have been applied to this database."""
    return len(MIGRATIONS.applied(db))


def backup_db(db: Database, destination: Path) -> None:
    """Copy the live database to `destination` with SQLite's online backup API."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(str(destination))
    try:
        db.conn.backup(target)
    finally:
        target.close()


def to_iso(moment: datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC text, to the second."""
    if moment.tzinfo is None:
        raise ValueError("storage only takes timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    """Parse text written by `to_iso` back into an aware datetime."""
    return datetime.fromisoformat(text) if text else None


def required_iso(text: str | None) -> datetime:
    """Parse a timestamp column that is never empty."""
    moment = from_iso(text)
    if moment is None:
        raise ValueError("a required timestamp column is empty")
    return moment


def date_from_iso(text: str | None) -> date | None:
    """Parse an ISO date column."""
    return date.fromisoformat(text) if text else None


def dump_json(value: Iterable[Any]) -> str:
    """Encode a list-like column value."""
    return json.dumps(list(value), ensure_ascii=False)


def load_json_list(text: str | None) -> list[Any]:
    """Decode a list-like column value."""
    if not text:
        return []
    loaded = json.loads(text)
    return loaded if isinstance(loaded, list) else []


def housekeep(db: Database) -> None:
    """Daily upkeep: fold the write-ahead log back into the file and refresh statistics."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA optimize")
