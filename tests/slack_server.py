"""A Slack stand-in on 127.0.0.1: the Web API over HTTP and the Socket Mode websocket.

`SlackServer` runs an aiohttp application on its own event loop in a daemon thread,
bound to port 0. It answers the Web API methods exitplan uses (`auth.test`,
`apps.connections.open`, `chat.postMessage`, `chat.update`, `chat.postEphemeral`,
`conversations.join`, `views.publish`, `users.info`), keeps the messages it was sent,
serves `response_url`s, and speaks Socket Mode on `/link/`: tests push slash commands,
block actions and events down the socket and read the app's acknowledgements. Every
call is recorded; a test can queue error answers (`{"ok": false, "error": …}`, a 429
with Retry-After, a 5xx) for the next calls of a method.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.loop_server import LoopServer

TEAM = "T0EXIT"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
BOT_TOKEN = "xoxb-test-bot-token"  # noqa: S105 - a test token the stand-in checks
APP_TOKEN = "xapp-test-app-token"  # noqa: S105 - a test token the stand-in checks
_WAIT = 10.0


@dataclass(frozen=True)
class ApiCall:
    """One Web API request: the method, its arguments (form or JSON) and the token used."""

    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class Message:
    """A message the stand-in holds, as the app last left it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Canned:
    status: int
    body: dict[str, Any] | str
    headers: tuple[tuple[str, str], ...] = ()


