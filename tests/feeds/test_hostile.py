"""Hostile and broken feeds, served for real: each fails alone, clearly, and is backed off.

XML bombs and external entities are defused; wrong or missing charsets still give
readable text.
"""

from __future__ import annotations

import gzip
import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from feeds.fetch import FetchLimits
from feeds.parse import NotAFeed, parse_feed
from feeds.watcher import PollSettings, poll_once
from storage import FeedSource, open_db
from storage.events import list_events
from storage.feeds import list_feeds, sync_feeds
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SETTINGS = PollSettings(
    interval=600,
    jitter=0.0,
    limits=FetchLimits(connect_timeout=0.3, read_timeout=0.3, total_timeout=1, max_bytes=50_000),
    allow_private=True,  # the test servers listen on 127.0.0.1
)
ENTITIES_REMOVED = (
    "the feed declares XML entities, which exitplan never expands; "
    "its DOCTYPE was removed before parsing"
)
ITEM = "<item><title>a {ref} b</title><guid>1</guid><description>hi</description></item>"


def _rss(items: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{prolog}<rss version="2.0"><channel><title>t</title>'
        f"{items}</channel></rss>"
    ).encode()


def _laughs(levels: int, first: str = '"lol"') -> str:
    """A DOCTYPE whose last entity expands to 10**levels copies of the first one."""
    entities = [f"<!ENTITY lol0 {first}>"]
    entities += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels + 1)]
    return "<!DOCTYPE rss [\n" + "\n".join(entities) + "\n]>\n"


def _parse(body: bytes, content_type: str | None = None) -> tuple[list[str], str | None]:
    feed = parse_feed(
        body, url="https://feeds.example.test/rss", fetched_at=NOW, content_type=content_type
    )
    return [entry.title for entry in feed.entries], feed.warning


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose listener's backlog is full, so connecting never completes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            yield f"http://127.0.0.1:{port}/feed"
        finally:
            for filler in fillers:
                filler.close()


# -- XML bombs and external entities -------------------------------------------------


@pytest.mark.parametrize(
    "prolog",
    [
        _laughs(4),
        "<!-- <a -->\n" + _laughs(4),
        _laughs(4, first='"<b>lol</b>"'),
        _laughs(4).replace("\n<!ENTITY", " <!ENTITY"),
    ],
    ids=["plain", "after-a-comment", "markup-in-a-value", "one-line"],
)
def test_entity_declarations_are_never_expanded(prolog: str) -> None:
    """Entities are removed unexpanded, however the DOCTYPE is dressed, and the entry kept.

    feedparser's own filter misses a DOCTYPE after a comment or with markup in a value,
    and expat then expands 10**4 copies below its amplification limit.
    """
    titles, warning = _parse(_rss(ITEM.format(ref="&lol4;"), prolog))

    assert titles == ["a &lol4; b"]
    assert warning is not None
    assert warning.startswith(ENTITIES_REMOVED + "; the feed is malformed (")


def test_a_billion_laughs_is_defused_quickly() -> None:
    """A full billion-laughs document (with markup, the costly kind) parses in moments."""
    body = _rss(ITEM.format(ref="&lol9;"), "<!-- <a -->\n" + _laughs(9, first='"<b>lol</b>"'))
    started = time.monotonic()

    titles, _ = _parse(body)

    assert (titles, time.monotonic() - started < 2.0) == (["a &lol9; b"], True)


def test_a_utf16_bomb_is_defused() -> None:
    """The DOCTYPE is found in a UTF-16 body too, and the entry's text survives."""
    text = _rss(ITEM.format(ref="&lol4;"), "<!-- <a -->\n" + _laughs(4)).decode()
    body = text.replace('version="1.0"?>', 'version="1.0" encoding="utf-16"?>').encode("utf-16")

    titles, warning = _parse(body)

    assert titles == ["a &lol4; b"]
    assert warning is not None
    assert warning.startswith(ENTITIES_REMOVED)


def test_an_entity_doctype_that_never_ends_is_not_a_feed() -> None:
    """Declared entities in an unterminated DOCTYPE are refused rather than guessed at."""
    with pytest.raises(NotAFeed) as raised:
        _parse(_rss(ITEM.format(ref="x"), _laughs(3))[:120])

    assert str(raised.value) == "the feed declares XML entities in a DOCTYPE that never ends"


