"""The platform-neutral command core: a parsed command in, a `Reply` out.

Slack, Discord and the console all call these functions; none of them knows a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts import Alert, build_alert, days_left, kind_label
from bot.checklists import Checklist, channel_checklist, tick
from bot.notify import Target
from bot.runtime import Runtime
from feeds.catalog import Provider
from feeds.model import DEFAULT_KINDS, KINDS
from storage import ALL_KINDS, EVERY_PROVIDER, Event, Subscription
from storage.events import get_event, list_events, upcoming_deadlines
from storage.feeds import list_feeds
from storage.subscriptions import list_subscriptions, subscribe, unsubscribe

#: Names that subscribe a channel to every provider.
EVERY_PROVIDER_NAMES = ("all", "*", "every", "everything")
_OPEN_INCIDENT_DAYS = 14
_LATEST = 8


@dataclass(frozen=True)
class Section:
    """A headed group of lines in a reply."""

    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Reply:
    """What the bot answers to a command, before any platform renders it."""

    ok: bool
    title: str
    sections: tuple[Section, ...] = ()

    @property
    def text(self) -> str:
        """The reply as plain text."""
        parts = [self.title]
        for section in self.sections:
            parts.append(f"\n{section.heading}:" if section.heading else "")
            parts.extend(f"  {line}" for line in section.lines)
        return "\n".join(parts).rstrip()


def unknown_provider(rt: Runtime, name: str) -> Reply:
    suggestions = rt.catalog.suggest(name)
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    return Reply(
        ok=False,
        title=f"Unknown provider {name!r}.{hint} List them all with `providers`.",
    )


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


def _describe_kinds(kinds: tuple[str, ...]) -> str:
    if ALL_KINDS in kinds:
        return "everything, unclassified news included"
    return ", ".join(kind_label(kind).lower() for kind in kinds)


def cmd_subscribe(
    rt: Runtime, target: Target, provider_name: str, kinds: list[str], now: datetime
) -> Reply:
    """Subscribe a channel to a provider (or to every provider) for some kinds of news."""
    chosen, error = parse_kinds(kinds)
    if error:
        return Reply(ok=False, title=error)
    if provider_name.strip().lower() in EVERY_PROVIDER_NAMES:
        slug, name = EVERY_PROVIDER, "every provider"
    else:
        provider = rt.catalog.resolve(provider_name)
        if provider is None:
            return unknown_provider(rt, provider_name)
        slug, name = provider.slug, provider.name
    _, created = subscribe(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=slug,
        kinds=chosen,
        now=now,
    )
    verb = "Subscribed" if created else "Updated the subscription"
    note = "" if "outage" in chosen or ALL_KINDS in chosen else " Outages are opt-in: add `outage`."
    return Reply(ok=True, title=f"{verb}: {name} ({_describe_kinds(chosen)}).{note}")


def cmd_unsubscribe(rt: Runtime, target: Target, provider_name: str) -> Reply:
    """Remove a channel's subscription to a provider."""
    if provider_name.strip().lower() in EVERY_PROVIDER_NAMES:
        slug, name = EVERY_PROVIDER, "every provider"
    else:
        provider = rt.catalog.resolve(provider_name)
        if provider is None:
            return unknown_provider(rt, provider_name)
        slug, name = provider.slug, provider.name
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


def _subscription_line(rt: Runtime, sub: Subscription) -> str:
    line = f"{rt.provider_name(sub.provider)}: {_describe_kinds(sub.kinds)}"
    if sub.paused_reason:
        line += f" — PAUSED: {sub.paused_reason}"
    return line


def cmd_list(rt: Runtime, target: Target) -> Reply:
    """List a channel's subscriptions."""
    subs = list_subscriptions(
        rt.db, platform=target.platform, workspace=target.workspace, channel=target.channel
    )
    if not subs:
        return Reply(ok=True, title="No subscriptions yet. Try `subscribe aws`.")
    lines = tuple(_subscription_line(rt, sub) for sub in subs)
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


