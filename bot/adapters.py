"""Chat adapters: which ones to start, and the small interface the runner needs of them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from bot.notify import Notifier
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.http_app import HttpServer

log = logging.getLogger(__name__)


class ChatAdapter(Protocol):
    """A running chat platform connection: it answers commands and sends alerts."""

    platform: str
    notifier: Notifier

    def stop(self) -> None:
        """Disconnect and wait for the adapter's threads to finish."""
        ...


class AdapterError(RuntimeError):
    """A chat adapter could not start; the message names the setting to fix."""


def start_adapters(
    settings: Settings, *, http_server: HttpServer | None = None
) -> list[ChatAdapter]:
    """Start the adapters whose tokens are set; raise AdapterError when one cannot start.

    Slack's HTTP mode serves its endpoint on `http_server` when one is given.
    """
    adapters: list[ChatAdapter] = []
    if settings.slack_bot_token:
        adapters.append(_start_slack(settings, http_server))
    if settings.discord_token:
        adapters.append(_start_discord(settings))
    return adapters


def _start_slack(settings: Settings, http_server: HttpServer | None) -> ChatAdapter:
    from bot.slack_app import start_slack  # noqa: PLC0415 - slack_bolt loads only when used

    return start_slack(settings, http_server=http_server)


def _start_discord(settings: Settings) -> ChatAdapter:
    from bot.discord_app import start_discord  # noqa: PLC0415 - discord.py loads only when used

    return start_discord(settings)
