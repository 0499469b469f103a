"""Incremental parsing: the split of raw feeds into items, and reading only what changed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feeds.items import split_items
from feeds.parse import parse_feed
from feeds.reader import ReadJob, ReadResult, read_body

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
URL = "https://status.example.test/history.rss"

_RSS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xml:base="https://blog.example.test/posts/">
<channel>
  <title>Example &amp; Co Blog</title>
  <link>https://blog.example.test/</link>
  <lastBuildDate>{built}</lastBuildDate>
"""
_RSS_ITEMS = {
    "a": """  <item>
    <title>Cold Archive is shutting down &#8211; export by June 30, 2026</title>
    <link>cold-archive/</link>
    <guid isPermaLink="false">post-1</guid>
    <dc:creator><![CDATA[Ana]]></dc:creator>
    <pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate>
    <category><![CDATA[Announcements]]></category>
    <content:encoded><![CDATA[<p>We are retiring <b>Cold Archive</b>; this
    CDATA even says </item> and <item> in passing.</p>]]></content:encoded>
  </item>
""",
    "b": """  <item>
    <title>Prices change on July 1</title>
    <link>https://blog.example.test/prices/</link>
    <description>&lt;p&gt;Storage costs $7 a TB, up from $6 &amp;amp; more.&lt;/p&gt;</description>
    <pubDate>Tue, 03 Mar 2026 09:00:00 +0000</pubDate>
  </item>
""",
    "c": """  <item>
    <title>Elevated errors in eu-west</title>
    <!-- <item> in a comment is not an item -->
    <guid>https://status.example.test/incidents/3</guid>
    <description>Investigating - requests fail.</description>
  </item>
""",
    "c2": """  <item>
    <title>Elevated errors in eu-west</title>
    <guid>https://status.example.test/incidents/3</guid>
    <description>Resolved - this incident has been resolved.</description>
  </item>
""",
}
_ATOM_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
      xml:lang="en" xml:base="https://status.example.test/">
  <id>tag:status.example.test,2005:/history</id>
  <title type="html">Example &lt;Status&gt;</title>
  <updated>{built}</updated>
"""
_ATOM_ITEMS = {
    "a": """  <entry>
    <id>tag:status.example.test,2005:Incident/1</id>
    <updated>2026-03-02T09:00:00Z</updated>
    <link rel="alternate" href="incidents/1"/>
    <title>Data loss on one storage node</title>
    <content type="html">&lt;p&gt;Some objects were &lt;b&gt;lost&lt;/b&gt;.&lt;/p&gt;</content>
  </entry>
""",
    "b": """  <entry>
    <id>tag:status.example.test,2005:Incident/2</id>
    <updated>2026-03-03T09:00:00Z</updated>
    <link rel="alternate" href="incidents/2"/>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">API <em>outage</em></div></title>
    <media:thumbnail url="x.png"/>
    <summary>Requests are failing in us-east.</summary>
  </entry>
""",
    "c": """  <entry>
    <id>tag:status.example.test,2005:Incident/3</id>
    <updated>2026-03-04T09:00:00Z</updated>
    <link rel="alternate" href="incidents/3"/>
    <title>Maintenance of Backups</title>
    <content type="text">Scheduled - backups pause &amp; resume.</content>
  </entry>
""",
}
_RSS_TAIL = "</channel>\n</rss>\n"
_ATOM_TAIL = "</feed>\n"


def _rss(*names: str, built: str = "Mon, 02 Mar 2026 10:00:00 +0000") -> bytes:
    items = "".join(_RSS_ITEMS[name] for name in names)
    return (_RSS_HEAD.format(built=built) + items + _RSS_TAIL).encode()


def _atom(*names: str, built: str = "2026-03-04T10:00:00Z") -> bytes:
    items = "".join(_ATOM_ITEMS[name] for name in names)
    return (_ATOM_HEAD.format(built=built) + items + _ATOM_TAIL).encode()


def _read(
    body: bytes, before: ReadResult | None = None, *, known: bool = True, split: bool = True
) -> ReadResult:
    """Read `body` as the poll after the one that gave `before` (and stored its entries)."""
    stored = {w.key: w.content_hash for w in before.writes} if before and known else {}
    items = before.items if before and split else None
    return read_body(ReadJob(URL, "status", "feed", body, None, NOW, stored, items))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (_rss("b", "c"), _rss("a", "b", "c2", built="Wed, 04 Mar 2026 10:00:00 +0000")),
        (_atom("b", "c"), _atom("a", "b", "c", built="2026-03-05T10:00:00Z")),
    ],
    ids=["rss", "atom"],
)
def test_an_incremental_read_gives_what_a_full_read_gives(first: bytes, second: bytes) -> None:
    """Only new and changed items are parsed, and their entries equal the full parse's."""
    before = _read(first)
    after = _read(second, before)
    full = _read(second, before, split=False)
    seen = {write.content_hash for write in before.writes}
    whole = parse_feed(second, url=URL, fetched_at=NOW).entries
    changed = [entry for entry in whole if entry.content_hash not in seen]
    assert (after.mode, full.mode, after.items) == ("incremental", "full", full.items)
    assert after.writes == full.writes
    assert [(w.key, w.title, w.link, w.text, w.categories, w.published) for w in after.writes] == [
        (e.key, e.title, e.link, e.text, e.categories, e.published or e.updated) for e in changed
    ]


