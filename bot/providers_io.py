"""Providers in and out: OPML import and export, and finding a feed for `providers add`.

Import adds every feed of an OPML file that exitplan does not watch yet, through
`storage.providers.add_user_provider`, and says what it added and what it skipped and
why. Export writes the providers people added (in the config file or from the command
line), or with `everything` the whole catalog, as OPML.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.runner import utc_now
from bot.runtime import Runtime, open_runtime
from feeds.catalog import Catalog, CatalogError, FeedSpec, Provider, load_catalog
from feeds.discover import Discovery, discover_feed
from feeds.fetch import Fetcher
from feeds.guard import AddressGuard
from feeds.opml import (
    OpmlDocument,
    OpmlError,
    OpmlFeed,
    OpmlProvider,
    OpmlSkip,
    is_slug,
    read_opml,
    slug_from,
    write_opml,
)
from storage import FeedSource
from storage.feeds import list_feeds
from storage.providers import add_user_provider

#: The longest one discovery fetch may take: someone is waiting at the terminal.
DISCOVERY_FETCH_SECONDS = 20.0


@dataclass(frozen=True)
class ImportedProvider:
    """The feeds an import added to one provider; `known` when the provider existed."""

    slug: str
    name: str
    urls: tuple[str, ...]
    known: bool


@dataclass(frozen=True)
class ImportReport:
    """What an OPML import added, and what it skipped and why."""

    added: tuple[ImportedProvider, ...]
    skipped: tuple[OpmlSkip, ...]

    def lines(self) -> list[str]:
        """The report as lines of text for the terminal."""
        feeds = sum(len(item.urls) for item in self.added)
        lines = [f"Added {feeds} feed(s) to {len(self.added)} provider(s)."]
        for item in self.added:
            what = "more feeds of" if item.known else "new provider"
            lines.append(f"  {what} {item.name} ({item.slug}): {', '.join(item.urls)}")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)}:")
            lines.extend(f"  {skip.what} — {skip.reason}" for skip in self.skipped)
        return lines


def import_document(rt: Runtime, document: OpmlDocument, now: datetime) -> ImportReport:
    """Add the providers and feeds of an OPML document that exitplan does not watch yet."""
    watched = {feed.url: feed.provider for feed in list_feeds(rt.db, active_only=False)}
    for provider in rt.catalog:
        for spec in provider.feeds:
            watched.setdefault(spec.url, provider.slug)
    catalog = rt.catalog
    added: list[ImportedProvider] = []
    skipped = list(document.skipped)
    for group in document.providers:
        fresh: list[OpmlFeed] = []
        for feed in group.feeds:
            if feed.url in watched:
                skipped.append(
                    OpmlSkip(feed.url, f"already watched, as a feed of {watched[feed.url]}")
                )
            else:
                fresh.append(feed)
        if not fresh:
            continue
        slug, problem = _slug_for(group, catalog)
        known = catalog.get(slug) if slug else None
        candidate = _candidate(group, slug, known, fresh) if slug else None
        if candidate is not None:
            try:
                catalog = catalog.extended([candidate])
            except CatalogError as error:
                problem = error.problems[0]
        if candidate is None or problem is not None:
            skipped.extend(OpmlSkip(feed.url, problem or "no slug") for feed in fresh)
            continue
        add_user_provider(
            rt.db,
            slug=candidate.slug,
            name=candidate.name,
            feeds=[FeedSource(candidate.slug, f.url, f.role, "user", f.format) for f in fresh],
            now=now,
            aliases=group.aliases,
            homepage=group.homepage,
            category=group.category or "custom",
        )
        watched.update((feed.url, candidate.slug) for feed in fresh)
        urls = tuple(feed.url for feed in fresh)
        added.append(ImportedProvider(candidate.slug, candidate.name, urls, known is not None))
    return ImportReport(tuple(added), tuple(skipped))


def _slug_for(group: OpmlProvider, catalog: Catalog) -> tuple[str | None, str | None]:
    """The slug a group's feeds go to: its own, a provider its name finds, or one made."""
    if group.slug is not None:
        if is_slug(group.slug):
            return group.slug, None
        return None, (
            f"the slug {group.slug!r} must be lowercase letters and digits joined by dashes"
        )
    found = catalog.resolve(group.name)
    if found is not None:
        return found.slug, None
    made = slug_from(group.name)
    if not made:
        return None, f"no slug can be made of the title {group.name!r}; add exitplan:slug"
    return made, None


