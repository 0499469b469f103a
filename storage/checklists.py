"""Checklist progress: which steps a channel ticked for an event, by whom and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.db import required_iso, to_iso


@dataclass(frozen=True)
class StepDone:
    """A ticked step."""

    step: str
    done_by: str
    done_at: datetime


def steps_done(
    db: Database, *, platform: str, workspace: str, channel: str, event_id: int
) -> dict[str, StepDone]:
    """Return the ticked steps of one channel's checklist for one event, by step id."""
    rows = db.table("checklist_steps").rows_where(
        "platform = ? AND workspace = ? AND channel = ? AND event_id = ?",
        [platform, workspace, channel, event_id],
    )
    return {
        row["step"]: StepDone(row["step"], row["done_by"], required_iso(row["done_at"]))
        for row in rows
    }


def set_step(
    db: Database,
    *,
    platform: str,
    workspace: str,
    channel: str,
    event_id: int,
    step: str,
    done: bool,
    by: str,
    now: datetime,
) -> None:
    """Tick (or untick) one step of a channel's checklist for an event."""
    key = [platform, workspace, channel, event_id, step]
    with db.atomic():
        db.execute(
            "DELETE FROM checklist_steps WHERE platform = ? AND workspace = ? AND channel = ? "
            "AND event_id = ? AND step = ?",
            key,
        )
        if done:
            db.table("checklist_steps").insert(
                {
                    "platform": platform,
                    "workspace": workspace,
                    "channel": channel,
                    "event_id": event_id,
                    "step": step,
                    "done_by": by,
                    "done_at": to_iso(now),
                }
            )
