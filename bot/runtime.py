"""The pieces every command needs: settings, the database and the merged catalog."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot.checklists import Checklist, channel_checklist
from bot.impact import describe_impact
from bot.notify import Target
from bot.settings import Settings
from feeds.catalog import Catalog, FeedSpec, Provider, load_catalog
from feeds.fetch import FetchLimits
from feeds.pool import auto_workers
from feeds.watcher import PollSettings
from storage import EVERY_PROVIDER, Event, FeedSource, UserProvider, open_db
from storage.feeds import sync_feeds
from storage.providers import list_user_providers
from storage.usage import get_usage

log = logging.getLogger(__name__)

#: The workspace name of the console "platform" (there is only one console).
CONSOLE_WORKSPACE = "local"
#: Feeds whose URL nobody has confirmed are listed in the catalog but not polled.
POLLED_CONFIDENCES = ("confirmed", "likely")


@dataclass(frozen=True)
class Runtime:
    """Settings, an open database and the catalog with config and user providers merged."""

    settings: Settings
    db: Database
    catalog: Catalog

    def provider_name(self, slug: str) -> str:
        """The display name of a provider, or the slug for one no longer known."""
        if slug == EVERY_PROVIDER:
            return "every provider"
        provider = self.catalog.get(slug)
        return provider.name if provider else slug

    def poll_settings(self) -> PollSettings:
        """The watcher's settings, from exitplan's settings."""
        s = self.settings
        limits = FetchLimits(
            connect_timeout=s.fetch_connect_timeout,
            read_timeout=s.fetch_timeout,
            total_timeout=s.fetch_timeout,
            max_bytes=s.fetch_max_bytes,
            concurrency=s.fetch_concurrency,
            per_host=s.fetch_per_host,
        )
        return PollSettings(
            interval=s.poll_interval,
            jitter=s.poll_jitter,
            max_backoff=s.max_backoff,
            limits=limits,
            allow_private=s.allow_private_feeds,
            provider_names={provider.slug: provider.name for provider in self.catalog},
            parse_workers=auto_workers() if s.parse_workers is None else s.parse_workers,
        )

    def checklist_for(self, event: Event, target: Target) -> Checklist | None:
        """An event's checklist as one channel has ticked it."""
        return channel_checklist(
            self.db,
            self.catalog,
            event,
            platform=target.platform,
            workspace=target.workspace,
            channel=target.channel,
        )

    def impact_for(self, event: Event, target: Target) -> str | None:
        """For a price change: what it costs the data this channel keeps there."""
        if "price_change" not in event.kinds:
            return None
        usage = get_usage(
            self.db,
            platform=target.platform,
            workspace=target.workspace,
            channel=target.channel,
            provider=event.provider,
        )
        return describe_impact(event.text, usage, event.provider)

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def _from_user(stored: UserProvider) -> Provider:
    return Provider(
        slug=stored.slug,
        name=stored.name,
        aliases=stored.aliases,
        homepage=stored.homepage,
        category=stored.category,
        feeds=tuple(
            FeedSpec(
                url=f.url,
                role="status" if f.role == "status" else "eol" if f.role == "eol" else "news",
                confidence="unknown",
                note="added with exitplan providers add",
                format=f.format,
            )
            for f in stored.feeds
        ),
        source="user",
    )


def feed_sources(
    catalog: Catalog, packaged: Catalog, *, poll_catalog: bool = True
) -> list[FeedSource]:
    """The feeds to poll: every feed except the packaged catalog's unconfirmed guesses.

    A feed someone put in the config file or added with `providers add` is always polled;
    with `poll_catalog` off, only those are.
    """
    guesses = {
        feed.url
        for provider in packaged
        for feed in provider.feeds
        if feed.confidence not in POLLED_CONFIDENCES or not poll_catalog
    }
    return [
        FeedSource(provider.slug, feed.url, feed.role, provider.source, feed.format)
        for provider in catalog
        for feed in provider.feeds
        if feed.url not in guesses
    ]


def open_runtime(settings: Settings, now: datetime, *, sync: bool = True) -> Runtime:
    """Open the database, merge the catalog and (by default) bring the feed list up to date."""
    db = open_db(settings.db_path)
    packaged = load_catalog()
    catalog = packaged.extended(settings.providers).extended(
        _from_user(p) for p in list_user_providers(db)
    )
    if sync:
        sources = feed_sources(catalog, packaged, poll_catalog=settings.poll_catalog)
        added = sync_feeds(db, sources, now)
        if added:
            log.info("feeds added count=%s", added)
    return Runtime(settings=settings, db=db, catalog=catalog)
