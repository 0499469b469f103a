"""The scenarios, each run in a fresh process: `python -m bench.worker KIND SPEC.json`.

Kinds:
  exitplan-poll     one `feeds.watcher.poll_once` over the database in the spec
  limit             the same conditional GETs from a bare aiohttp client, no parsing
  naive             a sequential loop of `feedparser.parse(url)` without validators
  feedparser-bytes  `feedparser.parse` on each document's bytes, read from disk
  fanout-queue      store one shutdown entry: the event and one outbox row per channel
  fanout-dispatch   `bot.dispatch.dispatch_due` until the outbox is empty
  fanout-bare       the same number of POSTs to the chat stand-in, prepared in advance
  fanout-limited    `dispatch_due` against a rate-limiting stand-in, on a simulated clock
  classify          classification and deadline extraction over the labelled corpus
  queries-build     fill a big database with executemany (bench.queries)
  queries           time status, events --provider and due deliveries on it

The last line on stdout is a JSON object: the counts, `wall_s`, `cpu_s`, `peak_rss_mb`.
"""

# Each scenario imports what it uses inside its function, so that a process's peak RSS
# holds only what that contender needs (the limit never loads feedparser or SQLite).
# ruff: noqa: PLC0415

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.measure import Result, measured, rate

Spec = dict[str, Any]


def exitplan_poll(spec: Spec) -> Result:
    """One poll cycle of exitplan over every due feed."""
    from feeds.fetch import FetchLimits
    from feeds.watcher import PollSettings, poll_once
    from storage import open_db

    db = open_db(spec["db"])
    now = datetime.fromisoformat(spec["now"])
    limits = FetchLimits(concurrency=spec["concurrency"], per_host=spec["per_host"])
    # The feeds are on 127.0.0.1: the address guard must let loopback through.
    settings = PollSettings(
        limits=limits, allow_private=True, parse_workers=spec.get("parse_workers", 0)
    )

    def work() -> Result:
        summary = poll_once(db, now, settings, rng=random.Random(1))  # noqa: S311
        return {
            "feeds": summary.polled,
            "not_modified": summary.not_modified,
            "baselined": summary.baselined,
            "new_entries": summary.new_entries,
            "updated_entries": summary.updated_entries,
            "events": summary.events,
            "alerts_queued": summary.alerts_queued,
            "failures": len(summary.failures),
            "failure_kinds": dict(Counter(f.kind for f in summary.failures)),
            "read_modes": dict(summary.read_modes),
        }

    result = measured(work)
    db.close()
    return result


def limit(spec: Spec) -> Result:
    """The same conditional GETs, same concurrency, from a bare client: no parsing, no storage."""
    import aiohttp

    urls: list[str] = json.loads(Path(spec["urls_file"]).read_text())
    state_file = Path(spec["state_file"])
    validators: dict[str, list[str | None]] = (
        json.loads(state_file.read_text()) if state_file.exists() else {}
    )
    statuses: Counter[int] = Counter()
    received = 0

    async def cycle() -> None:
        nonlocal received
        connector = aiohttp.TCPConnector(limit=spec["concurrency"], limit_per_host=spec["per_host"])
        async with aiohttp.ClientSession(
            connector=connector, auto_decompress=False, trust_env=False
        ) as session:

            async def one(url: str) -> None:
                nonlocal received
                etag, modified = validators.get(url, [None, None])
                headers = {}
                if etag:
                    headers["If-None-Match"] = etag
                if modified:
                    headers["If-Modified-Since"] = modified
                async with session.get(url, headers=headers) as resp:
                    body = await resp.read()
                    received += len(body)
                    statuses[resp.status] += 1
                    if resp.status == 200:
                        validators[url] = [
                            resp.headers.get("ETag"),
                            resp.headers.get("Last-Modified"),
                        ]

            await asyncio.gather(*(one(url) for url in urls))

    def work() -> Result:
        asyncio.run(cycle())
        return {"feeds": len(urls), "statuses": _keys(statuses), "bytes": received}

    result = measured(work)
    state_file.write_text(json.dumps(validators))
    return result


def naive(spec: Spec) -> Result:
    """A sequential loop of `feedparser.parse(url)`: no validators, no concurrency."""
    import feedparser

    urls: list[str] = json.loads(Path(spec["urls_file"]).read_text())

    def work() -> Result:
        entries = 0
        statuses: Counter[int] = Counter()
        for url in urls:
            parsed = feedparser.parse(url)
            entries += len(parsed.entries)
            statuses[parsed.get("status", 0)] += 1
        return {"feeds": len(urls), "entries_parsed": entries, "statuses": _keys(statuses)}

    return measured(work)


