"""Fetching feeds over real HTTP from a local FeedServer."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import itertools
import socket
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from feeds.fetch import (
    ACCEPT,
    USER_AGENT,
    ErrorKind,
    Fetcher,
    FetchLimits,
    FetchRequest,
    FetchResult,
)
from feeds.guard import AddressGuard
from tests.servers import FeedServer

NOW = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
SMALL = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=5, max_bytes=100_000)
#: The test servers listen on 127.0.0.1, which the default guard refuses.
LOOPBACK = AddressGuard(allow_private=True)


def fetch(
    request: FetchRequest, limits: FetchLimits = SMALL, resolver: AbstractResolver | None = None
) -> FetchResult:
    """Run one fetch in a fresh event loop and drop the timing so results compare whole."""

    async def run() -> FetchResult:
        async with Fetcher(limits, guard=LOOPBACK, resolver=resolver) as fetcher:
            return await fetcher.fetch(request, NOW)

    return replace(asyncio.run(run()), elapsed=0.0)


def sha(body: bytes) -> str:
    """The body hash the fetcher reports."""
    return hashlib.sha256(body).hexdigest()


def error(url: str, kind: ErrorKind, message: str, status: int | None = None) -> FetchResult:
    """The result of a failed fetch, as the tests expect it."""
    return FetchResult(
        url=url,
        outcome="error",
        http_status=status,
        error_kind=kind,
        error=message,
    )


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL on 127.0.0.1 whose port is bound but not listening, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/feed"


def test_first_fetch_returns_body_validators_and_hash(feed_server: FeedServer) -> None:
    """A 200 answer gives the body, its sha256, the validators and the content type."""
    feed_server.set_feed("/feed", FEED, etag='"v1"', last_modified="Fri, 15 Mar 2024 10:00:00 GMT")
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == FetchResult(
        url=url,
        outcome="ok",
        body=FEED,
        body_hash=sha(FEED),
        etag='"v1"',
        last_modified="Fri, 15 Mar 2024 10:00:00 GMT",
        http_status=200,
        content_type="application/rss+xml",
    )


def test_second_fetch_sends_validators_and_gets_not_modified(feed_server: FeedServer) -> None:
    """The stored ETag and Last-Modified go out as conditional headers and a 304 comes back."""
    feed_server.set_feed("/feed", FEED)
    url = feed_server.url("/feed")
    first = fetch(FetchRequest(url))

    second = fetch(FetchRequest(url, etag=first.etag, last_modified=first.last_modified))

    assert second == FetchResult(
        url=url,
        outcome="not_modified",
        etag=first.etag,
        last_modified=first.last_modified,
        http_status=304,
    )
    headers = feed_server.requests[-1].headers
    assert (headers.get("If-None-Match"), headers.get("If-Modified-Since")) == (
        first.etag,
        first.last_modified,
    )


def test_last_modified_alone_gets_not_modified(feed_server: FeedServer) -> None:
    """A feed without an ETag is still revalidated with If-Modified-Since."""
    feed_server.set_feed("/feed", FEED, etag=None, last_modified="Fri, 15 Mar 2024 10:00:00 GMT")
    url = feed_server.url("/feed")

    result = fetch(FetchRequest(url, last_modified="Fri, 15 Mar 2024 10:00:00 GMT"))

    assert (result.outcome, result.http_status) == ("not_modified", 304)


def test_changed_feed_is_fetched_despite_old_validators(feed_server: FeedServer) -> None:
    """When the feed changes, the old ETag no longer matches and the new body arrives."""
    feed_server.set_feed("/feed", FEED)
    url = feed_server.url("/feed")
    first = fetch(FetchRequest(url))
    changed = FEED.replace(b"<title>t</title>", b"<title>t2</title>")
    feed_server.set_feed("/feed", changed)

    second = fetch(FetchRequest(url, etag=first.etag, last_modified=first.last_modified))

    assert (second.outcome, second.body, second.body_hash) == ("ok", changed, sha(changed))


def test_same_body_is_unchanged_and_dropped(feed_server: FeedServer) -> None:
    """A 200 whose body hashes to the previous hash is reported unchanged, without the body."""
    feed_server.set_feed("/feed", FEED, etag=None, last_modified=None)
    url = feed_server.url("/feed")

    result = fetch(FetchRequest(url, previous_hash=sha(FEED)))

    assert result == FetchResult(
        url=url,
        outcome="unchanged",
        body_hash=sha(FEED),
        http_status=200,
        content_type="application/rss+xml",
    )


def test_identity_headers_are_sent(feed_server: FeedServer) -> None:
    """Every request names exitplan, asks for feeds first and offers gzip and deflate."""
    feed_server.set_feed("/feed", FEED)

    fetch(FetchRequest(feed_server.url("/feed")))

    headers = feed_server.requests[-1].headers
    assert (headers["User-Agent"], headers["Accept"], headers["Accept-Encoding"]) == (
        USER_AGENT,
        ACCEPT,
        "gzip, deflate",
    )
    assert USER_AGENT.startswith("exitplan/")


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    """A gzip-encoded feed arrives decompressed, hashed over the decompressed bytes."""
    feed_server.set_feed("/feed", FEED, gzip=True)

    result = fetch(FetchRequest(feed_server.url("/feed")))

    assert (result.outcome, result.body, result.body_hash) == ("ok", FEED, sha(FEED))


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib-wrapped", "raw"])
def test_deflate_body_is_decoded(feed_server: FeedServer, wbits: int) -> None:
    """Deflate bodies decode whether the server wraps them in zlib framing or not."""
    encoder = zlib.compressobj(wbits=wbits)
    feed_server.set_response(
        "/feed", 200, encoder.compress(FEED) + encoder.flush(), {"Content-Encoding": "deflate"}
    )

    result = fetch(FetchRequest(feed_server.url("/feed")))

    assert (result.outcome, result.body) == ("ok", FEED)


def test_gzip_bomb_stops_at_the_decompressed_cap(feed_server: FeedServer) -> None:
    """A small gzip body that inflates to 50 MB is refused once it passes max_bytes."""
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < SMALL.max_bytes
    feed_server.set_response("/feed", 200, bomb, {"Content-Encoding": "gzip"})
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(
        url, "too_large", "the feed inflates past 100,000 bytes"
    )


def test_body_over_the_cap_is_too_large(feed_server: FeedServer) -> None:
    """A body whose Content-Length exceeds max_bytes is refused without reading it."""
    feed_server.set_feed("/feed", b"x" * 100_001)
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(
        url, "too_large", "the feed is larger than 100,000 bytes"
    )


def test_streamed_body_over_the_cap_is_too_large(feed_server: FeedServer) -> None:
    """A body without Content-Length is counted as it streams and cut at max_bytes."""
    feed_server.set_trickle("/feed", first=b"x" * 100_001)
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(
        url, "too_large", "the feed is larger than 100,000 bytes"
    )


def test_corrupt_gzip_is_a_network_error(feed_server: FeedServer) -> None:
    """A body that claims gzip but is not is reported as damaged in transit."""
    feed_server.set_response("/feed", 200, b"this is not gzip", {"Content-Encoding": "gzip"})

    result = fetch(FetchRequest(feed_server.url("/feed")))

    assert (result.outcome, result.error_kind) == ("error", "network")


def test_unrequested_encoding_is_not_a_feed(feed_server: FeedServer) -> None:
    """A body in an encoding exitplan did not offer (brotli) is refused with its name."""
    feed_server.set_response("/feed", 200, b"\x1b\x00", {"Content-Encoding": "br"})
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(
        url, "not_a_feed", "the server sent the body in the 'br' encoding, which was not asked for"
    )


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (410, "Gone")])
def test_client_errors_are_http_4xx(feed_server: FeedServer, status: int, reason: str) -> None:
    """A 4xx answer is an http_4xx error whose message names the status."""
    feed_server.set_response("/feed", status, b"<html>gone</html>", {"Content-Type": "text/html"})
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(url, "http_4xx", f"HTTP {status} {reason}", status)


def test_503_with_retry_after_seconds(feed_server: FeedServer) -> None:
    """A 503 is http_5xx and carries the server's Retry-After in seconds."""
    feed_server.set_response("/feed", 503, b"", {"Retry-After": "120"})
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == replace(
        error(url, "http_5xx", "HTTP 503 Service Unavailable", 503), retry_after=120.0
    )


