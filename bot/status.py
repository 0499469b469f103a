"""`status`: a provider's state, announcements, deadlines and this channel's progress.

Without a provider, `status` summarises every subscription of the channel, worst first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.notify import Target
from bot.replies import Reply, Section, event_line, subscription_line, unknown_provider
from bot.runtime import Runtime
from feeds.catalog import Provider
from feeds.model import SEVERITIES
from storage import EVERY_PROVIDER, Event
from storage.events import list_events, upcoming_deadlines
from storage.feeds import list_feeds
from storage.subscriptions import list_subscriptions

#: An incident still "open" after this many days is treated as stale, not current.
OPEN_INCIDENT_DAYS = 14
_LATEST = 8


def open_incidents(rt: Runtime, slug: str, now: datetime) -> list[Event]:
    """A provider's incidents from its status feeds that are still open, newest first."""
    since = now - timedelta(days=OPEN_INCIDENT_DAYS)
    events = list_events(rt.db, provider=slug, since=since, role="status", include_other=True)
    return [event for event in events if event.state == "open"]


def current_state(rt: Runtime, provider: Provider, now: datetime) -> tuple[str, ...]:
    """Open incidents with their latest update, or since when the provider is operational."""
    incidents = open_incidents(rt, provider.slug, now)
    if incidents:
        lines = []
        for event in incidents:
            latest = event.text.strip().splitlines()[0] if event.text.strip() else ""
            lines.append(f"OPEN: {event_line(event, now)}")
            if latest:
                lines.append(f"  latest: {latest[:200]}")
        return tuple(lines)
    if not provider.feeds_with_role("status"):
        return ("no status feed known, so its state is unknown",)
    history = list_events(rt.db, provider=provider.slug, role="status", include_other=True, limit=1)
    if not history:
        return ("operational: no incident recorded yet",)
    last = history[0]
    when = last.published.strftime("%Y-%m-%d %H:%M UTC") if last.published else "recently"
    return (f"operational since {when} (last incident: {last.title})",)


def _deadline_lines(rt: Runtime, slug: str, now: datetime, target: Target | None) -> list[str]:
    lines = []
    for event in upcoming_deadlines(rt.db, now.date(), provider=slug):
        line = event_line(event, now)
        checklist = rt.checklist_for(event, target) if target is not None else None
        if checklist is not None:
            line += f" — checklist {checklist.progress}"
        lines.append(line)
    return lines


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


def provider_status(rt: Runtime, provider_name: str, now: datetime, target: Target | None) -> Reply:
    """Everything exitplan knows about one provider, for one channel."""
    provider = rt.catalog.resolve(provider_name)
    if provider is None:
        return unknown_provider(rt, provider_name)
    recent = list_events(rt.db, provider=provider.slug, limit=_LATEST)
    deadlines = _deadline_lines(rt, provider.slug, now, target)
    sections = [
        Section("Current state", current_state(rt, provider, now)),
        Section(
            "Latest announcements",
            tuple(event_line(e, now) for e in recent) or ("none classified yet",),
        ),
        Section("Deadlines", tuple(deadlines) or ("none ahead",)),
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
        lines = tuple(subscription_line(rt, sub) for sub in subs) or ("not subscribed",)
        sections.append(Section("This channel", lines))
    return Reply(ok=True, title=f"{provider.name} ({provider.slug})", sections=tuple(sections))


@dataclass(frozen=True)
class _Summary:
    rank: tuple[int, int]
    line: str


def _summarise(rt: Runtime, slug: str, now: datetime, target: Target) -> _Summary:
    name = rt.provider_name(slug)
    incidents = open_incidents(rt, slug, now)
    deadlines = upcoming_deadlines(rt.db, now.date(), provider=slug, limit=1)
    parts = []
    worst = len(SEVERITIES)
    if incidents:
        worst = min(SEVERITIES.index(e.severity) for e in incidents if e.severity in SEVERITIES)
        parts.append(f"{len(incidents)} open incident(s): {incidents[0].title}")
    nearest = 10**6
    if deadlines:
        event = deadlines[0]
        assert event.deadline is not None  # noqa: S101 - upcoming_deadlines only returns dated events
        nearest = (event.deadline - now.date()).days
        checklist = rt.checklist_for(event, target)
        progress = f", checklist {checklist.progress}" if checklist else ""
        parts.append(f"deadline {event.deadline.isoformat()} in {nearest} days{progress}")
        worst = min(
            worst, SEVERITIES.index(event.severity) if event.severity in SEVERITIES else worst
        )
    summary = "; ".join(parts) or "operational, nothing pending"
    return _Summary(rank=(worst, nearest), line=f"{name}: {summary}")


def channel_status(rt: Runtime, now: datetime, target: Target) -> Reply:
    """Every subscription of a channel, the most urgent first."""
    subs = list_subscriptions(
        rt.db, platform=target.platform, workspace=target.workspace, channel=target.channel
    )
    if not subs:
        return Reply(ok=True, title="No subscriptions yet. Try `subscribe aws`.")
    slugs: list[str] = []
    for sub in subs:
        if sub.provider == EVERY_PROVIDER:
            slugs.extend(provider.slug for provider in rt.catalog)
        else:
            slugs.append(sub.provider)
    summaries = sorted(
        (_summarise(rt, slug, now, target) for slug in dict.fromkeys(slugs)),
        key=lambda item: item.rank,
    )
    paused = [subscription_line(rt, sub) for sub in subs if sub.paused_reason]
    filtered = [subscription_line(rt, sub) for sub in subs if sub.filtered and sub.active]
    sections = [Section("", tuple(item.line for item in summaries))]
    if filtered:
        sections.append(Section("Filtered", tuple(filtered)))
    if paused:
        sections.append(Section("Paused", tuple(paused)))
    return Reply(ok=True, title="Status of this channel's providers:", sections=tuple(sections))
