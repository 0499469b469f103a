"""What App Home shows a Slack workspace, gathered from storage (no SDK, no rendering)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.alerts import days_left, kind_label
from bot.notify import Target
from bot.runtime import Runtime
from bot.slack_render import Home, HomeEvent, HomeSubscription
from storage import ALL_KINDS, EVERY_PROVIDER, Event, Subscription
from storage.events import list_events, upcoming_deadlines
from storage.subscriptions import list_subscriptions

PLATFORM = "slack"
#: A status-page incident still "open" after this long is not shown as open any more.
OPEN_INCIDENT_DAYS = 14
_LIMIT = 15


def describe_kinds(kinds: tuple[str, ...]) -> str:
    """'shutdown, data loss' or 'everything'."""
    if ALL_KINDS in kinds:
        return "everything"
    return ", ".join(kind_label(kind).lower() for kind in kinds)


def _wants(sub: Subscription, event: Event) -> bool:
    return sub.provider in (event.provider, EVERY_PROVIDER) and sub.wants(event.kinds)


def _home_event(
    rt: Runtime, team: str, event: Event, subs: list[Subscription], now: datetime
) -> HomeEvent:
    progress: list[tuple[str, str]] = []
    for channel in sorted({sub.channel for sub in subs if _wants(sub, event)}):
        checklist = rt.checklist_for(event, Target(PLATFORM, team, channel))
        if checklist is not None:
            progress.append((channel, checklist.progress))
    return HomeEvent(
        event_id=event.id,
        provider_name=rt.provider_name(event.provider),
        title=event.title,
        link=event.link,
        kinds=event.kinds,
        severity=event.severity,
        published=event.published,
        deadline=event.deadline,
        days_left=days_left(event.deadline, now.date()),
        progress=tuple(progress),
    )


def build_home(rt: Runtime, team: str, now: datetime) -> Home:
    """A workspace's subscriptions, the open incidents and deadlines its channels follow."""
    subs = list_subscriptions(rt.db, platform=PLATFORM, workspace=team)
    subscriptions = tuple(
        HomeSubscription(
            channel=sub.channel,
            provider_name=rt.provider_name(sub.provider),
            kinds=describe_kinds(sub.kinds),
            paused_reason=sub.paused_reason,
        )
        for sub in subs
    )
    followed = [event for event in _candidates(rt, now) if any(_wants(s, event) for s in subs)]
    incidents = [e for e in followed if e.state == "open" and e.deadline is None]
    deadlines = [e for e in followed if e.deadline is not None]
    return Home(
        subscriptions=subscriptions,
        incidents=tuple(_home_event(rt, team, e, subs, now) for e in incidents[:_LIMIT]),
        deadlines=tuple(_home_event(rt, team, e, subs, now) for e in deadlines[:_LIMIT]),
    )


def _candidates(rt: Runtime, now: datetime) -> list[Event]:
    """Open status-page incidents of the last days, then deadlines from today on."""
    since = now - timedelta(days=OPEN_INCIDENT_DAYS)
    incidents = [
        event
        for event in list_events(rt.db, since=since, role="status", include_other=True, limit=200)
        if event.state == "open" and event.deadline is None
    ]
    return incidents + upcoming_deadlines(rt.db, now.date(), limit=100)
