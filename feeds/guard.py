"""The address guard: exitplan fetches feeds only from publicly routable addresses.

Feed URLs come from users and from redirects chosen by strangers, so a fetch must not be
turned against the network exitplan runs in (its loopback, the intranet, a cloud
metadata endpoint). The guard is applied where the connection's addresses are decided:
`GuardedResolver` filters the very lookup aiohttp connects with (a second lookup cannot
rebind the name behind the check), and `Fetcher` checks IP-literal hosts, which aiohttp
never resolves, before each request and after each redirect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The setting that lets exitplan fetch from private addresses, named in every refusal.
ALLOW_VARIABLE: Final = "EXITPLAN_ALLOW_PRIVATE_FEEDS"
#: Cloud instance metadata services (most clouds; AWS over IPv6; Alibaba Cloud): refused
#: even when private feeds are allowed.
METADATA_ADDRESSES: Final = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = "a cloud metadata address"


class BlockedAddress(OSError):
    """A connection the guard refused; the message names the address and the fix."""

    def __init__(self, message: str, address: str) -> None:
        super().__init__(message)
        self.message = message
        self.address = address

    def __str__(self) -> str:
        return self.message


def address_class(address: IPAddress) -> str | None:
    """What makes an address non-public ("a loopback address", …), or None if it is public.

    Addresses that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by it.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_class(embedded)
        address = ipaddress.IPv6Address(address.compressed.split("%")[0])  # drop a zone id
    checks: tuple[tuple[bool, str], ...] = (
        (address in METADATA_ADDRESSES, _METADATA),
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address in _THIS_NETWORK, "a 'this network' address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "a non-public address"),
    )
    return next((label for matched, label in checks if matched), None)


class AddressGuard:
    """Decides which addresses exitplan may connect to.

    By default only public addresses pass. `allow_private` (EXITPLAN_ALLOW_PRIVATE_FEEDS)
    lets every address through except cloud metadata endpoints; `allow` lets exactly the
    given networks through (e.g. one test server's address).
    """

    def __init__(self, *, allow_private: bool = False, allow: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.allow: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(net) for net in allow)

    def refusal(self, address: str, host: str | None = None) -> str | None:
        """Why a connection to `address` (resolved from `host`) is refused, or None."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return f"{host or address} resolves to {address!r}, which is not an IP address"
        if any(parsed in net for net in self.allow):
            return None
        what = address_class(parsed)
        if what is None:
            return None
        if self.allow_private and what != _METADATA:
            return None
        if host is None or host == address:
            subject = f"{address} is {what}"
        else:
            subject = f"{host} resolves to {address}, {what}"
        if what == _METADATA:
            return f"{subject}; exitplan never fetches from it"
        return f"{subject}; set {ALLOW_VARIABLE}=1 if this feed is on your intranet"

    def check_literal(self, host: str) -> str | None:
        """Why a URL whose host is an IP literal is refused; None for names and allowed IPs."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            try:  # a legacy numeric form ("127.1", "0x7f.0.0.1") the socket layer would accept
                address = ipaddress.IPv4Address(socket.inet_aton(host))
            except OSError:
                return None  # a name: the resolver checks what it resolves to
        return self.refusal(str(address), host)


class GuardedResolver(AbstractResolver):
    """Resolves names with another resolver and keeps only the addresses the guard allows.

    aiohttp connects to exactly the addresses this returns, so the check covers the
    lookup the connection uses. When every address is refused, `BlockedAddress` is raised.
    """

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self._guard = guard
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve `host`, dropping refused addresses; raise BlockedAddress if none is left."""
        if self._inner is None:
            self._inner = ThreadedResolver(asyncio.get_running_loop())
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refusals: list[tuple[str, str]] = []
        for result in results:
            reason = self._guard.refusal(result["host"], host)
            if reason is None:
                allowed.append(result)
            else:
                refusals.append((reason, result["host"]))
        if not allowed and refusals:
            reason, address = refusals[0]
            raise BlockedAddress(reason, address)
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        if self._inner is not None:
            await self._inner.close()
