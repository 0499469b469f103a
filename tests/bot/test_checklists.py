"""Migration checklists: templates per kind, filled in per provider, ticked per channel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import core
from bot.checklists import build_checklist
from bot.notify import Target
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from feeds.catalog import load_catalog
from feeds.model import KINDS
from storage import EntryWrite, Event, EvidenceRecord, FeedSource
from storage.events import list_events
from storage.feeds import list_feeds, sync_feeds
from tests.stored import store_entries

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CATALOG = load_catalog()
OPS = Target("slack", "T1", "C-ops")
NOC = Target("discord", "G1", "noc")


def _event(kinds: tuple[str, ...], provider: str = "backblaze") -> Event:
    return Event(
        id=7,
        entry_id=1,
        feed_id=1,
        provider=provider,
        title="B2 Classic is closing",
        link=None,
        published=NOW,
        kinds=kinds,
        severity="high",
        evidence=(),
        deadline=date(2026, 6, 30),
        deadline_phrase="June 30, 2026",
        state=None,
        baseline=False,
        revision=1,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_filled_in_checklist(kind: str) -> None:
    """Each kind's template loads and names the provider, with no placeholder left."""
    checklist = build_checklist(_event((kind,)), CATALOG)
    assert checklist is not None
    text = " ".join(f"{step.text} {step.detail or ''}" for step in checklist.steps)
    assert "{" not in text
    assert "Backblaze" in text
    assert checklist.progress == f"0 of {len(checklist.steps)} done"


def test_shutdown_checklist_has_a_verified_copy_outside_the_provider() -> None:
    """The shutdown plan copies data out with the provider's route and verifies it in time."""
    checklist = build_checklist(_event(("shutdown",)), CATALOG)
    assert checklist is not None
    steps = {step.id: step for step in checklist.steps}
    assert steps["copy"].text == "Copy all data to a second location outside Backblaze"
    assert "b2" in (steps["copy"].detail or "")
    assert steps["verify"].text == "Verify the copy before 2026-06-30"
    candidates = steps["destination"].detail or ""
    assert candidates.startswith("Candidates: Bunny.net, Filebase")
    assert "Backblaze" not in candidates


def test_the_leading_kind_picks_the_checklist() -> None:
    """An outage that lost data gets the data-loss checklist; unclassified news gets none."""
    both = build_checklist(_event(("data_loss", "outage")), CATALOG)
    assert both is not None
    assert both.kind == "data_loss"
    assert build_checklist(_event(()), CATALOG) is None


def test_unknown_provider_gets_the_generic_route() -> None:
    """A provider without a known export route still gets concrete copy and verify steps."""
    checklist = build_checklist(replace(_event(("shutdown",)), provider="acme"), CATALOG)
    assert checklist is not None
    copy = next(step for step in checklist.steps if step.id == "copy")
    assert "rclone" in (copy.detail or "")


@pytest.fixture
def rt(tmp_path: Path) -> Runtime:
    """A runtime over a temporary database holding one classified shutdown event."""
    runtime = open_runtime(Settings(db_path=tmp_path / "x.db", poll_catalog=False), NOW)
    sync_feeds(runtime.db, [FeedSource("backblaze", "https://b.test/feed", "news")], NOW)
    write = EntryWrite(
        key="k",
        title="B2 Classic is closing",
        link=None,
        published=NOW,
        updated=None,
        text="B2 Classic shuts down on June 30, 2026.",
        categories=(),
        content_hash="h",
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "shuts down", "a service ends"),),
        deadline=date(2026, 6, 30),
        deadline_phrase="on June 30, 2026",
        state=None,
    )
    feed = list_feeds(runtime.db)[0]
    store_entries(runtime.db, feed.id, [write], NOW)
    return runtime


def test_two_channels_keep_their_own_progress(rt: Runtime) -> None:
    """Ticking a step in one channel leaves another channel's checklist untouched."""
    (event,) = list_events(rt.db)
    done = core.toggle_step(rt, OPS, event.id, ref="2", user="U-ana", now=NOW)
    assert (done.progress, done.steps[1].done_by) == ("1 of 8 done", "U-ana")
    other = rt.checklist_for(event, NOC)
    assert other is not None
    assert other.progress == "0 of 8 done"
    again = core.toggle_step(rt, OPS, event.id, ref="inventory", user="U-bo", now=NOW)
    assert again.progress == "0 of 8 done"


def test_checklist_command_ticks_and_reports_progress(rt: Runtime) -> None:
    """`checklist EVENT --done 1 3` ticks two steps and shows who did them."""
    (event,) = list_events(rt.db)
    reply = core.cmd_checklist(rt, OPS, str(event.id), NOW, done=["1", "3"], user="ana")
    assert reply.ok
    assert reply.title.endswith("(2 of 8 done)")
    assert reply.sections[0].lines[0].startswith("[x] 1. Name an owner for the move off")
    assert reply.sections[0].lines[0].endswith("— ana, 2026-03-01")
    assert reply.sections[0].lines[1].startswith("[ ] 2.")


def test_checklist_command_names_valid_steps_on_a_bad_one(rt: Runtime) -> None:
    """An unknown step or event is refused with what would work."""
    (event,) = list_events(rt.db)
    bad_step = core.cmd_checklist(rt, OPS, str(event.id), NOW, done=["12"])
    assert (bad_step.ok, bad_step.title) == (
        False,
        "no step '12' in this checklist; use a number from 1 to 8",
    )
    assert not core.cmd_checklist(rt, OPS, "999", NOW).ok


def test_rebuilt_alert_carries_the_channels_checklist(rt: Runtime) -> None:
    """An adapter re-rendering an alert after a tick sees the new progress."""
    (event,) = list_events(rt.db)
    core.toggle_step(rt, OPS, event.id, ref="copy", user="ana", now=NOW)
    alert = core.alert_for(rt, OPS, event.id, NOW)
    assert alert is not None
    assert alert.checklist is not None
    assert (alert.checklist.progress, alert.days_left) == ("1 of 8 done", 121)
