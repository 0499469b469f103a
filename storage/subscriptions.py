"""Subscriptions: which channel hears about which provider, and which kinds of news."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from storage.db import dump_json, from_iso, load_json_list, required_iso, to_iso
from storage.model import EVERY_PROVIDER, Subscription

#: How many ids go into one `IN (...)` query (SQLite allows a few thousand parameters).
_ID_CHUNK = 500


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        channel=row["channel"],
        provider=row["provider"],
        kinds=tuple(load_json_list(row["kinds"])),
        paused_reason=row["paused_reason"],
        paused_at=from_iso(row["paused_at"]),
        created_at=required_iso(row["created_at"]),
        match_terms=tuple(load_json_list(row.get("match_terms"))),
        exclude_terms=tuple(load_json_list(row.get("exclude_terms"))),
        min_severity=row.get("min_severity"),
        paused_by=row.get("paused_by"),
    )


def subscribe(
    db: Database,
    *,
    platform: str,
    workspace: str,
    channel: str,
    provider: str,
    kinds: tuple[str, ...],
    now: datetime,
    match_terms: tuple[str, ...] = (),
    exclude_terms: tuple[str, ...] = (),
    min_severity: str | None = None,
) -> tuple[Subscription, bool]:
    """Subscribe a channel to a provider, or change the kinds and filters of a subscription.

    Returns the subscription and whether it is new. Subscribing again states the whole
    subscription (kinds and filters), and resumes a paused one.
    """
    filters = {
        "match_terms": dump_json(match_terms),
        "exclude_terms": dump_json(exclude_terms),
        "min_severity": min_severity,
    }
    with db.atomic():
        found = _find(db, platform, workspace, channel, provider)
        if found is not None:
            if found["paused_reason"]:
                _requeue_failed(db, found["id"], now)
            db.table("subscriptions").update(
                found["id"],
                {
                    "kinds": dump_json(kinds),
                    **filters,
                    "paused_reason": None,
                    "paused_at": None,
                    "paused_by": None,
                    "updated_at": to_iso(now),
                },
            )
            return get_subscription_or_raise(db, found["id"]), False
        db.table("subscriptions").insert(
            {
                "platform": platform,
                "workspace": workspace,
                "channel": channel,
                "provider": provider,
                "kinds": dump_json(kinds),
                **filters,
                "created_at": to_iso(now),
                "updated_at": to_iso(now),
            }
        )
        new_id = int(db.execute("SELECT last_insert_rowid()").fetchone()[0])
    return get_subscription_or_raise(db, new_id), True


def unsubscribe(
    db: Database, *, platform: str, workspace: str, channel: str, provider: str
) -> bool:
    """Remove a channel's subscription to a provider; False if there was none.

    Its deliveries go with it, sent or not.
    """
    with db.atomic():
        found = _find(db, platform, workspace, channel, provider)
        if found is None:
            return False
        db.execute("DELETE FROM deliveries WHERE subscription_id = ?", [found["id"]])
        db.table("subscriptions").delete(found["id"])
    return True


def list_subscriptions(
    db: Database,
    *,
    platform: str | None = None,
    workspace: str | None = None,
    channel: str | None = None,
    provider: str | None = None,
) -> list[Subscription]:
    """Return subscriptions, filtered by any of platform, workspace, channel and provider."""
    filters = {
        "platform": platform,
        "workspace": workspace,
        "channel": channel,
        "provider": provider,
    }
    clauses = [f"{column} = ?" for column, value in filters.items() if value is not None]
    params = [value for value in filters.values() if value is not None]
    rows = db.table("subscriptions").rows_where(
        " AND ".join(clauses) or None, params, order_by="platform, workspace, channel, provider"
    )
    return [_subscription(row) for row in rows]


def matching_subscriptions(
    db: Database, provider: str, kinds: tuple[str, ...]
) -> list[Subscription]:
    """Return the active subscriptions to a provider (or to every provider) wanting these kinds."""
    rows = db.table("subscriptions").rows_where(
        "provider IN (?, ?) AND paused_reason IS NULL", [provider, EVERY_PROVIDER], order_by="id"
    )
    return [sub for sub in map(_subscription, rows) if sub.wants(kinds)]


def get_subscription(db: Database, subscription_id: int) -> Subscription | None:
    """Return one subscription, or None."""
    rows = list(db.table("subscriptions").rows_where("id = ?", [subscription_id]))
    return _subscription(rows[0]) if rows else None


def get_subscriptions(db: Database, ids: Iterable[int]) -> dict[int, Subscription]:
    """Return the subscriptions with these ids, by id (missing ones are left out)."""
    wanted = sorted(set(ids))
    found: dict[int, Subscription] = {}
    for start in range(0, len(wanted), _ID_CHUNK):
        chunk = wanted[start : start + _ID_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = db.table("subscriptions").rows_where(f"id IN ({marks})", chunk)
        found.update((row["id"], _subscription(row)) for row in rows)
    return found


def get_subscription_or_raise(db: Database, subscription_id: int) -> Subscription:
    """Return one subscription that must exist."""
    found = get_subscription(db, subscription_id)
    if found is None:
        raise LookupError(f"no subscription {subscription_id}")
    return found


def pause_subscription(
    db: Database, subscription_id: int, reason: str, now: datetime, *, by: str | None = None
) -> None:
    """Stop deliveries to one subscription and record why (a person `by`, or a chat error)."""
    db.table("subscriptions").update(
        subscription_id,
        {
            "paused_reason": reason,
            "paused_at": to_iso(now),
            "paused_by": by,
            "updated_at": to_iso(now),
        },
    )


def resume_subscription(db: Database, subscription_id: int, now: datetime) -> None:
    """Let a paused subscription receive deliveries again, the failed ones included."""
    with db.atomic():
        db.table("subscriptions").update(
            subscription_id,
            {
                "paused_reason": None,
                "paused_at": None,
                "paused_by": None,
                "updated_at": to_iso(now),
            },
        )
        _requeue_failed(db, subscription_id, now)


def _requeue_failed(db: Database, subscription_id: int, now: datetime) -> None:
    """Queue again what failed while a channel could not be reached."""
    db.execute(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? "
        "WHERE subscription_id = ? AND status = 'failed'",
        [to_iso(now), subscription_id],
    )


def _find(
    db: Database, platform: str, workspace: str, channel: str, provider: str
) -> dict[str, Any] | None:
    rows = list(
        db.table("subscriptions").rows_where(
            "platform = ? AND workspace = ? AND channel = ? AND provider = ?",
            [platform, workspace, channel, provider],
        )
    )
    return rows[0] if rows else None