def event_line(event: Event, now: datetime) -> str:
    when = event.published.strftime("%Y-%m-%d") if event.published else "undated"
    kinds = "+".join(event.kinds) or "other"
    line = f"#{event.id} {when} [{kinds}, {event.severity}] {event.title}"
    if event.deadline:
        left = days_left(event.deadline, now.date())
        line += f" — deadline {event.deadline.isoformat()} ({left} days left)"
    return line


def cmd_status(rt: Runtime, provider_name: str, now: datetime, target: Target | None) -> Reply:
    """A provider's open incidents, recent announcements, deadlines and feed health."""
    provider = rt.catalog.resolve(provider_name)
    if provider is None:
        return unknown_provider(rt, provider_name)
    since = now - timedelta(days=_OPEN_INCIDENT_DAYS)
    incidents = [
        event
        for event in list_events(
            rt.db, provider=provider.slug, since=since, role="status", include_other=True
        )
        if event.state == "open"
    ]
    recent = list_events(rt.db, provider=provider.slug, limit=_LATEST)
    deadlines = upcoming_deadlines(rt.db, now.date(), provider=provider.slug)
    sections = [
        Section("Open incidents", tuple(event_line(e, now) for e in incidents) or ("none",)),
        Section(
            "Latest announcements",
            tuple(event_line(e, now) for e in recent) or ("none classified yet",),
        ),
        Section("Deadlines", tuple(event_line(e, now) for e in deadlines) or ("none ahead",)),
        Section("Feeds", _feed_lines(rt, provider)),
    ]
    if target is not None:
        subs = [
            sub
            for sub in list_subscriptions(
                rt.db, platform=target.platform, workspace=target.workspace, channel=target.channel
            )
            if sub.provider in (provider.slug, EVERY_PROVIDER)
        ]
        lines = tuple(_subscription_line(rt, sub) for sub in subs) or ("not subscribed",)
        sections.append(Section("This channel", lines))
    return Reply(ok=True, title=f"{provider.name} ({provider.slug})", sections=tuple(sections))


def _feed_lines(rt: Runtime, provider: Provider) -> tuple[str, ...]:
    stored = {feed.url: feed for feed in list_feeds(rt.db, provider.slug)}
    lines = []
    for spec in provider.feeds:
        feed = stored.get(spec.url)
        if feed is None:
            state = f"not polled ({spec.confidence} URL)"
        elif feed.last_error_kind:
            state = f"failing ({feed.failure_count}x {feed.last_error_kind}: {feed.last_error})"
        elif feed.last_success_at:
            state = f"ok, last read {feed.last_success_at.strftime('%Y-%m-%d %H:%M')} UTC"
        else:
            state = "not polled yet"
        lines.append(f"{spec.role}: {spec.url} — {state}")
    return tuple(lines) or ("no known feed; add one with `providers add`",)


HELP_LINES = (
    "subscribe PROVIDER [KIND...] — alerts for a provider (kinds: shutdown, data_loss, "
    "security, price_change, outage, all; outages are opt-in)",
    "unsubscribe PROVIDER — stop alerts for a provider",
    "list — this channel's subscriptions",
    "providers [QUERY] — the providers exitplan knows",
    "status PROVIDER — open incidents, recent announcements, deadlines, feed health",
    "checklist EVENT [done N...] — the migration checklist for an event, ticking steps",
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
    rt: Runtime, target: Target, event_id: int, *, ref: str, user: str, now: datetime
) -> Checklist:
    """Flip one step of a channel's checklist (a checkbox or button); return the new state.

    Raises LookupError with a message for the person when the event or step is unknown.
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
    )


def alert_for(
    rt: Runtime, target: Target, event_id: int, now: datetime, purpose: str = "alert"
) -> Alert | None:
    """Rebuild an event's alert for one channel, with its current checklist (to edit it)."""
    event = get_event(rt.db, event_id)
    if event is None:
        return None
    checklist = rt.checklist_for(event, target) if purpose == "alert" else None
    return build_alert(
        event,
        provider_name=rt.provider_name(event.provider),
        purpose=purpose,
        today=now.date(),
        checklist=checklist,
    )
