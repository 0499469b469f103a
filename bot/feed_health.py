"""Feed health in the channel: one warning when a provider cannot be read, one when it can.

A provider is unreachable when every feed of it has been failing for longer than
`feed_health_after` (a day by default). The channels subscribed to it by name hear
it once, and once more when a feed can be read again; `health` lists the failing
feeds of a channel's providers with their last error. When every feed of every
provider fails, the fault is exitplan's own network, not the providers': nobody is
warned, the log says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.notify import Target
from bot.replies import Reply, Section
from bot.runtime import Runtime
from storage import EVERY_PROVIDER, EvidenceRecord, Feed, Notice
from storage.feeds import list_feeds
from storage.health import (
    ProviderOutage,
    failing_since,
    list_provider_health,
    mark_recovered,
    mark_unreachable,
    unreachable_providers,
)
from storage.subscriptions import list_subscriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthSummary:
    """What one health check did."""

    unreachable: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()
    queued: int = 0
    network_down: bool = False


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def unreachable_notice(outage: ProviderOutage, name: str) -> Notice:
    """What a provider's subscribers are told when none of its feeds can be read."""
    count = len(outage.feeds)
    phrase = f"all {count} feed(s) failing since {_when(outage.since)}"
    text = (
        f"exitplan has not been able to read any feed of {name} since {_when(outage.since)} "
        f"({count} feed(s); last error: {outage.last_error}). Until one answers again, "
        f"exitplan cannot tell you what {name} announces: watch its status page and "
        "account notices yourself. `health` lists the failing feeds. You will hear once "
        "more when exitplan can read them again."
    )
    return Notice(
        key=f"exitplan:unreachable:{outage.provider}:{outage.since.isoformat()}",
        notice="provider_unreachable",
        title=f"exitplan cannot read {name}'s feeds",
        text=text,
        link=None,
        evidence=(EvidenceRecord("provider_unreachable", phrase, outage.last_error),),
        severity="medium",
    )


def recovered_notice(provider: str, name: str, since: datetime, now: datetime) -> Notice:
    """What the warned channels are told when a provider's feed can be read again."""
    text = (
        f"exitplan can read {name}'s feeds again (unreachable since {_when(since)}). "
        "Anything it published meanwhile that is still in its feeds arrives as usual."
    )
    return Notice(
        key=f"exitplan:recovered:{provider}:{since.isoformat()}",
        notice="provider_recovered",
        title=f"exitplan can read {name}'s feeds again",
        text=text,
        link=None,
        evidence=(EvidenceRecord("provider_recovered", f"read again by {_when(now)}", ""),),
        severity="info",
    )


def _network_down(feeds: list[Feed]) -> bool:
    """True when every feed of at least two providers fails: exitplan itself is cut off."""
    providers = {feed.provider for feed in feeds}
    return len(providers) > 1 and all(feed.failure_count for feed in feeds)


def check_feed_health(
    db: Database, now: datetime, *, after: float, provider_name: Callable[[str], str]
) -> HealthSummary:
    """Warn the subscribers of providers that became unreachable; tell those that recovered."""
    outages = unreachable_providers(db, now, timedelta(seconds=after))
    if outages and _network_down(list_feeds(db)):
        log.warning(
            "every feed is failing; exitplan's own network is probably down, no channel is "
            "warned providers=%s",
            len(outages),
        )
        return HealthSummary(network_down=True)
    queued = 0
    unreachable = []
    for outage in outages:
        notice = unreachable_notice(outage, provider_name(outage.provider))
        told = mark_unreachable(db, outage, notice, now)
        if told:
            log.warning("provider unreachable provider=%s told=%s", outage.provider, told)
        queued += told
        unreachable.append(outage.provider)
    recovered = []
    still = {outage.provider for outage in outages}
    for health in list_provider_health(db):
        if health.provider in still:
            continue
        name = provider_name(health.provider)
        back = recovered_notice(health.provider, name, health.since, now)
        has_feeds = bool(list_feeds(db, health.provider))
        told = mark_recovered(db, health.provider, back if has_feeds else None, now)
        log.info("provider reachable again provider=%s told=%s", health.provider, told)
        queued += told
        recovered.append(health.provider)
    return HealthSummary(tuple(unreachable), tuple(recovered), queued)


def _age(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return f"{hours // 24}d {hours % 24}h" if hours >= 24 else f"{hours}h"


def _feed_line(feed: Feed, now: datetime) -> str:
    since = failing_since(feed)
    when = f"since {_when(since)} ({_age(now - since)}), " if since else ""
    gone = f"gone ({feed.gone_reason}), " if feed.gone_at else ""
    return (
        f"{feed.role}: {feed.url} — {gone}failing {when}{feed.failure_count}x "
        f"{feed.last_error_kind}: {feed.last_error}"
    )


def cmd_health(rt: Runtime, target: Target, now: datetime) -> Reply:
    """The failing feeds of a channel's providers, with their last error."""
    subs = list_subscriptions(
        rt.db, platform=target.platform, workspace=target.workspace, channel=target.channel
    )
    if not subs:
        return Reply(ok=True, title="No subscriptions yet. Try `subscribe aws`.")
    every = any(sub.provider == EVERY_PROVIDER for sub in subs)
    slugs = {sub.provider for sub in subs}
    feeds = [feed for feed in list_feeds(rt.db) if every or feed.provider in slugs]
    unreachable = {health.provider: health for health in list_provider_health(rt.db)}
    sections = []
    for slug in sorted({feed.provider for feed in feeds}, key=rt.provider_name):
        mine = [feed for feed in feeds if feed.provider == slug]
        failing = [feed for feed in mine if feed.failure_count]
        if not failing:
            continue
        name = rt.provider_name(slug)
        heading = f"{name}: {len(failing)} of {len(mine)} feed(s) failing"
        if slug in unreachable:
            heading += f", unreachable since {_when(unreachable[slug].since)}"
        sections.append(Section(heading, tuple(_feed_line(feed, now) for feed in failing)))
    if not sections:
        return Reply(
            ok=True, title=f"All {len(feeds)} feed(s) of this channel's providers are being read."
        )
    failing_count = sum(len(section.lines) for section in sections)
    title = f"{failing_count} of {len(feeds)} feed(s) of this channel's providers are failing:"
    return Reply(ok=True, title=title, sections=tuple(sections))
