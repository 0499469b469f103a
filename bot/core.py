"""The platform-neutral command core: a parsed command in, a `Reply` out.

Slack, Discord and the console all call these functions; none of them knows a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.alerts import Alert, build_alert
from bot.checklists import Checklist, channel_checklist, tick
from bot.filters import describe_filters, parse_filters
from bot.impact import format_size, parse_size
from bot.notify import Target
from bot.replies import (
    Reply,
    Section,
    describe_kinds,
    event_line,
    resolve_provider,
    subscription_line,
    unknown_provider,
)
from bot.runtime import Runtime
from bot.status import channel_status, provider_status
from feeds.catalog import Provider
from feeds.model import DEFAULT_KINDS, KINDS
from storage import ALL_KINDS, Event
from storage.deliveries import queue_catch_up
from storage.events import get_event
from storage.subscriptions import list_subscriptions, subscribe, unsubscribe
from storage.usage import get_usage, list_usage, set_usage

__all__ = [
    "Reply",
    "Section",
    "alert_for",
    "cmd_checklist",
    "cmd_help",
    "cmd_list",
    "cmd_providers",
    "cmd_status",
    "cmd_subscribe",
    "cmd_unsubscribe",
    "cmd_usage",
    "event_line",
    "find_event",
    "parse_kinds",
    "toggle_step",
    "unknown_provider",
]

_OPEN_INCIDENT_DAYS = 14
_LATEST = 8


def parse_kinds(words: list[str]) -> tuple[tuple[str, ...], str | None]:
    """Validate kind names; returns the kinds (defaults when none) or an error message."""
    if not words:
        return DEFAULT_KINDS, None
    chosen: list[str] = []
    for word in words:
        for part in word.replace(",", " ").split():
            kind = part.strip().lower().replace("-", "_")
            if kind in {"price", "pricing"}:
                kind = "price_change"
            if kind not in (*KINDS, ALL_KINDS):
                valid = ", ".join((*KINDS, ALL_KINDS))
                return (), f"Unknown kind {part!r}. Choose from: {valid}."
            if kind not in chosen:
                chosen.append(kind)
    return tuple(chosen), None


def cmd_subscribe(
    rt: Runtime,
    target: Target,
    provider_name: str,
    kinds: list[str],
    now: datetime,
    *,
    match: Sequence[str] = (),
    exclude: Sequence[str] = (),
    min_severity: str | None = None,
) -> Reply:
    """Subscribe a channel to a provider (or to every provider) for some kinds of news.

    `match`, `exclude` and `min_severity` narrow it (see bot/filters.py); subscribing
    again states the whole subscription, so filters left out are removed.
    """
    chosen, error = parse_kinds(kinds)
    if error:
        return Reply(ok=False, title=error)
    filters, error = parse_filters(match, exclude, min_severity)
    if error:
        return Reply(ok=False, title=error)
    resolved = resolve_provider(rt, provider_name)
    if isinstance(resolved, Reply):
        return resolved
    slug, name = resolved
    before = list_subscriptions(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=slug,
    )
    subscription, created = subscribe(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=slug,
        kinds=chosen,
        now=now,
        match_terms=filters.match,
        exclude_terms=filters.exclude,
        min_severity=filters.min_severity,
    )
    caught_up = queue_catch_up(rt.db, subscription, now)
    verb = "Subscribed" if created else "Updated the subscription"
    note = "" if "outage" in chosen or ALL_KINDS in chosen else " Outages are opt-in: add `outage`."
    shown = describe_filters(subscription)
    if shown:
        note = f" Only news that passes the filters ({shown}).{note}"
    elif any(sub.filtered for sub in before):
        note = f" Filters removed.{note}"
    if caught_up:
        note += (
            f" {caught_up} announcement(s) still pending there (deadlines ahead, open "
            "incidents) will follow in this channel."
        )
    return Reply(ok=True, title=f"{verb}: {name} ({describe_kinds(chosen)}).{note}")


def cmd_unsubscribe(rt: Runtime, target: Target, provider_name: str) -> Reply:
    """Remove a channel's subscription to a provider."""
    resolved = resolve_provider(rt, provider_name)
    if isinstance(resolved, Reply):
        return resolved
    slug, name = resolved
    removed = unsubscribe(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=slug,
    )
    if not removed:
        return Reply(ok=False, title=f"This channel is not subscribed to {name}.")
    return Reply(ok=True, title=f"Unsubscribed from {name}.")


