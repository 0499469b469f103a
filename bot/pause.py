"""`pause` and `resume`: hold a channel's subscription without losing its settings.

While a subscription is paused nothing is queued for it: announcements published
meanwhile are skipped, not saved up (a channel that pauses wants quiet, not a burst
later). Resuming queues, once, what the channel must not miss, as subscribing does:
deadlines still ahead and incidents still open. Reminders pick up again with the
latest one due. Messages queued before the pause, and those that failed while a chat
error paused it, are sent on resume.
"""

from __future__ import annotations

from datetime import datetime

from bot.notify import Target
from bot.replies import Reply, resolve_provider
from bot.runtime import Runtime
from storage import Subscription
from storage.deliveries import queue_catch_up
from storage.subscriptions import list_subscriptions, pause_subscription, resume_subscription


def _find(rt: Runtime, target: Target, provider_name: str) -> tuple[Subscription, str] | Reply:
    """The channel's subscription to a provider and the provider's name, or a refusal."""
    resolved = resolve_provider(rt, provider_name)
    if isinstance(resolved, Reply):
        return resolved
    slug, name = resolved
    found = list_subscriptions(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=slug,
    )
    if not found:
        return Reply(ok=False, title=f"This channel is not subscribed to {name}.")
    return found[0], name


def cmd_pause(
    rt: Runtime, target: Target, provider_name: str, now: datetime, *, user: str
) -> Reply:
    """Pause a channel's subscription to a provider, keeping its kinds and filters."""
    found = _find(rt, target, provider_name)
    if isinstance(found, Reply):
        return found
    sub, name = found
    if sub.paused_reason:
        who = f"by {sub.paused_by}" if sub.paused_by else f"({sub.paused_reason})"
        return Reply(ok=False, title=f"{name} is already paused here {who}; `resume` it.")
    pause_subscription(rt.db, sub.id, f"paused by {user}", now, by=user)
    return Reply(
        ok=True,
        title=f"Paused {name} here. Its settings are kept; `resume {sub.provider}` takes it "
        "up again. News published meanwhile is skipped; pending deadlines and open "
        "incidents follow on resume.",
    )


def cmd_resume(rt: Runtime, target: Target, provider_name: str, now: datetime) -> Reply:
    """Resume a paused subscription; queue what the channel must not miss, once."""
    found = _find(rt, target, provider_name)
    if isinstance(found, Reply):
        return found
    sub, name = found
    if not sub.paused_reason:
        return Reply(ok=False, title=f"{name} is not paused here.")
    resume_subscription(rt.db, sub.id, now)
    resumed = list_subscriptions(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=sub.provider,
    )[0]
    caught_up = queue_catch_up(rt.db, resumed, now)
    note = (
        f" {caught_up} announcement(s) still pending (deadlines ahead, open incidents) will follow."
        if caught_up
        else ""
    )
    return Reply(ok=True, title=f"Resumed {name} here.{note}")
