"""Find the feed behind a status page or blog address.

`discover_feed` fetches the address through a `Fetcher` (so the address guard, limits
and redirects apply as for any feed). When the answer is a feed it is used as it is;
when it is an HTML page, its `<link rel="alternate">` feeds are tried in document order;
then the paths of known status-page software are probed, in this order:

    Atlassian Statuspage  /history.atom, /history.rss   (recognised by /api/v2/summary.json)
    status.io             /pages/<page id>/rss          (page id found in the HTML)
    Better Stack          /feed                         (recognised by /index.json)
    FireHydrant           /data/rss.xml
    instatus              /history.rss
    any site              feed, rss, feed.xml (next to the address, then at the root)

A candidate counts only when the feed parser reads it: several status hosts answer 200
with an HTML shell for unknown paths. The pure helpers (`feed_links`,
`status_io_page_id`) read HTML with `html.parser`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Final
from urllib.parse import urljoin, urlsplit

from feeds.fetch import Fetcher, FetchRequest, FetchResult
from feeds.parse import NotAFeed, parse_feed

#: The `type` of a `<link rel="alternate">` that points at a feed exitplan can read.
FEED_TYPES: Final = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml"}
)
#: How each status-page software is named when its feed is found.
SOFTWARE_NAMES: Final = {
    "statuspage": "an Atlassian Statuspage",
    "statusio": "a status.io",
    "betterstack": "a Better Stack",
    "firehydrant": "a FireHydrant",
    "instatus": "an instatus",
}
_GENERIC: Final = ("feed", "rss", "feed.xml")
_STATUS_IO_ID = re.compile(
    r"""(?:/pages/|page_?id["']?\s*[:=]\s*["']|data-page-id=["'])([0-9a-f]{24})(?![0-9a-f])""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Discovery:
    """What discovery found for an address: a feed and how, or what it tried.

    `error` is set when the address itself could not be reached (no HTTP answer at all),
    so nothing could be checked; `feed_url` is None when nothing was found.
    """

    address: str
    feed_url: str | None
    how: str | None  # "feed", "link" or a STATUS_SOFTWARE value, or "path" for a usual path
    tried: tuple[str, ...]
    error: str | None = None

    @property
    def software(self) -> str | None:
        """The status-page software whose pattern found the feed, if one did."""
        return self.how if self.how in SOFTWARE_NAMES else None

    def describe(self) -> str:
        """One sentence saying what was found, or what was tried."""
        if self.error is not None:
            return f"could not reach {self.address} to look for its feed ({self.error})"
        if self.feed_url is None:
            return f"found no feed for {self.address}; tried {', '.join(self.tried)}"
        if self.how == "feed":
            return f"the address is a feed: {self.feed_url}"
        if self.how == "link":
            return f"found the feed the page links to: {self.feed_url}"
        if self.software is not None:
            return f"found {SOFTWARE_NAMES[self.software]} feed: {self.feed_url}"
        return f"found a feed at a usual address: {self.feed_url}"


class _LinkParser(HTMLParser):
    """Collects `<base href>`, feed `<link rel="alternate">` hrefs and nothing else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        if tag != "link":
            return
        rel = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES and values.get("href"):
            self.links.append(values["href"])


def feed_links(html: str, base_url: str) -> tuple[str, ...]:
    """The absolute http(s) URLs of the RSS/Atom `<link rel="alternate">` tags, in order."""
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    base = urljoin(base_url, parser.base) if parser.base else base_url
    found: dict[str, None] = {}
    for href in parser.links:
        url = urljoin(base, href).split("#")[0]
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
            found.setdefault(url, None)
    return tuple(found)


def status_io_page_id(html: str) -> str | None:
    """The 24-hex-digit status.io page id a status.io page carries, or None."""
    match = _STATUS_IO_ID.search(html)
    return match.group(1).lower() if match else None


def usual_paths(address: str) -> tuple[str, ...]:
    """Where sites usually keep a feed: next to the address, then at the site's root."""
    root = _root(address)
    here = address if address.endswith("/") else address.rsplit("/", 1)[0] + "/"
    places = [urljoin(here, name) for name in _GENERIC] if here != root else []
    places += [urljoin(root, name) for name in _GENERIC]
    return tuple(dict.fromkeys(places))


async def discover_feed(fetcher: Fetcher, address: str, now: datetime) -> Discovery:
    """Find the feed of `address` (a feed, a status page or a blog), as of `now`."""
    search = _Search(fetcher, now)
    first = await search.get(address)
    if first.outcome == "error" and first.http_status is None:
        return Discovery(address, None, None, search.tried_urls, first.error or "no answer")
    page = first.new_url or address
    html = ""
    if first.body is not None:
        if _is_feed(first, page, now):
            return Discovery(address, page, "feed", search.tried_urls)
        html = first.body.decode("utf-8", errors="replace")
        for link in feed_links(html, page):
            if await search.is_feed(link):
                return Discovery(address, link, "link", search.tried_urls)
    root = _root(page)
    for how, url in await search.candidates(root, html):
        if await search.is_feed(url):
            return Discovery(address, url, how, search.tried_urls)
    for url in usual_paths(page):
        if await search.is_feed(url):
            return Discovery(address, url, "path", search.tried_urls)
    return Discovery(address, None, None, search.tried_urls)


class _Search:
    """The fetches of one discovery, each address fetched at most once."""

    def __init__(self, fetcher: Fetcher, now: datetime) -> None:
        self.fetcher = fetcher
        self.now = now
        self.tried: dict[str, FetchResult] = {}

    @property
    def tried_urls(self) -> tuple[str, ...]:
        return tuple(self.tried)

    async def get(self, url: str) -> FetchResult:
        if url not in self.tried:
            self.tried[url] = await self.fetcher.fetch(FetchRequest(url), self.now)
        return self.tried[url]

    async def is_feed(self, url: str) -> bool:
        result = await self.get(url)
        return _is_feed(result, url, self.now)

    async def json(self, url: str) -> object:
        result = await self.get(url)
        if result.body is None:
            return None
        try:
            return json.loads(result.body)
        except (ValueError, UnicodeDecodeError):
            return None

    async def candidates(self, root: str, html: str) -> list[tuple[str, str]]:
        """The status-page software feeds to try, in the probe order, as (software, URL)."""
        found: list[tuple[str, str]] = []
        summary = await self.json(urljoin(root, "api/v2/summary.json"))
        if isinstance(summary, dict) and isinstance(summary.get("page"), dict):
            found += [("statuspage", urljoin(root, p)) for p in ("history.atom", "history.rss")]
        page_id = status_io_page_id(html)
        if page_id is not None:
            found.append(("statusio", urljoin(root, f"pages/{page_id}/rss")))
        index = await self.json(urljoin(root, "index.json"))
        if isinstance(index, dict) and "data" in index:
            found.append(("betterstack", urljoin(root, "feed")))
        found.append(("firehydrant", urljoin(root, "data/rss.xml")))
        found.append(("instatus", urljoin(root, "history.rss")))
        return found


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _is_feed(result: FetchResult, url: str, now: datetime) -> bool:
    """True when the fetch gave a body the feed parser reads as RSS or Atom."""
    if result.outcome != "ok" or result.body is None:
        return False
    try:
        parse_feed(result.body, url=url, fetched_at=now, content_type=result.content_type)
    except NotAFeed:
        return False
    return True
