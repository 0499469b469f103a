"""Replies: what the bot answers, before a platform renders it, and shared line formats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.alerts import days_left, kind_label
from bot.runtime import Runtime
from storage import ALL_KINDS, Event, Subscription


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


def describe_kinds(kinds: tuple[str, ...]) -> str:
    """The kinds of a subscription, in words."""
    if ALL_KINDS in kinds:
        return "everything, unclassified news included"
    return ", ".join(kind_label(kind).lower() for kind in kinds)


def subscription_line(rt: Runtime, sub: Subscription) -> str:
    """One subscription: provider, kinds, and why it is paused if it is."""
    line = f"{rt.provider_name(sub.provider)}: {describe_kinds(sub.kinds)}"
    if sub.paused_reason:
        line += f" — PAUSED: {sub.paused_reason}"
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
    return line
