"""Feed discovery: a page's alternate link, status-page software patterns, and what was tried."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from feeds.discover import (
    Discovery,
    discover_feed,
    feed_links,
    status_io_page_id,
    usual_paths,
)
from feeds.fetch import Fetcher, FetchLimits
from feeds.guard import AddressGuard
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = FetchLimits(total_timeout=5, read_timeout=5)
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}
PAGE_ID = "5b36dc6502d06804c08349f7"


def _discover(address: str, *, allow_private: bool = True) -> Discovery:
    async def run() -> Discovery:
        guard = AddressGuard(allow_private=allow_private)
        async with Fetcher(LIMITS, guard=guard) as fetcher:
            return await discover_feed(fetcher, address, NOW)

    return asyncio.run(run())


def test_feed_links_resolve_relative_hrefs_against_the_base_and_skip_other_links() -> None:
    """RSS and Atom alternates come back absolute, in order; other links and schemes do not."""
    html = """<html><head><base href="https://acme.test/blog/">
    <link rel="stylesheet" href="/style.css">
    <link rel="Alternate" type="application/rss+xml" title="Posts" href="feed/">
    <link rel="alternate" type="application/atom+xml; charset=utf-8" href="/atom.xml#top">
    <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    <link rel="alternate" type="application/rss+xml" href="feed/">
    </head><body><a href="/rss">RSS</a></body></html>"""
    assert feed_links(html, "https://acme.test/") == (
        "https://acme.test/blog/feed/",
        "https://acme.test/atom.xml",
    )


def test_status_io_page_id_is_read_from_the_page() -> None:
    """A status.io page names its 24-hex-digit page id; a page without one gives None."""
    html = f'<a href="https://status.acme.test/pages/{PAGE_ID}/rss">Subscribe</a>'
    assert (status_io_page_id(html), status_io_page_id("<p>no id 5b36dc65</p>")) == (
        PAGE_ID,
        None,
    )


def test_usual_paths_look_next_to_the_address_then_at_the_root() -> None:
    """A blog under a path is probed there first, then at the site's root."""
    assert usual_paths("https://acme.test/blog/post-1") == (
        "https://acme.test/blog/feed",
        "https://acme.test/blog/rss",
        "https://acme.test/blog/feed.xml",
        "https://acme.test/feed",
        "https://acme.test/rss",
        "https://acme.test/feed.xml",
    )


def test_a_feed_address_is_used_as_it_is(feed_server: FeedServer) -> None:
    """When the address already serves RSS, discovery fetches nothing else."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    url = feed_server.url("/history.rss")
    found = _discover(url)
    assert found == Discovery(url, url, "feed", (url,))
    assert found.describe() == f"the address is a feed: {url}"


def test_an_html_page_with_an_alternate_link_gives_the_linked_feed(
    feed_server: FeedServer,
) -> None:
    """A blog page's `<link rel="alternate">` is followed and checked to be a feed."""
    page = b"""<!doctype html><html><head><title>Acme blog</title>
    <link rel="alternate" type="application/rss+xml" href="/blog/feed.xml">
    </head><body>Posts</body></html>"""
    feed_server.set_response("/blog/", 200, page, HTML)
    feed_server.set_feed("/blog/feed.xml", (DATA / "wordpress_blog.rss").read_bytes())
    found = _discover(feed_server.url("/blog/"))
    assert found == Discovery(
        feed_server.url("/blog/"),
        feed_server.url("/blog/feed.xml"),
        "link",
        (feed_server.url("/blog/"), feed_server.url("/blog/feed.xml")),
    )
    assert found.describe() == f"found the feed the page links to: {found.feed_url}"


def test_a_statuspage_site_is_recognised_by_its_summary_and_gives_history_atom(
    feed_server: FeedServer,
) -> None:
    """/api/v2/summary.json marks Atlassian Statuspage; its /history.atom is the feed."""
    feed_server.set_response("/", 200, b"<html><body>All Systems Operational</body></html>", HTML)
    summary = b'{"page": {"id": "s2k7tnzlhrpw", "name": "Acme"}, "components": []}'
    feed_server.set_response("/api/v2/summary.json", 200, summary, JSON)
    feed_server.set_feed(
        "/history.atom",
        (DATA / "statuspage_history.atom").read_bytes(),
        content_type="application/atom+xml",
    )
    found = _discover(feed_server.url("/"))
    assert (found.feed_url, found.software, found.error) == (
        feed_server.url("/history.atom"),
        "statuspage",
        None,
    )
    assert found.describe() == (
        f"found an Atlassian Statuspage feed: {feed_server.url('/history.atom')}"
    )


def test_a_status_io_page_gives_the_rss_of_the_page_id_in_its_html(
    feed_server: FeedServer,
) -> None:
    """The page id in a status.io page's HTML leads to /pages/<id>/rss."""
    page = f'<html><body><div data-page-id="{PAGE_ID}">Operational</div></body></html>'
    feed_server.set_response("/", 200, page.encode(), HTML)
    feed_server.set_feed(f"/pages/{PAGE_ID}/rss", (DATA / "statuspage_history.rss").read_bytes())
    found = _discover(feed_server.url("/"))
    assert (found.feed_url, found.software) == (
        feed_server.url(f"/pages/{PAGE_ID}/rss"),
        "statusio",
    )
    assert found.describe() == f"found a status.io feed: {found.feed_url}"


def test_a_site_with_no_feed_says_everything_it_tried(feed_server: FeedServer) -> None:
    """Nothing found: every address tried is listed, and an HTML shell at /feed is no feed."""
    feed_server.set_response("/", 200, b"<html><body>Welcome</body></html>", HTML)
    feed_server.set_response("/feed", 200, b"<html><body>Welcome</body></html>", HTML)
    found = _discover(feed_server.url("/"))
    paths = [
        "/",
        "/api/v2/summary.json",
        "/index.json",
        "/data/rss.xml",
        "/history.rss",
        "/feed",
        "/rss",
        "/feed.xml",
    ]
    assert found == Discovery(
        feed_server.url("/"), None, None, tuple(feed_server.url(path) for path in paths)
    )
    assert found.describe() == (
        f"found no feed for {feed_server.url('/')}; tried "
        + ", ".join(feed_server.url(path) for path in paths)
    )


def test_the_address_guard_applies_to_discovery(feed_server: FeedServer) -> None:
    """Without allow_private, a loopback address is refused before any request is made."""
    found = _discover(feed_server.url("/"), allow_private=False)
    assert (found.feed_url, found.tried) == (None, (feed_server.url("/"),))
    assert found.error is not None
    assert "EXITPLAN_ALLOW_PRIVATE_FEEDS" in found.error
    assert feed_server.requests == []
