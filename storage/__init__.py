"""exitplan's storage: one SQLite file through sqlite-utils, and a small API over it.

`bot` and `feeds` call the functions of the modules here; no SQL lives anywhere else.
"""

from storage.db import StorageError, backup_db, open_db, schema_version
from storage.model import (
    ALL_KINDS,
    EVERY_PROVIDER,
    Delivery,
    EntryWrite,
    Event,
    EvidenceRecord,
    Feed,
    FeedSource,
    ItemHashes,
    Notice,
    SaveResult,
    Subscription,
    UserProvider,
)

__all__ = [
    "ALL_KINDS",
    "EVERY_PROVIDER",
    "Delivery",
    "EntryWrite",
    "Event",
    "EvidenceRecord",
    "Feed",
    "FeedSource",
    "ItemHashes",
    "Notice",
    "SaveResult",
    "StorageError",
    "Subscription",
    "UserProvider",
    "backup_db",
    "open_db",
    "schema_version",
]
