"""The address guard: private, loopback and metadata addresses are refused unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from feeds.fetch import Fetcher, FetchLimits, FetchRequest, FetchResult
from feeds.guard import AddressGuard, address_class
from feeds.watcher import PollSettings, poll_once
from storage import FeedSource, open_db
from storage.feeds import list_feeds, sync_feeds
from tests.servers import FeedServer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LIMITS = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=5)
FIX = "set EXITPLAN_ALLOW_PRIVATE_FEEDS=1 if this feed is on your intranet"
#: Lets exactly the test server's address through, so other loopback addresses stay refused.
ONLY_THE_SERVER = AddressGuard(allow=["127.0.0.1"])


class TableResolver(AbstractResolver):
    """Answers names from a table, one answer per call in turn (the last one repeats)."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Return the next answer for `host`, as the system resolver would shape it."""
        answers = self.table[host]
        answer = answers[min(self.calls.count(host), len(answers) - 1)]
        self.calls.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in answer
        ]

    async def close(self) -> None:
        """Nothing to release."""


def fetch(
    url: str, guard: AddressGuard | None = None, resolver: AbstractResolver | None = None
) -> FetchResult:
    """Fetch one URL in a fresh event loop and drop the timing so results compare whole."""

    async def run() -> FetchResult:
        async with Fetcher(LIMITS, guard=guard, resolver=resolver) as fetcher:
            return await fetcher.fetch(FetchRequest(url), NOW)

    return replace(asyncio.run(run()), elapsed=0.0)


def blocked(url: str, message: str) -> FetchResult:
    """The result of a fetch the guard refused."""
    return FetchResult(url=url, outcome="error", error_kind="blocked", error=message)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - an address to refuse
        ("::", "an unspecified address"),
        ("0.1.2.3", "a 'this network' address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("192.0.2.1", "a private address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("64:ff9b::a00:1", "a private address"),
        ("2002:7f00:1::", "a loopback address"),
        ("8.8.8.8", None),
        ("2606:4700::1", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_address_class_names_every_non_public_range(address: str, expected: str | None) -> None:
    """Each non-public range gets its name (embedded IPv4 judged by itself); public is None."""
    assert address_class(ipaddress.ip_address(address)) == expected


def test_refusals_name_the_address_and_the_fix() -> None:
    """A refusal says which address, what it is, and the setting that allows it."""
    guard = AddressGuard()

    assert [
        guard.refusal("10.0.0.5"),
        guard.refusal("10.0.0.5", "intranet.test"),
        guard.refusal("169.254.169.254"),
        guard.refusal("93.184.216.34", "example.test"),
    ] == [
        f"10.0.0.5 is a private address; {FIX}",
        f"intranet.test resolves to 10.0.0.5, a private address; {FIX}",
        "169.254.169.254 is a cloud metadata address; exitplan never fetches from it",
        None,
    ]


def test_allow_private_lets_everything_but_metadata_through() -> None:
    """The operator's flag opens loopback and private ranges, never the metadata endpoint."""
    guard = AddressGuard(allow_private=True)

    addresses = ("127.0.0.1", "::1", "10.0.0.5", "169.254.169.254", "::ffff:169.254.169.254")
    assert [guard.refusal(a) for a in addresses] == [
        None,
        None,
        None,
        "169.254.169.254 is a cloud metadata address; exitplan never fetches from it",
        "::ffff:169.254.169.254 is a cloud metadata address; exitplan never fetches from it",
    ]


def test_the_default_fetcher_refuses_the_loopback_server(feed_server: FeedServer) -> None:
    """Without the flag, a feed on 127.0.0.1 is refused before any request is sent."""
    feed_server.set_feed("/feed", FEED)
    url = feed_server.url("/feed")

    assert fetch(url) == blocked(url, f"127.0.0.1 is a loopback address; {FIX}")
    assert feed_server.requests == []


def test_the_flag_allows_the_loopback_server(feed_server: FeedServer) -> None:
    """With allow_private the same feed is fetched."""
    feed_server.set_feed("/feed", FEED)

    result = fetch(feed_server.url("/feed"), AddressGuard(allow_private=True))

    assert (result.outcome, result.body) == ("ok", FEED)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1]:8080/feed", f"::1 is a loopback address; {FIX}"),
        ("http://10.0.0.1/feed", f"10.0.0.1 is a private address; {FIX}"),
        ("http://192.168.0.10:8080/rss", f"192.168.0.10 is a private address; {FIX}"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a cloud metadata address; exitplan never fetches from it",
        ),
        ("http://[::ffff:127.0.0.1]/feed", f"::ffff:7f00:1 is a loopback address; {FIX}"),
        ("http://0x7f.0.0.1/feed", f"0x7f.0.0.1 resolves to 127.0.0.1, a loopback address; {FIX}"),
        ("http://0.0.0.0:8080/feed", f"0.0.0.0 is an unspecified address; {FIX}"),
    ],
)
def test_ip_literal_urls_are_refused_before_connecting(url: str, message: str) -> None:
    """IP-literal hosts, which aiohttp never resolves, are checked by the fetcher itself."""
    assert fetch(url) == blocked(url, message)