class SlackServer(LoopServer):
    """The stand-in; use as a context manager, or `start()` and `close()`."""

    name = "slack-server"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Condition()
        self._calls: list[ApiCall] = []
        self._canned: dict[str, list[_Canned]] = defaultdict(list)
        self._messages: dict[tuple[str, str], Message] = {}
        self._responses: list[dict[str, Any]] = []
        self._response_status: list[int] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._connections = 0
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.admins: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The Web API, the response URLs and the Socket Mode websocket."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/link/", self._socket)
        return app

    async def on_stop(self) -> None:
        """Close the Socket Mode connections."""
        for socket in list(self._sockets):
            await socket.close()

    # -- addresses -------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The Web API base URL, with its trailing slash (EXITPLAN_SLACK_API_URL)."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def socket_url(self) -> str:
        """The websocket URL `apps.connections.open` hands out."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket=test"

    # -- configuring answers -----------------------------------------------------------

    def fail_next(self, method: str, error: str) -> None:
        """Answer the next call of `method` with `{"ok": false, "error": error}`."""
        self._queue(method, _Canned(200, {"ok": False, "error": error}))

    def rate_limit_next(self, method: str, retry_after: int) -> None:
        """Answer the next call of `method` with HTTP 429 and a Retry-After header."""
        body = {"ok": False, "error": "ratelimited"}
        self._queue(method, _Canned(429, body, (("Retry-After", str(retry_after)),)))

    def server_error_next(self, method: str, status: int = 500) -> None:
        """Answer the next call of `method` with a 5xx and an HTML body, as a proxy would."""
        self._queue(method, _Canned(status, "<html>upstream error</html>"))

    def fail_next_response(self, status: int = 404) -> None:
        """Answer the next post to a response_url with this status."""
        with self._lock:
            self._response_status.append(status)

    def _queue(self, method: str, canned: _Canned) -> None:
        with self._lock:
            self._canned[method].append(canned)

    # -- inspecting --------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """The Web API calls so far (of one method, if given), oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """The messages posted (to one channel, if given), oldest first, as last edited."""
        with self._lock:
            found = [m for m in self._messages.values() if channel in (None, m.channel)]
        return sorted(found, key=lambda m: float(m.ts))

    def responses(self) -> list[dict[str, Any]]:
        """What the app posted to response URLs, oldest first."""
        with self._lock:
            return list(self._responses)

    @property
    def connections(self) -> int:
        """How many Socket Mode connections were opened so far."""
        with self._lock:
            return self._connections

    def wait_for(self, condition: Callable[[], Any], timeout: float = _WAIT) -> Any:
        """Wait until `condition()` is truthy (re-checked whenever the server records
        something) and return its value; raise AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"condition not met within {timeout}s")
                self._lock.wait(min(left, 0.2))

    def wait_for_calls(self, method: str, count: int = 1) -> list[ApiCall]:
        """Wait until `method` was called at least `count` times; return those calls."""
        return self.wait_for(  # type: ignore[no-any-return]
            lambda: (calls := self.calls(method)) and len(calls) >= count and calls
        )

    def wait_for_responses(self, count: int = 1) -> list[dict[str, Any]]:
        """Wait until `count` posts reached response URLs; return them."""
        return self.wait_for(  # type: ignore[no-any-return]
            lambda: len(self._responses) >= count and list(self._responses)
        )

    # -- Socket Mode: pushing requests to the app ---------------------------------------

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push one Socket Mode envelope to the connected app; return its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        socket = self.wait_for(lambda: self._sockets and self._sockets[-1])
        self.run(socket.send_str(json.dumps(message)))
        return envelope_id

    def ask_to_reconnect(self) -> None:
        """Send the `disconnect` message Slack sends before it recycles a connection."""
        socket = self.wait_for(lambda: self._sockets and self._sockets[-1])
        message = {"type": "disconnect", "reason": "refresh_requested"}
        self.run(socket.send_str(json.dumps(message)))

    def wait_for_ack(self, envelope_id: str) -> dict[str, Any]:
        """Wait for the app's acknowledgement of an envelope; return its payload (or {})."""
        return self.wait_for(  # type: ignore[no-any-return]
            lambda: envelope_id in self._acks and (self._acks[envelope_id] or {"acked": True})
        )

    def command_payload(
        self, text: str, *, channel: str = "C0OPS", user: str = "U0ALICE", team: str = TEAM
    ) -> dict[str, str]:
        """What Slack sends for `/exitplan TEXT` typed in a channel."""
        return {
            "token": "legacy",
            "team_id": team,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/exitplan",
            "text": text,
            "api_app_id": "A0EXIT",
            "is_enterprise_install": "false",
            "response_url": self.response_url(),
            "trigger_id": f"trigger-{next(self._ids)}",
        }

    def slash_command(
        self, text: str, *, channel: str = "C0OPS", user: str = "U0ALICE", team: str = TEAM
    ) -> str:
        """Type `/exitplan TEXT` in a channel over the socket; return the envelope id."""
        payload = self.command_payload(text, channel=channel, user=user, team=team)
        return self.send_envelope("slash_commands", payload)

    def response_url(self) -> str:
        """A fresh response URL on this server."""
        return f"http://127.0.0.1:{self.port}/response/{next(self._ids)}"

    def block_action(
        self,
        message: Message,
        block_id: str,
        *,
        selected: bool,
        user: str = "U0ALICE",
        team: str = TEAM,
        ephemeral: bool = False,
    ) -> str:
        """Click the checkbox in block `block_id` of `message`; return the envelope id."""
        block = next(b for b in message.blocks if b.get("block_id") == block_id)
        element = block["accessory"]
        options = element["options"] if selected else []
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "api_app_id": "A0EXIT",
            "token": "legacy",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": f"trigger-{next(self._ids)}",
            "team": {"id": team, "domain": "example"},
            "channel": {"id": message.channel, "name": "ops"},
            "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
            "response_url": self.response_url(),
            "actions": [
                {
                    "type": "checkboxes",
                    "action_id": element["action_id"],
                    "block_id": block_id,
                    "selected_options": options,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self.send_envelope("interactive", payload)

    def event(self, event: dict[str, Any], *, team: str = TEAM) -> str:
        """Deliver an Events API event over the socket; return the envelope id."""
        payload = {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A0EXIT",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids)}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": team, "user_id": BOT_USER, "is_bot": True, "enterprise_id": None}
            ],
        }
        return self.send_envelope("events_api", payload)

    # -- handlers (event loop thread) -----------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        with self._lock:
            self._sockets.append(socket)
            self._connections += 1
            self._lock.notify_all()
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                with self._lock:
                    self._acks[data.get("envelope_id", "")] = data.get("payload") or {}
                    self._lock.notify_all()
        finally:
            with self._lock:
                if socket in self._sockets:
                    self._sockets.remove(socket)
                self._lock.notify_all()
        return socket

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            status = self._response_status.pop(0) if self._response_status else 200
            if status == 200:
                self._responses.append(body)
            self._lock.notify_all()
        return web.Response(status=status, text="ok" if status == 200 else "no_service")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(parse_qsl(await request.text()))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or None
        token = token or args.get("token")
        with self._lock:
            self._calls.append(ApiCall(method, args, token))
            canned = self._canned[method].pop(0) if self._canned[method] else None
            if canned is None:
                body = self._answer(method, args, token)
                canned = _Canned(200, body)
            self._lock.notify_all()
        if isinstance(canned.body, str):
            return web.Response(
                status=canned.status, text=canned.body, headers=dict(canned.headers)
            )
        return web.json_response(canned.body, status=canned.status, headers=dict(canned.headers))

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        """The normal answer of a method; runs under the lock."""
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.socket_url}
        if token != BOT_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda _: {
                "ok": True,
                "url": "https://example.slack.test/",
                "team": "Example",
                "user": "exitplan",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
            },
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "chat.postEphemeral": lambda _: {"ok": True, "message_ts": self._next_ts()},
            "conversations.join": lambda a: {"ok": True, "channel": {"id": a.get("channel")}},
            "users.info": lambda a: {
                "ok": True,
                "user": {"id": a.get("user"), "is_admin": a.get("user") in self.admins},
            },
        }
        answer = answers.get(method)
        return answer(args) if answer else {"ok": True}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._messages.get((args.get("channel", ""), args.get("ts", "")))
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        found.text = args.get("text", "")
        found.blocks = _blocks(args)
        found.edits += 1
        return {"ok": True, "channel": found.channel, "ts": found.ts}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        ts = self._next_ts()
        extra = {k: v for k, v in args.items() if k not in {"channel", "text", "blocks"}}
        self._messages[(channel, ts)] = Message(
            channel=channel,
            ts=ts,
            text=args.get("text", ""),
            blocks=_blocks(args),
            thread_ts=args.get("thread_ts"),
            extra=extra,
        )
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text")}}

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    if isinstance(blocks, str):
        with contextlib.suppress(ValueError):
            blocks = json.loads(blocks)
    return list(blocks) if isinstance(blocks, list) else []


def signed_post(url: str, body: str, *, timestamp: int, secret: str) -> int:
    """POST a form body to a Slack HTTP-mode endpoint, signed as Slack signs; the status."""
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return int(error.code)
