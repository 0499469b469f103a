"""Replies: what the bot answers, before a platform renders it, and shared line formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.alerts import ROLE_LABELS, days_left, kind_label
from bot.filters import describe_filters
from bot.runtime import Runtime
from storage import ALL_KINDS, EVERY_PROVIDER, Event, Subscription


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
    """A refusal naming the providers closest to what was typed."""
    suggestions = rt.catalog.suggest(name)
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    return Reply(
        ok=False,
        title=f"Unknown provider {name!r}.{hint} List them all with `providers`.",
    )


#: Names that stand for every provider at once (`subscribe all`).
EVERY_PROVIDER_NAMES = ("all", "*", "every", "everything")


def resolve_provider(rt: Runtime, name: str) -> tuple[str, str] | Reply:
    """A provider's slug and display name from what a person typed, or a refusal.

    `all` (and its synonyms) stands for every provider.
    """
    if name.strip().lower() in EVERY_PROVIDER_NAMES:
        return EVERY_PROVIDER, "every provider"
    provider = rt.catalog.resolve(name)
    if provider is None:
        return unknown_provider(rt, name)
    return provider.slug, provider.name


def describe_kinds(kinds: tuple[str, ...]) -> str:
    """The kinds of a subscription, in words."""
    if ALL_KINDS in kinds:
        return "everything, unclassified news included"
    return ", ".join(kind_label(kind).lower() for kind in kinds)


def subscription_line(rt: Runtime, sub: Subscription) -> str:
    """One subscription: provider, kinds, filters, and who paused it or why it is paused."""
    line = f"{rt.provider_name(sub.provider)}: {describe_kinds(sub.kinds)}"
    filters = describe_filters(sub)
    if filters:
        line += f" ({filters})"
    if sub.paused_reason:
        on = f" on {sub.paused_at:%Y-%m-%d}" if sub.paused_at else ""
        why = f"by {sub.paused_by}{on}" if sub.paused_by else f"{sub.paused_reason}{on}"
        line += f" — PAUSED: {why}"
    return line


def describe_days_left(days: int | None) -> str:
    """'34 days left', '1 day left', 'today', 'passed 3 days ago'."""
    if days is None:
        return "no deadline"
    if days > 1:
        return f"{days} days left"
    if days == 1:
        return "1 day left"
    if days == 0:
        return "today"
    return f"passed {-days} day{'s' if days < -1 else ''} ago"


def event_line(event: Event, now: datetime) -> str:
    """One event: number, date, kinds, severity, title and deadline."""
    when = event.published.strftime("%Y-%m-%d") if event.published else "undated"
    kinds = "+".join(event.kinds) or "other"
    line = f"#{event.id} {when} [{kinds}, {event.severity}] {event.title}"
    if event.deadline:
        left = days_left(event.deadline, now.date())
        line += f" — deadline {event.deadline.isoformat()} ({describe_days_left(left)})"
    if len(event.sources) > 1:
        line += f" ({len(event.sources)} sources)"
    return line


def source_lines(event: Event) -> tuple[str, ...]:
    """The sources of a merged event, numbered for `events split`, each with why it joined."""
    if len(event.sources) < 2 and event.split_from is None:
        return ()
    lines = []
    for source in event.sources:
        role = ROLE_LABELS.get(source.feed_role, source.feed_role)
        why = f" — merged: {source.reason}" if source.reason else ""
        if source.split_from is not None:
            why = f" — {source.reason}" if source.reason else ""
        link = f" {source.link}" if source.link else ""
        lines.append(f"source {source.number}: {role}: {source.title}{link}{why}")
    return tuple(lines)
