"""The Atom 1.0 feed of classified events (RFC 4287), built with ElementTree.

Feed text comes from providers' feeds and is untrusted: ElementTree escapes it by
construction, characters XML 1.0 forbids are dropped, and only http(s) links are kept.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.alerts import days_left, kind_label
from bot.replies import describe_days_left
from storage import Event

ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
#: The tag URI authority and date that every id of exitplan's feed starts with.
TAG = "tag:exitplan,2026"
KIND_SCHEME = f"{TAG}:kind"
SEVERITY_SCHEME = f"{TAG}:severity"
#: Announcement text beyond this many characters is cut in the entry's content.
MAX_CONTENT = 4000
# Characters XML 1.0 does not allow anywhere, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ET.register_namespace("", ATOM_NS)


@dataclass(frozen=True)
class FeedQuery:
    """Which events a feed shows: one provider's, one kind's, or all of them."""

    provider: str | None = None
    provider_name: str | None = None
    kind: str | None = None

    @property
    def title(self) -> str:
        """The feed's title, naming its filters."""
        kind = kind_label(self.kind).lower() if self.kind else None
        named = " ".join(part for part in (self.provider_name or self.provider, kind) if part)
        return f"exitplan: {named} events" if named else "exitplan: classified events"


def clean_text(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (NUL, most control characters)."""
    return _NOT_XML.sub("", text)


def safe_link(url: str | None) -> str | None:
    """An absolute http(s) URL to link to, or None for anything else (javascript:, relative)."""
    if not url:
        return None
    url = clean_text(url).strip()
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def event_id(event: Event) -> str:
    """The entry's stable id: a tag URI from the event's number and the day it was made."""
    return f"tag:exitplan,{event.created_at.astimezone(UTC):%Y-%m-%d}:event/{event.id}"


def feed_id(query: FeedQuery) -> str:
    """The feed's stable id, one per combination of filters."""
    filters = "&".join(
        f"{name}={value}"
        for name, value in (("provider", query.provider), ("kind", query.kind))
        if value
    )
    return f"{TAG}:events" + (f"?{filters}" if filters else "")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
    if text is not None:
        element.text = clean_text(text)
    return element


def entry_title(event: Event, provider_name: str) -> str:
    """E.g. "[Shutdown, high] Backblaze: B2 Legacy Vaults will be discontinued"."""
    kinds = ", ".join(kind_label(kind) for kind in event.kinds) or "News"
    return f"[{kinds}, {event.severity}] {provider_name}: {event.title or '(untitled)'}"


def entry_summary(event: Event, now: datetime) -> str:
    """The deadline, then the phrases that decided the classification."""
    lines = []
    if event.deadline is not None:
        left = describe_days_left(days_left(event.deadline, now.date()))
        phrase = f' ("{event.deadline_phrase}")' if event.deadline_phrase else ""
        lines.append(f"Deadline: {event.deadline.isoformat()}, {left}{phrase}.")
    if event.state:
        lines.append(f"Incident state: {event.state}.")
    for item in event.evidence:
        lines.append(f'{kind_label(item.label)}: "{item.phrase}" ({item.reason}).')
    return "\n".join(lines) or "Classified without quoted evidence."


def _entry(feed: ET.Element, event: Event, provider_name: str, now: datetime) -> None:
    entry = _add(feed, "entry")
    _add(entry, "id", event_id(event))
    _add(entry, "title", entry_title(event, provider_name), type="text")
    _add(entry, "updated", _iso(event.updated_at))
    if event.published is not None:
        _add(entry, "published", _iso(event.published))
    link = safe_link(event.link)
    if link is not None:
        _add(entry, "link", rel="alternate", type="text/html", href=link)
    for kind in event.kinds:
        _add(entry, "category", term=kind, scheme=KIND_SCHEME, label=kind_label(kind))
    _add(entry, "category", term=event.severity, scheme=SEVERITY_SCHEME, label=event.severity)
    _add(entry, "summary", entry_summary(event, now), type="text")
    text = event.text.strip()
    if len(text) > MAX_CONTENT:
        text = text[:MAX_CONTENT].rstrip() + " …"
    _add(entry, "content", text or event.title or "(no text)", type="text")


def build_feed(
    events: list[Event],
    query: FeedQuery,
    *,
    self_url: str,
    site_url: str,
    now: datetime,
    provider_name: dict[str, str],
) -> bytes:
    """The Atom document for `events` (given newest first), as UTF-8 bytes.

    `self_url` is where the feed was fetched, `site_url` the status page; both must be
    absolute. `provider_name` maps slugs to display names.
    """
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _add(feed, "id", feed_id(query))
    _add(feed, "title", query.title, type="text")
    _add(feed, "subtitle", "Announcements that put data at risk, as exitplan classified them.")
    updated = max((event.updated_at for event in events), default=now)
    _add(feed, "updated", _iso(updated))
    author = _add(feed, "author")
    _add(author, "name", "exitplan")
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=site_url)
    _add(feed, "generator", "exitplan")
    for event in events:
        _entry(feed, event, provider_name.get(event.provider, event.provider), now)
    ET.indent(feed)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
