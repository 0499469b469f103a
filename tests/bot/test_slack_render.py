"""Block Kit rendering: pure functions from alerts, replies and App Home data to blocks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.alerts import Alert
from bot.checklists import Checklist, Step
from bot.replies import Reply, Section
from bot.slack_render import (
    Home,
    HomeEvent,
    HomeSubscription,
    alert_text,
    days_phrase,
    escape,
    parse_step_block_id,
    render_alert,
    render_home,
    render_reply,
    safe_url,
    step_block_id,
)

PUBLISHED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
DONE_AT = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)


def _checklist() -> Checklist:
    return Checklist(
        event_id=42,
        kind="shutdown",
        title="Migration plan",
        steps=(
            Step(1, "owner", "Name an owner", None, done_by="U0ALICE", done_at=DONE_AT),
            Step(2, "copy", "Copy all data out", "rclone sync b2: s3:"),
        ),
    )


def _alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "event_id": 42,
        "purpose": "alert",
        "provider": "backblaze",
        "provider_name": "Backblaze",
        "title": "Legacy Vaults will be discontinued",
        "link": "https://backblaze.test/blog/vaults",
        "kinds": ("shutdown",),
        "severity": "high",
        "published": PUBLISHED,
        "deadline": date(2026, 7, 31),
        "days_left": 91,
        "deadline_phrase": "on July 31, 2026",
        "state": None,
        "evidence": (("shutdown", "will be discontinued"),),
        "summary": "Legacy Vaults will shut down on July 31, 2026.",
        "checklist": _checklist(),
    }
    values.update(changes)
    return Alert(**values)


def _text_objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") in ("mrkdwn", "plain_text") else []
        return own + [t for value in node.values() for t in _text_objects(value)]
    if isinstance(node, list):
        return [t for value in node for t in _text_objects(value)]
    return []


def test_escape_makes_mentions_and_links_inert() -> None:
    """&, < and > become entities and bare @here/@channel/@everyone are broken up."""
    hostile = "<!channel> <@U123> <https://evil.test|bank> & @here @Everyone"
    assert escape(hostile) == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.test|bank&gt; &amp; "
        "@\u200bhere @\u200bEveryone"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://backblaze.test/a b|c>d?x=1&y=2",
            "https://backblaze.test/a%20b%7Cc%3Ed?x=1&amp;y=2",
        ),
        ("javascript:alert(1)", None),
        ("mailto:ops@example.test", None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_links_survive_and_cannot_break_out(
    url: str | None, expected: str | None
) -> None:
    """A link target is http(s) only, with |, > and spaces percent-encoded."""
    assert safe_url(url) == expected


def test_an_alert_shows_kind_severity_link_dates_and_evidence() -> None:
    """The first blocks say what happened, to whom, when, by when and why."""
    blocks = render_alert(_alert())
    assert blocks[:3] == [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": ":no_entry: SHUTDOWN · high", "emoji": True},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*<https://backblaze.test/blog/vaults|Legacy Vaults will be discontinued>*",
                "verbatim": True,
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Provider*\nBackblaze", "verbatim": True},
                {"type": "mrkdwn", "text": "*Published*\n2026-05-01 09:30 UTC", "verbatim": True},
                {
                    "type": "mrkdwn",
                    "text": "*Deadline*\n2026-07-31 · *91 days left*",
                    "verbatim": True,
                },
            ],
        },
    ]
    assert blocks[3]["elements"][0]["text"] == "Why: “will be discontinued” (shutdown)"


def test_the_checklist_is_a_checkbox_per_step_with_who_ticked_it() -> None:
    """Ticked steps start checked and name who and when; open steps show their detail."""
    blocks = render_alert(_alert())
    steps = [b for b in blocks if b.get("block_id", "").startswith("exitplan_step:")]
    option_owner = {"text": {"type": "mrkdwn", "text": "Done"}, "value": "42:owner"}
    option_copy = {"text": {"type": "mrkdwn", "text": "Done"}, "value": "42:copy"}
    assert [(s["block_id"], s["text"]["text"], s["accessory"]) for s in steps] == [
        (
            "exitplan_step:42:alert:owner",
            "*1.* Name an owner\n:white_check_mark: _done by <@U0ALICE> on 2026-05-02_",
            {
                "type": "checkboxes",
                "action_id": "exitplan_step",
                "options": [option_owner],
                "initial_options": [option_owner],
            },
        ),
        (
            "exitplan_step:42:alert:copy",
            "*2.* Copy all data out\n_rclone sync b2: s3:_",
            {"type": "checkboxes", "action_id": "exitplan_step", "options": [option_copy]},
        ),
    ]
    assert "*Migration plan* · 1 of 2 done" in json.dumps(blocks, ensure_ascii=False)


def test_a_tick_by_a_name_that_is_no_user_id_is_escaped() -> None:
    """A console user's name is shown as text, never as a mention."""
    checklist = _checklist()
    odd = Step(1, "owner", "Name an owner", None, done_by="<!here>", done_at=DONE_AT)
    blocks = render_alert(
        _alert(checklist=Checklist(42, "shutdown", "Plan", (odd, *checklist.steps[1:])))
    )
    assert "_done by &lt;!here&gt; on 2026-05-02_" in json.dumps(blocks, ensure_ascii=False)


