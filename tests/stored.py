"""Storing entries as a successful poll would, for tests that need events in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from storage import EntryWrite, SaveResult
from storage.entries import save_entries


def store_entries(
    db: Database, feed_id: int, writes: Sequence[EntryWrite], at: datetime
) -> SaveResult:
    """Store entries as one 200 answer read at `at`, with no validators (next poll at `at`)."""
    return save_entries(
        db, feed_id, writes, at, at, status=200, etag=None, last_modified=None, body_hash=None
    )
