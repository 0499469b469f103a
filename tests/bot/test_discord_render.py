"""Discord rendering: escaped feed text, alert embeds, checklist buttons, replies, choices."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import discord
import pytest

from bot.alerts import Alert
from bot.checklists import Checklist, Step
from bot.core import Reply, Section
from bot.discord_render import (
    EMBED_LIMIT,
    FIELD_VALUE_LIMIT,
    STEP_TEMPLATE,
    ButtonSpec,
    EmbedField,
    EmbedSpec,
    colour_for,
    escape,
    event_choices,
    kinds_from_choice,
    provider_choices,
    render_alert,
    render_reply,
    step_custom_id,
)
from feeds.catalog import load_catalog
from storage import Event

PUBLISHED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TICKED = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
USER = "<@123456789012345678>"
_STEP_IDS = ["owner", "inventory", "destination", "copy", "verify", "switch", "third-copy"]


def _checklist(done: dict[str, str] | None = None) -> Checklist:
    ticks = done or {}
    steps = tuple(
        Step(
            number=number,
            id=step_id,
            text=f"Step {step_id}",
            detail=None,
            done_by=ticks.get(step_id),
            done_at=TICKED if step_id in ticks else None,
        )
        for number, step_id in enumerate(_STEP_IDS, start=1)
    )
    return Checklist(event_id=42, kind="shutdown", title="Migration plan", steps=steps)


def _alert(**changes: object) -> Alert:
    alert = Alert(
        event_id=42,
        purpose="alert",
        provider="example",
        provider_name="Example Cloud",
        title="Example Drive will be discontinued",
        link="https://blog.example.test/drive",
        kinds=("shutdown",),
        severity="high",
        published=PUBLISHED,
        deadline=date(2026, 12, 31),
        days_left=60,
        deadline_phrase="on December 31, 2026",
        state=None,
        evidence=(("shutdown", "will be discontinued"),),
        summary="We are retiring Example Drive.",
        checklist=_checklist(),
    )
    return replace(alert, **changes)  # type: ignore[arg-type]


def test_escape_neutralises_mentions_and_masked_links() -> None:
    """@everyone, @here, user and role mentions and masked links come out inert."""
    text = "@everyone @here <@123> <@&456> [masked](https://evil.test) **bold** `code`"
    assert escape(text) == (
        "@\u200beveryone @\u200bhere \\<@123> \\<@&456> \\[masked\\](https://evil.test) "
        "\\*\\*bold\\*\\* \\`code\\`"
    )


def test_escape_breaks_raw_snowflake_mentions_like_discord_py() -> None:
    """Nothing is left for discord.py's own escape_mentions to neutralise."""
    text = "ping @123456789012345678 and @&123456789012345678 and @everyone"
    escaped = escape(text)
    assert discord.utils.escape_mentions(escaped) == escaped
    assert "@everyone" not in escaped


def test_escape_removes_control_characters_and_line_markdown() -> None:
    """Terminal escapes and bidi overrides vanish; headings, quotes and lists stay text."""
    text = "\x1b[31mred\x07\u202eevil\n# Heading\n> quote\n- item\n1. one"
    assert escape(text) == "\\[31mredevil\n\\# Heading\n\\> quote\n\\- item\n1\\. one"


def test_escape_keeps_urls_clickable() -> None:
    """A bare URL is left as it is, so Discord still links it."""
    text = "details at https://status.example.test/incidents/a_b~c?x=1 today"
    assert escape(text) == text


def test_alert_embed_carries_kind_link_deadline_evidence_and_checklist() -> None:
    """The embed: colour by kind, linked title, relative deadline, evidence and steps."""
    spec = render_alert(_alert())
    steps = "\n".join(f"☐ **{n}.** Step {i}" for n, i in enumerate(_STEP_IDS, start=1))
    assert spec.embed == EmbedSpec(
        title="Example Drive will be discontinued",
        description="**SHUTDOWN · high**\nWe are retiring Example Drive.",
        colour=0xD62D20,
        url="https://blog.example.test/drive",
        author="Example Cloud",
        timestamp=PUBLISHED,
        fields=(
            EmbedField("Deadline", "2026-12-31 (<t:1798675200:R>)\n“on December 31, 2026”", True),
            EmbedField("Why exitplan thinks so", "“will be discontinued” — shutdown"),
            EmbedField("Migration plan (0 of 7 done)", steps),
        ),
        footer="Event #42 · /exitplan status provider:example",
    )