def cmd_list(rt: Runtime, target: Target) -> Reply:
    """List a channel's subscriptions."""
    subs = list_subscriptions(
        rt.db, platform=target.platform, workspace=target.workspace, channel=target.channel
    )
    if not subs:
        return Reply(ok=True, title="No subscriptions yet. Try `subscribe aws`.")
    lines = tuple(subscription_line(rt, sub) for sub in subs)
    return Reply(ok=True, title=f"{len(subs)} subscription(s):", sections=(Section("", lines),))


def _provider_line(provider: Provider) -> str:
    feeds = len(provider.feeds)
    unconfirmed = sum(1 for feed in provider.feeds if feed.confidence != "confirmed")
    detail = f"{feeds} feed(s)" + (f", {unconfirmed} unconfirmed" if unconfirmed else "")
    return f"{provider.slug} — {provider.name} [{provider.category}] ({detail})"


def cmd_providers(rt: Runtime, query: str = "") -> Reply:
    """List the providers exitplan knows, optionally those matching a query."""
    found = rt.catalog.search(query)
    if not found:
        suggestions = rt.catalog.suggest(query)
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        return Reply(ok=False, title=f"No provider matches {query!r}.{hint}")
    lines = tuple(_provider_line(provider) for provider in found)
    return Reply(ok=True, title=f"{len(found)} provider(s):", sections=(Section("", lines),))


def cmd_status(
    rt: Runtime, provider_name: str | None, now: datetime, target: Target | None
) -> Reply:
    """A provider's state, announcements, deadlines and feeds; without one, the channel's."""
    if provider_name and provider_name.strip():
        return provider_status(rt, provider_name, now, target)
    if target is None:
        return Reply(ok=False, title="Name a provider: `status PROVIDER`.")
    return channel_status(rt, now, target)


HELP_LINES = (
    "subscribe PROVIDER [KIND...] [match:TERM] [exclude:TERM] [min:LEVEL] — alerts for a "
    "provider (kinds: shutdown, data_loss, security, price_change, outage, all; outages are "
    "opt-in), only those naming a TERM (a region, component or product: match:us-east-1, "
    'match:"Spaces NYC3"), none naming an excluded one, at least LEVEL severe (critical, '
    "high, medium, low, info); subscribing again replaces the filters",
    "unsubscribe PROVIDER — stop alerts for a provider",
    "pause PROVIDER / resume PROVIDER — hold a subscription's alerts and take them up again "
    "(what is published meanwhile is skipped; pending deadlines and open incidents follow)",
    "health — failing feeds of this channel's providers, with their last error",
    "list — this channel's subscriptions",
    "providers [QUERY] — the providers exitplan knows",
    "status [PROVIDER] — current state, announcements, deadlines and checklist progress; "
    "without a provider, every subscription of this channel, worst first",
    "checklist EVENT [done N...] — the migration checklist for an event, ticking steps",
    "usage set PROVIDER SIZE — how much this channel keeps there (12TB), so price-change "
    "alerts say what they cost",
    "help — this text",
)


def cmd_help() -> Reply:
    """What the bot understands."""
    return Reply(ok=True, title="exitplan commands:", sections=(Section("", HELP_LINES),))


def find_event(rt: Runtime, ref: str) -> Event | None:
    """An event by its number ("42" or "#42")."""
    digits = ref.strip().lstrip("#")
    return get_event(rt.db, int(digits)) if digits.isdigit() else None


def checklist_lines(checklist: Checklist) -> tuple[str, ...]:
    """A checklist as reply lines: one per step, ticked ones with who and when."""
    lines = []
    for step in checklist.steps:
        mark = "[x]" if step.done else "[ ]"
        line = f"{mark} {step.number}. {step.text}"
        if step.done and step.done_at is not None:
            line += f" — {step.done_by}, {step.done_at.strftime('%Y-%m-%d')}"
        lines.append(line)
    return tuple(lines)


