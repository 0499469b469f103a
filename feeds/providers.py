"""What a provider is: its feeds, the vocabularies its fields take, and name folding.

These types are shared by the catalog (`feeds.catalog`, lookups by name) and its
validation (`feeds.catalog_schema`); import them from `feeds.catalog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, get_args

from feeds.model import Confidence, FeedRole

#: A catalog feed's role: a status page, news, or end-of-life data ("eol").
#: A feed's role: status page, news, or end-of-life data (kept as an alias for older code).
SpecRole = FeedRole
FEED_ROLES: Final[tuple[FeedRole, ...]] = get_args(FeedRole)
#: What a feed's body is: RSS or Atom ("feed"), or one of the end-of-life data formats.
FEED_FORMATS: Final = ("feed", "endoflife", "killedbygoogle")
#: The formats read by `feeds.eol` instead of the feed parser; only an "eol" feed has one.
EOL_FORMATS: Final = ("endoflife", "killedbygoogle")
CONFIDENCES: Final[tuple[Confidence, ...]] = get_args(Confidence)
#: The categories a provider can have; "custom" is the default for providers users add.
CATEGORIES: Final = (
    "hyperscaler",
    "cloud-hosting",
    "object-storage",
    "sync-and-share",
    "backup",
    "developer-platform",
    "collaboration",
    "custom",
)
#: The status-page software exitplan knows how to recognise.
STATUS_SOFTWARE: Final = (
    "statuspage",
    "statusio",
    "firehydrant",
    "instatus",
    "betterstack",
    "custom",
)
#: Where a provider came from: the packaged catalog, the config file, or a chat command.
SOURCES: Final = ("catalog", "config", "user")


class CatalogError(ValueError):
    """A catalog or config provider is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class FeedSpec:
    """One feed of a provider: its address, what it carries and how sure we are of it."""

    url: str
    role: SpecRole
    confidence: Confidence
    note: str | None = None
    format: str = "feed"


@dataclass(frozen=True)
class Provider:
    """A provider exitplan can watch, with the names that find it and its feeds."""

    slug: str
    name: str
    aliases: tuple[str, ...]
    homepage: str | None
    category: str
    feeds: tuple[FeedSpec, ...]
    status_software: str | None = None
    notes: str | None = None
    source: str = "catalog"

    def feeds_with_role(self, role: SpecRole) -> tuple[FeedSpec, ...]:
        """Return the feeds that carry `role` (status pages, news or end-of-life data)."""
        return tuple(feed for feed in self.feeds if feed.role == role)


def normalise_name(name: str) -> str:
    """Fold case and drop spaces, dashes, underscores, dots and other punctuation."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())