def test_checklist_buttons_are_five_to_a_row_with_persistent_ids() -> None:
    """Every step gets a button whose custom_id names event and step; done ones turn green."""
    spec = render_alert(_alert(checklist=_checklist({"copy": USER})))
    assert spec.buttons == (
        ButtonSpec("exitplan:step:42:owner", "1. owner", False, 0),
        ButtonSpec("exitplan:step:42:inventory", "2. inventory", False, 0),
        ButtonSpec("exitplan:step:42:destination", "3. destination", False, 0),
        ButtonSpec("exitplan:step:42:copy", "✓ 4. copy", True, 0),
        ButtonSpec("exitplan:step:42:verify", "5. verify", False, 0),
        ButtonSpec("exitplan:step:42:switch", "6. switch", False, 1),
        ButtonSpec("exitplan:step:42:third-copy", "7. third copy", False, 1),
    )
    assert all(re.fullmatch(STEP_TEMPLATE, button.custom_id) for button in spec.buttons)


def test_reminder_buttons_remember_what_kind_of_message_they_sit_on() -> None:
    """A reminder's buttons carry "reminder", so a click redraws a reminder."""
    match = re.fullmatch(STEP_TEMPLATE, step_custom_id(7, "third-copy", "reminder"))
    assert match is not None
    assert (match["event"], match["step"], match["purpose"]) == ("7", "third-copy", "reminder")
    assert step_custom_id(7, "copy", "alert") == "exitplan:step:7:copy"


def test_a_ticked_step_shows_who_and_when() -> None:
    """A done step is struck through with the member's mention and a relative time."""
    spec = render_alert(_alert(checklist=_checklist({"owner": USER, "copy": "@everyone"})))
    lines = spec.embed.fields[-1].value.splitlines()
    assert spec.embed.fields[-1].name == "Migration plan (2 of 7 done)"
    assert lines[0] == f"☑ **1.** ~~Step owner~~ — {USER} <t:1793615400:R>"
    assert lines[3] == "☑ **4.** ~~Step copy~~ — @\u200beveryone <t:1793615400:R>"


def test_hostile_feed_text_is_escaped_everywhere_in_the_embed() -> None:
    """Title, summary, evidence and deadline phrase are escaped; the provider name is plain."""
    evil = "@everyone [click](https://evil.test) <@&456>"
    spec = render_alert(
        _alert(title=evil, summary=evil, evidence=(("shutdown", evil),), deadline_phrase=evil)
    )
    escaped = "@\u200beveryone \\[click\\](https://evil.test) \\<@&456>"
    assert spec.embed.title == escaped
    assert spec.embed.description == f"**SHUTDOWN · high**\n{escaped}"
    assert spec.embed.fields[0].value.endswith(f"“{escaped}”")
    assert spec.embed.fields[1].value == f"“{escaped}” — shutdown"


def test_an_unusable_link_is_dropped() -> None:
    """Only http(s) links become the title's link."""
    assert render_alert(_alert(link="javascript:alert(1)")).embed.url is None
    assert render_alert(_alert(link=None)).embed.url is None


def test_a_huge_alert_stays_within_discords_limits() -> None:
    """Long feed text is cut so that every part and the whole embed fit Discord's limits."""
    long = "word " * 3000
    steps = tuple(
        Step(number=n, id=f"s{n}", text=long, detail=None, done_by=USER, done_at=TICKED)
        for n in range(1, 9)
    )
    checklist = Checklist(event_id=42, kind="shutdown", title="Migration plan", steps=steps)
    spec = render_alert(
        _alert(
            title=long,
            summary=long,
            deadline_phrase=long,
            evidence=tuple(("shutdown", long) for _ in range(20)),
            checklist=checklist,
        )
    )
    assert len(spec.embed.title) <= 256
    assert all(len(field.value) <= FIELD_VALUE_LIMIT for field in spec.embed.fields)
    assert spec.embed.length <= EMBED_LIMIT
    assert len(spec.buttons) == 8


