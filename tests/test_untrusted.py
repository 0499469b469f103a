"""Untrusted text, property-based: whatever a feed writes goes through parsing,
classification and every renderer without crashing, without pinging anyone, and within
each chat platform's limits (cut with an ellipsis, the link kept)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import discord_render, slack_render
from bot.alerts import Alert, build_alert
from bot.checklists import build_checklist
from bot.console import render_alert_text
from feeds.catalog import Catalog, load_catalog
from feeds.classify import classify
from feeds.deadlines import extract_deadline
from feeds.model import KINDS, SEVERITIES
from feeds.parse import NotAFeed, parse_feed
from storage import Event, EvidenceRecord

PUBLISHED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LINK = "https://provider.test/blog/vault"
#: Pieces of hostile text: mentions of both platforms, markdown, links, controls, bidi.
HOSTILE = (
    "@everyone",
    "@here",
    "@channel",
    "@EVERYONE",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123>",
    "<@U123>",
    "<@W0ADMIN>",
    "<#C0GENERAL>",
    "<@&1>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "@123456789012345678",
    "<#123456789012345678>",
    "<t:0:R>",
    "<:emoji:123456789012345678>",
    "[x](https://evil.test)",
    "<https://evil.test|click here>",
    "https://evil.test/@everyone",
    "**bold**",
    "__under__",
    "~~gone~~",
    "||spoiler||",
    "`code`",
    "```",
    "> quote",
    "# heading",
    "-# small",
    "1. item",
    "*",
    "_",
    "\\",
    "&",
    "&amp;",
    "&lt;!channel&gt;",
    "<",
    ">",
    "|",
    "\n",
    "\t",
    "\r",
    "\x00",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x7f",
    "\x85",
    "\u202e",
    "\u202d",
    "\u200f",
    "\u200e",
    "\u2066",
    "\u2069",
    "\u200b",
    "\ufeff",
    "שלום",
    "مرحبا",
    "will be discontinued",
    "shut down on December 31, 2026",
    "data was lost",
    "prices rise",
)
_pieces = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))
_short = st.lists(_pieces, max_size=24).map("".join)
_long = st.builds(
    lambda piece, times: piece * times, st.sampled_from(HOSTILE), st.integers(200, 3000)
)
#: Feed text: hostile pieces and arbitrary unicode, sometimes very long.
feed_text = st.one_of(_short, _short, _long, st.lists(_short, min_size=2, max_size=3).map(" ".join))
links = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://provider.test/blog/vault",
            "https://provider.test/a?b=1&c=<2>|x",
            "javascript:alert(1)",
            "https://evil.test/@everyone",
            "https://provider.test/" + "x" * 4000,
        ]
    ),
    st.text(max_size=40),
)

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# C0 and C1 controls other than newline and tab; what a terminal or a chat client must never get.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# ... and the bidirectional overrides that make a title read differently from what it says.
_CONTROL_OR_BIDI = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BARE_MASS = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
_SLACK_LINK_TARGET = re.compile(r"<https?://[^|>\s]+\|")


@cache
def _catalog() -> Catalog:
    return load_catalog()


def _event(title: str, body: str, link: str | None) -> Event:
    """A stored event as the watcher would write it for this entry (kinds forced to shutdown
    when the text classifies as nothing, so every renderer shows a checklist)."""
    found = classify(title, body, PUBLISHED)
    return Event(
        id=42,
        entry_id=7,
        feed_id=3,
        provider="backblaze",
        title=title,
        link=link,
        published=PUBLISHED,
        kinds=found.kinds or ("shutdown",),
        severity=found.severity,
        evidence=tuple(EvidenceRecord(e.label, e.phrase, e.reason) for e in found.evidence)
        or (EvidenceRecord("shutdown", title[:300], "the title says so"),),
        deadline=found.deadline.date if found.deadline else date(2026, 12, 31),
        deadline_phrase=found.deadline.phrase if found.deadline else body[:500],
        state="open",
        baseline=False,
        revision=1,
        created_at=PUBLISHED,
        updated_at=PUBLISHED,
        text=body,
    )


def _alert(title: str, body: str, link: str | None, purpose: str = "alert") -> Alert:
    event = _event(title, body, link)
    return build_alert(
        event,
        provider_name="Backblaze",
        purpose=purpose,
        today=date(2026, 3, 2),
        checklist=build_checklist(event, _catalog()),
        impact=body[:400] or None,
    )


def _unescaped(text: str, pattern: str) -> list[str]:
    """Matches of `pattern` not preceded by an odd number of backslashes (Discord escaping)."""
    found = []
    for match in re.finditer(pattern, text):
        slashes = len(text[: match.start()]) - len(text[: match.start()].rstrip("\\"))
        if slashes % 2 == 0:
            found.append(match.group(0))
    return found


# -- feeds --------------------------------------------------------------------------------


@PROPERTY
@given(title=feed_text, body=feed_text)
def test_classification_and_deadlines_take_any_text(title: str, body: str) -> None:
    """The classifier and the deadline finder return well-formed results for any text."""
    result = classify(title, body, PUBLISHED)
    deadline = extract_deadline(f"{title}\n{body}", PUBLISHED)
    assert set(result.kinds) <= set(KINDS)
    assert result.severity in SEVERITIES
    assert all(isinstance(item.phrase, str) for item in result.evidence)
    assert deadline is None or isinstance(deadline.date, date)


@PROPERTY
@given(title=feed_text, body=feed_text, escaped=st.booleans())
def test_parsing_a_feed_with_any_title_and_body_keeps_or_refuses_it(
    title: str, body: str, escaped: bool
) -> None:
    """An RSS document around any title and body parses to entries or is refused as not a
    feed (bad XML characters included); no other exception escapes the parser."""
    wrap = xml_escape if escaped else str
    document = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
        f"<item><title>{wrap(title)}</title><guid>vault-1</guid>"
        f"<link>https://provider.test/vault</link><description>{wrap(body)}</description>"
        "</item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    try:
        parsed = parse_feed(document, url="https://provider.test/feed", fetched_at=PUBLISHED)
    except NotAFeed:
        return
    assert len(parsed.entries) <= 1
    for entry in parsed.entries:
        alert = _alert(entry.title, entry.text, entry.link)
        assert render_alert_text(alert)
        assert slack_render.render_alert(alert)
        assert discord_render.render_alert(alert)


# -- console ------------------------------------------------------------------------------


@PROPERTY
@given(title=feed_text, body=feed_text, link=links)
def test_console_alerts_carry_no_terminal_control_characters(
    title: str, body: str, link: str | None
) -> None:
    """Printed alerts never hold escape sequences or other controls, whatever the feed wrote."""
    text = render_alert_text(_alert(title, body, link))
    assert _CONTROL.findall(text) == []


# -- Slack --------------------------------------------------------------------------------


def _slack_texts(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every (where, text) of a message's blocks."""
    found: list[tuple[str, str]] = []
    for block in blocks:
        if "text" in block:
            found.append((block["type"], block["text"]["text"]))
        found.extend(("field", item["text"]) for item in block.get("fields", []))
        found.extend(("context", item["text"]) for item in block.get("elements", []))
    return found


