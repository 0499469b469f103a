"""Apprise targets: the URLs (which may carry secrets) that apprise subscriptions send to.

A subscription to a target has platform `apprise` and channel `target:<id>`, so the URL
itself never appears in subscription lists, the outbox or logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.db import required_iso, to_iso

#: The platform and workspace of every subscription to an Apprise URL.
APPRISE_PLATFORM = "apprise"
APPRISE_WORKSPACE = "apprise"
_CHANNEL_PREFIX = "target:"


@dataclass(frozen=True)
class AppriseTarget:
    """One Apprise URL; `repr` leaves the URL out, since it may hold a token or password."""

    id: int
    url: str = field(repr=False)
    created_at: datetime

    @property
    def channel(self) -> str:
        """The channel name subscriptions use for this target: "target:<id>"."""
        return f"{_CHANNEL_PREFIX}{self.id}"


def _target(row: dict[str, Any]) -> AppriseTarget:
    return AppriseTarget(id=row["id"], url=row["url"], created_at=required_iso(row["created_at"]))


def target_id_of(channel: str) -> int | None:
    """The target id in a channel name like "target:3", or None for another name."""
    digits = channel.removeprefix(_CHANNEL_PREFIX)
    return int(digits) if channel.startswith(_CHANNEL_PREFIX) and digits.isdigit() else None


def add_target(db: Database, url: str, now: datetime) -> AppriseTarget:
    """Store an Apprise URL (or find it, when it is already stored) and return it."""
    with db.atomic():
        found = find_target(db, url)
        if found is not None:
            return found
        db.table("apprise_targets").insert({"url": url, "created_at": to_iso(now)})
        new_id = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
    target = get_target(db, new_id)
    if target is None:
        raise LookupError(f"apprise target {new_id} vanished after it was stored")
    return target


def find_target(db: Database, url: str) -> AppriseTarget | None:
    """The stored target with exactly this URL, or None."""
    rows = list(db.table("apprise_targets").rows_where("url = ?", [url]))
    return _target(rows[0]) if rows else None


def get_target(db: Database, target_id: int) -> AppriseTarget | None:
    """One target by id, or None."""
    rows = list(db.table("apprise_targets").rows_where("id = ?", [target_id]))
    return _target(rows[0]) if rows else None


def target_for_channel(db: Database, channel: str) -> AppriseTarget | None:
    """The target a subscription's channel ("target:<id>") names, or None."""
    target_id = target_id_of(channel)
    return None if target_id is None else get_target(db, target_id)


def list_targets(db: Database) -> list[AppriseTarget]:
    """Every stored target, oldest first."""
    return [_target(row) for row in db.table("apprise_targets").rows_where(order_by="id")]


def remove_target_if_unused(db: Database, target_id: int) -> bool:
    """Forget a target's URL once no subscription sends to it; True if it was removed."""
    with db.atomic():
        used = db.execute(
            "SELECT count(*) FROM subscriptions WHERE platform = ? AND workspace = ? "
            "AND channel = ?",
            [APPRISE_PLATFORM, APPRISE_WORKSPACE, f"{_CHANNEL_PREFIX}{target_id}"],
        ).fetchone()[0]
        if used:
            return False
        cursor = db.execute("DELETE FROM apprise_targets WHERE id = ?", [target_id])
    return bool(cursor.rowcount)