def test_retry_after_as_http_date_is_relative_to_now(feed_server: FeedServer) -> None:
    """A Retry-After HTTP-date becomes the seconds between `now` and that date."""
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    feed_server.set_response("/feed", 502, b"", {"Retry-After": later})

    result = fetch(FetchRequest(feed_server.url("/feed")))

    assert (result.error_kind, result.retry_after) == ("http_5xx", 90.0)


def test_500_without_retry_after_has_none(feed_server: FeedServer) -> None:
    """A 5xx without Retry-After leaves retry_after empty."""
    feed_server.set_response("/feed", 500)
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(url, "http_5xx", "HTTP 500 Internal Server Error", 500)


def test_429_is_its_own_kind_with_retry_after(feed_server: FeedServer) -> None:
    """Rate limiting is http_429, not a generic 4xx, and keeps the Retry-After hint."""
    feed_server.set_response("/feed", 429, b"", {"Retry-After": "30"})
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == replace(
        error(url, "http_429", "HTTP 429 Too Many Requests", 429), retry_after=30.0
    )


def test_permanent_redirects_report_the_new_url(feed_server: FeedServer) -> None:
    """A chain of 301 and 308 redirects ends in the feed and names its new address."""
    feed_server.set_redirect("/old", "/middle", 301)
    feed_server.set_redirect("/middle", feed_server.url("/feed"), 308)
    feed_server.set_feed("/feed", FEED)

    result = fetch(FetchRequest(feed_server.url("/old")))

    assert (result.outcome, result.body, result.new_url) == ("ok", FEED, feed_server.url("/feed"))


