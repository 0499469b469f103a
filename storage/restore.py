"""Restoring the database from a backup: check the copy first, keep the current one, then copy.

Nothing is replaced until the backup has proven to be an intact exitplan database whose
schema this code knows; the current database is saved next to itself first, and the
copy goes through SQLite's backup API, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from storage.db import StorageError, known_migrations, open_db, schema_version
from storage.migrations import MIGRATIONS

_SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class BackupCheck:
    """A backup that passed the checks: its schema version and what this code knows."""

    path: Path
    schema_version: int
    known_version: int


@dataclass(frozen=True)
class Restored:
    """What a restore did: the backup it read and where the replaced database was saved."""

    backup: BackupCheck
    saved_as: Path | None
    schema_version: int


def check_backup(path: Path) -> BackupCheck:
    """Check that `path` is an intact exitplan database this code can open; else StorageError.

    The file is opened read-only and never changed.
    """
    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
    except OSError as error:
        raise StorageError(f"cannot read {path}: {error.strerror}") from error
    if header != _SQLITE_HEADER:
        raise StorageError(f"{path} is not an SQLite database; nothing was restored")
    try:
        with contextlib.closing(_open_read_only(path)) as conn:
            # A damaged file can put any bytes into the integrity report.
            conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
            db = Database(conn)
            integrity = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
            if integrity != ["ok"]:
                raise StorageError(
                    f"{path} failed SQLite's integrity check ({'; '.join(integrity[:3])}); "
                    "nothing was restored: try an older backup"
                )
            applied = [migration.name for migration in MIGRATIONS.applied(db)]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
        # SQLite's report on a damaged schema can quote bytes that are not UTF-8.
        reason = error if isinstance(error, sqlite3.DatabaseError) else "the file is damaged"
        raise StorageError(
            f"cannot read {path} as a database ({reason}); nothing was restored"
        ) from error
    known = known_migrations()
    if not applied:
        raise StorageError(f"{path} is not an exitplan database (no exitplan schema in it)")
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise StorageError(
            f"{path} has schema version {len(applied)}, newer than this exitplan's "
            f"{len(known)} (migrations {', '.join(unknown)}); upgrade exitplan before "
            "restoring it. Nothing was restored"
        )
    return BackupCheck(path=path, schema_version=len(applied), known_version=len(known))


def restore_db(backup: Path, target: Path, now: datetime) -> Restored:
    """Replace the database at `target` with `backup`, after checking the backup and saving
    the current database as `<target>.before-restore-<UTC time>`.

    Refuses (StorageError) while another process has `target` open, such as `exitplan run`.
    Migrations newer than the backup are applied to the restored copy.
    """
    checked = check_backup(backup)
    if backup.resolve() == target.resolve():
        raise StorageError(f"{backup} is the database itself; nothing to restore")
    saved_as = None
    if target.exists():
        _refuse_if_in_use(target)
        saved_as = _free_name(target, now)
        with (
            contextlib.closing(sqlite3.connect(str(target))) as current,
            contextlib.closing(sqlite3.connect(str(saved_as))) as copy,
        ):
            current.backup(copy)
    with (
        contextlib.closing(_open_read_only(backup)) as source,
        contextlib.closing(sqlite3.connect(str(target))) as destination,
    ):
        source.backup(destination)
    with contextlib.closing(open_db(target)) as restored:
        version = schema_version(restored)
    return Restored(backup=checked, saved_as=saved_as, schema_version=version)


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Open a database file without writing to it or next to it.

    A file with a write-ahead log beside it is opened read-only so the log is read;
    otherwise as immutable, which needs no -shm file.
    """
    mode = "ro" if Path(f"{path}-wal").exists() else "ro&immutable=1"
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True)


def _refuse_if_in_use(target: Path) -> None:
    """Raise StorageError when another connection has the database open."""
    conn = sqlite3.connect(str(target), timeout=0, isolation_level=None)
    try:
        # In WAL mode every open connection keeps a shared lock on the file, so an
        # exclusive lock is granted only when nobody else has it open.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        raise StorageError(
            f"{target} is in use by another process (is `exitplan run` running?); stop it, "
            "then restore. Nothing was restored"
        ) from error
    finally:
        conn.close()


def _free_name(target: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = target.with_name(f"{target.name}.before-restore-{stamp}")
    counter = 1
    while candidate.exists():
        counter += 1
        candidate = target.with_name(f"{target.name}.before-restore-{stamp}-{counter}")
    return candidate
