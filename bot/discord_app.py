"""The Discord bot: `/exitplan` commands, alert embeds with checklist buttons, and sending.

The only module that imports discord.py. The bot runs in its own thread with its own
event loop. The dispatcher (main thread) sends through `DiscordNotifier`, which hands each
message to that loop and waits for the outcome. Database work for commands and buttons
runs on one worker thread that owns its SQLite connection.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import threading
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot import core
from bot.alerts import Alert
from bot.discord_render import (
    KIND_CHOICES,
    SEVERITY_CHOICES,
    STEP_TEMPLATE,
    ButtonSpec,
    EmbedSpec,
    MessageSpec,
    escape,
    event_choices,
    kinds_from_choice,
    provider_choices,
    render_alert,
    render_help,
    render_reply,
)
from bot.feed_health import cmd_health
from bot.notify import DeliveryError, Notifier, Target
from bot.pause import cmd_pause, cmd_resume
from bot.runner import utc_now
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from storage.events import list_events

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Discord's own endpoints, kept to restore them when no override is configured.
DISCORD_API_URL: str = Route.BASE
DISCORD_GATEWAY_URL: yarl.URL = DiscordWebSocket.DEFAULT_GATEWAY
#: Discord error codes after which the bot cannot post in a channel: the subscription pauses.
CHANNEL_GONE = {
    10003: "Discord says this channel no longer exists (10003 Unknown Channel)",
    50001: "the bot cannot see this channel (50001 Missing Access): give it View Channel",
    50013: (
        "the bot lacks a permission in this channel (50013 Missing Permissions): it needs "
        "View Channel, Send Messages, Embed Links and Read Message History"
    ),
}
NO_MENTIONS = discord.AllowedMentions.none()
#: Longest wait for one send: discord.py sleeps through rate limits of up to 30 s itself.
SEND_TIMEOUT = 90.0
#: How long `start` waits for the login to succeed or fail before going on.
LOGIN_WAIT = 15.0
#: Answer directly when the work takes less than this; otherwise acknowledge first.
ACK_WITHIN = 2.0
STOP_TIMEOUT = 30.0
MAX_RETRY_DELAY = 300.0
MANAGE_REFUSAL = (
    "Subscribing and unsubscribing a channel needs the Manage Channels permission there. "
    "Ask someone who has it; a server admin can change who may use /exitplan under "
    "Server Settings → Integrations."
)
LOGIN_REFUSED = (
    "Discord rejected DISCORD_TOKEN (401 Unauthorized): the Discord bot is stopped, the rest "
    "of exitplan keeps running. Copy the bot token again from the Developer Portal "
    "(Bot → Reset Token), set DISCORD_TOKEN and restart exitplan."
)


def configure_endpoints(api_url: str | None, gateway_url: str | None) -> None:
    """Point discord.py at a REST base and a gateway (Discord's own when None).

    discord.py keeps both as class attributes; a plain Client connects to the default
    gateway without asking `/gateway/bot`, so this is the one place that sets them, before
    a client starts.
    """
    Route.BASE = api_url.rstrip("/") if api_url else DISCORD_API_URL
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else DISCORD_GATEWAY_URL


# -- rendering into discord.py objects ----------------------------------------------------


def to_embed(spec: EmbedSpec) -> discord.Embed:
    """A `discord.Embed` from rendered embed data."""
    embed = discord.Embed(
        title=spec.title,
        description=spec.description or None,
        colour=spec.colour,
        url=spec.url,
        timestamp=spec.timestamp,
    )
    if spec.author:
        embed.set_author(name=spec.author)
    for field in spec.fields:
        embed.add_field(name=field.name, value=field.value, inline=field.inline)
    if spec.footer:
        embed.set_footer(text=spec.footer)
    return embed


def to_view(buttons: tuple[ButtonSpec, ...]) -> discord.ui.View | None:
    """A persistent view of checklist buttons, or None without buttons."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(StepButton(button.custom_id, button.label, done=button.done, row=button.row))
    return view


def message_kwargs(spec: MessageSpec) -> dict[str, Any]:
    """Keyword arguments for send/edit calls: the embed, the view, and no mentions."""
    kwargs: dict[str, Any] = {"embed": to_embed(spec.embed), "allowed_mentions": NO_MENTIONS}
    view = to_view(spec.buttons)
    if view is not None:
        kwargs["view"] = view
    return kwargs


def channel_target(interaction: discord.Interaction[Any]) -> Target:
    """Where a command or click came from, as the core's target."""
    workspace = str(interaction.guild_id) if interaction.guild_id else "dm"
    return Target("discord", workspace, str(interaction.channel_id))


def may_manage(interaction: discord.Interaction[Any]) -> bool:
    """True when the member may change the channel's subscriptions (Manage Channels)."""
    permissions = interaction.permissions
    return permissions.manage_channels or permissions.administrator


# -- failures -----------------------------------------------------------------------------


def delivery_error(error: BaseException) -> DeliveryError:
    """Map a discord.py or network failure to what the dispatcher understands."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, discord.RateLimited):
        return DeliveryError(
            f"Discord rate limit: retry in {error.retry_after:.0f}s", retry_after=error.retry_after
        )
    if isinstance(error, discord.HTTPException):
        return _http_error(error)
    if isinstance(error, aiohttp.ClientError | OSError | TimeoutError):
        return DeliveryError(f"network error talking to Discord: {error!r}")
    return DeliveryError(f"unexpected error sending to Discord: {error!r}")


def _http_error(error: discord.HTTPException) -> DeliveryError:
    gone = CHANNEL_GONE.get(error.code)
    if gone:
        return DeliveryError(gone, channel_gone=True)
    if error.status == 429:
        return DeliveryError("Discord rate limit (HTTP 429)", retry_after=_retry_after(error))
    if error.status >= 500:
        return DeliveryError(f"Discord server error (HTTP {error.status})")
    if error.status == 401:
        return DeliveryError("Discord rejected the bot token (HTTP 401)")
    return DeliveryError(f"Discord refused the message: {error}", permanent=True)


def _retry_after(error: discord.HTTPException) -> float | None:
    headers = getattr(error.response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", ""))
    except ValueError:
        return None


# -- the client -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A command's answer: the message, and whether it worked."""

    message: MessageSpec
    ok: bool = True


def reply_answer(reply: core.Reply) -> Answer:
    """A core reply as an answer."""
    return Answer(MessageSpec(render_reply(reply)), ok=reply.ok)


class StepButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=STEP_TEMPLATE
):
    """A checklist step's button; its custom_id says which event and step, across restarts."""

    def __init__(self, custom_id: str, label: str, *, done: bool = False, row: int | None = None):
        style = discord.ButtonStyle.success if done else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id, row=row))
        match = re.fullmatch(STEP_TEMPLATE, custom_id)
        if match is None:
            raise ValueError(f"not a checklist button: {custom_id!r}")
        self.event_id = int(match["event"])
        self.step = match["step"]
        self.purpose = match["purpose"] or "alert"

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> StepButton:
        """Rebuild the button from a click, even one on a message sent before a restart."""
        return cls(match.string, str(getattr(item, "label", None) or match["step"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Tick or untick the step for this channel and redraw the message."""
        client = interaction.client
        if isinstance(client, ExitplanClient):
            await client.bot.toggle(interaction, self.event_id, self.step, self.purpose)


class CommandTree(app_commands.CommandTree["ExitplanClient"]):
    """The command tree, answering the person when a command fails unexpectedly."""

    async def on_error(
        self, interaction: discord.Interaction[ExitplanClient], error: app_commands.AppCommandError
    ) -> None:
        """Log the failure once and tell the person, privately."""
        name = interaction.command.qualified_name if interaction.command else "?"
        log.error("discord command failed command=%s", name, exc_info=error)
        text = "Something went wrong; the details are in exitplan's log."
        with suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )


class ExitplanClient(discord.Client):
    """discord.py's client with exitplan's command tree and persistent checklist buttons."""

    def __init__(self, bot: DiscordBot) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # not privileged; keeps discord.py's channel state coherent
        # exitplan has no voice: skip discord.py's warnings about voice libraries.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            max_ratelimit_timeout=30.0,
        )
        self.bot = bot
        self.tree = CommandTree(self)

    async def setup_hook(self) -> None:
        """After login: register the buttons and the commands, sync them, accept sends."""
        self.add_dynamic_items(StepButton)
        self.tree.add_command(ExitplanCommands(self.bot))
        guild_id = self.bot.settings.discord_guild
        try:
            if guild_id:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
            log.info("discord commands synced count=%s guild=%s", len(synced), guild_id or "all")
        except discord.HTTPException as error:
            log.warning(
                "discord commands not synced error=%s; invite the bot with the "
                "applications.commands scope (alerts still work)",
                error,
            )
        self.bot.mark_ready()

    async def on_ready(self) -> None:
        """Log the connection."""
        log.info("discord connected user=%s", self.user)

    async def on_resumed(self) -> None:
        """Log a resumed gateway session."""
        log.info("discord session resumed")


class ExitplanCommands(app_commands.Group):
    """`/exitplan …`: the same verbs as on every platform."""

    def __init__(self, bot: DiscordBot) -> None:
        super().__init__(
            name="exitplan",
            description="Alerts when a cloud or storage provider shuts down or reprices",
            guild_only=True,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
            allowed_installs=app_commands.AppInstallationType(guild=True),
        )
        self.bot = bot

    @app_commands.command(description="Send a provider's alerts here (needs Manage Channels)")
    @app_commands.describe(
        provider="A provider, or all",
        kinds="Which news (default: all but outages)",
        match="Only news naming one of these, comma-separated (us-east-1, Spaces NYC3)",
        exclude="Never news naming one of these, comma-separated",
        min_severity="Only news at least this severe",
    )
    @app_commands.choices(
        kinds=[app_commands.Choice(name=n, value=v) for n, v in KIND_CHOICES],
        min_severity=[app_commands.Choice(name=n, value=v) for n, v in SEVERITY_CHOICES],
    )
    async def subscribe(  # noqa: PLR0917 - discord.py maps each parameter to an option
        self,
        interaction: discord.Interaction[Any],
        provider: str,
        kinds: str | None = None,
        match: str | None = None,
        exclude: str | None = None,
        min_severity: str | None = None,
    ) -> None:
        """Subscribe this channel to a provider."""
        if not may_manage(interaction):
            await self.bot.refuse(interaction, MANAGE_REFUSAL)
            return
        target = channel_target(interaction)
        words = kinds_from_choice(kinds)
        await self.bot.answer(
            interaction,
            lambda rt: reply_answer(
                core.cmd_subscribe(
                    rt,
                    target,
                    provider,
                    words,
                    utc_now(),
                    match=[match] if match else [],
                    exclude=[exclude] if exclude else [],
                    min_severity=min_severity,
                )
            ),
            public=True,
        )

    @app_commands.command(description="Hold a provider's alerts here (needs Manage Channels)")
    @app_commands.describe(provider="A provider this channel is subscribed to, or all")
    async def pause(self, interaction: discord.Interaction[Any], provider: str) -> None:
        """Pause this channel's subscription to a provider, keeping its settings."""
        if not may_manage(interaction):
            await self.bot.refuse(interaction, MANAGE_REFUSAL)
            return
        target = channel_target(interaction)
        user = interaction.user.display_name
        await self.bot.answer(
            interaction,
            lambda rt: reply_answer(cmd_pause(rt, target, provider, utc_now(), user=user)),
            public=True,
        )

    @app_commands.command(description="Take a paused subscription up again (Manage Channels)")
    @app_commands.describe(provider="A provider this channel is subscribed to, or all")
    async def resume(self, interaction: discord.Interaction[Any], provider: str) -> None:
        """Resume this channel's paused subscription to a provider."""
        if not may_manage(interaction):
            await self.bot.refuse(interaction, MANAGE_REFUSAL)
            return
        target = channel_target(interaction)
        await self.bot.answer(
            interaction,
            lambda rt: reply_answer(cmd_resume(rt, target, provider, utc_now())),
            public=True,
        )

    @app_commands.command(description="Failing feeds of this channel's providers")
    async def health(self, interaction: discord.Interaction[Any]) -> None:
        """List the failing feeds of this channel's providers with their last error."""
        target = channel_target(interaction)
        await self.bot.answer(
            interaction, lambda rt: reply_answer(cmd_health(rt, target, utc_now())), public=False
        )

    @app_commands.command(description="Stop a provider's alerts here (needs Manage Channels)")
    @app_commands.describe(provider="A provider, or all")
    async def unsubscribe(self, interaction: discord.Interaction[Any], provider: str) -> None:
        """Unsubscribe this channel from a provider."""
        if not may_manage(interaction):
            await self.bot.refuse(interaction, MANAGE_REFUSAL)
            return
        target = channel_target(interaction)
        await self.bot.answer(
            interaction,
            lambda rt: reply_answer(core.cmd_unsubscribe(rt, target, provider)),
            public=True,
        )

    @app_commands.command(name="list", description="This channel's subscriptions")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        """List this channel's subscriptions."""
        target = channel_target(interaction)
        await self.bot.answer(
            interaction, lambda rt: reply_answer(core.cmd_list(rt, target)), public=False
        )

    @app_commands.command(description="The providers exitplan knows")
    @app_commands.describe(query="Part of a name, alias or category")
    async def providers(self, interaction: discord.Interaction[Any], query: str = "") -> None:
        """List the known providers."""
        await self.bot.answer(
            interaction, lambda rt: reply_answer(core.cmd_providers(rt, query)), public=False
        )

    @app_commands.command(description="A provider's state, news, deadlines and feed health")
    @app_commands.describe(provider="A provider; leave out for this channel's subscriptions")
    async def status(
        self, interaction: discord.Interaction[Any], provider: str | None = None
    ) -> None:
        """Show a provider's status, or the channel's."""
        target = channel_target(interaction)
        await self.bot.answer(
            interaction,
            lambda rt: reply_answer(core.cmd_status(rt, provider, utc_now(), target)),
            public=False,
        )

    @app_commands.command(description="The migration checklist for an event, a button per step")
    @app_commands.describe(event="The event number shown in its alert")
    async def checklist(self, interaction: discord.Interaction[Any], event: int) -> None:
        """Post an event's checklist for this channel."""
        target = channel_target(interaction)
        await self.bot.answer(interaction, lambda rt: checklist_answer(rt, target, event))

    @app_commands.command(name="help", description="What exitplan understands")
    async def help_(self, interaction: discord.Interaction[Any]) -> None:
        """Show the commands."""
        await self.bot.answer(
            interaction, lambda _rt: Answer(MessageSpec(render_help())), public=False
        )

    @subscribe.autocomplete("provider")
    @unsubscribe.autocomplete("provider")
    @pause.autocomplete("provider")
    @resume.autocomplete("provider")
    async def _provider_or_all(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.bot.provider_choices(current, include_every=True)

    @status.autocomplete("provider")
    async def _provider(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.bot.provider_choices(current, include_every=False)

    @checklist.autocomplete("event")
    async def _event(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        return await self.bot.event_choices(current)


def checklist_answer(rt: Runtime, target: Target, event_id: int) -> Answer:
    """An event's alert with this channel's checklist and buttons, or why there is none."""
    alert = core.alert_for(rt, target, event_id, utc_now())
    if alert is None:
        reply = core.Reply(ok=False, title=f"No event #{event_id}; alerts show their number.")
        return reply_answer(reply)
    if alert.checklist is None:
        reply = core.Reply(ok=False, title=f"Event #{event_id} is not classified; no checklist.")
        return reply_answer(reply)
    return Answer(render_alert(alert))


# -- the adapter ----------------------------------------------------------------------------

#: Names of discord.py's tasks that answer an interaction (commands, autocomplete, buttons).
_ANSWERING_TASKS = ("CommandTree-invoker", "discord-ui-dynamic-item-", "discord-ui-view-dispatch-")
DRAIN_TIMEOUT = 10.0


async def _cancel_leftovers() -> None:
    """Cancel what discord.py leaves running after close (its 2 s wait for guilds)."""
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current]
    for task in left:
        task.cancel()
    if left:
        log.debug("discord tasks cancelled at stop count=%s", len(left))
        await asyncio.gather(*left, return_exceptions=True)


async def _drain() -> None:
    """Let interactions already being answered finish (bounded) before disconnecting."""
    current = asyncio.current_task()
    busy = [
        task
        for task in asyncio.all_tasks()
        if task is not current and task.get_name().startswith(_ANSWERING_TASKS)
    ]
    if busy:
        await asyncio.wait(busy, timeout=DRAIN_TIMEOUT)


class DiscordBot:
    """The running Discord adapter: a client on its own thread and event loop."""

    platform = "discord"

    def __init__(
        self, settings: Settings, *, ack_within: float = ACK_WITHIN, login_wait: float = LOGIN_WAIT
    ) -> None:
        if not settings.discord_token:
            raise ValueError("DISCORD_TOKEN is not set")
        self.settings = settings
        self.ack_within = ack_within
        self.login_wait = login_wait
        self.notifier: Notifier = DiscordNotifier(self)
        self._token = settings.discord_token
        self._thread = threading.Thread(target=self._thread_main, name="discord", daemon=True)
        self._db = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="discord-db")
        self._runtime: Runtime | None = None  # touched only on the database thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._client: ExitplanClient | None = None
        self._loop_started = threading.Event()
        self._ready = threading.Event()
        self._settled = threading.Event()
        self._failure: str | None = None
        self._stopped = False

    # -- lifecycle, called from the main thread ------------------------------------------

    def start(self) -> None:
        """Start the bot's thread; wait (bounded) for the login to succeed or fail."""
        self._thread.start()
        self._loop_started.wait(STOP_TIMEOUT)
        if not self._settled.wait(self.login_wait):
            log.warning("discord login still in progress after %.0fs; going on", self.login_wait)

    def stop(self) -> None:
        """Close the client on its loop, join its thread and close the database (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread.ident is not None:
            self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            log.warning("discord thread did not stop within %.0fs", STOP_TIMEOUT)
        self._db.submit(self._close_runtime).result(STOP_TIMEOUT)
        self._db.shutdown(wait=True)

    @property
    def failure(self) -> str | None:
        """Why the bot stopped for good (an invalid token), or None."""
        return self._failure

    def is_ready(self) -> bool:
        """True once logged in with commands synced: alerts can be sent."""
        return self._ready.is_set()

    def mark_ready(self) -> None:
        """Called on the bot's loop once the client is logged in."""
        self._ready.set()
        self._settled.set()

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
        """Run a coroutine on the bot's loop from another thread and wait for its result."""
        if self._failure:
            raise DeliveryError(f"the Discord bot is stopped: {self._failure}")
        loop = self._loop
        if loop is None or not self._ready.is_set():
            raise DeliveryError("the Discord bot is not connected yet")
        coroutine = make()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError:
            coroutine.close()
            raise DeliveryError("the Discord bot has stopped") from None
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeliveryError(f"Discord did not answer within {timeout:.0f}s") from None
        except Exception as error:
            raise delivery_error(error) from error

    # -- the loop ------------------------------------------------------------------------

    def _thread_main(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._loop_started.set()
        delay = 1.0
        try:
            while not self._stopping.is_set():
                retry = await self._run_client()
                await _cancel_leftovers()
                if not retry:
                    break
                log.warning("discord unreachable; connecting again in=%.0fs", delay)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)
        finally:
            self._ready.clear()
            self._settled.set()
            self._client = None
            await _cancel_leftovers()

    async def _run_client(self) -> bool:
        """Log in and stay connected until stopped; True when worth trying again."""
        assert self._stopping is not None  # noqa: S101 - set by _main before this runs
        client = ExitplanClient(self)
        self._client = client
        async with client:
            running = asyncio.create_task(client.start(self._token), name="discord-client")
            stopping = asyncio.create_task(self._stopping.wait(), name="discord-stop")
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not running.done():
                await _drain()
                await client.close()
                with suppress(Exception):
                    await asyncio.wait_for(running, STOP_TIMEOUT)
                return False
            stopping.cancel()
            with suppress(asyncio.CancelledError):
                await stopping
            self._ready.clear()
            return self._retry_after_failure(running.exception())

    def _retry_after_failure(self, error: BaseException | None) -> bool:
        if error is None:
            return not self._stopping_set()
        if isinstance(error, discord.LoginFailure) or (
            isinstance(error, discord.ConnectionClosed) and error.code == 4004
        ):
            self._failure = LOGIN_REFUSED
            log.error("%s", LOGIN_REFUSED)
            return False
        if isinstance(error, discord.PrivilegedIntentsRequired | discord.ConnectionClosed):
            self._failure = f"the Discord gateway closed the connection for good: {error}"
            log.error("discord stopped: %s", self._failure)
            return False
        if isinstance(
            error,
            aiohttp.ClientError
            | OSError
            | TimeoutError
            | discord.GatewayNotFound
            | discord.DiscordServerError,
        ):
            log.warning("discord connection failed error=%r", error)
            return True
        self._failure = f"the Discord bot failed: {error!r}"
        log.error("discord stopped", exc_info=error)
        return False

    def _stopping_set(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    def _require_client(self) -> ExitplanClient:
        if self._client is None:
            raise DeliveryError("the Discord bot is not connected")
        return self._client

    # -- database work, on its own thread ---------------------------------------------------

    def _rt(self) -> Runtime:
        if self._runtime is None:
            self._runtime = open_runtime(self.settings, utc_now(), sync=False)
        return self._runtime

    def _close_runtime(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    async def db_call(self, work: Callable[[Runtime], T]) -> T:
        """Run `work` with the runtime on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, lambda: work(self._rt()))

    # -- sending ----------------------------------------------------------------------------

    async def post_alert(self, spec: MessageSpec, target: Target, reply_to: str | None) -> str:
        """Post an alert in its channel (as a reply to `reply_to`); return "channel:message"."""
        client = self._require_client()
        if not target.channel.isdigit():
            raise DeliveryError(f"{target.channel!r} is not a Discord channel id", permanent=True)
        channel_id = int(target.channel)
        guild_id = int(target.workspace) if target.workspace.isdigit() else None
        channel = client.get_partial_messageable(channel_id, guild_id=guild_id)
        extra: dict[str, Any] = {}
        if reply_to:
            ref_channel, _, ref_message = reply_to.partition(":")
            if ref_channel == target.channel and ref_message.isdigit():
                extra["reference"] = discord.MessageReference(
                    message_id=int(ref_message),
                    channel_id=channel_id,
                    guild_id=guild_id,
                    fail_if_not_exists=False,
                )
        message = await channel.send(**extra, **message_kwargs(spec))
        return f"{channel_id}:{message.id}"

    # -- interactions -------------------------------------------------------------------------

    async def _finished_within(self, pending: asyncio.Future[Any]) -> bool:
        """True when the work finished within `ack_within` (0: always acknowledge first)."""
        if self.ack_within <= 0:
            return False
        done, _ = await asyncio.wait({pending}, timeout=self.ack_within)
        return bool(done)

    async def refuse(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Answer only the person, with a short explanation."""
        await interaction.response.send_message(
            escape(text), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def answer(
        self,
        interaction: discord.Interaction[Any],
        work: Callable[[Runtime], Answer],
        *,
        public: bool = True,
    ) -> None:
        """Run a command's work and answer; acknowledge first when it is slow.

        Answers that only the caller needs, and every refusal, are ephemeral; a public
        command that had to be acknowledged first stays public.
        """
        pending = asyncio.ensure_future(self.db_call(work))
        if not await self._finished_within(pending):
            await interaction.response.defer(ephemeral=not public, thinking=True)
            result = await pending
            await interaction.followup.send(
                ephemeral=not public, wait=True, **message_kwargs(result.message)
            )
            return
        result = pending.result()
        await interaction.response.send_message(
            ephemeral=not (public and result.ok), **message_kwargs(result.message)
        )

    async def toggle(
        self, interaction: discord.Interaction[Any], event_id: int, step: str, purpose: str
    ) -> None:
        """Flip a step for the clicking channel, recording who did it; redraw the message."""
        target = channel_target(interaction)
        user = f"<@{interaction.user.id}>"

        def work(rt: Runtime) -> MessageSpec | str:
            now = utc_now()
            try:
                checklist = core.toggle_step(rt, target, event_id, ref=step, user=user, now=now)
            except LookupError as error:
                return str(error)
            alert = core.alert_for(rt, target, event_id, now, purpose=purpose)
            if alert is None:
                return f"event #{event_id} no longer exists"
            return render_alert(replace(alert, checklist=checklist))

        pending = asyncio.ensure_future(self.db_call(work))
        if not await self._finished_within(pending):
            await interaction.response.defer()
            result = await pending
            if isinstance(result, str):
                await interaction.followup.send(
                    escape(result), ephemeral=True, allowed_mentions=NO_MENTIONS
                )
            else:
                await interaction.edit_original_response(**message_kwargs(result))
            return
        result = pending.result()
        if isinstance(result, str):
            await self.refuse(interaction, result)
        else:
            await interaction.response.edit_message(**message_kwargs(result))

    async def provider_choices(
        self, current: str, *, include_every: bool
    ) -> list[app_commands.Choice[str]]:
        """Autocomplete choices for a provider, from the catalog with aliases."""
        found = await self.db_call(
            lambda rt: provider_choices(rt.catalog, current, include_every=include_every)
        )
        return [app_commands.Choice(name=name, value=value) for name, value in found]

    async def event_choices(self, current: str) -> list[app_commands.Choice[int]]:
        """Autocomplete choices for an event: the latest classified ones."""
        found = await self.db_call(lambda rt: event_choices(list_events(rt.db, limit=50), current))
        return [app_commands.Choice(name=name, value=value) for name, value in found]


class DiscordNotifier:
    """The dispatcher's side of the bot: sends an alert and waits for Discord's answer."""

    platform = "discord"

    def __init__(self, bot: DiscordBot, timeout: float = SEND_TIMEOUT) -> None:
        self._bot = bot
        self.timeout = timeout

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Send the alert as an embed; updates reply to the first alert. Raises DeliveryError."""
        spec = render_alert(alert)
        return self._bot.run(lambda: self._bot.post_alert(spec, target, reply_to), self.timeout)


def start_discord(settings: Settings) -> DiscordBot:
    """Point discord.py at the configured endpoints and start the bot."""
    configure_endpoints(settings.discord_api_url, settings.discord_gateway_url)
    bot = DiscordBot(settings)
    bot.start()
    return bot
