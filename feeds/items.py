"""Split a feed body into its items cheaply, so a changed feed parses only what changed.

A feed that gained one entry is sent whole; parsing all twenty entries again to find the
one new costs ten times what parsing the new one does. `split_items` cuts the raw XML
into a header (everything before the first `<item>` or `<entry>`), the items, and a
trailer, without parsing it; each item is hashed. A later body whose header is the same
(ignoring feed-level timestamps, which a Statuspage rebuild changes every time) needs
parsing only for the items whose hash is new: `ItemSplit.document` puts those items
between the same header and trailer, a well-formed feed the parser reads exactly as it
would read them inside the whole body.

The split is refused (None) on anything it cannot cut with certainty: a DOCTYPE, an
encoding that is not ASCII-compatible, a namespaced item element, items that nest,
overlap or are not closed, or anything but white space between two items. The caller
then parses the whole body, and also does so when the parser's count of entries disagrees
with the split's count of items.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Bump when the split or the hashes change: stored hashes of another version never match.
_VERSION = b"items/1"
_DIGEST_BYTES = 10
#: Markup the scan must step over (CDATA sections, comments) or look at (item tags).
_TOKENS = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<(/?)(?:([\w.-]+):)?(item|entry)(?=[\s/>])[^>]*>",
    re.S,
)
_ROOT = re.compile(rb"<(?![?!])(?:([\w.-]+):)?([\w.-]+)")
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']""")
#: Encodings in which "<", ">" and the tag names are single bytes that mean only that.
_ASCII_COMPATIBLE = re.compile(
    r"utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?1|(?:windows|cp)-?125\d", re.IGNORECASE
)
#: Feed-level timestamps in the header: a rebuild that only moves them changes no entry.
_TIMESTAMPS = re.compile(
    rb"<((?:[\w.-]+:)?(?:lastBuildDate|pubDate|updated|date|modified))(?:\s[^>]*)?>[^<]*</\1\s*>"
)


@dataclass(frozen=True)
class ItemSplit:
    """A feed body cut into the header, the raw items and the trailer."""

    header: bytes
    items: tuple[bytes, ...]
    trailer: bytes

    def hashes(self) -> tuple[str, ...]:
        """A short hash of each item's bytes, in order."""
        return tuple(_digest(item) for item in self.items)

    def header_hash(self, url: str, content_type: str | None) -> str:
        """A hash of what every item is read against: header and trailer, URL, content type.

        Feed-level timestamps are left out: a feed rebuilt with a new `lastBuildDate` or
        `<updated>` reads the same.
        """
        header = _TIMESTAMPS.sub(b"", self.header)
        context = (_VERSION, url.encode(), (content_type or "").encode(), header, self.trailer)
        return _digest(b"\n".join(context))

    def document(self, indexes: Sequence[int]) -> bytes:
        """A feed holding only the items at `indexes`, between the same header and trailer."""
        return self.header + b"\n".join(self.items[index] for index in indexes) + self.trailer


def split_items(body: bytes) -> ItemSplit | None:
    """Cut an RSS or Atom body into header, items and trailer; None when unsure how."""
    if not _ascii_compatible(body) or b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    root = _ROOT.search(body)
    if root is None or (root.group(1) is not None and root.group(2) == b"feed"):
        return None  # no element, or a namespaced Atom root: items may be prefixed too
    spans = _item_spans(body, root.end(), b"entry" if root.group(2) == b"feed" else b"item")
    if spans is None:
        return None
    if not spans:
        return ItemSplit(body, (), b"")
    if any(body[end:begin].strip() for (_, end), (begin, _) in itertools.pairwise(spans)):
        return None  # something between two items would be lost
    items = tuple(body[begin:end] for begin, end in spans)
    return ItemSplit(body[: spans[0][0]], items, body[spans[-1][1] :])


def _item_spans(body: bytes, start: int, name: bytes) -> list[tuple[int, int]] | None:
    """The (start, end) of each `name` element after `start`; None if they nest or stay open."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for token in _TOKENS.finditer(body, start):
        if token.group(3) != name:
            continue  # CDATA, a comment, or the other format's element inside an item
        if token.group(2) is not None or token.group(0).endswith(b"/>"):
            return None  # a namespaced or empty item: not worth the risk
        if token.group(1):  # a closing tag
            if opened is None:
                return None
            spans.append((opened, token.end()))
            opened = None
        elif opened is None:
            opened = token.start()
        else:
            return None  # an item inside an item
    return spans if opened is None else None


def _ascii_compatible(body: bytes) -> bool:
    if body[:2] in (b"\xfe\xff", b"\xff\xfe") or b"\x00" in body[:4]:
        return False  # UTF-16 or UTF-32
    declared = _DECLARED_ENCODING.match(body.removeprefix(b"\xef\xbb\xbf").lstrip())
    return declared is None or bool(_ASCII_COMPATIBLE.fullmatch(declared.group(1).decode()))


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=_DIGEST_BYTES).hexdigest()
