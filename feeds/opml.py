"""OPML 2.0 for providers and their feeds: read a file people bring, write one they can take.

One outline per provider groups the `<outline type="rss" xmlUrl=…>` outlines of its
feeds; a feed outline outside any group is a provider of its own. exitplan's extras ride
along as attributes in the `exitplan:` namespace (`slug`, `aliases`, `homepage`,
`category` on a provider; `role`, `format`, `confidence`, `note` on a feed), so the file
stays readable by any feed reader. Without them a feed is news, or what its `category`
names (`status`, `news`, `eol`), and the provider's slug comes from its title.

An OPML file is untrusted input: any DOCTYPE is refused before ElementTree sees the
document (no entity is ever declared, so none is expanded), and every feed address must
be http(s). Reading never stops at a bad outline: it is skipped with the reason.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Final
from urllib.parse import urlsplit
from xml.parsers import expat

from feeds.providers import CATEGORIES, EOL_FORMATS, FEED_FORMATS, FEED_ROLES, Provider

#: The namespace of exitplan's attributes in OPML files.
NAMESPACE: Final = "https://github.com/exitplan/exitplan/opml"
_NS: Final = f"{{{NAMESPACE}}}"
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class OpmlError(ValueError):
    """The file is not an OPML document exitplan can read; the message says why."""


@dataclass(frozen=True)
class OpmlFeed:
    """A feed outline: its address, what it carries and in which format."""

    url: str
    role: str
    format: str = "feed"


@dataclass(frozen=True)
class OpmlProvider:
    """A provider outline with its feeds; `slug` is None when the file gives none."""

    name: str
    slug: str | None
    feeds: tuple[OpmlFeed, ...]
    aliases: tuple[str, ...] = ()
    homepage: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class OpmlSkip:
    """An outline that was not read: the address or title, and why."""

    what: str
    reason: str


@dataclass(frozen=True)
class OpmlDocument:
    """What an OPML file holds: its title, its providers and the outlines skipped."""

    title: str | None
    providers: tuple[OpmlProvider, ...]
    skipped: tuple[OpmlSkip, ...]


def slug_from(text: str) -> str:
    """A slug made of a title: ASCII letters and digits in lowercase, joined by dashes."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", folded.lower()).strip("-")


def is_slug(text: str) -> bool:
    """True for lowercase letters and digits joined by single dashes."""
    return _SLUG.fullmatch(text) is not None


def read_opml(body: bytes) -> OpmlDocument:
    """Read an OPML document; raise OpmlError when it is not one or declares a DOCTYPE."""
    _refuse_declarations(body)
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DOCTYPE, hence no entity, got this far
    except ET.ParseError as error:
        raise OpmlError(f"the file is not well-formed XML ({error})") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"the root element is <{_local(root.tag)}>, not <opml>")
    head = root.find("head")
    title = _attr_text(head.findtext("title")) if head is not None else None
    body_element = root.find("body")
    if body_element is None:
        raise OpmlError("the document has no <body>")
    reader = _Reader()
    reader.walk(body_element, group=None)
    return OpmlDocument(title, tuple(reader.providers), tuple(reader.skipped))


def _refuse_declarations(body: bytes) -> None:
    """Check the document is well-formed XML without a DOCTYPE, with expat directly.

    A DOCTYPE is where entities are declared; refusing every one is simpler and safer
    than judging which are harmless. The handler raises before any entity is read.
    """

    def doctype(*_: object) -> None:
        raise OpmlError("the file declares a DOCTYPE, which exitplan refuses in OPML files")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise OpmlError(f"the file is not well-formed XML ({error})") from None