def test_hostile_feed_text_stays_text_everywhere() -> None:
    """No field of a hostile entry produces a mention or a link, and texts are verbatim."""
    hostile = "<!everyone> <@U0CEO> <https://evil.test|login> @channel"
    alert = _alert(
        title=hostile,
        link="https://evil.test/x|<!channel>",
        provider_name="Acme <!here>",
        state=hostile,
        evidence=(("shutdown", hostile),),
        summary=hostile,
    )
    blocks = render_alert(alert)
    rendered = json.dumps(blocks, ensure_ascii=False) + alert_text(alert)
    for forbidden in (
        "<!everyone>",
        "<!channel>",
        "<!here>",
        "<@U0CEO>",
        "<https://evil.test|login>",
        " @channel",
    ):
        assert forbidden not in rendered
    assert all(t.get("verbatim", True) for t in _text_objects(blocks) if t["type"] == "mrkdwn")
    assert "<https://evil.test/x%7C%3C!channel%3E|" in rendered


def test_an_update_says_so_and_shows_the_new_state_without_a_checklist() -> None:
    """A thread reply about a revision leads with UPDATE and has no checkboxes."""
    update = _alert(
        purpose="update", state="resolved", checklist=None, kinds=("outage",), severity="low"
    )
    blocks = render_alert(update)
    assert blocks[0]["text"]["text"] == ":arrows_counterclockwise: UPDATE: OUTAGE · low"
    assert {"type": "mrkdwn", "text": "*State*\nresolved", "verbatim": True} in blocks[2]["fields"]
    assert not any("accessory" in b for b in blocks)


def test_the_fallback_text_carries_the_headline_and_deadline() -> None:
    """Notifications without blocks still tell kind, provider, title and days left."""
    assert alert_text(_alert()) == (
        "SHUTDOWN · high: Backblaze — Legacy Vaults will be discontinued · "
        "deadline 2026-07-31 (91 days left)"
    )


@pytest.mark.parametrize(
    ("days", "phrase"),
    [(91, "91 days left"), (1, "1 day left"), (0, "today"), (-3, "passed 3 days ago")],
)
def test_days_left_reads_naturally(days: int, phrase: str) -> None:
    """Days left are phrased for people, including a deadline that passed."""
    assert days_phrase(days) == phrase


def test_step_block_ids_round_trip_and_reject_strangers() -> None:
    """A checkbox's block id gives back event, purpose and step; other ids give None."""
    assert parse_step_block_id(step_block_id(7, "reminder", "copy")) == (7, "reminder", "copy")
    assert parse_step_block_id("exitplan_step:x:alert:copy") is None
    assert parse_step_block_id("someone_else") is None


def test_a_long_reply_is_cut_into_sections_slack_accepts() -> None:
    """Every line of a long list arrives, escaped, in sections under 3000 characters."""
    lines = tuple(f"provider-{n} — <Name {n}> [storage] (2 feed(s))" for n in range(150))
    blocks = render_reply(Reply(ok=True, title="150 provider(s):", sections=(Section("", lines),)))
    texts = [b["text"]["text"] for b in blocks]
    assert texts[0] == "150 provider(s):"
    assert all(len(text) <= 3000 for text in texts)
    assert "\n".join(texts[1:]).count("&lt;Name ") == 150


def test_a_failed_reply_is_marked_as_a_warning() -> None:
    """A refusal reads as one, with the core's text escaped."""
    blocks = render_reply(Reply(ok=False, title="Unknown provider '<!here>'."))
    assert blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":warning: Unknown provider '&lt;!here&gt;'.",
                "verbatim": True,
            },
        }
    ]


def test_app_home_lists_subscriptions_pauses_and_progress() -> None:
    """The home tab shows each channel's subscriptions, why one is paused, and progress."""
    home = Home(
        subscriptions=(
            HomeSubscription("C0OPS", "Backblaze", "shutdown", None),
            HomeSubscription(
                "C0OLD", "Wasabi", "everything", "Slack: is_archived: the channel is archived"
            ),
        ),
        incidents=(),
        deadlines=(
            HomeEvent(
                event_id=42,
                provider_name="Backblaze",
                title="Legacy Vaults will be discontinued",
                link="https://backblaze.test/blog/vaults",
                kinds=("shutdown",),
                severity="high",
                published=PUBLISHED,
                deadline=date(2026, 7, 31),
                days_left=91,
                progress=(("C0OPS", "1 of 7 done"),),
            ),
        ),
    )
    view = render_home(home)
    texts = [t["text"] for t in _text_objects(view["blocks"])]
    assert view["type"] == "home"
    assert texts[2:4] == [
        "<#C0OPS> · Backblaze (shutdown)",
        "<#C0OLD> · Wasabi (everything)\n"
        ":double_vertical_bar: *Paused:* Slack: is_archived: the channel is archived",
    ]
    assert "No open incidents." in texts
    assert (
        "*<https://backblaze.test/blog/vaults|Legacy Vaults will be discontinued>*\n"
        "Backblaze · shutdown · deadline 2026-07-31 (91 days left)\n"
        "<#C0OPS>: 1 of 7 done\n_Event #42_"
    ) in texts