def feedparser_bytes(spec: Spec) -> Result:
    """`feedparser.parse` on each document's bytes; `wall_s` counts the parsing only."""
    import feedparser

    paths: list[str] = json.loads(Path(spec["paths_file"]).read_text())

    def work() -> Result:
        entries = 0
        parsing = 0.0
        for path in paths:
            body = Path(path).read_bytes()
            start = time.perf_counter()
            # A BytesIO, as exitplan passes it: bare bytes would first be tried as a file name.
            parsed = feedparser.parse(io.BytesIO(body))
            parsing += time.perf_counter() - start
            entries += len(parsed.entries)
        return {"feeds": len(paths), "entries_parsed": entries, "wall_s": parsing}

    return measured(work)


def fanout_queue(spec: Spec) -> Result:
    """Store one shutdown announcement; its outbox rows go to every subscribed channel."""
    from feeds.classify import classify
    from feeds.parse import parse_feed
    from feeds.watcher import PollSettings, next_success_poll
    from storage import EntryWrite, EvidenceRecord, open_db
    from storage.entries import save_entries

    db = open_db(spec["db"])
    now = datetime.fromisoformat(spec["now"])
    entry = parse_feed(
        Path(spec["feed_file"]).read_bytes(), url=spec["feed_url"], fetched_at=now
    ).entries[0]
    found = classify(entry.title, entry.text, entry.published or now)
    write = EntryWrite(
        key=entry.key,
        title=entry.title,
        link=entry.link,
        published=entry.published,
        updated=entry.updated,
        text=entry.text,
        categories=entry.categories,
        content_hash=entry.content_hash,
        kinds=tuple(found.kinds),
        severity=found.severity,
        evidence=tuple(EvidenceRecord(e.label, e.phrase, e.reason) for e in found.evidence),
        deadline=found.deadline.date if found.deadline else None,
        deadline_phrase=found.deadline.phrase if found.deadline else None,
        state=None,
    )
    next_poll = next_success_poll(now, PollSettings(), random.Random(1))  # noqa: S311

    def work() -> Result:
        saved = save_entries(
            db, spec["feed_id"], [write], now, next_poll,
            status=200, etag=None, last_modified=None, body_hash=None,
        )  # fmt: skip
        return {"kinds": list(write.kinds), "deliveries": saved.deliveries}

    result = measured(work)
    db.close()
    return result


def fanout_dispatch(spec: Spec) -> Result:
    """Send the whole outbox through the dispatcher to the chat stand-in."""
    from bench.chat import HttpNotifier
    from bot.alerts import Alert
    from bot.dispatch import dispatch_due
    from bot.notify import Target
    from storage import open_db

    db = open_db(spec["db"])
    now = datetime.fromisoformat(spec["now"])
    notifier = HttpNotifier(spec["port"])
    sending = 0.0

    class TimedNotifier:
        """The HTTP notifier, with the time spent inside it added up."""

        platform = notifier.platform

        def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
            nonlocal sending
            start = time.perf_counter()
            try:
                return notifier.send(alert, target, reply_to=reply_to)
            finally:
                sending += time.perf_counter() - start

    def work() -> Result:
        totals: Counter[str] = Counter()
        passes = 0
        for passes in range(1, spec["max_passes"] + 1):  # noqa: B007 - reported below
            summary = dispatch_due(
                db, {notifier.platform: TimedNotifier()}, now, provider_name=lambda slug: slug
            )
            done = summary.sent + summary.retried + summary.failed + summary.paused
            totals.update(
                sent=summary.sent,
                retried=summary.retried,
                failed=summary.failed,
                paused=summary.paused,
            )
            if done == 0:
                break
        return {**totals, "passes": passes, "in_notifier_s": sending}

    result = measured(work)
    notifier.close()
    db.close()
    result["deliveries_per_s"] = rate(result["sent"], result["wall_s"])
    return result


def fanout_bare(spec: Spec) -> Result:
    """The same number of POSTs from the same client, payloads prepared in advance."""
    from bench.chat import HttpNotifier

    notifier = HttpNotifier(spec["port"])
    payloads = [
        {"channel": f"C{number:06d}", "text": spec["text"]} for number in range(spec["count"])
    ]

    def work() -> Result:
        for payload in payloads:
            notifier.post(payload)
        return {"sent": len(payloads)}

    result = measured(work)
    notifier.close()
    result["deliveries_per_s"] = rate(result["sent"], result["wall_s"])
    return result


