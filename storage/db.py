"""Opening the database: one SQLite file, migrated, in WAL mode, with a busy timeout."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Generator, Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage.migrations import MIGRATIONS

#: How long a writer waits for another connection's lock before giving up, in seconds.
BUSY_TIMEOUT_SECONDS = 10.0


class StorageError(RuntimeError):
    """The database cannot be opened or written; the message names the fix."""


class _Database(Database):
    """sqlite-utils' Database whose `atomic()` takes the write lock when it begins.

    A plain `BEGIN` starts as a reader; in WAL mode its first write fails at once with
    "database is locked" when another process wrote meanwhile, since SQLite cannot wait
    for a lock without risking a deadlock. `BEGIN IMMEDIATE` waits out the busy timeout.
    """

    @contextlib.contextmanager
    def atomic(self) -> Generator[Database, None, None]:
        if self.conn.in_transaction:  # nested: sqlite-utils' savepoint
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


@contextlib.contextmanager
def deferred_sync(db: Database) -> Generator[Database, None, None]:
    """Commit without waiting for the disk inside the block; one sync of the log at its end.

    Each commit inside still reaches the write-ahead log in the operating system's cache
    before it returns, so it survives exitplan crashing or being killed at any point. Only
    a power cut or kernel crash inside the block can undo its last commits: made durable
    once at the end instead of once each, a commit costs some 15 µs instead of 200 µs.
    """
    mode = int(db.execute("PRAGMA synchronous").fetchone()[0])
    db.execute("PRAGMA synchronous=NORMAL")
    try:
        yield db
    finally:
        db.execute(f"PRAGMA synchronous={mode}")
        # A checkpoint syncs the log first: every commit above is then on disk.
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")


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
        db = _Database(conn)
        db.execute("PRAGMA foreign_keys=ON")
        refuse_newer_schema(db, target)
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


def known_migrations() -> list[str]:
    """The names of every migration this version of exitplan has, in order."""
    return [migration.name for migration in MIGRATIONS.pending(Database(memory=True))]


def unknown_migrations(db: Database) -> list[str]:
    """Migrations applied to `db` that this code does not have: a newer exitplan wrote it."""
    known = set(known_migrations())
    return [m.name for m in MIGRATIONS.applied(db) if m.name not in known]


def refuse_newer_schema(db: Database, where: Path) -> None:
    """Raise StorageError (closing `db`) when a newer exitplan migrated the database."""
    unknown = unknown_migrations(db)
    if not unknown:
        return
    applied, known = schema_version(db), len(known_migrations())
    db.close()
    raise StorageError(
        f"the database {where} has schema version {applied}, newer than this exitplan's "
        f"{known}: it has migration(s) {', '.join(unknown)} that this version does not know. "
        "Upgrade exitplan, or restore a backup made with this version "
        "(`exitplan db restore PATH`)"
    )


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


def insert_row(db: Database, table: str, values: Mapping[str, Any]) -> int:
    """Insert one row of plain values (text, numbers, None) and return its rowid.

    The poll's hot path inserts three rows an entry; sqlite-utils' `insert` costs ten times
    a plain INSERT there (it converts, quotes and looks the table up on every call).
    """
    columns = ", ".join(f"[{column}]" for column in values)
    marks = ", ".join("?" for _ in values)
    sql = f"INSERT INTO [{table}] ({columns}) VALUES ({marks})"  # noqa: S608 - our own names
    return int(db.conn.execute(sql, list(values.values())).lastrowid or 0)


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


def check_writable(db: Database) -> None:
    """Take the write lock and let it go at once; raise StorageError when that fails."""
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
    except sqlite3.Error as error:
        raise StorageError(f"the database cannot be written: {error}") from error
