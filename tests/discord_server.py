"""A Discord stand-in on 127.0.0.1: the REST routes and the gateway the bot uses.

The real discord.py runs against it (`Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY`
point here). It serves from its own thread and event loop on port 0, records every REST
call and gateway frame, lets a test inject interactions (slash commands, autocomplete,
button clicks on stored messages) and read the bot's answers, queues error answers, and
drops or recycles the gateway connection to force a RESUME. Waits are bounded condition
waits on what the server has seen, never sleeps.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.loop_server import LoopServer

APPLICATION_ID = 1_200_000_000_000_000_001
BOT_USER_ID = 1_200_000_000_000_000_002
GUILD_ID = 1_200_000_000_000_000_100
CHANNEL_ID = 1_200_000_000_000_000_200
USER_ID = 1_200_000_000_000_000_300
TOKEN = "discord-test-token"  # noqa: S105 - the stand-in's own fake token
MANAGE_CHANNELS = 1 << 4
#: View Channel, Send Messages, Embed Links, Read Message History.
BOT_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16)
HEARTBEAT_INTERVAL_MS = 41_250
_API = "/api/v10"
_TIMESTAMP = "2026-01-01T00:00:00+00:00"
_EPHEMERAL = 1 << 6


@dataclass(frozen=True)
class Call:
    """One REST request the bot made: method, path below /api/v10, query and JSON body."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _Gateway:
    """What the gateway has seen, per connection and session."""

    connections: int = 0
    closed: int = 0
    identifies: list[dict[str, Any]] = field(default_factory=list)
    resumes: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[Any] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    ready_sent: int = 0
    resumed_sent: int = 0
    sequence: int = 0


