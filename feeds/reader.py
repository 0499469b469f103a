"""Read one fetched body into the entry writes of a poll: split, parse, classify what is new.

`read_body` is a pure function of a `ReadJob` (the body and what is stored about the
feed) and returns a `ReadResult`; both are picklable, so the watcher runs it in-process
or in a worker process (feeds.pool) alike. RSS and Atom bodies are split into items
(feeds.items): when the stored split says which items were read before, only the new
and changed ones are parsed, and a body whose items are all known is not parsed at all.
Any doubt (a split that fails, a count that disagrees, a warning) means a full parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from feeds.classify import classify
from feeds.components import find_mentions
from feeds.eol import is_eol_format, parse_eol
from feeds.incidents import incident_state
from feeds.items import ItemSplit, split_items
from feeds.model import Classification, Entry
from feeds.parse import NotAFeed, ParsedFeed, parse_feed
from storage import EntryWrite, EvidenceRecord, ItemHashes

#: How a body was read: every entry parsed, only new items, or nothing new to parse.
ReadMode = Literal["full", "incremental", "skipped"]


@dataclass(frozen=True)
class ReadJob:
    """A fetched body and what is stored about its feed."""

    url: str
    role: str
    format: str
    body: bytes
    content_type: str | None
    now: datetime
    #: Stored entry key -> content hash: only entries that differ are classified.
    known: Mapping[str, str] = field(default_factory=dict)
    #: How the last stored body split into items, or None.
    items: ItemHashes | None = None


@dataclass(frozen=True)
class ReadResult:
    """The new and changed entries, classified; or why the body is not a feed."""

    writes: tuple[EntryWrite, ...] = ()
    warning: str | None = None
    #: The split to store for the next poll (None: parse in full next time).
    items: ItemHashes | None = None
    mode: ReadMode = "full"
    not_a_feed: str | None = None


def read_body(job: ReadJob) -> ReadResult:
    """Parse the body (only its new items when it can), classify the new and changed entries."""
    try:
        parsed, decided, items, mode = _parse(job)
    except NotAFeed as error:
        return ReadResult(not_a_feed=str(error))
    writes = tuple(
        classified(entry, job.role, job.now, decided.get(entry.key))
        for entry in parsed.entries
        if job.known.get(entry.key) != entry.content_hash
    )
    return ReadResult(writes, parsed.warning, items, mode)


def classified(
    entry: Entry, role: str, now: datetime, decision: Classification | None = None
) -> EntryWrite:
    """The write for one entry: its classification (or the given one) and incident state."""
    published = entry.published or entry.updated or now
    result = decision or classify(entry.title, entry.text, published)
    deadline = result.deadline
    return EntryWrite(
        key=entry.key,
        title=entry.title,
        link=entry.link,
        published=entry.published or entry.updated,
        updated=entry.updated,
        text=entry.text,
        categories=entry.categories,
        content_hash=entry.content_hash,
        kinds=tuple(result.kinds),
        severity=result.severity,
        evidence=tuple(EvidenceRecord(e.label, e.phrase, e.reason) for e in result.evidence),
        deadline=deadline.date if deadline else None,
        deadline_phrase=deadline.phrase if deadline else None,
        state=incident_state(entry.title, entry.text) if role == "status" else None,
        tags=find_mentions(entry.title, entry.text, entry.key).tags,
    )


def _parse(
    job: ReadJob,
) -> tuple[ParsedFeed, dict[str, Classification], ItemHashes | None, ReadMode]:
    """RSS or Atom with the feed parser, end-of-life data with feeds.eol (decisions included)."""
    if is_eol_format(job.format):
        data = parse_eol(job.body, job.format, url=job.url, now=job.now)
        parsed = ParsedFeed(data.title, job.url, data.entries, data.warning)
        return parsed, data.decisions(), None, "full"
    split = split_items(job.body)
    if split is None:
        return _full(job), {}, None, "full"
    items = ItemHashes(split.header_hash(job.url, job.content_type), split.hashes())
    if job.items is not None and job.items.header == items.header:
        seen = set(job.items.items)
        fresh = [index for index, digest in enumerate(items.items) if digest not in seen]
        if not fresh:
            return ParsedFeed(None, None, (), None), {}, items, "skipped"
        only = _only(job, split, fresh)
        if only is not None:
            return only, {}, items, "incremental"
    parsed = _full(job)
    agrees = parsed.warning is None and len(parsed.entries) == len(split.items)
    return parsed, {}, items if agrees else None, "full"


def _full(job: ReadJob) -> ParsedFeed:
    return parse_feed(job.body, url=job.url, fetched_at=job.now, content_type=job.content_type)


def _only(job: ReadJob, split: ItemSplit, indexes: list[int]) -> ParsedFeed | None:
    """The entries of the items at `indexes` alone; None unless each gave exactly one, cleanly."""
    try:
        parsed = parse_feed(
            split.document(indexes), url=job.url, fetched_at=job.now, content_type=job.content_type
        )
    except NotAFeed:
        return None
    if parsed.warning is not None or len(parsed.entries) != len(indexes):
        return None
    return parsed
