"""Price-change impact: sizes, the arithmetic, and saying plainly when it cannot be computed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import core
from bot.cli import main
from bot.impact import describe_impact, format_size, parse_size
from bot.notify import MemoryNotifier, Target
from bot.runner import Runner
from bot.runtime import open_runtime
from bot.settings import Settings
from storage import EntryWrite, FeedSource
from storage.feeds import list_feeds, sync_feeds
from tests.stored import store_entries

NOW = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
B2_TEXT = "Starting April 1, 2026, B2 storage costs $7 per TB per month, up from $6."


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("12TB", 12 * 10**12),
        ("500 GB", 500 * 10**9),
        ("1.5TiB", int(1.5 * 2**40)),
        ("2,5 tb", 2_500_000_000_000),
    ],
)
def test_sizes_are_read_in_decimal_and_binary_units(text: str, size: int) -> None:
    """TB is 10^12 bytes as providers bill; TiB is 2^40."""
    assert parse_size(text) == size


def test_a_size_without_unit_is_refused_with_an_example() -> None:
    """A bare number is refused with the form to use."""
    with pytest.raises(ValueError, match=r"like 12TB, 500GB or 1\.5TiB"):
        parse_size("12")


def test_impact_states_monthly_and_yearly_difference() -> None:
    """$6 to $7 per TB for 12 TB is $12 a month and $144 a year."""
    assert describe_impact(B2_TEXT, 12 * 10**12, "backblaze") == (
        "For your 12 TB: +$12.00 a month, +$144.00 a year "
        "(from $6 per TB per month to $7 per TB per month)."
    )


def test_impact_refuses_without_prices() -> None:
    """Without per-unit prices the sentence says the impact cannot be computed."""
    text = "We are changing our plans next month; details follow by email."
    assert describe_impact(text, 12 * 10**12, "backblaze") == (
        "The announcement does not state per-GB or per-TB prices, so exitplan cannot "
        "compute what it costs your 12 TB."
    )


def test_impact_without_usage_says_how_to_record_it() -> None:
    """A channel that recorded nothing is told how to."""
    assert describe_impact(B2_TEXT, None, "backblaze").startswith(
        "Record what you keep there (`usage set backblaze 12TB`)"
    )


def test_price_alert_carries_the_channels_impact(tmp_path: Path) -> None:
    """A price-change alert to a channel that recorded 12 TB states its extra cost."""
    rt = open_runtime(Settings(db_path=tmp_path / "x.db", poll_catalog=False), NOW)
    sync_feeds(rt.db, [FeedSource("backblaze", "https://b.test/feed", "news")], NOW)
    target = Target("memory", "team", "ops")
    core.cmd_subscribe(rt, target, "b2", ["price_change"], NOW)
    assert core.cmd_usage(rt, target, "b2", "12TB", NOW).ok
    feed = list_feeds(rt.db)[0]
    write = EntryWrite(
        key="p",
        title="B2 pricing update",
        link=None,
        published=NOW,
        updated=None,
        text=B2_TEXT,
        categories=(),
        content_hash="p",
        kinds=("price_change",),
        severity="medium",
        evidence=(),
        deadline=None,
        deadline_phrase=None,
        state=None,
    )
    for key in ("baseline", "p"):
        store_entries(rt.db, feed.id, [EntryWrite(**{**write.__dict__, "key": key})], NOW)
    notifier = MemoryNotifier()
    Runner(rt, {"memory": notifier}, clock=lambda: NOW).dispatch()
    (alert, _, _) = notifier.sent[0]
    assert alert.impact is not None
    assert alert.impact.startswith("For your 12 TB: +$12.00 a month")
    assert format_size(12 * 10**12) == "12 TB"


def test_usage_command_records_and_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`usage set b2 12TB` records; `usage` lists; a bad size exits 1 with the fix."""
    monkeypatch.setenv("EXITPLAN_DB", str(tmp_path / "x.db"))
    assert main(["usage", "set", "b2", "12TB"]) == 0
    assert main(["usage"]) == 0
    assert main(["usage", "set", "b2", "lots"]) == 1
    captured = capsys.readouterr()
    assert "Recorded: this channel keeps 12 TB at Backblaze." in captured.out
    assert "Backblaze: 12 TB" in captured.out
    assert "'lots' is not a size" in captured.err
