"""How much data a channel keeps at each provider, as the channel told us."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import to_iso


def set_usage(
    db: Database,
    *,
    platform: str,
    workspace: str,
    channel: str,
    provider: str,
    size_bytes: int,
    now: datetime,
) -> None:
    """Record (or replace) how many bytes a channel keeps at a provider."""
    db.table("usage").upsert(
        {
            "platform": platform,
            "workspace": workspace,
            "channel": channel,
            "provider": provider,
            "bytes": size_bytes,
            "updated_at": to_iso(now),
        },
        pk=("platform", "workspace", "channel", "provider"),
    )


def get_usage(
    db: Database, *, platform: str, workspace: str, channel: str, provider: str
) -> int | None:
    """How many bytes a channel said it keeps at a provider, or None if it never said."""
    row = db.execute(
        "SELECT bytes FROM usage WHERE platform = ? AND workspace = ? AND channel = ? "
        "AND provider = ?",
        [platform, workspace, channel, provider],
    ).fetchone()
    return int(row[0]) if row else None


def list_usage(db: Database, *, platform: str, workspace: str, channel: str) -> dict[str, int]:
    """Every provider a channel recorded usage for, with its bytes."""
    rows = db.execute(
        "SELECT provider, bytes FROM usage WHERE platform = ? AND workspace = ? AND channel = ? "
        "ORDER BY provider",
        [platform, workspace, channel],
    ).fetchall()
    return {provider: int(size) for provider, size in rows}
