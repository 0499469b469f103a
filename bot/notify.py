"""The interface between the dispatcher and a chat platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.alerts import Alert


@dataclass(frozen=True)
class Target:
    """Where a message goes: platform, workspace (team or guild) and channel."""

    platform: str
    workspace: str
    channel: str


class DeliveryError(Exception):
    """A message could not be sent.

    `retry_after` (seconds) is the platform's own hint; `channel_gone` means the channel
    no longer accepts the bot (archived, deleted, bot removed), so the subscription pauses;
    `permanent` means retrying cannot help.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        channel_gone: bool = False,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.channel_gone = channel_gone
        self.permanent = permanent or channel_gone


class Notifier(Protocol):
    """A chat platform's sending side, as the dispatcher sees it."""

    platform: str

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Send the alert; return the platform's reference to the message.

        `reply_to` is the reference of the first alert about the same event, so that an
        update can be threaded under it. Raises DeliveryError.
        """
        ...


class MemoryNotifier:
    """A notifier that keeps what it is sent, for tests and dry runs."""

    def __init__(self, platform: str = "memory") -> None:
        self.platform = platform
        self.sent: list[tuple[Alert, Target, str | None]] = []
        self.failures: list[DeliveryError] = []

    def fail_next(self, error: DeliveryError) -> None:
        """Make the next send raise this error (errors queue up in order)."""
        self.failures.append(error)

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Record the alert, or raise the next queued failure."""
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((alert, target, reply_to))
        return f"{self.platform}:{len(self.sent)}"
