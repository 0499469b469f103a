"""Providers that users added at run time (`exitplan providers add`), with their feeds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from storage.db import dump_json, load_json_list, to_iso
from storage.feeds import add_feed
from storage.model import FeedSource, UserProvider


def add_user_provider(
    db: Database,
    *,
    slug: str,
    name: str,
    feeds: Sequence[FeedSource],
    now: datetime,
    aliases: Sequence[str] = (),
    homepage: str | None = None,
    category: str = "custom",
) -> UserProvider:
    """Store a provider (or add feeds to one already stored) and the feeds to poll."""
    with db.atomic():
        existing = list(db.table("providers").rows_where("slug = ?", [slug]))
        if existing:
            merged = list(dict.fromkeys([*load_json_list(existing[0]["aliases"]), *aliases]))
            db.table("providers").update(slug, {"aliases": dump_json(merged)})
        else:
            db.table("providers").insert(
                {
                    "slug": slug,
                    "name": name,
                    "aliases": dump_json(aliases),
                    "homepage": homepage,
                    "category": category,
                    "created_at": to_iso(now),
                }
            )
        for source in feeds:
            add_feed(db, source, now)
    found = get_user_provider(db, slug)
    if found is None:
        raise LookupError(f"provider {slug} vanished while it was being stored")
    return found


def get_user_provider(db: Database, slug: str) -> UserProvider | None:
    """Return a user-added provider with its user-added feeds, or None."""
    rows = list(db.table("providers").rows_where("slug = ?", [slug]))
    if not rows:
        return None
    row = rows[0]
    feed_rows = db.table("feeds").rows_where(
        "provider = ? AND source = 'user'", [slug], order_by="id"
    )
    return UserProvider(
        slug=row["slug"],
        name=row["name"],
        aliases=tuple(load_json_list(row["aliases"])),
        homepage=row["homepage"],
        category=row["category"] or "custom",
        feeds=tuple(
            FeedSource(
                provider=slug,
                url=f["url"],
                role=f["role"],
                source="user",
                format=f.get("format") or "feed",
            )
            for f in feed_rows
        ),
    )


def list_user_providers(db: Database) -> list[UserProvider]:
    """Return every user-added provider."""
    slugs = [row["slug"] for row in db.table("providers").rows_where(order_by="slug")]
    found = [get_user_provider(db, slug) for slug in slugs]
    return [provider for provider in found if provider is not None]


def user_feed_sources(db: Database) -> list[FeedSource]:
    """Return the feeds users added, including extra feeds for catalog providers."""
    rows = db.table("feeds").rows_where("source = 'user'", order_by="id")
    return [
        FeedSource(
            provider=r["provider"],
            url=r["url"],
            role=r["role"],
            source="user",
            format=r.get("format") or "feed",
        )
        for r in rows
    ]
