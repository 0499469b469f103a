"""The Slack app: Bolt over Socket Mode (default) or HTTP, and the notifier for alerts.

This is the only module that imports slack_sdk and slack_bolt. Every request, from the
socket or from the HTTP endpoint, goes through `App.dispatch`; the handlers acknowledge
first and do the work after, each with its own short-lived Runtime (a SQLite connection
belongs to the thread that opened it). Rendering lives in `bot.slack_render`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond
from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import core
from bot.adapters import AdapterError
from bot.alerts import Alert
from bot.http_app import HttpServer, HttpServerError
from bot.notify import DeliveryError, Notifier, Target
from bot.runner import utc_now
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack_commands import CommandResult, run_command, set_step
from bot.slack_home import build_home
from bot.slack_render import (
    STEP_ACTION,
    alert_text,
    escape,
    parse_step_block_id,
    render_alert,
    render_home,
    render_reply,
    reply_text,
)
from storage.deliveries import alert_ref
from storage.subscriptions import list_subscriptions, resume_subscription

log = logging.getLogger(__name__)

PLATFORM = "slack"
#: Where Slack posts in HTTP mode (the Request URL of commands, interactivity and events).
EVENTS_PATH = "/slack/events"
#: Every pause reason this module writes starts so; only those are lifted automatically.
PAUSE_PREFIX = "Slack: "
#: In EXITPLAN_SLACK_ADMINS, this word lets the workspace's admins and owners in.
WORKSPACE_ADMINS = "admins"
_CONNECT_TIMEOUT = 15.0
_GONE = {
    "channel_not_found": "the channel was deleted, or it is private and the bot is not in it",
    "is_archived": "the channel is archived",
    "not_in_channel": "the bot is not in this private channel; invite it with /invite @exitplan",
}
_AUTH = {
    "invalid_auth": "Slack rejected the bot token",
    "account_inactive": "the bot's account is deactivated (app uninstalled?)",
    "token_revoked": "the bot token was revoked",
    "not_authed": "no bot token was sent",
}
_RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}
_AUTH_FIX = "reinstall the app and set SLACK_BOT_TOKEN; alerts resume when exitplan restarts"


def _code(error: SlackApiError) -> str | None:
    data = error.response.data
    return str(data.get("error")) if isinstance(data, dict) and data.get("error") else None


def delivery_error(error: SlackApiError) -> DeliveryError:
    """Turn a Web API failure into what the dispatcher needs: retry, pause or give up."""
    status = error.response.status_code
    code = _code(error)
    headers = error.response.headers or {}
    if status == 429 or code == "ratelimited":
        hint = headers.get("Retry-After") or headers.get("retry-after") or "1"
        retry_after = float(hint) if str(hint).replace(".", "", 1).isdigit() else 1.0
        return DeliveryError(
            f"Slack rate limit (HTTP {status}), retry after {retry_after:g}s",
            retry_after=retry_after,
        )
    if status >= 500 or code in _RETRYABLE:
        return DeliveryError(f"Slack server error (HTTP {status})")
    if code in _GONE:
        return DeliveryError(f"{PAUSE_PREFIX}{code}: {_GONE[code]}", channel_gone=True)
    if code in _AUTH:
        reason = f"{PAUSE_PREFIX}{code}: {_AUTH[code]}; {_AUTH_FIX}"
        return DeliveryError(reason, channel_gone=True)
    return DeliveryError(f"Slack refused the message: {code or f'HTTP {status}'}", permanent=True)


class SlackNotifier:
    """Posts alerts with chat.postMessage; updates go in the thread of the first alert."""

    platform = PLATFORM

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Post the alert; return "CHANNEL:TS". Raises DeliveryError."""
        args: dict[str, Any] = {
            "channel": target.channel,
            "text": alert_text(alert),
            "blocks": render_alert(alert),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        channel, _, ts = (reply_to or "").partition(":")
        if ts and channel == target.channel:
            args["thread_ts"] = ts
            if alert.purpose in ("reminder", "final"):
                args["reply_broadcast"] = True
        try:
            response = self._post(args)
        except SlackApiError as error:
            raise delivery_error(error) from error
        except (OSError, http.client.HTTPException) as error:
            raise DeliveryError(f"Slack unreachable: {error}") from error
        return f"{response['channel']}:{response['ts']}"

    def _post(self, args: dict[str, Any]) -> Any:
        """chat.postMessage; on not_in_channel join the (public) channel and try once more."""
        try:
            return self._client.chat_postMessage(**args)
        except SlackApiError as error:
            if _code(error) != "not_in_channel":
                raise
            try:
                self._client.conversations_join(channel=args["channel"])
            except SlackApiError as join_error:
                log.info("cannot join channel=%s error=%s", args["channel"], _code(join_error))
                raise error from join_error
            log.info("joined channel=%s to post an alert", args["channel"])
            return self._client.chat_postMessage(**args)


def _web_client(settings: Settings, *, retry: bool) -> WebClient:
    """A Web API client on the configured base URL (GovSlack, a test server)."""
    handlers: list[RetryHandler] = [ConnectionErrorRetryHandler()]
    if retry:
        handlers += [RateLimitErrorRetryHandler(), ServerErrorRetryHandler()]
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=handlers,
    )


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` every 50 ms until it holds or `timeout` seconds pass."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.05) + 1):
        if condition():
            return True
        pause.wait(0.05)
    return condition()


class SlackAdapter:
    """The running Slack app: a connection (socket or HTTP), handlers and the notifier."""

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        http_server: HttpServer | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        client = _web_client(settings, retry=True)
        try:
            identity = client.auth_test()
        except SlackApiError as error:
            raise AdapterError(
                f"Slack refused SLACK_BOT_TOKEN ({_code(error) or error.response.status_code}) "
                f"at {settings.slack_api_url}; copy the Bot User OAuth Token (xoxb-…) again"
            ) from error
        except (OSError, http.client.HTTPException) as error:
            raise AdapterError(
                f"cannot reach the Slack Web API at {settings.slack_api_url}: {error}; "
                "check EXITPLAN_SLACK_API_URL and the network"
            ) from error
        self.team_id = str(identity.get("team_id") or "")
        self.bot_user_id = str(identity.get("user_id") or "")
        self.notifier: Notifier = SlackNotifier(_web_client(settings, retry=False))
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="slack-handler")
        self._locks: dict[tuple[str, str, int], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._socket: SocketModeHandler | None = None
        self._http = http_server
        self._own_http = False
        self._stopped = False
        http_mode = settings.slack_mode == "http"
        self.app = App(
            name="exitplan",
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            request_verification_enabled=http_mode,
            listener_executor=self._executor,
            logger=logging.getLogger(f"{__name__}.bolt"),
        )
        self.app.command("/exitplan")(self._on_command)
        self.app.action(STEP_ACTION)(self._on_step)
        self.app.event("app_home_opened")(self._on_home)
        self.app.event("member_joined_channel")(self._on_member_joined)
        self.app.event("channel_unarchive")(self._on_unarchive)
        self._resume_after_auth_failure()

    # -- connection ------------------------------------------------------------------

    @property
    def http_port(self) -> int | None:
        """The port the HTTP endpoint listens on (HTTP mode, once serving), else None."""
        if self.settings.slack_mode != "http" or self._http is None:
            return None
        return self._http.port

    def start(self) -> None:
        """Connect: open the Socket Mode websocket, or serve the HTTP endpoint."""
        try:
            if self.settings.slack_mode == "http":
                self._serve_http()
            else:
                self._connect_socket()
        except BaseException:
            self.stop()
            raise
        log.info(
            "slack connected team=%s bot=%s mode=%s",
            self.team_id,
            self.bot_user_id,
            self.settings.slack_mode,
        )

    def _connect_socket(self) -> None:
        self._socket = SocketModeHandler(
            self.app,
            app_token=self.settings.slack_app_token,
            logger=logging.getLogger(f"{__name__}.socket"),
        )
        try:
            self._socket.connect()  # type: ignore[no-untyped-call]
        except SlackApiError as error:
            raise AdapterError(
                f"Slack refused SLACK_APP_TOKEN ({_code(error)}); create an app-level token "
                "(xapp-…) with the connections:write scope"
            ) from error
        client = self._socket.client
        if not _wait(client.is_connected, _CONNECT_TIMEOUT):
            raise AdapterError(
                f"cannot open the Socket Mode connection at {client.wss_uri}; check the network"
            )

    def _serve_http(self) -> None:
        """Add POST /slack/events to the shared HTTP server, or serve it alone without one."""
        port = self.settings.http_port
        if port is None:
            raise AdapterError("slack_mode is http, so set EXITPLAN_HTTP_PORT (e.g. 3000)")
        if self._http is None:
            self._http, self._own_http = HttpServer(self.settings.http_host, port), True
        self._http.add_route("POST", EVENTS_PATH, self._on_http)
        if self._own_http:
            try:
                self._http.start()
            except HttpServerError as error:
                raise AdapterError(str(error)) from error

    async def _on_http(self, request: web.Request) -> web.Response:
        """HTTP mode: hand the request to Bolt, which checks the signature and its timestamp."""
        body = (await request.read()).decode("utf-8", "replace")
        headers: dict[str, str | Sequence[str]] = {
            name.lower(): request.headers.getall(name) for name in request.headers
        }
        bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
        response = await asyncio.to_thread(self.app.dispatch, bolt_request)
        answer = web.Response(status=response.status, body=response.body.encode("utf-8"))
        for name, values in response.headers.items():
            if name.lower() == "content-length":
                continue
            for value in values if isinstance(values, list | tuple) else [values]:
                answer.headers.add(name, str(value))
        return answer

    def stop(self) -> None:
        """Close the socket or the HTTP endpoint, then wait for running handlers."""
        if self._stopped:
            return
        self._stopped = True
        if self._socket is not None:
            _close_socket_mode(self._socket)
        if self._http is not None and self._own_http:
            self._http.stop()
        self._executor.shutdown(wait=True)
        log.info("slack disconnected")

    # -- helpers -----------------------------------------------------------------------

    @contextmanager
    def _runtime(self) -> Iterator[Runtime]:
        rt = open_runtime(self.settings, self.clock(), sync=False)
        try:
            yield rt
        finally:
            rt.close()

    def _lock_for(self, target: Target, event_id: int) -> threading.Lock:
        key = (target.workspace, target.channel, event_id)
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def may_change(self, user: str, client: WebClient) -> bool:
        """Whether a user may subscribe and unsubscribe (EXITPLAN_SLACK_ADMINS)."""
        admins = self.settings.slack_admins
        if not admins or user in admins:
            return True
        if WORKSPACE_ADMINS not in admins:
            return False
        try:
            person = client.users_info(user=user).get("user") or {}
        except SlackApiError as error:
            log.warning("users.info failed user=%s error=%s", user, _code(error))
            return False
        return bool(person.get("is_admin") or person.get("is_owner"))

    # -- the slash command ---------------------------------------------------------------

    def _on_command(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        target = Target(PLATFORM, str(command.get("team_id", "")), str(command["channel_id"]))
        user = str(command.get("user_id", ""))
        text = str(command.get("text", ""))
        log.info("command channel=%s user=%s text=%r", target.channel, user, text[:80])
        now = self.clock()
        try:
            with self._runtime() as rt:
                result = run_command(
                    rt, target, user, text, now, may_change=lambda who: self.may_change(who, client)
                )
                if result.ticked_event is not None:
                    self._refresh_alerts(rt, client, target, result.ticked_event, now)
        except Exception:
            log.exception("command failed channel=%s text=%r", target.channel, text[:80])
            result = CommandResult(
                core.Reply(ok=False, title="Something went wrong; see the logs.")
            )
        self._answer(respond, client, target, user, result.reply, public=result.public)

    def _answer(
        self,
        respond: Respond,
        client: WebClient,
        target: Target,
        user: str,
        reply: core.Reply,
        *,
        public: bool,
    ) -> None:
        """Reply through the command's response_url; fall back to chat.postEphemeral."""
        text, blocks = reply_text(reply), render_reply(reply)
        try:
            kind = "in_channel" if public else "ephemeral"
            response = respond(text=text, blocks=blocks, response_type=kind)
            if response.status_code == 200:
                return
            log.warning("response_url refused status=%s", response.status_code)
        except (OSError, ValueError, http.client.HTTPException) as error:
            log.warning("response_url failed error=%s", error)
        try:
            client.chat_postEphemeral(channel=target.channel, user=user, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("cannot answer channel=%s error=%s", target.channel, _code(error))

    # -- checkboxes ----------------------------------------------------------------------

    def _on_step(self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        action = (body.get("actions") or [{}])[0]
        parsed = parse_step_block_id(str(action.get("block_id", "")))
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        if parsed is None or not channel:
            return
        event_id, purpose, step_id = parsed
        user = str((body.get("user") or {}).get("id", ""))
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        target = Target(PLATFORM, str(team or self.team_id), str(channel))
        done = bool(action.get("selected_options"))
        now = self.clock()
        with self._lock_for(target, event_id), self._runtime() as rt:
            try:
                checklist = set_step(rt, target, event_id, step_id, user=user, now=now, done=done)
            except LookupError as error:
                respond(text=escape(str(error)), response_type="ephemeral", replace_original=False)
                return
            log.info(
                "step %s channel=%s event=%s step=%s by=%s (%s)",
                "ticked" if done else "unticked",
                target.channel,
                event_id,
                step_id,
                user,
                checklist.progress,
            )
            clicked = container.get("message_ts")
            if clicked and not container.get("is_ephemeral"):
                self._edit(rt, client, target, event_id, str(clicked), purpose=purpose, now=now)
            self._refresh_alerts(rt, client, target, event_id, now, skip=clicked)

    def _edit(
        self,
        rt: Runtime,
        client: WebClient,
        target: Target,
        event_id: int,
        ts: str,
        *,
        purpose: str,
        now: datetime,
    ) -> None:
        """Re-render one message about an event with the channel's current checklist."""
        alert = core.alert_for(rt, target, event_id, now, purpose="alert")
        if alert is None:
            return
        if purpose != "alert":
            alert = replace(alert, purpose=purpose)
        try:
            client.chat_update(
                channel=target.channel, ts=ts, text=alert_text(alert), blocks=render_alert(alert)
            )
        except SlackApiError as error:
            log.warning(
                "chat.update failed channel=%s ts=%s error=%s", target.channel, ts, _code(error)
            )

    def _refresh_alerts(
        self,
        rt: Runtime,
        client: WebClient,
        target: Target,
        event_id: int,
        now: datetime,
        *,
        skip: str | None = None,
    ) -> None:
        """Update this channel's alert messages about an event (after a tick elsewhere)."""
        subs = list_subscriptions(
            rt.db, platform=PLATFORM, workspace=target.workspace, channel=target.channel
        )
        refs = {alert_ref(rt.db, event_id, sub.id) for sub in subs}
        for ref in sorted(ref for ref in refs if ref):
            channel, _, ts = ref.partition(":")
            if channel == target.channel and ts and ts != skip:
                self._edit(rt, client, target, event_id, ts, purpose="alert", now=now)

    # -- events ----------------------------------------------------------------------------

    def _on_home(self, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team = context.team_id or self.team_id
        with self._runtime() as rt:
            home = build_home(rt, team, self.clock())
        client.views_publish(user_id=str(event["user"]), view=render_home(home))

    def _on_member_joined(self, event: dict[str, Any], context: BoltContext) -> None:
        if event.get("user") != (context.bot_user_id or self.bot_user_id):
            return
        team = context.team_id or str(event.get("team") or self.team_id)
        self.resume_channel(team, str(event.get("channel")), "the bot was invited back")

    def _on_unarchive(self, event: dict[str, Any], context: BoltContext) -> None:
        team = context.team_id or self.team_id
        self.resume_channel(team, str(event.get("channel")), "the channel was unarchived")

    def resume_channel(self, team: str, channel: str, why: str) -> int:
        """Resume a channel's subscriptions that Slack errors paused; return how many."""
        with self._runtime() as rt:
            now = self.clock()
            resumed = 0
            for sub in list_subscriptions(
                rt.db, platform=PLATFORM, workspace=team, channel=channel
            ):
                if sub.paused_reason and sub.paused_reason.startswith(PAUSE_PREFIX):
                    resume_subscription(rt.db, sub.id, now)
                    resumed += 1
        if resumed:
            log.info("subscriptions resumed channel=%s count=%s because %s", channel, resumed, why)
        return resumed

    def _resume_after_auth_failure(self) -> None:
        """The token works again: lift the pauses an auth error caused."""
        reasons = tuple(f"{PAUSE_PREFIX}{code}" for code in _AUTH)
        with self._runtime() as rt:
            now = self.clock()
            paused = [
                sub
                for sub in list_subscriptions(rt.db, platform=PLATFORM, workspace=self.team_id)
                if sub.paused_reason and sub.paused_reason.startswith(reasons)
            ]
            for sub in paused:
                resume_subscription(rt.db, sub.id, now)
        if paused:
            log.info("subscriptions resumed count=%s because the bot token works", len(paused))


def _close_socket_mode(handler: SocketModeHandler) -> None:
    """Close the Socket Mode client without waiting out its one-second and receive timeouts."""
    client = handler.client
    client.closed = True
    client.auto_reconnect_enabled = False
    client.message_queue.put(None)  # wakes the message processor blocked on the queue
    session = client.current_session
    raw = session.sock if session is not None else None
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)  # wakes the receiver blocked in recv()
    handler.close()  # type: ignore[no-untyped-call]


def start_slack(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    http_server: HttpServer | None = None,
) -> SlackAdapter:
    """Check the tokens, build the Bolt app and connect; raise AdapterError with the fix.

    In HTTP mode the endpoint goes on `http_server` (not started yet; the caller starts and stops
    it), or on a server of the adapter's own when none is given.
    """
    if settings.slack_mode == "http":
        if not settings.slack_signing_secret:
            raise AdapterError("slack_mode is http: set SLACK_SIGNING_SECRET (Basic Information)")
    elif not settings.slack_app_token:
        raise AdapterError(
            "Socket Mode needs SLACK_APP_TOKEN (an xapp-… app-level token with "
            "connections:write), or set EXITPLAN_SLACK_MODE=http"
        )
    adapter = SlackAdapter(settings, clock=clock, http_server=http_server)
    adapter.start()
    return adapter