def fanout_limited(spec: Spec) -> Result:
    """Send the outbox to a stand-in that rate-limits; the clock jumps to each next retry.

    `wall_s` is the work; `waited_s` the simulated time spent waiting for retries the
    dispatcher scheduled (it is called again when they are due, as the runner does).
    """
    from datetime import timedelta

    from bench.chat import HttpNotifier
    from bot.dispatch import dispatch_due
    from storage import open_db

    db = open_db(spec["db"])
    start = now = datetime.fromisoformat(spec["now"])
    notifier = HttpNotifier(spec["port"])
    rng = random.Random(1)  # noqa: S311 - retry jitter

    def work() -> Result:
        nonlocal now
        totals: Counter[str] = Counter()
        passes = jumps = 0
        while passes < spec["max_passes"]:
            passes += 1
            summary = dispatch_due(
                db, {notifier.platform: notifier}, now, provider_name=lambda s: s, rng=rng
            )
            totals.update(sent=summary.sent, retried=summary.retried, failed=summary.failed)
            if summary.sent + summary.retried + summary.failed + summary.paused:
                continue
            row = db.execute(
                "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
            ).fetchone()
            if row[0] is None:
                break
            now = max(now, datetime.fromisoformat(row[0])) + timedelta(microseconds=1)
            jumps += 1
        pending = db.execute("SELECT count(*) FROM deliveries WHERE status != 'sent'").fetchone()
        return {**totals, "passes": passes, "clock_jumps": jumps, "not_sent": pending[0]}

    result = measured(work)
    result["waited_s"] = round((now - start).total_seconds(), 3)
    notifier.close()
    db.close()
    return result


def classify_rate(spec: Spec) -> Result:
    """Entries per second: classify (deadlines only where they matter), then deadlines for all."""
    from feeds.classify import classify
    from feeds.deadlines import extract_deadline
    from feeds.evaluate import load_corpus

    # Never the blind set: it measures the classifier's quality, unseen by anyone tuning it.
    items = [item for path in spec["corpus_files"] for item in load_corpus(Path(path))]
    entries = [items[number % len(items)] for number in range(spec["entries"])]

    def work() -> Result:
        start = time.perf_counter()
        kinds = sum(1 for item in entries if classify(item.title, item.text, item.published).kinds)
        classifying = time.perf_counter() - start
        start = time.perf_counter()
        dated = sum(
            1
            for item in entries
            if extract_deadline(f"{item.title}.\n{item.text}", item.published) is not None
        )
        deadlines = time.perf_counter() - start
        return {
            "entries": len(entries),
            "labelled_items": len(items),
            "classified_with_kinds": kinds,
            "with_deadline": dated,
            "classify_s": classifying,
            "deadline_s": deadlines,
            "classify_per_s": rate(len(entries), classifying),
            "deadline_per_s": rate(len(entries), deadlines),
            "both_per_s": rate(len(entries), classifying + deadlines),
            "wall_s": classifying + deadlines,
        }

    return measured(work)


def queries_build(spec: Spec) -> Result:
    """Fill the big database for the query timings."""
    from bench.queries import build_database

    return measured(lambda: build_database(Path(spec["db"]), spec["entries"]))


def queries(spec: Spec) -> Result:
    """Time the three queries on the big database, with their query plans."""
    from bench.queries import time_queries

    return measured(lambda: time_queries(Path(spec["db"])))


def _keys(counter: Counter[int]) -> dict[str, int]:
    return {str(key): value for key, value in sorted(counter.items())}


KINDS: dict[str, Callable[[Spec], Result]] = {
    "exitplan-poll": exitplan_poll,
    "limit": limit,
    "naive": naive,
    "feedparser-bytes": feedparser_bytes,
    "fanout-queue": fanout_queue,
    "fanout-dispatch": fanout_dispatch,
    "fanout-bare": fanout_bare,
    "fanout-limited": fanout_limited,
    "classify": classify_rate,
    "queries-build": queries_build,
    "queries": queries,
}


def main(argv: list[str]) -> int:
    """Run the scenario named in argv[0] with the spec file argv[1]; print its result."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    kind, spec_file = argv
    result = KINDS[kind](json.loads(Path(spec_file).read_text()))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
