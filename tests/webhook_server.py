"""A JSON webhook receiver on 127.0.0.1 that records every POST, for Apprise's json:// URLs."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Received:
    """One POST the receiver got: path, headers and the decoded JSON body."""

    path: str
    content_type: str
    body: dict[str, Any]


class WebhookServer:
    """Records JSON POSTs; answers 200, or the statuses queued with `fail_next`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._statuses: list[int] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.receiver = self  # type: ignore[attr-defined]
        # The socket listens once the server is constructed: no readiness wait needed.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="webhook-server",
            daemon=True,
        )

    @property
    def port(self) -> int:
        """The port the receiver listens on."""
        return int(self._httpd.server_address[1])

    @property
    def received(self) -> list[Received]:
        """Every POST so far, oldest first."""
        with self._lock:
            return list(self._received)

    def fail_next(self, status: int) -> None:
        """Answer the next POST with this status (queued in order)."""
        with self._lock:
            self._statuses.append(status)

    def record(self, item: Received) -> int:
        """Keep a POST; return the status to answer with."""
        with self._lock:
            self._received.append(item)
            return self._statuses.pop(0) if self._statuses else 200

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        receiver: WebhookServer = self.server.receiver  # type: ignore[attr-defined]
        status = receiver.record(
            Received(self.path, self.headers.get("Content-Type", ""), json.loads(raw or b"{}"))
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""
