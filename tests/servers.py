"""Real local HTTP servers that stand in for the internet in tests.

`FeedServer` serves feeds on 127.0.0.1 (port 0) from a daemon thread, answers
conditional requests, redirects, errors, delays and trickled bodies as a test
configures it, and records every request it receives.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import hashlib
import http.client
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from multidict import CIMultiDict, CIMultiDictProxy

_READY_PATH = "/__feed_server_ready__"
#: Last-Modified dates the server invents: a fixed start plus one minute per set_feed call.
_AUTO_MODIFIED_BASE = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: its path, query, headers and arrival (monotonic)."""

    method: str
    path: str
    query: str
    headers: CIMultiDictProxy[str]
    time: float


@dataclass(frozen=True)
class _Route:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    trickle: bytes | None = None
    trickle_interval: float = 0.05
    trickle_limit: float = 10.0


_NOT_FOUND = _Route(404, b"not found", (("Content-Type", "text/plain"),))


class FeedServer:
    """A real HTTP server on 127.0.0.1 serving what each test configures, recording requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._delays: dict[str, float] = {}
        self._requests: list[RecordedRequest] = []
        self._versions = 0
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.feed_server = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # how quickly close() is noticed
            name="feed-server",
            daemon=True,
        )
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        """Start serving and return once a request has been answered."""
        self._thread.start()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", _READY_PATH)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 204:
            raise RuntimeError(f"feed server not ready: HTTP {response.status}")
        return self

    def close(self) -> None:
        """Stop serving, release hanging handlers and close every open connection."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- configuration ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        """The absolute http URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def set_feed(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/rss+xml",
        etag: str | None = "auto",
        last_modified: str | None = "auto",
        *,
        gzip: bool = False,
    ) -> None:
        """Serve `body` at `path` with validators ("auto" invents them) and 304 on a match."""
        with self._lock:
            self._versions += 1
            version = self._versions
        if etag == "auto":
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if last_modified == "auto":
            moment = _AUTO_MODIFIED_BASE + timedelta(minutes=version)
            last_modified = format_datetime(moment, usegmt=True)
        headers = [("Content-Type", content_type)]
        if gzip:
            body = gzip_module.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        self._set(path, _Route(200, body, tuple(headers), etag, last_modified))

    def set_response(
        self,
        path: str,
        status: int,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer `path` with a fixed status, body and headers (errors, HTML pages, bombs)."""
        self._set(path, _Route(status, body, tuple((headers or {}).items())))

    def set_redirect(self, path: str, to: str, status: int = 301) -> None:
        """Redirect `path` to `to` (a path or an absolute URL) with `status`."""
        self._set(path, _Route(status, b"", (("Location", to),)))

    def set_delay(self, path: str, seconds: float) -> None:
        """Wait `seconds` (or until the server closes) before answering `path`."""
        with self._lock:
            self._delays[path] = seconds

    def set_trickle(
        self, path: str, first: bytes = b"<?xml", interval: float = 0.05, limit: float = 10.0
    ) -> None:
        """Answer 200 at `path`, send `first`, then one byte per `interval` for up to `limit` s."""
        self._set(
            path,
            _Route(
                200,
                headers=(("Content-Type", "application/rss+xml"),),
                trickle=first,
                trickle_interval=interval,
                trickle_limit=limit,
            ),
        )

    # -- inspection ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """How many requests arrived for `path`."""
        with self._lock:
            return sum(1 for request in self._requests if request.path == path)

    # -- used by the handler -----------------------------------------------------------

    def _set(self, path: str, route: _Route) -> None:
        with self._lock:
            self._routes[path] = route

    def _route(self, path: str) -> tuple[_Route, float]:
        with self._lock:
            return self._routes.get(path, _NOT_FOUND), self._delays.get(path, 0.0)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed_server: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet when a client hangs up mid-response; tests do that on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    timeout = 10

    def setup(self) -> None:
        super().setup()
        self.server.feed_server._track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.feed_server._track(self.connection, open_=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""

    def do_GET(self) -> None:
        owner = self.server.feed_server
        parts = urlsplit(self.path)
        if parts.path == _READY_PATH:
            self._send(204, b"", ())
            return
        headers: CIMultiDict[str] = CIMultiDict(self.headers.items())
        owner._record(
            RecordedRequest(
                "GET", parts.path, parts.query, CIMultiDictProxy(headers), time.monotonic()
            )
        )
        route, delay = owner._route(parts.path)
        if delay and owner._stopping.wait(delay):
            return
        if route.trickle is not None:
            self._trickle(route)
            return
        if route.status == 200 and _not_modified(route, headers):
            self._send(304, b"", self._validators(route))
            return
        self._send(route.status, route.body, route.headers + self._validators(route))

    def _validators(self, route: _Route) -> tuple[tuple[str, str], ...]:
        pairs = []
        if route.etag is not None:
            pairs.append(("ETag", route.etag))
        if route.last_modified is not None:
            pairs.append(("Last-Modified", route.last_modified))
        return tuple(pairs)

    def _send(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and status != 304:
            self.wfile.write(body)

    def _trickle(self, route: _Route) -> None:
        stopping = self.server.feed_server._stopping
        self.send_response(200)
        for name, value in route.headers:
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(route.trickle or b"")
        self.wfile.flush()
        deadline = time.monotonic() + route.trickle_limit
        try:
            while time.monotonic() < deadline and not stopping.wait(route.trickle_interval):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True


def _not_modified(route: _Route, headers: CIMultiDict[str]) -> bool:
    """True when the request's validators match the route's (If-None-Match wins, RFC 9110)."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        if route.etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or route.etag.removeprefix("W/") in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since is None or route.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
        modified = parsedate_to_datetime(route.last_modified)
    except (TypeError, ValueError):
        return False
    return modified <= since