def _slack_pings(text: str) -> list[str]:
    """Mentions Slack would act on: `<!…>`, `<@…>`, `<#…>` and bare mass mentions."""
    inert = _SLACK_LINK_TARGET.sub("<LINK|", text)
    return re.findall(r"<[!@#][^>]*>?", inert) + _BARE_MASS.findall(inert)


@PROPERTY
@given(
    title=feed_text,
    body=feed_text,
    link=links,
    purpose=st.sampled_from(["alert", "update", "reminder", "final"]),
)
def test_slack_alerts_never_ping_and_stay_within_block_kit_limits(
    title: str, body: str, link: str | None, purpose: str
) -> None:
    """Block Kit from any feed text: no mention Slack acts on, no control characters, at most
    50 blocks, header 150, section 3000 and field 2000 characters, cut with an ellipsis, and
    the title still a whole link to the entry."""
    alert = _alert(title, body, link, purpose)
    blocks = slack_render.render_alert(alert)
    fallback = slack_render.alert_text(alert)
    json.dumps(blocks)
    texts = [("fallback", fallback), *_slack_texts(blocks)]
    limits = {"header": 150, "section": 3000, "field": 2000, "context": 3000, "fallback": 3000}
    assert len(blocks) <= 50
    assert [(where, len(text)) for where, text in texts if len(text) > limits[where]] == []
    assert [(where, text) for where, text in texts if _slack_pings(text)] == []
    assert [(where, text) for where, text in texts if _CONTROL_OR_BIDI.search(text)] == []
    title_text = blocks[1]["text"]["text"]
    if slack_render.safe_url(link):
        assert re.fullmatch(r"\*<https?://[^|<>\s]+\|[^<>]*>\*", title_text), title_text
    assert all(len(b.get("fields", [])) <= 10 for b in blocks)