def test_a_name_resolving_to_loopback_is_refused(feed_server: FeedServer) -> None:
    """`localhost` resolves to loopback addresses, so the resolver's answer is refused."""
    feed_server.set_feed("/feed", FEED)
    url = f"http://localhost:{feed_server.port}/feed"

    result = fetch(url)

    assert result.error in {
        f"localhost resolves to {address}, a loopback address; {FIX}"
        for address in ("127.0.0.1", "::1")
    }
    assert (result.outcome, result.error_kind, feed_server.requests) == ("error", "blocked", [])


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    """The resolver's answer is checked: a public-looking name on 10.0.0.5 is refused."""
    resolver = TableResolver({"feeds.intranet.test": [["10.0.0.5"]]})
    url = "http://feeds.intranet.test/rss"

    assert fetch(url, resolver=resolver) == blocked(
        url, f"feeds.intranet.test resolves to 10.0.0.5, a private address; {FIX}"
    )


def test_refused_answers_are_dropped_and_allowed_ones_used(feed_server: FeedServer) -> None:
    """A name answering both a refused and an allowed address connects to the allowed one."""
    feed_server.set_feed("/feed", FEED)
    resolver = TableResolver({"mixed.test": [["10.0.0.5", "127.0.0.1"]]})

    result = fetch(f"http://mixed.test:{feed_server.port}/feed", ONLY_THE_SERVER, resolver)

    assert (result.outcome, result.body, feed_server.hits("/feed")) == ("ok", FEED, 1)


def test_a_redirect_to_a_refused_literal_is_blocked(feed_server: FeedServer) -> None:
    """Every redirect hop is checked: the allowed server may not send exitplan to 127.0.0.2."""
    target = f"http://127.0.0.2:{feed_server.port}/feed"
    feed_server.set_redirect("/old", target)
    url = feed_server.url("/old")

    assert fetch(url, ONLY_THE_SERVER) == blocked(
        url, f"redirected to {target}: 127.0.0.2 is a loopback address; {FIX}"
    )
    assert [request.path for request in feed_server.requests] == ["/old"]


def test_a_redirect_to_a_name_on_a_private_address_is_blocked(feed_server: FeedServer) -> None:
    """A redirect to a name is checked when that name is resolved for the next hop."""
    feed_server.set_redirect("/old", "http://metadata.internal.test/latest")
    resolver = TableResolver({"metadata.internal.test": [["169.254.169.254"]]})
    url = feed_server.url("/old")

    assert fetch(url, ONLY_THE_SERVER, resolver) == blocked(
        url,
        "metadata.internal.test resolves to 169.254.169.254, a cloud metadata address; "
        "exitplan never fetches from it",
    )
    assert resolver.calls == ["metadata.internal.test"]


def test_dns_rebinding_is_caught_on_the_lookup_the_connection_uses(
    feed_server: FeedServer,
) -> None:
    """A name that answers an allowed address, then a loopback one, is refused the second time.

    Each connection resolves once, through the guard: there is no earlier check whose
    answer a rebinding DNS server could change before the connection is made.
    """
    feed_server.set_feed("/feed", FEED)
    resolver = TableResolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    url = f"http://rebind.test:{feed_server.port}/feed"

    first = fetch(url, ONLY_THE_SERVER, resolver)
    assert (first.outcome, resolver.calls) == ("ok", ["rebind.test"])

    second = fetch(url, ONLY_THE_SERVER, resolver)
    assert second == blocked(url, f"rebind.test resolves to 127.0.0.2, a loopback address; {FIX}")
    assert (resolver.calls, feed_server.hits("/feed")) == (["rebind.test"] * 2, 1)


@pytest.mark.parametrize("allow_private", [False, True])
def test_the_watcher_fetches_private_feeds_only_when_allowed(
    tmp_path: Path, feed_server: FeedServer, allow_private: bool
) -> None:
    """PollSettings.allow_private reaches the fetcher; without it the refusal is recorded."""
    feed_server.set_feed("/feed", FEED)
    db = open_db(tmp_path / "exitplan.db")
    sync_feeds(db, [FeedSource("example", feed_server.url("/feed"), "news")], NOW)
    settings = PollSettings(limits=LIMITS, allow_private=allow_private)

    poll_once(db, NOW, settings, rng=random.Random(1), every_feed=True)

    feed = list_feeds(db)[0]
    expected = (
        (0, None, None)
        if allow_private
        else (1, "blocked", f"127.0.0.1 is a loopback address; {FIX}")
    )
    assert (feed.failure_count, feed.last_error_kind, feed.last_error) == expected
    assert feed_server.hits("/feed") == int(allow_private)