def test_a_rebuild_that_only_moves_the_feed_timestamp_is_not_parsed() -> None:
    """A Statuspage-style rebuild with a new lastBuildDate and the same items reads nothing."""
    before = _read(_rss("a", "b"))
    after = _read(_rss("a", "b", built="Thu, 05 Mar 2026 10:00:00 +0000"), before)
    assert (after.mode, after.writes, after.items) == ("skipped", (), before.items)


def test_a_changed_header_means_a_full_parse() -> None:
    """A new xml:base changes every relative link: the whole body is read again."""
    before = _read(_rss("a", "b"))
    moved = _rss("a", "b").replace(b"blog.example.test/posts/", b"blog.example.test/news/")
    after = _read(moved, before, known=False)
    assert (after.mode, [w.link for w in after.writes]) == (
        "full",
        ["https://blog.example.test/news/cold-archive/", "https://blog.example.test/prices/"],
    )


def test_markup_in_cdata_and_comments_is_not_taken_for_items() -> None:
    """The split finds three items although CDATA and a comment mention <item> tags."""
    split = split_items(_rss("a", "b", "c"))
    assert split is not None
    assert [item.split(b"<title>")[1][:12] for item in split.items] == [
        b"Cold Archive",
        b"Prices chang",
        b"Elevated err",
    ]


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss><channel>'
        b"<item><title>&x;</title></item></channel></rss>",
        b"<rss><channel><item><title>a</title><item>b</item></item></channel></rss>",
        b"<rss><channel><item><title>a</title></channel></rss>",
        b"<rss><channel><title>a</title></item></channel></rss>",
        b"<rss><channel><item><title>a</title></item><x/><item><title>b</title></item></channel>"
        b"</rss>",
        b"<rss><channel><item/></channel></rss>",
        b'<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:entry><a:id>1</a:id></a:entry></a:feed>',
        b"<rss><channel><dc:item><title>a</title></dc:item></channel></rss>",
        '<?xml version="1.0" encoding="utf-16"?><rss/>'.encode("utf-16"),
        b'<?xml version="1.0" encoding="shift_jis"?><rss><channel></channel></rss>',
    ],
    ids=[
        "doctype",
        "nested",
        "unclosed",
        "stray-close",
        "between",
        "empty-item",
        "prefixed-atom",
        "prefixed-item",
        "utf-16",
        "shift-jis",
    ],
)
def test_anything_odd_is_not_split(body: bytes) -> None:
    """Bodies the scan cannot cut with certainty are left to a full parse."""
    assert split_items(body) is None


def test_a_feed_whose_count_disagrees_keeps_no_split() -> None:
    """An empty item shell is dropped by the parser: counts differ, nothing is stored."""
    body = _rss("a").replace(b"  <item>", b"  <item></item>\n  <item>", 1)
    result = _read(body)
    assert (result.mode, len(result.writes), result.items) == ("full", 1, None)


def test_a_new_item_the_parser_cannot_read_alone_falls_back_to_a_full_parse() -> None:
    """A new item that yields no entry of its own makes the reader parse the whole body."""
    before = _read(_rss("a"))
    after = _read(_rss("a").replace(b"  <item>", b"  <item></item>\n  <item>", 1), before)
    assert (after.mode, after.writes, after.items) == ("full", (), None)