def test_a_long_slack_title_is_cut_with_an_ellipsis_inside_its_link() -> None:
    """A 10,000-character title keeps its link and ends with an ellipsis."""
    blocks = slack_render.render_alert(_alert("Vault <!channel> " * 600, "Closing.", LINK))
    text = blocks[1]["text"]["text"]
    assert (text.startswith(f"*<{LINK}|"), text[-3:], len(text) <= 3000) == (True, "…>*", True)


# -- Discord ------------------------------------------------------------------------------


def _discord_pings(text: str) -> list[str]:
    """Mentions, masked links and timestamps that survived escaping (exitplan's own
    timestamps, well-formed `<t:N:R>` tags, are the only unescaped `<` allowed)."""
    return (
        _unescaped(text, r"<(?:[@#:]|a:|t:(?!-?\d+:[RdDfFtT]>))")
        + _unescaped(text, r"\]\(")
        + re.findall(r"@(?:everyone|here)\b", text, re.IGNORECASE)
        + re.findall(r"(?<!\u200b)@[!&]?[0-9]{15,21}", text)
    )


@PROPERTY
@given(
    title=feed_text,
    body=feed_text,
    link=links,
    purpose=st.sampled_from(["alert", "update", "reminder", "final"]),
)
def test_discord_embeds_never_ping_and_stay_within_embed_limits(
    title: str, body: str, link: str | None, purpose: str
) -> None:
    """An embed from any feed text: no mention or masked link survives escaping, no control
    or bidi override character, and title 256, description 4096, 25 fields of 1024, footer
    2048, author 256 and 6000 in all hold, cut with an ellipsis."""
    message = discord_render.render_alert(_alert(title, body, link, purpose))
    embed = message.embed
    texts = [
        ("title", embed.title, 256),
        ("description", embed.description, 4096),
        ("author", embed.author or "", 256),
        ("footer", embed.footer or "", 2048),
    ]
    texts += [("field name", field.name, 256) for field in embed.fields]
    texts += [("field value", field.value, 1024) for field in embed.fields]
    assert [(where, len(text)) for where, text, limit in texts if len(text) > limit] == []
    assert (len(embed.fields) <= 25, embed.length <= 6000) == (True, True)
    assert [(where, text) for where, text, _ in texts if _discord_pings(text)] == []
    assert [(where, text) for where, text, _ in texts if _CONTROL_OR_BIDI.search(text)] == []
    assert all(len(button.label) <= 80 for button in message.buttons)
    assert len(message.buttons) <= 25
    assert embed.url is None or embed.url == discord_render.safe_url(link)


def test_a_long_discord_title_is_cut_with_an_ellipsis() -> None:
    """A 10,000-character title is cut to 256 characters ending with an ellipsis; the embed
    still links to the entry."""
    embed = discord_render.render_alert(_alert("Vault @everyone " * 600, "Closing.", LINK)).embed
    assert (len(embed.title) <= 256, embed.title[-1], embed.url) == (True, "…", LINK)
