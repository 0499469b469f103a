"""Queries at scale: `status`, `events --provider` and the due-deliveries query on a big database.

`build_database` fills a fresh exitplan database (the real migrations) with `entries`
entries, a tenth as many events (each with its source row) and as many deliveries as
entries, with plain `executemany` inserts: the catalog's providers (up to `PROVIDERS`)
with 10 feeds each, 10 subscriptions to each provider, one delivery per event and
subscription, 1% of them still pending. `time_queries` then times each query (the median of several
runs, after one warm-up) and records the query plan of every statement it ran.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.runtime import Runtime
from bot.settings import Settings
from bot.status import provider_status
from feeds.catalog import load_catalog
from storage import open_db
from storage.deliveries import due_deliveries
from storage.events import list_events

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROVIDERS = 100
FEEDS_PER_PROVIDER = 10
RUNS = 7
#: The issue's target for each query.
MAX_QUERY_MS = 50.0
_KINDS = ('["outage"]', "[]", '["price_change"]', '["shutdown"]', '["security"]', "[]")
_EVIDENCE = json.dumps([{"label": "outage", "phrase": "elevated errors", "reason": "x"}])


def build_database(path: Path, entries: int) -> dict[str, Any]:
    """Create the database at `path`; return the row counts and the build time."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    db = open_db(path)
    slugs = [provider.slug for provider in load_catalog()][:PROVIDERS]
    feeds = len(slugs) * FEEDS_PER_PROVIDER
    events = entries // 10
    subscriptions = entries // max(1, events) * len(slugs)  # 10 a provider
    rng = random.Random(11)  # noqa: S311 - test data
    iso = NOW.isoformat()
    with db.atomic():
        conn = db.conn
        conn.executemany(
            "INSERT INTO feeds (id, provider, url, role, source, baselined, created_at) "
            "VALUES (?, ?, ?, ?, 'catalog', 1, ?)",
            (
                (n + 1, slugs[n % len(slugs)], f"https://f{n}.test/feed", _role(n), iso)
                for n in range(feeds)
            ),
        )
        conn.executemany(
            "INSERT INTO entries (id, feed_id, key, title, link, published, text, categories,"
            " content_hash, first_seen, last_changed) VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?)",
            _entries(entries, feeds, iso),
        )
        event_rows = list(_events(events, feeds, slugs, rng))
        conn.executemany(
            "INSERT INTO events (id, entry_id, feed_id, provider, title, link, published, kinds,"
            " severity, evidence, deadline, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
            event_rows,
        )
        conn.executemany(
            "INSERT INTO event_sources (event_id, entry_id, feed_id, published, kinds, severity,"
            " evidence, deadline, state, merged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((r[0], r[1], r[2], r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in event_rows),
        )
        conn.executemany(
            "INSERT INTO subscriptions (id, platform, workspace, channel, provider, kinds,"
            " created_at, updated_at) VALUES (?, 'slack', ?, ?, ?, '[\"all\"]', ?, ?)",
            (
                (n + 1, f"T{n % 50:02d}", f"C{n:06d}", slugs[n % len(slugs)], iso, iso)
                for n in range(subscriptions)
            ),
        )
        conn.executemany(
            "INSERT INTO deliveries (event_id, subscription_id, purpose, status, attempts,"
            " next_attempt_at, created_at, sent_at) VALUES (?, ?, 'alert', ?, ?, ?, ?, ?)",
            _deliveries(event_rows, subscriptions, len(slugs), rng),
        )
    counts = {
        table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        for table in ("feeds", "entries", "events", "subscriptions", "deliveries")
    }
    db.execute("ANALYZE")
    db.close()
    return {"rows": counts, "build_s": round(time.perf_counter() - started, 2)}


def _role(number: int) -> str:
    return "status" if number % 2 == 0 else "news"


def _entries(count: int, feeds: int, iso: str) -> Iterator[tuple[object, ...]]:
    text = "An update about the service. " * 6
    for n in range(count):
        published = (NOW - timedelta(minutes=n)).isoformat()
        yield (n + 1, n % feeds + 1, f"k{n}", f"Entry {n}", f"https://x.test/{n}", published,
               text, f"h{n}", iso, iso)  # fmt: skip


def _events(
    count: int, feeds: int, slugs: list[str], rng: random.Random
) -> Iterator[tuple[object, ...]]:
    for n in range(count):
        entry = n * 10 + 1  # every tenth entry
        feed = (entry - 1) % feeds + 1
        published = (NOW - timedelta(minutes=entry - 1)).isoformat()
        kinds = _KINDS[n % len(_KINDS)]
        deadline = (NOW + timedelta(days=rng.randint(-300, 300))).date().isoformat()
        yield (
            n + 1, entry, feed, slugs[(feed - 1) % len(slugs)], f"Event {n}", published, kinds,
            "medium", _EVIDENCE, deadline if "shutdown" in kinds else None,
            "resolved" if feed % 2 else None, published, published,
        )  # fmt: skip


def _deliveries(
    events: list[tuple[object, ...]], subscriptions: int, providers: int, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    per_provider = subscriptions // providers
    for row in events:
        event_id, feed = row[0], int(str(row[2]))
        provider = (feed - 1) % providers
        for k in range(per_provider):
            pending = rng.random() < 0.01
            due = (NOW + timedelta(minutes=rng.randint(-600, 600))).isoformat()
            yield (
                event_id, provider + k * providers + 1, "pending" if pending else "sent",
                0 if pending else 1, due, NOW.isoformat(), None if pending else NOW.isoformat(),
            )  # fmt: skip


def time_queries(path: Path) -> dict[str, Any]:
    """Time the three queries on the database at `path`; return times and query plans."""
    db = open_db(path)
    catalog = load_catalog()
    slug = next(iter(catalog)).slug  # the first provider build_database filled
    runtime = Runtime(Settings(db_path=path), db, catalog)
    queries: dict[str, Callable[[], object]] = {
        "status": lambda: provider_status(runtime, slug, NOW, None),
        "events --provider": lambda: list_events(db, provider=slug),
        "due deliveries": lambda: due_deliveries(db, NOW, limit=200),
    }
    results: dict[str, Any] = {}
    for name, query in queries.items():
        statements: list[str] = []
        query()  # warm-up: the page cache, as a running exitplan has it
        db.conn.set_trace_callback(statements.append)
        query()
        db.conn.set_trace_callback(None)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            query()
            times.append((time.perf_counter() - start) * 1000)
        results[name] = {
            "median_ms": round(statistics.median(times), 2),
            "max_ms": round(max(times), 2),
            "statements": len(statements),
            "plans": _plans(db, statements),
        }
    db.close()
    return {"provider": slug, "queries": results}


def _plans(db: Any, statements: list[str]) -> list[dict[str, Any]]:
    """The distinct SELECTs with their EXPLAIN QUERY PLAN lines."""
    seen: dict[str, list[str]] = {}
    for sql in statements:
        text = " ".join(sql.split())
        if not text.upper().startswith(("SELECT", "WITH")):
            continue
        shape = _shape(text)
        if shape in seen:
            continue
        rows = db.execute(f"EXPLAIN QUERY PLAN {text}").fetchall()
        seen[shape] = [str(row[-1]) for row in rows]
    return [{"sql": shape, "plan": plan} for shape, plan in seen.items()]


def _shape(sql: str) -> str:
    """The statement with its literal values replaced, to tell distinct queries apart."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)[:400]
