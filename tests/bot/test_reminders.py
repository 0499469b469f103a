"""Deadline reminders: each offset once, across restarts and downtime, and moved deadlines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.notify import MemoryNotifier
from bot.runner import Runner
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from storage import EntryWrite, EvidenceRecord, FeedSource
from storage.feeds import list_feeds, sync_feeds
from storage.reminders import reminder_plan
from storage.subscriptions import subscribe
from tests.stored import store_entries

START = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
DEADLINE = date(2026, 2, 19)  # 40 days after START

SHUTDOWN = EntryWrite(
    key="vault",
    title="Acme Vault is closing",
    link="https://acme.test/vault",
    published=START,
    updated=None,
    text="Acme Vault shuts down on February 19, 2026.",
    categories=(),
    content_hash="v1",
    kinds=("shutdown",),
    severity="high",
    evidence=(EvidenceRecord("shutdown", "shuts down", "a service ends"),),
    deadline=DEADLINE,
    deadline_phrase="on February 19, 2026",
    state=None,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _open(path: Path) -> Runtime:
    return open_runtime(Settings(db_path=path, poll_catalog=False), START, sync=False)


def _store(rt: Runtime, *writes: EntryWrite, at: datetime) -> None:
    store_entries(rt.db, list_feeds(rt.db)[0].id, writes, at)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database where channel `ops` follows acme and a 40-day shutdown was just announced."""
    path = tmp_path / "x.db"
    rt = _open(path)
    sync_feeds(rt.db, [FeedSource("acme", "https://acme.test/feed", "news")], START)
    _store(rt, replace(SHUTDOWN, key="history", deadline=None), at=START)  # the baseline
    subscribe(
        rt.db,
        platform="memory",
        workspace="team",
        channel="ops",
        provider="acme",
        kinds=("shutdown",),
        now=START,
    )
    _store(rt, SHUTDOWN, at=START)
    rt.close()
    return path


def _run_days(path: Path, days: range, notifier: MemoryNotifier, clock: Clock) -> None:
    """Run the runner's jobs once a day over `days`, reopening the database (a restart)."""
    rt = _open(path)
    runner = Runner(rt, {"memory": notifier}, clock=clock)
    for day in days:
        clock.now = START + timedelta(days=day)
        runner.remind()
        runner.dispatch()
    rt.close()


def _headlines(notifier: MemoryNotifier) -> list[str]:
    return [alert.headline for alert, _, _ in notifier.sent]


def test_alert_then_every_reminder_once_across_a_restart(db_path: Path) -> None:
    """40 days out: the alert, the 30/14/7/3/1-day reminders and the final notice, once each."""
    notifier = MemoryNotifier()
    clock = Clock(START)
    _run_days(db_path, range(20), notifier, clock)
    _run_days(db_path, range(20, 45), notifier, clock)  # a restart on day 20
    assert _headlines(notifier) == [
        "SHUTDOWN · high",
        "REMINDER: 30 days left · SHUTDOWN · high",
        "REMINDER: 14 days left · SHUTDOWN · high",
        "REMINDER: 7 days left · SHUTDOWN · high",
        "REMINDER: 3 days left · SHUTDOWN · high",
        "REMINDER: 1 day left · SHUTDOWN · high",
        "DEADLINE PASSED · SHUTDOWN · high",
    ]
    final, _, reply_to = notifier.sent[-1]
    assert final.checklist is not None
    assert final.checklist.open_steps
    assert reply_to == "memory:1"


def test_downtime_sends_the_missed_reminder_once(db_path: Path) -> None:
    """Down from day 1 to day 28, the bot sends one reminder on start, not a burst."""
    notifier = MemoryNotifier()
    clock = Clock(START)
    _run_days(db_path, range(1), notifier, clock)
    _run_days(db_path, range(28, 30), notifier, clock)
    assert _headlines(notifier) == [
        "SHUTDOWN · high",
        "REMINDER: 12 days left · SHUTDOWN · high",
    ]


def test_a_moved_deadline_is_announced_and_replans(db_path: Path) -> None:
    """An update moving the deadline says so, and the reminders follow the new date."""
    notifier = MemoryNotifier()
    clock = Clock(START)
    _run_days(db_path, range(12), notifier, clock)
    rt = _open(db_path)
    moved_at = START + timedelta(days=12)
    later = replace(SHUTDOWN, deadline=date(2026, 4, 30), content_hash="v2")
    _store(rt, later, at=moved_at)
    rt.close()
    _run_days(db_path, range(12, 13), notifier, clock)
    update = notifier.sent[-1][0]
    assert (update.headline, update.deadline_moved, update.previous_deadline) == (
        "UPDATE: SHUTDOWN · high",
        True,
        DEADLINE,
    )
    rt = _open(db_path)
    plan = [
        (p.days_before, p.due_on, p.sent) for p in reminder_plan(rt.db, moved_at.date(), (30, 7))
    ]
    rt.close()
    assert plan == [
        (30, date(2026, 3, 31), False),
        (7, date(2026, 4, 23), False),
        (-1, date(2026, 5, 1), False),
    ]


def test_plan_leaves_out_reminders_from_before_the_subscription(db_path: Path) -> None:
    """The 90-day reminder of a deadline announced 40 days ahead is never planned."""
    rt = _open(db_path)
    offsets = [p.days_before for p in reminder_plan(rt.db, START.date(), (90, 30, 14))]
    rt.close()
    assert offsets == [30, 14, -1]


def test_reminders_command_shows_what_is_due_on_a_date(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`exitplan reminders --as-of` lists the reminder that date would send, with its channel."""
    monkeypatch.setenv("EXITPLAN_DB", str(db_path))
    monkeypatch.setenv("EXITPLAN_POLL_CATALOG", "false")
    assert main(["reminders", "--as-of", "2026-01-21"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Reminders that would be sent on 2026-01-21: 1"
    assert out[1].startswith("2026-01-20  30 days before")
    assert "memory:team/ops  #2 acme: Acme Vault is closing (deadline 2026-02-19)" in out[1]
