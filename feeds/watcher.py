"""The poll cycle: fetch the due feeds, parse, find what is new, classify, store.

Each feed goes through the same steps: load its state, fetch (conditional GET), stop
when nothing changed, parse, compare entries with what is stored, classify the new and
changed ones, then store entries, events and outbox rows in one transaction. A failing
feed is recorded and backed off; it never stops the cycle.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlite_utils import Database

from feeds.fetch import Fetcher, FetchLimits, FetchRequest, FetchResult
from feeds.guard import AddressGuard
from feeds.pool import InlineReader, PoolReader, Reader
from feeds.reader import ReadJob, ReadResult
from storage import EvidenceRecord, Feed
from storage.entries import item_hashes, known_hashes, save_entries
from storage.feeds import (
    Unchanged,
    due_feeds,
    list_feeds,
    mark_back,
    mark_gone,
    move_feed,
    record_failure,
    record_unchanged_many,
)
from storage.model import Notice

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: Not-modified polls are written in batches of this many (one transaction each).
UNCHANGED_BATCH = 500


@dataclass(frozen=True)
class PollSettings:
    """How often feeds are polled, how failures are backed off, when a feed is gone.

    A feed is gone when it answers 410, or has failed for `gone_after` seconds since it
    was last read (or added); it is then polled every `gone_poll` seconds. Private and
    loopback addresses are fetched only with `allow_private`. `provider_names` gives
    the display names used in the notices exitplan writes (the slug otherwise).

    Bodies are parsed and classified in `parse_workers` worker processes when at least
    `pool_min_feeds` of the due feeds are read for the first time (a first read parses
    every entry; later reads parse only new items and stay in-process); 0 reads
    everything in-process.
    """

    interval: float = 600.0
    jitter: float = 0.1
    max_backoff: float = 86400.0
    limits: FetchLimits = field(default_factory=FetchLimits)
    allow_private: bool = False
    gone_after: float = 3 * 86400.0
    gone_poll: float = 86400.0
    provider_names: Mapping[str, str] = field(default_factory=dict)
    parse_workers: int = 0
    pool_min_feeds: int = 50


@dataclass(frozen=True)
class FeedFailure:
    """A feed that could not be read this cycle, and why."""

    provider: str
    url: str
    kind: str
    message: str
    failures_in_a_row: int


@dataclass
class PollSummary:
    """What one poll cycle did, for the end-of-run report."""

    polled: int = 0
    not_modified: int = 0
    baselined: int = 0
    new_entries: int = 0
    updated_entries: int = 0
    events: int = 0
    alerts_queued: int = 0
    failures: list[FeedFailure] = field(default_factory=list)
    gone: int = 0
    #: How many of the classified entries carry each kind (an entry can carry several).
    event_kinds: Counter[str] = field(default_factory=Counter)
    #: How the bodies were read: "full", "incremental" (new items only), "skipped".
    read_modes: Counter[str] = field(default_factory=Counter)


def next_success_poll(now: datetime, settings: PollSettings, rng: random.Random) -> datetime:
    """When to poll a healthy feed again: the interval, spread by the jitter."""
    spread = settings.interval * settings.jitter
    return now + timedelta(seconds=settings.interval + rng.uniform(-spread, spread))


def next_failure_poll(
    now: datetime,
    failures: int,
    settings: PollSettings,
    rng: random.Random,
    retry_after: float | None = None,
) -> datetime:
    """When to retry a failing feed: exponential backoff with jitter, never before a hint."""
    backoff = min(settings.max_backoff, settings.interval * 2.0 ** min(failures - 1, 16))
    delay = backoff * rng.uniform(0.75, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.max_backoff))
    return now + timedelta(seconds=delay)


def poll_once(
    db: Database,
    now: datetime,
    settings: PollSettings,
    *,
    progress: Progress | None = None,
    rng: random.Random | None = None,
    every_feed: bool = False,
) -> PollSummary:
    """Poll every feed that is due at `now` (or every feed at all), store what is new."""
    feeds = list_feeds(db) if every_feed else due_feeds(db, now)
    summary = PollSummary()
    if feeds:
        cycle = _Cycle(db, now, settings, summary, rng or random.Random())  # noqa: S311
        asyncio.run(cycle.run(feeds, progress, workers=pool_workers(feeds, settings)))
    return summary


def pool_workers(feeds: list[Feed], settings: PollSettings) -> int:
    """How many worker processes read this cycle's bodies (0: read in-process).

    Only first reads are worth a pool: a feed read before parses its new items alone, a
    millisecond or two, less than handing the body over and starting workers would cost.
    """
    first_reads = sum(1 for feed in feeds if not feed.baselined)
    return settings.parse_workers if first_reads >= settings.pool_min_feeds else 0


class _Cycle:
    """One poll cycle; results are stored as they arrive so bodies never pile up."""

    def __init__(
        self,
        db: Database,
        now: datetime,
        settings: PollSettings,
        summary: PollSummary,
        rng: random.Random,
    ) -> None:
        self.db = db
        self.now = now
        self.settings = settings
        self.summary = summary
        self.rng = rng
        self.unchanged: list[Unchanged] = []

    async def run(self, feeds: list[Feed], progress: Progress | None, *, workers: int) -> None:
        done = 0
        gate = asyncio.Semaphore(self.settings.limits.concurrency)
        reader: Reader = PoolReader(workers) if workers else InlineReader()

        async def one(fetcher: Fetcher, feed: Feed) -> None:
            nonlocal done
            request = FetchRequest(feed.url, feed.etag, feed.last_modified, feed.body_hash)
            # A body is handed to the reader before the fetch slot is let go: with a pool,
            # bodies waiting to be read never outnumber the fetch slots plus its backlog.
            async with gate:
                result = await fetcher.fetch(request, self.now)
                reading = await self.start_reading(reader, feed, result)
            try:
                self.store(feed, result, await reading if reading is not None else None)
            except Exception:  # a bug in one feed's handling must not end the cycle
                log.exception("storing the poll failed feed=%s", feed.url)
                self.fail(feed, "internal", "exitplan could not store this feed; see the log")
            done += 1
            if progress is not None:
                progress(done, len(feeds))

        guard = AddressGuard(allow_private=self.settings.allow_private)
        try:
            async with Fetcher(self.settings.limits, guard=guard) as fetcher:
                await asyncio.gather(*(one(fetcher, feed) for feed in feeds))
        finally:
            reader.close()
            self.flush_unchanged()

    async def start_reading(
        self, reader: Reader, feed: Feed, result: FetchResult
    ) -> Awaitable[ReadResult] | None:
        """Hand a fetched body to the reader with what is stored about the feed; None if no body."""
        if result.outcome != "ok" or result.body is None:
            return None
        try:
            job = ReadJob(
                url=result.new_url or feed.url,
                role=feed.role,
                format=feed.format,
                body=result.body,
                content_type=result.content_type,
                now=self.now,
                known=known_hashes(self.db, feed.id),
                items=item_hashes(self.db, feed.id),
            )
            return await reader.submit(job)
        except Exception as error:  # raised again where the result is awaited and handled
            failed: asyncio.Future[ReadResult] = asyncio.get_running_loop().create_future()
            failed.set_exception(error)
            return failed

    def flush_unchanged(self) -> None:
        """Write the not-modified polls gathered so far, in one transaction."""
        batch, self.unchanged = self.unchanged, []
        record_unchanged_many(self.db, batch, self.now)

    def store(self, feed: Feed, result: FetchResult, read: ReadResult | None) -> None:
        self.summary.polled += 1
        if result.outcome == "error":
            self.fail(
                feed,
                result.error_kind or "network",
                result.error or "unknown error",
                status=result.http_status,
                retry_after=result.retry_after,
            )
            return
        if result.new_url and move_feed(self.db, feed.id, result.new_url):
            log.info("feed moved permanently feed=%s to=%s", feed.url, result.new_url)
        if result.outcome in ("not_modified", "unchanged") or result.body is None:
            self.summary.not_modified += 1
            self.unchanged.append(
                Unchanged(
                    feed.id,
                    next_success_poll(self.now, self.settings, self.rng),
                    status=result.http_status or 304,
                    etag=result.etag,
                    last_modified=result.last_modified,
                )
            )
            if len(self.unchanged) >= UNCHANGED_BATCH:
                self.flush_unchanged()
            self.back(feed)
            return
        if read is None:
            raise RuntimeError(f"a body with outcome {result.outcome!r} was not read")
        if read.not_a_feed is not None:
            self.fail(feed, "not_a_feed", read.not_a_feed, status=result.http_status)
            return
        if read.warning:
            log.info("feed parsed with a warning feed=%s warning=%s", feed.url, read.warning)
        self.summary.read_modes[read.mode] += 1
        writes = read.writes
        saved = save_entries(
            self.db,
            feed.id,
            writes,
            self.now,
            next_success_poll(self.now, self.settings, self.rng),
            status=result.http_status or 200,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=result.body_hash,
            items=read.items,
        )
        self.back(feed)
        if not feed.baselined:
            self.summary.baselined += 1
        self.summary.new_entries += saved.new_entries
        self.summary.updated_entries += saved.updated_entries
        self.summary.events += sum(1 for write in writes if write.kinds)
        self.summary.event_kinds.update(kind for write in writes for kind in write.kinds)
        self.summary.alerts_queued += saved.deliveries

    def fail(
        self,
        feed: Feed,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        failures = feed.failure_count + 1
        retry_at = next_failure_poll(self.now, failures, self.settings, self.rng, retry_after)
        gone = None if feed.gone_at else self.gone_evidence(feed, kind, message, status)
        if feed.gone_at or gone:
            retry_at = max(retry_at, self.now + timedelta(seconds=self.settings.gone_poll))
        queued: int | None = None
        with self.db.atomic():
            record_failure(
                self.db, feed.id, self.now, retry_at, error_kind=kind, error=message, status=status
            )
            if gone is not None:
                # Only a feed that was read before can disappear; one that never worked
                # is marked gone without alarming anyone (its URL was probably wrong).
                notice = self.gone_notice(feed, gone) if feed.last_success_at else None
                queued = mark_gone(self.db, feed.id, self.now, reason=gone.phrase, notice=notice)
        log.warning("feed failed feed=%s kind=%s error=%s", feed.url, kind, message)
        self.summary.failures.append(FeedFailure(feed.provider, feed.url, kind, message, failures))
        if gone is not None:
            log.warning("feed is gone feed=%s reason=%s told=%s", feed.url, gone.phrase, queued)
            self.summary.gone += 1
            self.summary.alerts_queued += queued or 0

    def gone_evidence(
        self, feed: Feed, kind: str, message: str, status: int | None
    ) -> EvidenceRecord | None:
        """Why a failing feed counts as gone (410, or failing too long), or None."""
        if status == 410:
            reason = "the server says the feed was removed for good"
            return EvidenceRecord("feed_gone", "HTTP 410 Gone", reason)
        since = feed.last_success_at or feed.created_at
        if kind in ("blocked", "internal") or since is None:
            return None  # a refused address or a bug of ours is not a disappearance
        if (self.now - since).total_seconds() < self.settings.gone_after:
            return None
        return EvidenceRecord(
            "feed_gone", f"unreachable since {since:%Y-%m-%d %H:%M} UTC", f"{kind}: {message}"
        )

    def gone_notice(self, feed: Feed, evidence: EvidenceRecord) -> Notice:
        """What a gone feed's provider's subscribers are told, once."""
        name = self.settings.provider_names.get(feed.provider, feed.provider)
        text = (
            f"exitplan can no longer read this {feed.role} feed of {name} ({evidence.phrase}). "
            f"A disappearing feed can be a sign of a shutdown: check {name}'s website, status "
            "page and account notices, and look for a new feed address (add it with "
            f"`exitplan providers add {feed.provider} URL`). exitplan still checks this one "
            f"daily. Last error: {evidence.reason}."
        )
        return Notice(
            key=f"exitplan:gone:{feed.id}",
            notice="feed_gone",
            title=f"{name} feed is gone: {feed.url}",
            text=text,
            link=feed.url,
            evidence=(evidence,),
        )

    def back(self, feed: Feed) -> None:
        """Clear the gone mark of a feed that answered again."""
        if feed.gone_at is not None and mark_back(self.db, feed.id):
            log.info("feed is back feed=%s gone_since=%s", feed.url, feed.gone_at.isoformat())