def _candidate(
    group: OpmlProvider, slug: str, known: Provider | None, feeds: list[OpmlFeed]
) -> Provider:
    """The provider the import would add, to check its names against the catalog first."""
    return Provider(
        slug=slug,
        name=known.name if known is not None else group.name,
        aliases=group.aliases,
        homepage=group.homepage,
        category=group.category or "custom",
        feeds=tuple(
            FeedSpec(
                f.url,
                "status" if f.role == "status" else "eol" if f.role == "eol" else "news",
                "unknown",
                None,
                f.format,
            )
            for f in feeds
        ),
        source="user",
    )


def exported_providers(rt: Runtime, *, everything: bool = False) -> list[Provider]:
    """The providers to export: those people added and the feeds they added to others.

    With `everything`, every provider with every feed, the packaged catalog included.
    """
    if everything:
        return list(rt.catalog)
    packaged = {spec.url for provider in load_catalog() for spec in provider.feeds}
    chosen = []
    for provider in rt.catalog:
        own = tuple(spec for spec in provider.feeds if spec.url not in packaged)
        if own or provider.source != "catalog":
            chosen.append(replace(provider, feeds=own))
    return chosen


def export_document(rt: Runtime, now: datetime, *, everything: bool = False) -> str:
    """The OPML document of the exported providers."""
    providers = exported_providers(rt, everything=everything)
    title = "exitplan providers" + (" (the whole catalog)" if everything else "")
    return write_opml(providers, title=title, now=now)


def find_feed(rt: Runtime, address: str, now: datetime) -> Discovery:
    """Look for the feed of a status page or blog address, through the address guard."""
    limits = rt.poll_settings().limits
    limits = replace(limits, total_timeout=min(limits.total_timeout, DISCOVERY_FETCH_SECONDS))
    guard = AddressGuard(allow_private=rt.settings.allow_private_feeds)

    async def search() -> Discovery:
        async with Fetcher(limits, guard=guard) as fetcher:
            return await discover_feed(fetcher, address, now)

    return asyncio.run(search())


def providers_import(args: argparse.Namespace) -> int:
    """`exitplan providers import FILE.opml`."""
    path: Path = args.file
    try:
        body = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        document = read_opml(body)
    except OSError as error:
        _say(f"exitplan: {path}: cannot be read: {error.strerror or error}", sys.stderr)
        return 1
    except OpmlError as error:
        _say(f"exitplan: {path}: {error}", sys.stderr)
        return 1
    rt = open_runtime(args.settings, utc_now(), sync=False)
    try:
        report = import_document(rt, document, utc_now())
    finally:
        rt.close()
    for line in report.lines():
        _say(line)
    if report.added:
        _say("The new feeds are polled from the next cycle on.")
    return 0


def providers_export(args: argparse.Namespace) -> int:
    """`exitplan providers export [--output FILE] [--all]`."""
    rt = open_runtime(args.settings, utc_now(), sync=False)
    try:
        text = export_document(rt, utc_now(), everything=args.all)
        count = len(exported_providers(rt, everything=args.all))
    finally:
        rt.close()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        _say(f"exitplan: {args.output}: cannot be written: {error.strerror or error}", sys.stderr)
        return 1
    _say(f"Wrote {count} provider(s) to {args.output}.", sys.stderr)
    return 0


def _say(line: str, stream: TextIO | None = None) -> None:
    """Write one line to the terminal (stdout unless told otherwise)."""
    (stream or sys.stdout).write(line + "\n")
