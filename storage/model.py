"""Frozen records that storage returns and takes; plain strings, ids and datetimes only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from storage.filters import passes_filter

DeliveryStatus = Literal["pending", "sent", "failed"]
DeliveryPurpose = Literal["alert", "update"]

#: A subscription kind that asks for every announcement, unclassified ones included.
ALL_KINDS = "all"
#: The provider of a subscription to every provider.
EVERY_PROVIDER = "*"


@dataclass(frozen=True)
class Feed:
    """A feed exitplan polls, with the state the poller keeps between cycles."""

    id: int
    provider: str
    url: str
    role: str
    source: str
    active: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    baselined: bool
    failure_count: int
    last_error_kind: str | None
    last_error: str | None
    last_status: int | None
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    created_at: datetime | None = None
    gone_at: datetime | None = None
    gone_reason: str | None = None
    format: str = "feed"  # "feed" (RSS/Atom), or end-of-life data: "endoflife", "killedbygoogle"


@dataclass(frozen=True)
class FeedSource:
    """A feed that should exist: which provider it belongs to, its URL, role and format."""

    provider: str
    url: str
    role: str
    source: str = "catalog"
    format: str = "feed"


@dataclass(frozen=True)
class EvidenceRecord:
    """A stored piece of evidence: the label it supports, the phrase and the reason."""

    label: str
    phrase: str
    reason: str


@dataclass(frozen=True)
class ItemHashes:
    """How a feed's last body split into items: what they are read against, and each item."""

    header: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class EntryWrite:
    """A new or changed feed entry with its classification, ready to store."""

    key: str
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    text: str
    categories: tuple[str, ...]
    content_hash: str
    kinds: tuple[str, ...]
    severity: str
    evidence: tuple[EvidenceRecord, ...]
    deadline: date | None
    deadline_phrase: str | None
    state: str | None
    tags: tuple[str, ...] = ()  # regions and components the entry names (feeds.components)


@dataclass(frozen=True)
class EventSource:
    """One feed entry behind an event: where it was published and why it joined the event."""

    number: int  # 1 for the event's first source, as `exitplan events` numbers them
    entry_id: int
    feed_id: int
    feed_role: str
    title: str
    link: str | None
    published: datetime | None
    kinds: tuple[str, ...]
    deadline: date | None
    reason: str | None  # why it was merged into the event; None for the first source
    revision: int  # the revision of the event that added it
    merged_at: datetime
    split_from: int | None = None  # the event a person split it from


@dataclass(frozen=True)
class Event:
    """A classified announcement of one provider, with what decided it."""

    id: int
    entry_id: int
    feed_id: int
    provider: str
    title: str
    link: str | None
    published: datetime | None
    kinds: tuple[str, ...]
    severity: str
    evidence: tuple[EvidenceRecord, ...]
    deadline: date | None
    deadline_phrase: str | None
    state: str | None
    baseline: bool
    revision: int
    created_at: datetime
    updated_at: datetime
    feed_role: str = "news"
    text: str = ""
    previous_kinds: tuple[str, ...] = ()
    previous_deadline: date | None = None
    deadline_set_at: datetime | None = None
    notice: str | None = None  # set on notices exitplan writes itself, e.g. "feed_gone"
    tags: tuple[str, ...] = ()  # regions and components the entry names, for filters
    # every feed entry behind the event, its first source first (see storage.sources)
    sources: tuple[EventSource, ...] = ()

    @property
    def split_from(self) -> int | None:
        """The event a person split this one from (`exitplan events split`), if any."""
        return self.sources[0].split_from if self.sources else None

    @property
    def escalated(self) -> bool:
        """True when the latest revision added data loss or a shutdown to what it said."""
        grave = {"data_loss", "shutdown"}
        return bool(self.previous_kinds) and bool(
            (set(self.kinds) & grave) - set(self.previous_kinds)
        )


@dataclass(frozen=True)
class Subscription:
    """A channel's wish to hear about some kinds of news from one provider."""

    id: int
    platform: str
    workspace: str
    channel: str
    provider: str
    kinds: tuple[str, ...]
    paused_reason: str | None
    paused_at: datetime | None
    created_at: datetime
    match_terms: tuple[str, ...] = ()  # at least one must appear (title, text or tags)
    exclude_terms: tuple[str, ...] = ()  # none may appear
    min_severity: str | None = None  # the least urgent severity still sent
    paused_by: str | None = None  # who paused it with `pause` (None: a chat error did)

    @property
    def active(self) -> bool:
        """True unless the subscription was paused (by a person or by a chat error)."""
        return self.paused_reason is None

    @property
    def filtered(self) -> bool:
        """True when match terms, exclusions or a minimum severity narrow this subscription."""
        return bool(self.match_terms or self.exclude_terms or self.min_severity)

    def wants(self, kinds: tuple[str, ...]) -> bool:
        """True when an event of these kinds should reach this channel."""
        if ALL_KINDS in self.kinds:
            return True
        return bool(set(kinds) & set(self.kinds))

    def passes(self, event: Event) -> bool:
        """True when an event gets through this subscription's filters (kinds aside)."""
        return passes_filter(
            title=event.title,
            text=event.text,
            tags=event.tags,
            severity=event.severity,
            match_terms=self.match_terms,
            exclude_terms=self.exclude_terms,
            min_severity=self.min_severity,
        )


@dataclass(frozen=True)
class Delivery:
    """One message the dispatcher owes one channel about one event."""

    id: int
    event_id: int
    subscription_id: int
    purpose: DeliveryPurpose
    revision: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    message_ref: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class UserProvider:
    """A provider someone added with `exitplan providers add`, with its feeds."""

    slug: str
    name: str
    aliases: tuple[str, ...]
    homepage: str | None
    category: str
    feeds: tuple[FeedSource, ...]


@dataclass(frozen=True)
class SaveResult:
    """What one successful poll of one feed stored."""

    new_entries: int
    updated_entries: int
    events: tuple[int, ...]
    deliveries: int


@dataclass(frozen=True)
class Notice:
    """Something exitplan itself tells a provider's subscribers (e.g. that a feed is gone).

    Stored as an entry of the feed with an event that has no kinds, so it is never
    counted as a shutdown, and sent to every active subscription of the provider.
    """

    key: str
    notice: str
    title: str
    text: str
    link: str | None
    evidence: tuple[EvidenceRecord, ...] = ()
    severity: str = "medium"
