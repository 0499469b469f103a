"""The fan-out benchmark: one shutdown announcement to N channels through the dispatcher.

Two timed steps, each in a fresh process: storing the announcement (the event and one
outbox row per subscribed channel, in the poll's transaction), then sending the outbox
with `bot.dispatch.dispatch_due` through a notifier that posts over HTTP to the chat
stand-in (a separate process). The limit is the same number of POSTs from the same
client with payloads prepared in advance.

Then the same fan-out again, to a stand-in that enforces one message per second per
channel and answers 429 (Retry-After: 1) to 5% of the posts: the dispatcher retries
on its own schedule, the clock jumping to each next retry. Every channel must get its
message exactly once: the stand-in counts channels served and channels served twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.chat import ChatStandIn
from bench.corpus import CORPUS_TIME
from bench.measure import Result, run_scenario
from bench.poll_cycle import Log
from feeds.model import DEFAULT_KINDS
from storage import FeedSource, open_db
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import subscribe

_PROVIDER = "bench-fanout"
_FEED_URL = "https://blog.bench-fanout.test/feed/"
_NOW = CORPUS_TIME + timedelta(hours=12)
#: The dispatcher's default batch; passes are bounded by the outbox size over it.
_BATCH = 200
#: The limits of the rate-limited run: messages per second per channel, share of 429s.
PER_CHANNEL_RATE = 1.0
LIMITED_SHARE = 0.05

_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Bench Fanout Blog</title>
  <link>https://blog.bench-fanout.test</link>
  <description>News</description>
  <item>
    <title>Bench Cold Archive is shutting down on September 30, 2026</title>
    <link>https://blog.bench-fanout.test/2026/03/cold-archive-end-of-life/</link>
    <guid isPermaLink="false">https://blog.bench-fanout.test/?p=9001</guid>
    <pubDate>Mon, 02 Mar 2026 09:00:00 +0000</pubDate>
    <content:encoded><![CDATA[<p>After eight years we are retiring <strong>Cold
    Archive</strong>. New uploads stop on June 1, 2026, and the service shuts down on
    September 30, 2026, when all remaining data is permanently deleted.</p>
    <p>Please export your archives before the deadline; our export guide explains how to
    move data to another provider.</p>]]></content:encoded>
  </item>
</channel>
</rss>
"""


@dataclass(frozen=True)
class FanoutConfig:
    """How many channels subscribe to the provider that announces the shutdown."""

    channels: int = 5_000


def run_fanout(config: FanoutConfig, workdir: Path, log: Log = print) -> dict[str, Any]:
    """Queue and send one shutdown to `config.channels` channels; return the figures."""
    db_path = workdir / "fanout.db"
    feed_file = workdir / "fanout.rss"
    feed_file.write_text(_FEED)
    feed_id = _prepare_db(db_path, config.channels)
    now = _NOW.isoformat()
    figures: dict[str, Result] = {}
    log(f"fan-out: one shutdown to {config.channels:,} channels")
    with ChatStandIn() as chat:
        log("  store the event and queue the outbox …")
        figures["queue"] = run_scenario(
            "fanout-queue",
            {
                "db": str(db_path),
                "now": now,
                "feed_id": feed_id,
                "feed_file": str(feed_file),
                "feed_url": _FEED_URL,
            },
            workdir,
        )
        log("  dispatch_due to the chat stand-in …")
        figures["dispatch"] = run_scenario(
            "fanout-dispatch",
            {
                "db": str(db_path),
                "now": now,
                "port": chat.port,
                "max_passes": config.channels // _BATCH + 10,
            },
            workdir,
        )
        received = chat.messages()
        log("  limit: the same POSTs from a bare loop …")
        figures["bare"] = run_scenario(
            "fanout-bare",
            {"port": chat.port, "count": config.channels, "text": "x" * 400},
            workdir,
        )
    log("  rate-limited stand-in: 1 message/s per channel, 5% answered 429 …")
    limited_db = workdir / "fanout-limited.db"
    limited_feed = _prepare_db(limited_db, config.channels)
    run_scenario(
        "fanout-queue",
        {"db": str(limited_db), "now": now, "feed_id": limited_feed,
         "feed_file": str(feed_file), "feed_url": _FEED_URL},
        workdir,
    )  # fmt: skip
    with ChatStandIn(per_channel_rate=PER_CHANNEL_RATE, fail=LIMITED_SHARE) as chat:
        figures["limited"] = run_scenario(
            "fanout-limited",
            {"db": str(limited_db), "now": now, "port": chat.port,
             "max_passes": 4 * (config.channels // _BATCH + 10)},
            workdir,
        )  # fmt: skip
        limited_stats = chat.stats()
    dispatch, bare, limited = figures["dispatch"], figures["bare"], figures["limited"]
    # What the limits alone impose: the same sends at full speed, plus one Retry-After wait.
    bound = dispatch["wall_s"] + (1.0 if limited_stats["limited"] else 0.0)
    limited.update(
        {
            "completion_s": round(limited["wall_s"] + limited["waited_s"], 3),
            "bound_s": round(bound, 3),
            "stand_in": limited_stats,
            "lost": config.channels - limited_stats["channels"],
            "duplicated": limited_stats["duplicated"],
        }
    )
    return {
        "channels": config.channels,
        "stand_in_received": received,
        **figures,
        "ratios": {
            "dispatch_over_bare": round(dispatch["wall_s"] / bare["wall_s"], 2)
            if bare["wall_s"]
            else None,
            "queue_and_dispatch_s": round(figures["queue"]["wall_s"] + dispatch["wall_s"], 3),
        },
        "targets": check_fanout(dispatch, limited),
    }


#: The issue's target for deliveries per second without rate limits.
MIN_DELIVERIES_PER_S = 500.0


def check_fanout(dispatch: Result, limited: Result) -> list[dict[str, Any]]:
    """The fan-out targets with the measured values."""
    return [
        {
            "name": "fan-out deliveries/s, no rate limit",
            "value": dispatch["deliveries_per_s"],
            "target": f">= {MIN_DELIVERIES_PER_S:g}",
            "met": dispatch["deliveries_per_s"] >= MIN_DELIVERIES_PER_S,
        },
        {
            "name": "rate-limited fan-out: lost + duplicated messages",
            "value": limited["lost"] + limited["duplicated"],
            "target": "0",
            "met": limited["lost"] + limited["duplicated"] == 0,
        },
    ]


def _prepare_db(db_path: Path, channels: int) -> int:
    """A database with the provider's feed baselined and `channels` subscriptions to it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db = open_db(db_path)
    start = _NOW - timedelta(days=1)
    sync_feeds(db, [FeedSource(_PROVIDER, _FEED_URL, "news")], start)
    feed = list_feeds(db, _PROVIDER)[0]
    save_entries(
        db, feed.id, [], start, _NOW - timedelta(hours=1),
        status=200, etag=None, last_modified=None, body_hash=None,
    )  # fmt: skip
    with db.atomic():
        for number in range(channels):
            subscribe(
                db,
                platform="bench",
                workspace=f"T{number // 1000:03d}",
                channel=f"C{number:06d}",
                provider=_PROVIDER,
                kinds=DEFAULT_KINDS,
                now=start,
            )
    db.close()
    return feed.id