class _Reader:
    """Walks the outlines, collecting providers and the outlines it skips."""

    def __init__(self) -> None:
        self.providers: list[OpmlProvider] = []
        self.skipped: list[OpmlSkip] = []
        self.seen: set[str] = set()

    def walk(self, element: ET.Element, group: ET.Element | None) -> None:
        feeds: list[OpmlFeed] = []
        for child in element.findall("outline"):
            if child.get("xmlUrl") is None and child.get("type") not in ("rss", "atom"):
                self.walk(child, group=child)
                continue
            feed = self.feed(child)
            if feed is None:
                continue
            if group is None:
                self.add(child, (feed,))
            else:
                feeds.append(feed)
        if group is not None and feeds:
            self.add(group, tuple(feeds))

    def feed(self, outline: ET.Element) -> OpmlFeed | None:
        url = (outline.get("xmlUrl") or "").strip()
        label = url or _name(outline) or "a feed outline"
        problem = _url_problem(url)
        if problem is None and url in self.seen:
            problem = "listed twice in the file"
        role = _ours(outline, "role") or _role_from_category(outline.get("category"))
        if problem is None and role not in FEED_ROLES:
            problem = f"role {role!r} is not one of {', '.join(FEED_ROLES)}"
        data_format = _ours(outline, "format") or ("" if role == "eol" else "feed")
        if problem is None:
            problem = _format_problem(role, data_format)
        if problem is not None:
            self.skipped.append(OpmlSkip(label, problem))
            return None
        self.seen.add(url)
        return OpmlFeed(url, role, data_format)

    def add(self, outline: ET.Element, feeds: tuple[OpmlFeed, ...]) -> None:
        name = _name(outline) or urlsplit(feeds[0].url).hostname or feeds[0].url
        aliases = tuple(
            alias.strip() for alias in (_ours(outline, "aliases") or "").split(",") if alias.strip()
        )
        homepage = _ours(outline, "homepage") or (
            outline.get("htmlUrl") if outline.get("xmlUrl") is None else None
        )
        if homepage is not None and _url_problem(homepage) is not None:
            homepage = None
        category = _ours(outline, "category")
        self.providers.append(
            OpmlProvider(
                name=name,
                slug=_ours(outline, "slug"),
                feeds=feeds,
                aliases=aliases,
                homepage=homepage,
                category=category if category in CATEGORIES else None,
            )
        )


def write_opml(providers: Sequence[Provider], *, title: str, now: datetime) -> str:
    """An OPML 2.0 document of `providers` and all their feeds, dated `now`.

    A provider without feeds is left out: an outline without feeds carries nothing.
    """
    ET.register_namespace("exitplan", NAMESPACE)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    ET.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for provider in (provider for provider in providers if provider.feeds):
        group = ET.SubElement(
            body,
            "outline",
            {"text": provider.name, "title": provider.name, f"{_NS}slug": provider.slug},
        )
        if provider.aliases:
            group.set(f"{_NS}aliases", ", ".join(provider.aliases))
        if provider.homepage:
            group.set(f"{_NS}homepage", provider.homepage)
        group.set(f"{_NS}category", provider.category)
        for feed in provider.feeds:
            label = f"{provider.name} ({feed.role})"
            attributes = {
                "type": "rss",
                "text": label,
                "title": label,
                "xmlUrl": feed.url,
                "category": feed.role,
                f"{_NS}role": feed.role,
                f"{_NS}confidence": feed.confidence,
            }
            if provider.homepage:
                attributes["htmlUrl"] = provider.homepage
            if feed.format != "feed":
                attributes[f"{_NS}format"] = feed.format
            if feed.note:
                attributes[f"{_NS}note"] = feed.note
            ET.SubElement(group, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ours(outline: ET.Element, key: str) -> str | None:
    return _attr_text(outline.get(f"{_NS}{key}"))


def _attr_text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _name(outline: ET.Element) -> str | None:
    return _attr_text(outline.get("title")) or _attr_text(outline.get("text"))


def _role_from_category(category: str | None) -> str:
    """The role named in an OPML `category` ("status", "/eol"…), or news."""
    words = {word for part in (category or "").split(",") for word in part.strip().split("/")}
    return next((role for role in FEED_ROLES if role in words), "news")


def _format_problem(role: str, data_format: str) -> str | None:
    """Why a feed's format does not fit its role, or None: only eol feeds are not RSS/Atom."""
    if data_format and data_format not in FEED_FORMATS:
        return f"format {data_format!r} is not one of {', '.join(FEED_FORMATS)}"
    if role == "eol" and data_format not in EOL_FORMATS:
        return f"an eol feed needs exitplan:format, one of {', '.join(EOL_FORMATS)}"
    if role != "eol" and data_format != "feed":
        return f'format {data_format!r} is end-of-life data; give the feed exitplan:role="eol"'
    return None


def _url_problem(url: str) -> str | None:
    if not url:
        return "the outline has no xmlUrl"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) address"
    if any(ch.isspace() for ch in url):
        return "the address contains spaces"
    return None