def test_updates_say_so_and_carry_no_buttons() -> None:
    """An update has the UPDATE prefix, the moved deadline and no checklist buttons."""
    spec = render_alert(
        _alert(purpose="update", checklist=None, previous_deadline=date(2026, 12, 1))
    )
    assert spec.buttons == ()
    assert spec.embed.description.startswith("**UPDATE: SHUTDOWN · high**")
    assert "Moved from 2026-12-01" in spec.embed.fields[0].value


def test_colours_follow_the_leading_kind() -> None:
    """Shutdown wins over outage; unclassified news is grey."""
    assert [colour_for(k) for k in [("outage", "shutdown"), ("outage",), ()]] == [
        0xD62D20,
        0xF1C40F,
        0x95A5A6,
    ]


def test_replies_are_green_or_red_and_escaped() -> None:
    """A reply's title and lines are escaped; failures are red."""
    reply = Reply(
        ok=False,
        title="Unknown provider '@everyone'.",
        sections=(Section("Feeds", ("a_b", "[x](https://evil.test)")),),
    )
    assert render_reply(reply) == EmbedSpec(
        title="Unknown provider '@\u200beveryone'.",
        description="**Feeds**\n• a\\_b\n• \\[x\\](https://evil.test)",
        colour=0xE74C3C,
    )


def test_a_long_reply_is_cut_with_a_count() -> None:
    """A reply longer than an embed description ends with how many lines were left out."""
    lines = tuple("x" * 90 for _ in range(100))
    reply = Reply(ok=True, title="Many", sections=(Section("", lines),))
    description = render_reply(reply).description
    assert len(description) <= 4096
    assert description.endswith("more line(s)")


@pytest.mark.parametrize(
    ("choice", "words"),
    [
        (None, []),
        ("default", []),
        ("all", ["all"]),
        ("outage", ["outage"]),
        ("default,outage", ["shutdown", "data_loss", "security", "price_change", "outage"]),
    ],
)
def test_kind_choices_become_the_cores_words(choice: str | None, words: list[str]) -> None:
    """Each `kinds` choice maps to the words `parse_kinds` takes."""
    assert kinds_from_choice(choice) == words


def test_provider_choices_find_slugs_names_and_aliases() -> None:
    """Typing an alias finds its provider and says which alias matched."""
    catalog = load_catalog()
    assert provider_choices(catalog, "wasa") == [("Wasabi (wasabi)", "wasabi")]
    assert ("Amazon Web Services (aws) · alias S3", "aws") in provider_choices(catalog, "s3")
    assert len(provider_choices(catalog, "")) == 25


def test_provider_choices_offer_every_provider_when_asked() -> None:
    """subscribe and unsubscribe offer "all" first; status does not."""
    catalog = load_catalog()
    assert provider_choices(catalog, "al", include_every=True)[0] == ("Every provider (all)", "all")
    assert ("Every provider (all)", "all") not in provider_choices(catalog, "al")


def test_event_choices_show_number_provider_and_title() -> None:
    """Events are offered as "#id provider: title", filtered by what was typed."""
    events = [_event(7, "wasabi", "Wasabi ends a plan"), _event(8, "box", "Box outage")]
    assert event_choices(events, "#7") == [("#7 wasabi: Wasabi ends a plan", 7)]
    assert event_choices(events, "") == [
        ("#7 wasabi: Wasabi ends a plan", 7),
        ("#8 box: Box outage", 8),
    ]


def _event(event_id: int, provider: str, title: str) -> Event:
    return Event(
        id=event_id,
        entry_id=event_id,
        feed_id=1,
        provider=provider,
        title=title,
        link=None,
        published=PUBLISHED,
        kinds=("shutdown",),
        severity="high",
        evidence=(),
        deadline=None,
        deadline_phrase=None,
        state=None,
        baseline=False,
        revision=1,
        created_at=PUBLISHED,
        updated_at=PUBLISHED,
    )
