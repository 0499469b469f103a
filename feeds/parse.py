"""Parse feed bodies with feedparser into typed entries: plain text, UTC times, stable keys.

This is the only module that imports feedparser; nothing feedparser returns leaves it.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from feeds.model import Entry

#: The most characters of plain text kept per entry.
MAX_TEXT = 20_000
#: Entries without guid or link are keyed on their title and this much of their text.
_KEY_TEXT_CHARS = 200
#: Dates further than this past the fetch time are bogus (clock skew, placeholder years).
_FUTURE_SLACK = timedelta(days=1)
_SNIFF_BYTES = 1024

_HTML_START = re.compile(rb"(?:\s|<!--.*?-->)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.S)
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z][\w:.-]*)")
_ANY_SPACE = re.compile(r"\s+")
_DROPPED = re.compile(
    r"<(script|style|template|noscript|applet)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.S
)
_BREAKS = re.compile(
    r"<(?:br|hr|/?(?:p|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|blockquote|pre|section|article"
    r"|header|footer))\b[^>]*>",
    re.IGNORECASE,
)
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>|<![^>]*>|<\?[^>]*>")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r" ?\n[\n ]*")

_get = dict.get  # read feedparser's dicts directly: no key aliasing, no deprecation warnings

#: Encodings that are not ASCII-compatible, by a body's first bytes (a BOM, or "<?" / "<").
_WIDE_STARTS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
)
_ENTITIES_REMOVED = (
    "the feed declares XML entities, which exitplan never expands; "
    "its DOCTYPE was removed before parsing"
)


class NotAFeed(ValueError):
    """The body is not an RSS or Atom feed; the message says what was found instead."""


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its title and link, its entries, and a warning when it was malformed."""

    title: str | None
    link: str | None
    entries: tuple[Entry, ...]
    warning: str | None


def parse_feed(
    body: bytes, *, url: str, fetched_at: datetime, content_type: str | None = None
) -> ParsedFeed:
    """Parse a feed body fetched from `url` at `fetched_at` (UTC-aware).

    Raises NotAFeed when the body is an HTML page, JSON, empty, has no feed structure, or
    is malformed XML without a readable entry. Malformed XML from which entries can still
    be read keeps them and sets `warning`, as does a DOCTYPE declaring entities (removed
    unexpanded).
    Dates more than a day after `fetched_at` are dropped as bogus.
    """
    _reject_obvious_non_feeds(body)
    body, defused = _defuse_entities(body)
    # No content-location on purpose: feedparser would resolve bare guids ("4821") against
    # it, so keys would change when a feed moves. Entry links are resolved here instead.
    headers = {"content-type": content_type} if content_type else {}
    # A BytesIO, never bare bytes: feedparser would try a bytes value as a file name.
    # No sanitising and no resolving of links inside content: both re-write the HTML, which
    # costs more than the rest of the parse, and `html_to_text` keeps only its text (with
    # script, style and comments dropped) and never renders it.
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    raw_entries = _get(result, "entries") or []
    problem = _get(result, "bozo_exception") if _get(result, "bozo") else None
    if isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe):
        problem = None  # content-type or charset notes: the XML itself parsed fine
    if not _get(result, "version") and not raw_entries:
        raise NotAFeed(f"the body is neither RSS nor Atom ({_describe(body, problem)})")
    latest = fetched_at + _FUTURE_SLACK
    entries = tuple(
        entry for raw in raw_entries if (entry := _entry(raw, base=url, latest=latest)) is not None
    )
    if problem is not None and not entries:
        raise NotAFeed(f"the feed is not well-formed XML and no entry could be read ({problem})")
    warnings = [_ENTITIES_REMOVED] if defused else []
    if problem is not None:
        warnings.append(
            f"the feed is malformed ({problem}); kept the {len(entries)} entries it could read"
        )
    warning = "; ".join(warnings) or None
    feed = _get(result, "feed") or {}
    title = _title(feed) or None
    return ParsedFeed(title, _link(_get(feed, "link"), url), entries, warning)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: script/style dropped, blocks on their own lines."""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup)
    text = _ANY_SPACE.sub(" ", markup)  # newlines in HTML source are just spaces
    text = _DROPPED.sub(" ", text)
    text = _BREAKS.sub("\n", text)
    text = _TAGS.sub("", text)
    return _tidy(html.unescape(text))


def _reject_obvious_non_feeds(body: bytes) -> None:
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise NotAFeed("the server sent an empty body, not a feed")
    if _HTML_START.match(head):
        raise NotAFeed(
            "the server sent an HTML page, not a feed: "
            "look for a <link rel=alternate> feed URL on it"
        )
    if head[:1] in (b"{", b"["):
        raise NotAFeed("the server sent JSON, not a feed")


def _defuse_entities(body: bytes) -> tuple[bytes, bool]:
    """Remove a prolog DOCTYPE that declares entities; True if one was removed.

    A feed has no business declaring entities, and expanding them is how "billion
    laughs" documents eat memory and time. feedparser strips such declarations with
    patterns a comment or markup in the prolog can slip past, so this scans the prolog
    itself. Raises NotAFeed for a DOCTYPE declaring entities that never ends.
    """
    codec = next((name for start, name in _WIDE_STARTS if body.startswith(start)), "latin-1")
    text = body.decode(codec, errors="replace")
    start = _doctype_start(text)
    if start is None or "<!ENTITY" not in text[start:]:
        return body, False
    end = _declaration_end(text, start)
    if end is None:
        raise NotAFeed("the feed declares XML entities in a DOCTYPE that never ends")
    if "<!ENTITY" not in text[start:end]:
        return body, False
    return (text[:start] + text[end:]).encode(codec, errors="replace"), True


def _doctype_start(text: str) -> int | None:
    """Where the prolog's <!DOCTYPE starts, skipping the XML declaration, PIs and comments."""
    at = 0
    while at < len(text):
        if text[at] in " \t\r\n\ufeff":
            at += 1
        elif text.startswith("<!--", at):
            at = _after(text, "-->", at + 4)
        elif text.startswith("<?", at):
            at = _after(text, "?>", at + 2)
        else:
            return at if text.startswith("<!DOCTYPE", at) else None
    return None