def test_a_doctype_without_entities_is_left_alone() -> None:
    """RSS 0.91's public DOCTYPE declares no entities: nothing is removed, nothing warned."""
    prolog = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
    )

    assert _parse(_rss(ITEM.format(ref="x"), prolog)) == (["a x b"], None)


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE rss [\n<!ENTITY x SYSTEM "{secret}">\n]>\n',
        '<!-- <a -->\n<!DOCTYPE rss [\n<!ENTITY x SYSTEM "{secret}">\n]>\n',
        '<!-- <a -->\n<!DOCTYPE rss [\n<!ENTITY % p SYSTEM "{secret}">\n%p;\n]>\n',
        '<!DOCTYPE rss SYSTEM "{secret}">\n',
        '<!-- <a -->\n<!DOCTYPE rss [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n',
    ],
    ids=["general", "after-a-comment", "parameter", "external-dtd", "file"],
)
def test_external_entities_fetch_nothing(
    tmp_path: Path, feed_server: FeedServer, prolog: str
) -> None:
    """External entities and DTDs are never fetched or read; the entry is stored without them."""
    feed_server.set_response("/secret", 200, b'<!ENTITY x "PWNED">', {"Content-Type": "text/plain"})
    body = _rss(ITEM.format(ref="&x;"), prolog.format(secret=feed_server.url("/secret")))
    feed_server.set_feed("/feed", body)
    db = _setup(tmp_path, feed_server, "/feed")

    poll_once(db, NOW, SETTINGS, every_feed=True)

    assert [e.title for e in list_events(db, include_other=True)] == ["a &x; b"]
    assert [r.path for r in feed_server.requests] == ["/feed"]


# -- charsets -------------------------------------------------------------------------

TITLE = "Déjà vu: Zürich région fermée"
TEXT = "Données supprimées — à bientôt"
CHARSET_ITEM = f"<item><title>{TITLE}</title><guid>1</guid><description>{TEXT}</description></item>"


@pytest.mark.parametrize(
    ("codec", "declared", "content_type"),
    [
        ("cp1252", "utf-8", "application/rss+xml; charset=utf-8"),
        ("cp1252", "utf-8", "application/rss+xml"),
        ("utf-8", "iso-8859-1", "application/rss+xml; charset=iso-8859-1"),
        ("utf-8", "iso-8859-1", "application/rss+xml"),
        ("utf-8", None, "application/rss+xml"),
        ("utf-8", None, "text/xml"),
        ("cp1252", None, "text/xml"),
        ("utf-8", None, "application/rss+xml; charset=utf-8"),
    ],
    ids=[
        "latin-as-utf8-header",
        "latin-as-utf8-decl",
        "utf8-as-latin-header",
        "utf8-as-latin-decl",
        "utf8-undeclared",
        "utf8-text-xml",
        "latin-undeclared",
        "utf8-right",
    ],
)
def test_wrong_or_missing_charsets_still_read(
    tmp_path: Path,
    feed_server: FeedServer,
    codec: str,
    declared: str | None,
    content_type: str,
) -> None:
    """A body in one encoding declared as another, or not declared at all, stays readable."""
    encoding = f' encoding="{declared}"' if declared else ""
    xml = (
        f'<?xml version="1.0"{encoding}?>\n<rss version="2.0"><channel><title>t</title>'
        f"{CHARSET_ITEM}</channel></rss>"
    )
    feed_server.set_response("/feed", 200, xml.encode(codec), {"Content-Type": content_type})
    db = _setup(tmp_path, feed_server, "/feed")

    poll_once(db, NOW, SETTINGS, every_feed=True)

    assert [(e.title, e.text) for e in list_events(db, include_other=True)] == [(TITLE, TEXT)]


# -- the poll cycle under every fault at once --------------------------------------------


def _setup(
    tmp_path: Path, server: FeedServer, *paths: str, extra: tuple[str, ...] = ()
) -> Database:
    db = open_db(tmp_path / "exitplan.db")
    urls = [server.url(path) for path in paths] + list(extra)
    sync_feeds(db, [FeedSource("example", url, "news") for url in urls], NOW)
    return db