@pytest.mark.parametrize("temporary", [302, 303, 307])
def test_a_temporary_redirect_keeps_the_old_url(feed_server: FeedServer, temporary: int) -> None:
    """One temporary hop in the chain means the stored URL must not change."""
    feed_server.set_redirect("/old", "/middle", 301)
    feed_server.set_redirect("/middle", "/feed", temporary)
    feed_server.set_feed("/feed", FEED)

    result = fetch(FetchRequest(feed_server.url("/old")))

    assert (result.outcome, result.body, result.new_url) == ("ok", FEED, None)


def test_redirect_loop_is_too_many_redirects(feed_server: FeedServer) -> None:
    """A redirect loop stops after max_redirects hops."""
    feed_server.set_redirect("/loop", "/loop")
    url = feed_server.url("/loop")

    assert fetch(FetchRequest(url)) == error(
        url, "too_many_redirects", f"more than 5 redirects, last to {url}"
    )
    assert feed_server.hits("/loop") == 6


def test_redirect_to_another_scheme_is_bad_url(feed_server: FeedServer) -> None:
    """A redirect may only lead to http or https."""
    feed_server.set_redirect("/feed", "file:///etc/passwd")
    url = feed_server.url("/feed")

    assert fetch(FetchRequest(url)) == error(
        url, "bad_url", "redirected to 'file:///etc/passwd' is not an http(s) URL"
    )


@pytest.mark.parametrize("url", ["ftp://example.test/feed", "not a url", "http:///feed"])
def test_unusable_url_is_bad_url(url: str) -> None:
    """A URL that is not absolute http(s) is refused before any connection."""
    assert fetch(FetchRequest(url)) == error(
        url, "bad_url", f"the feed URL {url!r} is not an http(s) URL"
    )