def _declaration_end(text: str, start: int) -> int | None:
    """The index after the `>` closing the declaration at `start` (quotes, [subset] kept)."""
    at = start + 2
    while at < len(text):
        char = text[at]
        if char in "\"'":
            at = _after(text, char, at + 1)
        elif text.startswith("<!--", at):
            at = _after(text, "-->", at + 4)
        elif text.startswith("<?", at):
            at = _after(text, "?>", at + 2)
        elif text.startswith("<!", at):
            end = _declaration_end(text, at)  # a declaration inside the internal subset
            if end is None:
                return None
            at = end
        elif char == ">":
            return at + 1
        else:
            at += 1
    return None


def _after(text: str, marker: str, start: int) -> int:
    """The index after the next `marker`, or the end of the text when it never comes."""
    found = text.find(marker, start)
    return len(text) if found < 0 else found + len(marker)


def _describe(body: bytes, problem: object) -> str:
    if problem is not None:
        return f"not well-formed XML: {problem}"
    root = _FIRST_ELEMENT.search(body[:_SNIFF_BYTES])
    return f"its root element is <{root.group(1).decode('ascii')}>" if root else "no elements"


def _entry(raw: dict[str, Any], *, base: str, latest: datetime) -> Entry | None:
    title = _title(raw)
    text = _text(raw)
    link = _link(_get(raw, "link"), base)
    guid = (_get(raw, "id") or "").strip()
    if not (title or text or link or guid):
        return None  # an empty shell, e.g. a truncated <item>
    if not title:
        title = "(untitled)"
    if guid:
        key = guid
    elif link:
        key = link
    else:
        seed = f"{title}\n{text[:_KEY_TEXT_CHARS]}"
        key = "hash:" + hashlib.sha256(seed.encode()).hexdigest()
    return Entry(
        key=key,
        title=title,
        link=link,
        published=_utc(_get(raw, "published_parsed"), latest),
        updated=_utc(_get(raw, "updated_parsed"), latest),
        text=text,
        categories=_categories(_get(raw, "tags")),
        content_hash=hashlib.sha256(f"{title}\n{text}".encode()).hexdigest(),
    )


def _title(raw: dict[str, Any]) -> str:
    value = _get(raw, "title") or ""
    detail = _get(raw, "title_detail") or {}
    if "html" in (_get(detail, "type") or ""):
        value = html_to_text(value)
    return " ".join(value.split())


def _text(raw: dict[str, Any]) -> str:
    value, kind = "", ""
    contents = _get(raw, "content") or []
    if contents:
        chosen = next((c for c in contents if "html" in (_get(c, "type") or "")), contents[0])
        value, kind = _get(chosen, "value") or "", _get(chosen, "type") or ""
    if not value.strip():
        detail = _get(raw, "summary_detail") or {}
        value, kind = _get(raw, "summary") or "", _get(detail, "type") or "text/html"
    text = html_to_text(value) if "html" in kind else _tidy(value)
    return text[:MAX_TEXT]


def _link(value: object, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    absolute = urljoin(base, value.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None  # javascript:, data:, mailto: and the like
    return absolute


def _utc(struct: Any, latest: datetime) -> datetime | None:
    if struct is None:
        return None
    try:
        year, month, day, hour, minute, second = struct[:6]
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return moment if moment <= latest else None


def _categories(tags: Any) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for tag in tags or ():
        term = " ".join((_get(tag, "term") or _get(tag, "label") or "").split())
        if term:
            seen.setdefault(term, None)
    return tuple(seen)


def _tidy(text: str) -> str:
    """Collapse runs of spaces, keep single line breaks, trim the ends."""
    return _NEWLINES.sub("\n", _SPACES.sub(" ", text)).strip()