def test_every_fault_is_recorded_on_its_feed_while_the_cycle_goes_on(
    tmp_path: Path, feed_server: FeedServer, unanswered_url: str
) -> None:
    """One cycle meets every fault at once: each feed records its error and backs off alone."""
    server = feed_server
    server.set_feed("/ok", (DATA / "statuspage_history.rss").read_bytes())
    server.set_feed("/silent", b"<rss/>")
    server.set_delay("/silent", 10)
    server.set_trickle("/trickle", interval=0.05)
    server.set_response("/busy", 503, b"busy", {"Retry-After": "7200"})
    server.set_response("/error", 500, b"oops")
    server.set_response("/missing", 404, b"no")
    server.set_redirect("/loop", "/loop")
    for hop in range(7):
        server.set_redirect(f"/hop{hop}", f"/hop{hop + 1}", 302)
    server.set_feed("/big", b"<rss>" + b" " * 60_000 + b"</rss>")
    server.set_response("/bomb", 200, gzip.compress(b" " * 5_000_000), {"Content-Encoding": "gzip"})
    server.set_feed("/page", (DATA / "not_a_feed.html").read_bytes(), "text/html")
    server.set_feed("/cut", b"<?xml version='1.0'?><rss><channel><item")
    server.set_feed("/broken", (DATA / "broken.xml").read_bytes())
    paths = ["/ok", "/silent", "/trickle", "/busy", "/error", "/missing", "/loop", "/hop0"]
    paths += ["/big", "/bomb", "/page", "/cut", "/broken"]
    db = _setup(tmp_path, server, *paths, extra=(unanswered_url,))

    summary = poll_once(db, NOW, SETTINGS, rng=random.Random(1), every_feed=True)

    state = {
        feed.url.removeprefix(server.url("")): (
            feed.last_error_kind,
            feed.last_error,
            feed.last_status,
        )
        for feed in list_feeds(db)
    }
    assert state == {
        unanswered_url: ("timeout", "could not connect within 0.3 s", None),
        "/ok": (None, None, 200),
        "/silent": ("timeout", "the server sent nothing for 0.3 s", None),
        "/trickle": ("timeout", "no complete answer within 1 s", None),
        "/busy": ("http_5xx", "HTTP 503 Service Unavailable", 503),
        "/error": ("http_5xx", "HTTP 500 Internal Server Error", 500),
        "/missing": ("http_4xx", "HTTP 404 Not Found", 404),
        "/loop": (
            "too_many_redirects",
            f"more than 5 redirects, last to {server.url('/loop')}",
            None,
        ),
        "/hop0": (
            "too_many_redirects",
            f"more than 5 redirects, last to {server.url('/hop6')}",
            None,
        ),
        "/big": ("too_large", "the feed is larger than 50,000 bytes", None),
        "/bomb": ("too_large", "the feed inflates past 50,000 bytes", None),
        "/page": (
            "not_a_feed",
            "the server sent an HTML page, not a feed: look for a <link rel=alternate> feed "
            "URL on it",
            200,
        ),
        "/cut": (
            "not_a_feed",
            "the feed is not well-formed XML and no entry could be read "
            "(<unknown>:1:52: unclosed token)",
            200,
        ),
        "/broken": (None, None, 200),
    }
    assert (summary.polled, len(summary.failures), summary.new_entries) == (14, 12, 4)
    titles = {event.title for event in list_events(db, include_other=True)}
    assert "Cold storage tier will be retired" in titles  # the readable part of /broken

    waits = {
        feed.url.removeprefix(server.url("")): feed.next_poll_at - NOW
        for feed in list_feeds(db)
        if feed.next_poll_at is not None and feed.failure_count
    }
    assert len(waits) == 12
    assert min(waits.values()) >= timedelta(seconds=450)  # backed off: 600 s x 0.75 or more
    assert waits["/busy"] >= timedelta(seconds=7200)  # never sooner than Retry-After
    assert poll_once(db, NOW + timedelta(minutes=5), SETTINGS).polled == 0
