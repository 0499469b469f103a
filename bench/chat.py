"""A local chat stand-in in its own process, and a notifier that posts to it over HTTP.

`python -m bench.chat` serves a Slack-like `POST /api/chat.postMessage` on a free
127.0.0.1 port (printed as `PORT n` on stdout) and counts the messages it accepts;
`GET /stats` returns the count. `ChatStandIn` starts and stops that process.
`HttpNotifier` is the sending side the dispatcher calls: one keep-alive connection,
one JSON POST per alert.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import select
import signal
import socket
import subprocess
import sys
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bench.measure import child_env
from bot.alerts import Alert
from bot.notify import DeliveryError, Target

_START_TIMEOUT = 15.0
_POST_PATH = "/api/chat.postMessage"


class ChatStandIn:
    """The chat stand-in process; use it as a context manager."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        """Start the process and wait until it has printed its port."""
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.chat"],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        self._process = process
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE above
        ready, _, _ = select.select([process.stdout], [], [], _START_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"the chat stand-in did not start (said {line!r})")
        self.port = int(line.split()[1])
        return self

    @property
    def url(self) -> str:
        """Base URL of the stand-in."""
        return f"http://127.0.0.1:{self.port}"

    def messages(self) -> int:
        """How many messages the stand-in has accepted so far."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/stats")
            return int(json.loads(connection.getresponse().read())["messages"])
        finally:
            connection.close()

    def close(self) -> None:
        """Stop the process."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def alert_payload(alert: Alert, target: Target, reply_to: str | None) -> dict[str, Any]:
    """The JSON a chat API would receive for one alert: channel, text and a thread."""
    lines = [f"{alert.headline} — {alert.provider_name}", alert.title]
    if alert.link:
        lines.append(alert.link)
    if alert.deadline is not None:
        lines.append(f"Deadline {alert.deadline.isoformat()} ({alert.days_left} days left)")
    lines.append(alert.summary)
    payload: dict[str, Any] = {"channel": target.channel, "text": "\n".join(lines)}
    if reply_to:
        payload["thread_ts"] = reply_to
    return payload


class HttpNotifier:
    """Posts alerts as JSON to the stand-in over one keep-alive HTTP connection."""

    def __init__(self, port: int, platform: str = "bench") -> None:
        self.platform = platform
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Post one alert; return the stand-in's message timestamp."""
        return self.post(alert_payload(alert, target, reply_to))

    def post(self, payload: dict[str, Any]) -> str:
        """Post a prepared payload; return the message timestamp."""
        body = json.dumps(payload).encode()
        try:
            self._connection.request(
                "POST", _POST_PATH, body, {"Content-Type": "application/json; charset=utf-8"}
            )
            response = self._connection.getresponse()
            answer = json.loads(response.read())
        except (OSError, http.client.HTTPException, ValueError) as error:
            self._connection.close()
            raise DeliveryError(f"the chat stand-in failed: {error}") from error
        if response.status != 200 or not answer.get("ok"):
            raise DeliveryError(f"the chat stand-in answered HTTP {response.status}")
        return str(answer["ts"])

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


async def _serve() -> None:
    count = 0

    async def post_message(request: web.Request) -> web.Response:
        nonlocal count
        payload = await request.json()
        count += 1
        return web.json_response({"ok": True, "channel": payload["channel"], "ts": f"{count}.0"})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"messages": count})

    app = web.Application()
    app.router.add_post(_POST_PATH, post_message)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(_serve())
