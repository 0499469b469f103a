"""Fetch feeds over HTTP: conditional GET, size and time limits, redirects, closed error kinds.

This module does HTTP only. Every failure becomes a `FetchResult` whose `error_kind` is
one of `ErrorKind`; no aiohttp, ssl or zlib exception escapes `Fetcher.fetch`.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from http import HTTPStatus
from types import TracebackType
from typing import Final, Literal, Self

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from feeds.guard import AddressGuard, BlockedAddress, GuardedResolver
from feeds.http_hints import (
    PERMANENT_STATUSES,
    REDIRECT_STATUSES,
    BadURL,
    check_url,
    parse_retry_after,
    redirect_target,
)
from feeds.inflate import InflateError, InflateProblem, inflater_for

ErrorKind = Literal[
    "timeout",
    "network",
    "tls",
    "dns",
    "http_4xx",
    "http_5xx",
    "http_429",
    "too_large",
    "too_many_redirects",
    "not_a_feed",
    "bad_url",
    "blocked",
]
Outcome = Literal["ok", "not_modified", "unchanged", "error"]

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_CHUNK = 64 * 1024
#: How a failure to decompress the body is reported.
_INFLATE_KINDS: Final[dict[InflateProblem, ErrorKind]] = {
    "corrupt": "network",
    "too_large": "too_large",
    "unsupported": "not_a_feed",
}


def _version() -> str:
    try:
        return importlib.metadata.version("exitplan")
    except importlib.metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"exitplan/{_version()} (+https://github.com/exitplan/exitplan)"


@dataclass(frozen=True)
class FetchLimits:
    """How long, how much and how many: the bounds every fetch keeps to (seconds, bytes)."""

    connect_timeout: float = 10
    read_timeout: float = 30
    total_timeout: float = 60
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    concurrency: int = 50
    per_host: int = 4


@dataclass(frozen=True)
class FetchRequest:
    """A feed URL with the validators and body hash remembered from the last fetch."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    previous_hash: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What one fetch gave: a body, "not modified", "unchanged", or an error of a known kind.

    `new_url` is set on success when every redirect on the way was permanent (301/308),
    so the caller can store the new address. `unchanged` means a 200 whose body hashed to
    the request's `previous_hash`; the body is then dropped.
    """

    url: str
    outcome: Outcome
    body: bytes | None = None
    body_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    new_url: str | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    retry_after: float | None = None
    elapsed: float = 0.0
    content_type: str | None = None


class _Failure(Exception):
    """A fetch that ended in one of the known error kinds (internal to this module)."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after


