"""Prometheus metrics: counters the runner bumps after each job, gauges read at scrape time.

Everything lives in one `Metrics` object with its own `CollectorRegistry` (never the
process-global one), so tests and two servers in one process do not share counts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlite_utils import Database

from bot.dispatch import DispatchSummary
from feeds.fetch import ErrorKind
from feeds.model import KINDS
from feeds.watcher import PollSummary
from storage.deliveries import OutboxStats, outbox_stats

#: Prometheus' text format, as `generate_latest` writes it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Outcomes of one feed's poll: new content read, nothing new, or a failure.
POLL_OUTCOMES = ("changed", "not_modified", "failed")
#: Outcomes of one delivery attempt, as the dispatcher counts them.
DELIVERY_OUTCOMES = ("sent", "retried", "failed", "paused")
#: Failure kinds of a poll: the fetcher's closed set, and a bug of ours while storing.
FETCH_ERROR_KINDS = (*get_args(ErrorKind), "internal")
_CYCLE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class _OutboxCollector(Collector):
    """Pending deliveries and outbox lag, from the snapshot taken for the current scrape."""

    def __init__(self) -> None:
        self.stats = OutboxStats(pending=(), oldest_due_at=None)
        self.now: datetime | None = None

    def collect(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "exitplan_deliveries_pending",
            "Deliveries waiting in the outbox, by platform.",
            labels=["platform"],
        )
        for platform, count in self.stats.pending:
            pending.add_metric([platform], count)
        yield pending
        lag = 0.0
        if self.stats.oldest_due_at is not None and self.now is not None:
            lag = max(0.0, (self.now - self.stats.oldest_due_at).total_seconds())
        yield GaugeMetricFamily(
            "exitplan_outbox_lag_seconds",
            "How long the oldest due delivery to an active channel has waited (0: none).",
            value=lag,
        )


class Metrics:
    """exitplan's metrics: bump them with `observe_*`, export them with `render`."""

    def __init__(self, platforms: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._feeds_polled = Counter(
            "exitplan_feeds_polled",
            "Feeds polled, by outcome (changed, not_modified, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self._fetch_errors = Counter(
            "exitplan_fetch_errors",
            "Feeds that could not be read, by error kind.",
            ["kind"],
            registry=self.registry,
        )
        self._not_modified_ratio = Gauge(
            "exitplan_poll_not_modified_ratio",
            "Share of the last poll cycle's feeds that had nothing new (304 or same body).",
            registry=self.registry,
        )
        self._events = Counter(
            "exitplan_events",
            "Classified entries stored (new or changed), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._deliveries = Counter(
            "exitplan_deliveries",
            "Delivery attempts, by platform and outcome (sent, retried, failed, paused).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self._poll_seconds = Histogram(
            "exitplan_poll_cycle_seconds",
            "How long one poll cycle took.",
            buckets=_CYCLE_BUCKETS,
            registry=self.registry,
        )
        self._outbox = _OutboxCollector()
        self.registry.register(self._outbox)
        for outcome in POLL_OUTCOMES:
            self._feeds_polled.labels(outcome)
        for kind in FETCH_ERROR_KINDS:
            self._fetch_errors.labels(kind)
        for event_kind in KINDS:
            self._events.labels(event_kind)
        for platform in platforms:
            for outcome in DELIVERY_OUTCOMES:
                self._deliveries.labels(platform, outcome)

    def observe_poll(self, summary: PollSummary, seconds: float) -> None:
        """Count what one poll cycle did and how long it took."""
        failed = len(summary.failures)
        changed = max(0, summary.polled - summary.not_modified - failed)
        self._feeds_polled.labels("changed").inc(changed)
        self._feeds_polled.labels("not_modified").inc(summary.not_modified)
        self._feeds_polled.labels("failed").inc(failed)
        for failure in summary.failures:
            self._fetch_errors.labels(failure.kind).inc()
        for kind, count in summary.event_kinds.items():
            self._events.labels(kind).inc(count)
        if summary.polled:
            self._not_modified_ratio.set(summary.not_modified / summary.polled)
        self._poll_seconds.observe(seconds)

    def observe_dispatch(self, summary: DispatchSummary) -> None:
        """Count one dispatcher pass's outcomes per platform."""
        for (platform, outcome), count in summary.by_platform.items():
            self._deliveries.labels(platform, outcome).inc(count)

    def render(self, db: Database, now: datetime) -> bytes:
        """Every metric in Prometheus' text format, the outbox read from `db` at `now`."""
        stats = outbox_stats(db, now)
        with self._lock:
            self._outbox.stats, self._outbox.now = stats, now
            return generate_latest(self.registry)