def cmd_checklist(
    rt: Runtime,
    target: Target,
    event_ref: str,
    now: datetime,
    *,
    done: Sequence[str] = (),
    undo: Sequence[str] = (),
    user: str = "someone",
) -> Reply:
    """Show a channel's checklist for an event, ticking or unticking steps first."""
    event = find_event(rt, event_ref)
    if event is None:
        return Reply(ok=False, title=f"No event {event_ref!r}; `events` lists them with numbers.")
    where = {"platform": target.platform, "workspace": target.workspace, "channel": target.channel}
    checklist = channel_checklist(rt.db, rt.catalog, event, **where)
    if checklist is None:
        return Reply(ok=False, title=f"Event #{event.id} is not classified; it has no checklist.")
    try:
        for ref, state in [*((r, True) for r in done), *((r, False) for r in undo)]:
            checklist = tick(
                rt.db, rt.catalog, event, ref=ref, by=user, now=now, done=state, **where
            )
    except LookupError as error:
        return Reply(ok=False, title=str(error))
    title = f"{checklist.title} for #{event.id} {event.title} ({checklist.progress})"
    return Reply(ok=True, title=title, sections=(Section("", checklist_lines(checklist)),))


def toggle_step(
    rt: Runtime,
    target: Target,
    event_id: int,
    *,
    ref: str,
    user: str,
    now: datetime,
    done: bool | None = None,
) -> Checklist:
    """Flip one step of a channel's checklist (a button), or set it (`done`, a checkbox).

    Returns the new state. Raises LookupError with a message for the person when the
    event or step is unknown.
    """
    event = get_event(rt.db, event_id)
    if event is None:
        raise LookupError(f"event #{event_id} no longer exists")
    return tick(
        rt.db,
        rt.catalog,
        event,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        ref=ref,
        by=user,
        now=now,
        done=done,
    )


def alert_for(
    rt: Runtime, target: Target, event_id: int, now: datetime, purpose: str = "alert"
) -> Alert | None:
    """Rebuild an event's alert for one channel, with its current checklist (to edit it)."""
    event = get_event(rt.db, event_id)
    if event is None:
        return None
    checklist = rt.checklist_for(event, target) if purpose != "update" else None
    return build_alert(
        event,
        provider_name=rt.provider_name(event.provider),
        purpose=purpose,
        today=now.date(),
        checklist=checklist,
        impact=rt.impact_for(event, target),
    )


def cmd_usage(
    rt: Runtime, target: Target, provider_name: str | None, amount: str | None, now: datetime
) -> Reply:
    """Record how much a channel keeps at a provider (`usage set`), or show what it recorded."""
    if provider_name is None:
        recorded = list_usage(
            rt.db, platform=target.platform, workspace=target.workspace, channel=target.channel
        )
        if not recorded:
            return Reply(ok=True, title="No usage recorded. Try `usage set backblaze 12TB`.")
        lines = tuple(
            f"{rt.provider_name(slug)}: {format_size(size)}" for slug, size in recorded.items()
        )
        return Reply(ok=True, title="Recorded usage:", sections=(Section("", lines),))
    provider = rt.catalog.resolve(provider_name)
    if provider is None:
        return unknown_provider(rt, provider_name)
    if amount is None:
        size = get_usage(
            rt.db,
            platform=target.platform,
            workspace=target.workspace,
            channel=target.channel,
            provider=provider.slug,
        )
        shown = format_size(size) if size is not None else "nothing recorded"
        return Reply(ok=True, title=f"{provider.name}: {shown}.")
    try:
        size = parse_size(amount)
    except ValueError as error:
        return Reply(ok=False, title=str(error))
    set_usage(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=provider.slug,
        size_bytes=size,
        now=now,
    )
    return Reply(
        ok=True,
        title=f"Recorded: this channel keeps {format_size(size)} at {provider.name}. "
        "Price-change alerts will say what a change costs you.",
    )
