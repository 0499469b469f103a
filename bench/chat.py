"""A local chat stand-in in its own process, and a notifier that posts to it over HTTP.

`python -m bench.chat` serves a Slack-like `POST /api/chat.postMessage` on a free
127.0.0.1 port (printed as `PORT n` on stdout) and counts the messages it accepts;
`GET /stats` returns the counts. With `--per-channel-rate R` it answers 429 (with
`Retry-After`) to a post that comes sooner than 1/R seconds after the last one it
accepted for the same channel, as Slack does; with `--fail F` it answers 429 to a seeded
fraction F of the posts on top. The stats then also tell how many channels received
more than one message (duplicates) and how many were answered 429. `ChatStandIn` starts
and stops that process. `HttpNotifier` is the sending side the dispatcher calls: one
keep-alive connection, one JSON POST per alert.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import random
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

    def __init__(self, per_channel_rate: float = 0.0, fail: float = 0.0) -> None:
        self.port = 0
        self.per_channel_rate = per_channel_rate
        self.fail = fail
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        """Start the process and wait until it has printed its port."""
        limits = ["--per-channel-rate", str(self.per_channel_rate), "--fail", str(self.fail)]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.chat", *limits],
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
        return int(self.stats()["messages"])

    def stats(self) -> dict[str, int]:
        """Accepted messages, channels that got one, channels that got more, 429 answers."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/stats")
            return {k: int(v) for k, v in json.loads(connection.getresponse().read()).items()}
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
        if response.status == 429:
            retry_after = float(response.getheader("Retry-After") or 1)
            raise DeliveryError("rate limited (HTTP 429)", retry_after=retry_after)
        if response.status != 200 or not answer.get("ok"):
            raise DeliveryError(f"the chat stand-in answered HTTP {response.status}")
        return str(answer["ts"])

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


async def _serve(per_channel_rate: float, fail: float) -> None:
    count = limited = 0
    accepted: dict[str, int] = {}
    last: dict[str, float] = {}
    gap = 1.0 / per_channel_rate if per_channel_rate > 0 else 0.0
    unlucky = random.Random(5)  # noqa: S311 - a seeded share of 429s, not security
    loop = asyncio.get_running_loop()

    async def post_message(request: web.Request) -> web.Response:
        nonlocal count, limited
        payload = await request.json()
        channel = str(payload["channel"])
        moment = loop.time()
        wait = last.get(channel, -gap) + gap - moment
        if wait > 0 or (fail > 0 and unlucky.random() < fail):
            limited += 1
            retry = f"{max(1, math.ceil(wait))}"
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": retry}
            )
        last[channel] = moment
        accepted[channel] = accepted.get(channel, 0) + 1
        count += 1
        return web.json_response({"ok": True, "channel": channel, "ts": f"{count}.0"})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "messages": count,
                "channels": len(accepted),
                "duplicated": sum(1 for n in accepted.values() if n > 1),
                "limited": limited,
            }
        )

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
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str]) -> None:
    """Serve until SIGTERM, with the limits given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.chat")
    parser.add_argument("--per-channel-rate", type=float, default=0.0)
    parser.add_argument("--fail", type=float, default=0.0)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.per_channel_rate, args.fail))


if __name__ == "__main__":
    main(sys.argv[1:])