class Fetcher:
    """Fetches feeds through one aiohttp session; use it as an async context manager.

    Every address goes through `guard` (by default only public addresses pass): names
    through a resolver that filters the lookup the connection uses, IP literals before
    each request and redirect. `resolver` substitutes name resolution (tests use it).
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        guard: AddressGuard | None = None,
        resolver: AbstractResolver | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._limits = limits or FetchLimits()
        self._guard = guard or AddressGuard()
        self._resolver = resolver
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(self._limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.concurrency,
            limit_per_host=limits.per_host,
            ttl_dns_cache=300,
            resolver=GuardedResolver(self._guard, self._resolver),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=limits.connect_timeout,
                sock_connect=limits.connect_timeout,
                sock_read=limits.read_timeout,
            ),
            headers={
                "User-Agent": self._user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections; the fetcher cannot be used afterwards."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_many(
        self,
        requests: Sequence[FetchRequest],
        now: datetime,
        on_result: Callable[[FetchResult], None] | None = None,
    ) -> list[FetchResult]:
        """Fetch all requests concurrently; results come back in input order.

        `on_result` is called with each result as it completes (e.g. for a progress bar).
        """

        async def fetch_one(request: FetchRequest) -> FetchResult:
            result = await self.fetch(request, now)
            if on_result is not None:
                on_result(result)
            return result

        return list(await asyncio.gather(*(fetch_one(request) for request in requests)))

    async def fetch(self, request: FetchRequest, now: datetime) -> FetchResult:
        """Fetch one feed; `now` (UTC-aware) dates a Retry-After given as an HTTP-date."""
        session = self._session
        if session is None:
            raise RuntimeError("use the Fetcher inside `async with`")
        try:
            url = self._checked(check_url(request.url, "the feed URL"), "")
        except BadURL as bad:
            return _error(request.url, _Failure("bad_url", bad.message))
        except _Failure as failure:
            return _error(request.url, failure)
        host = f"{url.host}:{url.port}"
        gate = self._hosts.setdefault(host, asyncio.Semaphore(self._limits.per_host))
        # Wait for the host's turn before the clock starts, so a queue of feeds on one host
        # does not eat their total timeout.
        async with gate, self._slots:
            loop = asyncio.get_running_loop()
            started = loop.time()
            result = await self._fetch_timed(session, request, url, now)
            return replace(result, elapsed=loop.time() - started)

    async def _fetch_timed(
        self, session: aiohttp.ClientSession, request: FetchRequest, url: URL, now: datetime
    ) -> FetchResult:
        limits = self._limits
        timer = asyncio.timeout(limits.total_timeout)
        try:
            async with timer:
                return await self._follow(session, request, url, now)
        except _Failure as failure:
            return _error(request.url, failure)
        except BadURL as bad:
            return _error(request.url, _Failure("bad_url", bad.message))
        except TimeoutError as exc:
            if timer.expired():
                message = f"no complete answer within {limits.total_timeout:g} s"
            elif isinstance(exc, aiohttp.ConnectionTimeoutError):
                message = f"could not connect within {limits.connect_timeout:g} s"
            else:
                message = f"the server sent nothing for {limits.read_timeout:g} s"
            return _error(request.url, _Failure("timeout", message))
        except (aiohttp.ClientError, ssl.SSLError, OSError, ValueError) as exc:
            # ValueError: malformed answers aiohttp or yarl reject outside ClientError.
            return _error(request.url, _failure_from(exc))

    async def _follow(
        self, session: aiohttp.ClientSession, request: FetchRequest, url: URL, now: datetime
    ) -> FetchResult:
        headers: dict[str, str] = {}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        permanent = True
        for hop in range(self._limits.max_redirects + 1):
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if resp.status in REDIRECT_STATUSES and location:
                    url = redirect_target(url, location)
                    url = self._checked(url, f"redirected to {url}: ")
                    permanent = permanent and resp.status in PERMANENT_STATUSES
                    continue
                new_url = str(url) if permanent and hop > 0 else None
                return await self._answer(request, resp, new_url, now)
        raise _Failure(
            "too_many_redirects", f"more than {self._limits.max_redirects} redirects, last to {url}"
        )

    def _checked(self, url: URL, context: str) -> URL:
        """Refuse a URL whose host is an IP literal the guard does not allow."""
        reason = self._guard.check_literal(url.host or "")
        if reason is not None:
            raise _Failure("blocked", context + reason)
        return url

    async def _answer(
        self,
        request: FetchRequest,
        resp: aiohttp.ClientResponse,
        new_url: str | None,
        now: datetime,
    ) -> FetchResult:
        status = resp.status
        etag = resp.headers.get("ETag")
        last_modified = resp.headers.get("Last-Modified")
        if status == 304:
            return FetchResult(
                url=request.url,
                outcome="not_modified",
                etag=etag or request.etag,
                last_modified=last_modified or request.last_modified,
                http_status=status,
                new_url=new_url,
            )
        if 200 <= status < 300:
            body = await self._read_body(resp)
            digest = hashlib.sha256(body).hexdigest()
            unchanged = digest == request.previous_hash
            return FetchResult(
                url=request.url,
                outcome="unchanged" if unchanged else "ok",
                body=None if unchanged else body,
                body_hash=digest,
                etag=etag,
                last_modified=last_modified,
                http_status=status,
                new_url=new_url,
                content_type=resp.headers.get("Content-Type"),
            )
        kind: ErrorKind = "http_4xx"
        if status == 429:
            kind = "http_429"
        elif status >= 500:
            kind = "http_5xx"
        raise _Failure(
            kind,
            f"HTTP {status} {resp.reason or _phrase(status)}".rstrip(),
            http_status=status,
            retry_after=parse_retry_after(resp.headers.get("Retry-After"), now),
        )

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self._limits.max_bytes
        too_large = _Failure("too_large", f"the feed is larger than {limit:,} bytes")
        if resp.content_length is not None and resp.content_length > limit:
            raise too_large
        parts: list[bytes] = []
        received = 0
        try:
            inflater = inflater_for(resp.headers.get("Content-Encoding", ""), limit)
            async for chunk in resp.content.iter_chunked(_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise too_large
                parts.append(inflater.feed(chunk) if inflater else chunk)
            if inflater:
                parts.append(inflater.flush())
        except InflateError as exc:
            raise _Failure(_INFLATE_KINDS[exc.problem], exc.message) from exc
        return b"".join(parts)


def _failure_from(exc: Exception) -> _Failure:
    """Name the kind of a connection-level failure raised by aiohttp, ssl or the OS."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, BlockedAddress):
        return _Failure("blocked", exc.os_error.message)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return _Failure("dns", f"cannot resolve {exc.host}: {exc.strerror}")
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch | ssl.SSLError):
        return _Failure("tls", f"TLS failed: {exc}")
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return _Failure("bad_url", f"unusable URL: {exc}")
    return _Failure("network", str(exc) or type(exc).__name__)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _error(url: str, failure: _Failure) -> FetchResult:
    return FetchResult(
        url=url,
        outcome="error",
        http_status=failure.http_status,
        error_kind=failure.kind,
        error=failure.message,
        retry_after=failure.retry_after,
    )