def test_trickling_server_times_out_at_total_timeout(feed_server: FeedServer) -> None:
    """A server that keeps sending a byte now and then is cut off at total_timeout."""
    feed_server.set_trickle("/feed", interval=0.05)
    limits = replace(SMALL, total_timeout=0.5)
    url = feed_server.url("/feed")

    async def run() -> FetchResult:
        async with Fetcher(limits, guard=LOOPBACK) as fetcher:
            return await fetcher.fetch(FetchRequest(url), NOW)

    result = asyncio.run(run())

    assert replace(result, elapsed=0.0) == error(url, "timeout", "no complete answer within 0.5 s")
    assert 0.5 <= result.elapsed < 2.0


def test_silent_server_hits_the_read_timeout(feed_server: FeedServer) -> None:
    """A server that accepts the request and says nothing fails at read_timeout."""
    feed_server.set_feed("/feed", FEED)
    feed_server.set_delay("/feed", 10)
    url = feed_server.url("/feed")

    result = fetch(FetchRequest(url), replace(SMALL, read_timeout=0.3))

    assert result == error(url, "timeout", "the server sent nothing for 0.3 s")


def test_connection_refused_is_network(refused_url: str) -> None:
    """A closed port is a network error naming the host."""
    result = fetch(FetchRequest(refused_url))

    assert (result.outcome, result.error_kind) == ("error", "network")
    assert result.error is not None
    assert "Cannot connect to host 127.0.0.1" in result.error


def test_tls_handshake_failure_is_tls(feed_server: FeedServer) -> None:
    """Speaking TLS to a plain-HTTP server fails as tls, not as a generic network error."""
    url = feed_server.url("/feed").replace("http://", "https://")

    result = fetch(FetchRequest(url))

    assert (result.outcome, result.error_kind) == ("error", "tls")


class NoSuchHostResolver(AbstractResolver):
    """A resolver that knows no names, standing in for a DNS server that answers NXDOMAIN."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Fail the way the system resolver does for an unknown name."""
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        """Nothing to release."""


def test_dns_failure_is_dns() -> None:
    """A name that does not resolve is a dns error naming the host."""
    url = "http://feeds.nowhere.test/feed"

    result = fetch(FetchRequest(url), resolver=NoSuchHostResolver())

    assert result == error(
        url, "dns", "cannot resolve feeds.nowhere.test: Name or service not known"
    )


def test_fetch_many_keeps_input_order_and_reports_each(feed_server: FeedServer) -> None:
    """Results come back in input order while on_result sees them as they complete."""
    paths = ["/slow", "/a", "/b", "/missing"]
    for path in paths[:3]:
        feed_server.set_feed(path, path.encode())
    feed_server.set_delay("/slow", 0.3)
    requests = [FetchRequest(feed_server.url(path)) for path in paths]
    seen: list[str] = []

    async def run() -> list[FetchResult]:
        async with Fetcher(SMALL, guard=LOOPBACK) as fetcher:
            return await fetcher.fetch_many(requests, NOW, lambda r: seen.append(r.url))

    results = asyncio.run(run())

    assert [(r.url, r.outcome, r.body) for r in results] == [
        (feed_server.url("/slow"), "ok", b"/slow"),
        (feed_server.url("/a"), "ok", b"/a"),
        (feed_server.url("/b"), "ok", b"/b"),
        (feed_server.url("/missing"), "error", None),
    ]
    assert sorted(seen) == sorted(r.url for r in requests)
    assert seen[-1] == feed_server.url("/slow")


def test_fetch_many_respects_the_per_host_limit(feed_server: FeedServer) -> None:
    """With per_host=1 the server never sees two requests for one host at once."""
    paths = [f"/f{i}" for i in range(4)]
    for path in paths:
        feed_server.set_feed(path, FEED)
        feed_server.set_delay(path, 0.05)
    limits = replace(SMALL, per_host=1)

    async def run() -> list[FetchResult]:
        async with Fetcher(limits, guard=LOOPBACK) as fetcher:
            return await fetcher.fetch_many([FetchRequest(feed_server.url(p)) for p in paths], NOW)

    results = asyncio.run(run())

    assert [r.outcome for r in results] == ["ok"] * 4
    starts = sorted(request.time for request in feed_server.requests)
    assert all(later - earlier >= 0.04 for earlier, later in itertools.pairwise(starts))