class DiscordServer(LoopServer):
    """REST and gateway of a Discord stand-in, started in a thread, closed by the test."""

    name = "discord-server"

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self._lock = threading.Condition()
        self._ids = itertools.count(1_300_000_000_000_000_000)
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._messages: dict[int, dict[str, Any]] = {}
        self._interactions: dict[int, dict[str, Any]] = {}
        self._by_token: dict[str, int] = {}
        self._originals: dict[str, int] = {}
        self._answers: dict[int, list[dict[str, Any]]] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self.gateway = _Gateway()
        self._socket: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The REST base, as EXITPLAN_DISCORD_API_URL takes it."""
        return f"http://127.0.0.1:{self.port}{_API}"

    @property
    def gateway_url(self) -> str:
        """The gateway, as EXITPLAN_DISCORD_GATEWAY_URL takes it."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def build_app(self) -> web.Application:
        """The gateway websocket and the REST routes."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_route("*", _API + "/{tail:.*}", self._rest_handler)
        return app

    async def on_stop(self) -> None:
        """Close the gateway connections."""
        for socket in list(self._sockets):
            await socket.close(code=1001)

    # -- waiting and inspection -----------------------------------------------------------

    def wait_until(self, condition: Callable[[], bool], timeout: float = 15.0) -> bool:
        """Wait until `condition()` holds (re-checked after every request the server sees)."""
        with self._lock:
            return self._lock.wait_for(condition, timeout)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """REST calls so far, optionally those with this method and a path matching a regex."""
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method)
                and (path is None or re.fullmatch(path, call.path))
            ]

    def posts(self, channel_id: int = CHANNEL_ID) -> list[Call]:
        """Messages the bot posted in a channel (POST /channels/{id}/messages)."""
        return self.calls("POST", f"/channels/{channel_id}/messages")

    def channel_messages(self, channel_id: int = CHANNEL_ID) -> list[dict[str, Any]]:
        """The messages the bot posted in a channel (not interaction answers), oldest first."""
        with self._lock:
            found = [
                message
                for message in self._messages.values()
                if message["channel_id"] == str(channel_id) and "webhook_id" not in message
            ]
            return json.loads(json.dumps(found))

    def message(self, message_id: int | str) -> dict[str, Any]:
        """A message as the server stores it (with edits applied)."""
        with self._lock:
            return json.loads(json.dumps(self._messages[int(message_id)]))

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The commands last bulk-overwritten, globally or for one guild."""
        with self._lock:
            return list(self._commands.get(str(guild_id or "global"), []))

    def is_ready(self) -> bool:
        """True while a bot is connected after READY or RESUMED."""
        return self._socket is not None and self.gateway.ready_sent > 0

    # -- error injection ------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next matching REST call with this status and JSON body (queued in order)."""
        with self._lock:
            self._failures.append(
                _Failure(method, re.compile(path), status, body, dict(headers or {}))
            )

    def fail_with_code(self, method: str, path: str, status: int, code: int, message: str) -> None:
        """Answer the next matching call with a Discord error code (10003, 50001, 50013…)."""
        self.fail_next(method, path, status, {"code": code, "message": message})

    def rate_limit_next(self, method: str, path: str, retry_after: float) -> None:
        """Answer the next matching call 429 with retry_after, as Discord's edge does."""
        self.fail_next(
            method,
            path,
            429,
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            {"Retry-After": str(retry_after), "Via": "1.1 google"},
        )

    # -- interactions --------------------------------------------------------------------

    def slash(
        self,
        subcommand: str,
        options: dict[str, Any] | None = None,
        *,
        permissions: int = MANAGE_CHANNELS,
        channel_id: int = CHANNEL_ID,
        user_id: int = USER_ID,
    ) -> int:
        """Dispatch `/exitplan <subcommand> option:value…`; return the interaction id."""
        data = self._command_data(subcommand, options or {}, focused=None)
        return self._interact(
            2, data, channel_id=channel_id, user_id=user_id, permissions=permissions
        )

    def autocomplete(
        self,
        subcommand: str,
        options: dict[str, Any],
        focused: str,
        *,
        channel_id: int = CHANNEL_ID,
    ) -> int:
        """Dispatch an autocomplete request while the person types `focused`."""
        data = self._command_data(subcommand, options, focused=focused)
        return self._interact(
            4, data, channel_id=channel_id, user_id=USER_ID, permissions=MANAGE_CHANNELS
        )

    def click(
        self,
        message_id: int | str,
        custom_id: str,
        *,
        user_id: int = USER_ID,
        permissions: int = 0,
    ) -> int:
        """Dispatch a button click on a stored message; return the interaction id."""
        message = self.message(message_id)
        data = {"custom_id": custom_id, "component_type": 2}
        channel_id = int(message["channel_id"])
        return self._interact(
            3,
            data,
            channel_id=channel_id,
            user_id=user_id,
            permissions=permissions,
            message=message,
        )

    def answer(self, interaction_id: int, timeout: float = 15.0) -> dict[str, Any]:
        """The bot's callback body for an interaction (waits for it)."""
        if not self.wait_until(lambda: bool(self._answers.get(interaction_id)), timeout):
            raise AssertionError(f"no answer to interaction {interaction_id}")
        with self._lock:
            return self._answers[interaction_id][0]

    def followups(self, interaction_id: int) -> list[Call]:
        """Follow-up messages the bot sent for an interaction."""
        with self._lock:
            token = self._interactions[interaction_id]["token"]
        return self.calls("POST", f"/webhooks/{APPLICATION_ID}/{token}")

    def original(self, interaction_id: int) -> dict[str, Any]:
        """The message an interaction's answer created or edited."""
        with self._lock:
            token = self._interactions[interaction_id]["token"]
            return json.loads(json.dumps(self._messages[self._originals[token]]))

    # -- gateway control ---------------------------------------------------------------------

    def drop_connection(self, code: int = 4000) -> None:
        """Close the bot's gateway socket, as a network hiccup would (the bot resumes)."""
        socket = self._socket
        if socket is None:
            raise AssertionError("no bot connected")
        self.run(socket.close(code=code))

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the bot must reconnect and resume."""
        socket = self._socket
        if socket is None:
            raise AssertionError("no bot connected")
        self.run(socket.send_json({"op": 7, "d": None}))

    def request_heartbeat(self) -> None:
        """Send op 1 HEARTBEAT: the bot must answer at once with its last sequence."""
        socket = self._socket
        if socket is None:
            raise AssertionError("no bot connected")
        self.run(socket.send_json({"op": 1, "d": None}))

    # -- building payloads ---------------------------------------------------------------------

    def _command_data(
        self, subcommand: str, options: dict[str, Any], *, focused: str | None
    ) -> dict[str, Any]:
        inner = []
        for name, value in options.items():
            kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
            option: dict[str, Any] = {"name": name, "type": kind, "value": value}
            if name == focused:
                option["focused"] = True
            inner.append(option)
        with self._lock:
            synced = self._commands.get(str(GUILD_ID)) or self._commands.get("global") or []
        command_id = next((c["id"] for c in synced if c["name"] == "exitplan"), "1")
        return {
            "id": command_id,
            "name": "exitplan",
            "type": 1,
            "options": [{"name": subcommand, "type": 1, "options": inner}],
        }

    def _interact(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        channel_id: int,
        user_id: int,
        permissions: int,
        message: dict[str, Any] | None = None,
    ) -> int:
        interaction_id = next(self._ids)
        token = f"interaction-token-{interaction_id}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": kind,
            "data": data,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel_id),
            "channel": _channel(channel_id),
            "member": _member(user_id, permissions),
            "token": token,
            "version": 1,
            "app_permissions": str(BOT_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "attachment_size_limit": 8_388_608,
        }
        if message is not None:
            payload["message"] = message
        with self._lock:
            self._interactions[interaction_id] = payload
            self._by_token[token] = interaction_id
        self.run(self._dispatch("INTERACTION_CREATE", payload))
        return interaction_id

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        socket = self._socket
        if socket is None:
            raise AssertionError("no bot connected to the gateway")
        with self._lock:
            self.gateway.sequence += 1
            sequence = self.gateway.sequence
        await socket.send_json({"op": 0, "t": event, "s": sequence, "d": data})

    def _new_message(
        self, channel_id: int, body: dict[str, Any], *, webhook: bool = False
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "guild_id": str(GUILD_ID),
            "author": _bot_user(),
            "content": body.get("content") or "",
            "timestamp": _TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "components": body.get("components") or [],
            "flags": int(body.get("flags") or 0),
        }
        reference = body.get("message_reference")
        if reference:
            message["type"] = 19
            message["message_reference"] = {**reference, "channel_id": str(channel_id)}
        if webhook:
            message["webhook_id"] = str(APPLICATION_ID)
            message["application_id"] = str(APPLICATION_ID)
        self._messages[message_id] = message
        return message

    def _edit(self, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        message = self._messages[message_id]
        for key in ("content", "embeds", "components", "flags"):
            if key in body and body[key] is not None:
                message[key] = body[key]
        message["edited_timestamp"] = _TIMESTAMP
        return message

    # -- REST ----------------------------------------------------------------------------------

    async def _rest_handler(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            text = await request.text()
            body = json.loads(text) if text else None
        with self._lock:
            self._calls.append(Call(request.method, path, dict(request.query), body))
            failure = self._take_failure(request.method, path)
            self._lock.notify_all()
        if failure is not None:
            return _json(failure.body, status=failure.status, headers=failure.headers)
        public = path.startswith(("/interactions/", "/webhooks/"))
        if not public and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        with self._lock:
            status, answer = self._route(request.method, path, body or {})
            self._lock.notify_all()
        return _json(answer, status=status)

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for index, failure in enumerate(self._failures):
            if failure.method == method and failure.pattern.fullmatch(path):
                return self._failures.pop(index)
        return None

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Answer one REST call; runs with the lock held."""
        answer: Any = None
        match method, path.strip("/").split("/"):
            case "GET", ["users", "@me"]:
                answer = _bot_user()
            case "GET", ["oauth2", "applications", "@me"]:
                answer = _application()
            case "PUT", ["applications", _, "commands"]:
                answer = self._overwrite("global", body)
            case "PUT", ["applications", _, "guilds", guild, "commands"]:
                answer = self._overwrite(guild, body)
            case "POST", ["channels", channel, "messages"]:
                answer = self._new_message(int(channel), body)
            case "PATCH", ["channels", _, "messages", message]:
                answer = self._edit(int(message), body)
            case "POST", ["interactions", interaction, token, "callback"]:
                answer = self._callback(int(interaction), token, body)
            case "POST", ["webhooks", _, token]:
                interaction = self._interactions[self._by_token[token]]
                answer = self._new_message(int(interaction["channel_id"]), body, webhook=True)
            case "PATCH", ["webhooks", _, token, "messages", "@original"]:
                answer = self._edit(self._originals[token], body)
        if answer is None:
            return 404, {"message": "404: Not Found", "code": 0}
        return 200, answer

    def _overwrite(self, scope: str, body: Any) -> list[dict[str, Any]]:
        commands = []
        for command in body:
            stored = {
                "id": str(next(self._ids)),
                "application_id": str(APPLICATION_ID),
                "version": "1",
                "type": 1,
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
            }
            if scope != "global":
                stored["guild_id"] = scope
            commands.append(stored)
        self._commands[scope] = commands
        return commands

    def _callback(self, interaction_id: int, token: str, body: dict[str, Any]) -> dict[str, Any]:
        interaction = self._interactions[interaction_id]
        kind = int(body["type"])
        data = body.get("data") or {}
        message: dict[str, Any] | None = None
        if kind in (4, 5):  # a message, or "thinking…" to be followed up
            message = self._new_message(int(interaction["channel_id"]), data, webhook=True)
            self._originals[token] = int(message["id"])
        elif kind in (6, 7):  # a component's message, deferred or edited now
            clicked = int(interaction["message"]["id"])
            self._originals[token] = clicked
            if kind == 7:
                message = self._edit(clicked, data)
        self._answers.setdefault(interaction_id, []).append(body)
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction_id),
                "type": interaction["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & _EPHEMERAL),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
            if kind != 5:
                answer["resource"]["message"] = message
        return answer

    # -- gateway ---------------------------------------------------------------------------------

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        with self._lock:
            self.gateway.connections += 1
            self._sockets.add(socket)
            self._socket = socket
            self._lock.notify_all()
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        try:
            async for frame in socket:
                if frame.type is WSMsgType.TEXT:
                    await self._on_frame(socket, json.loads(frame.data))
        finally:
            with self._lock:
                self._sockets.discard(socket)
                if self._socket is socket:
                    self._socket = None
                self.gateway.closed += 1
                self._lock.notify_all()
        return socket

    async def _on_frame(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            with self._lock:
                self.gateway.heartbeats.append(data)
                self._lock.notify_all()
            await socket.send_json({"op": 11})
        elif op == 2:
            await self._identify(socket, data)
        elif op == 6:
            await self._resume(socket, data)

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        with self._lock:
            session = f"session-{len(self.gateway.sessions) + 1}"
            self.gateway.identifies.append(data)
            self.gateway.sessions.append(session)
            self.gateway.sequence = 1
        ready = {
            "v": 10,
            "user": _bot_user(),
            "guilds": [],
            "session_id": session,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APPLICATION_ID), "flags": 0},
        }
        await socket.send_json({"op": 0, "t": "READY", "s": 1, "d": ready})
        with self._lock:
            self.gateway.ready_sent += 1
            self._lock.notify_all()

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        with self._lock:
            self.gateway.resumes.append(data)
            known = (
                bool(self.gateway.sessions) and data.get("session_id") == self.gateway.sessions[-1]
            )
            self._lock.notify_all()
        if not known or data.get("token") != self.token:
            await socket.send_json({"op": 9, "d": False})
            return
        with self._lock:
            self.gateway.sequence += 1
            sequence = self.gateway.sequence
        await socket.send_json({"op": 0, "t": "RESUMED", "s": sequence, "d": {}})
        with self._lock:
            self.gateway.resumed_sent += 1
            self._lock.notify_all()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON answer with Discord's exact content type (discord.py compares it verbatim)."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _bot_user() -> dict[str, Any]:
    return {
        "id": str(BOT_USER_ID),
        "username": "exitplan",
        "discriminator": "0",
        "global_name": "exitplan",
        "avatar": None,
        "bot": True,
        "flags": 0,
    }


def _application() -> dict[str, Any]:
    return {
        "id": str(APPLICATION_ID),
        "name": "exitplan",
        "description": "",
        "icon": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": {"id": str(USER_ID), "username": "owner", "discriminator": "0", "avatar": None},
        "verify_key": "0" * 64,
        "flags": 0,
    }


def _channel(channel_id: int) -> dict[str, Any]:
    return {
        "id": str(channel_id),
        "type": 0,
        "guild_id": str(GUILD_ID),
        "name": "provider-news",
        "position": 0,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": None,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }


def _member(user_id: int, permissions: int) -> dict[str, Any]:
    return {
        "user": {
            "id": str(user_id),
            "username": f"user{user_id % 1000}",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
        },
        "roles": [],
        "joined_at": _TIMESTAMP,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "permissions": str(permissions),
    }
