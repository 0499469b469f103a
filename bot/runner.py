"""The long-running job: poll, dispatch and housekeeping on one scheduler until stopped."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import schedule

from bot.dispatch import DispatchSummary, dispatch_due
from bot.feed_health import HealthSummary, check_feed_health
from bot.notify import Notifier
from bot.runtime import Runtime
from feeds.watcher import PollSummary, poll_once
from storage.db import housekeep
from storage.reminders import queue_reminders

if TYPE_CHECKING:
    from bot.heartbeat import Heartbeat
    from bot.metrics import Metrics
    from bot.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: The poll job wakes at least this often; each feed keeps its own jittered next-poll time.
POLL_TICK_SECONDS = 60.0


def utc_now() -> datetime:
    """The current time, in UTC: the only place exitplan reads the clock."""
    return datetime.now(UTC)


def poll_tick_seconds(settings: Settings) -> int:
    """How often the poll job wakes, in whole seconds."""
    return round(min(POLL_TICK_SECONDS, settings.poll_interval)) or 1


def _guarded(
    name: str, job: Callable[[], Any], on_success: Callable[[], None] | None = None
) -> Callable[[], None]:
    """Wrap a job so that an exception is logged and the scheduler goes on."""

    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("job failed job=%s; it runs again at its next time", name)
        else:
            if on_success is not None:
                on_success()

    return run


def install_stop_handlers(stop: threading.Event) -> None:
    """Make SIGINT and SIGTERM set `stop` (call from the main thread).

    `exitplan run` installs these before it starts the chat adapters, so a service
    manager stopping it during start-up still gets a clean exit.
    """

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping signal=%s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class Runner:
    """Runs the poll, dispatch and housekeeping jobs until `stop()` or a signal."""

    def __init__(
        self,
        runtime: Runtime,
        notifiers: Mapping[str, Notifier],
        *,
        clock: Clock = utc_now,
        on_poll: Callable[[PollSummary], None] | None = None,
        heartbeat: Heartbeat | None = None,
        metrics: Metrics | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.runtime = runtime
        self.notifiers = notifiers
        self.clock = clock
        self.on_poll = on_poll
        self.heartbeat = heartbeat
        self.metrics = metrics
        self._stop = stop if stop is not None else threading.Event()
        self.scheduler = schedule.Scheduler()

    def poll(self) -> PollSummary:
        """Poll the due feeds once, then send what they queued."""
        started = time.monotonic()
        summary = poll_once(self.runtime.db, self.clock(), self.runtime.poll_settings())
        if self.metrics is not None:
            self.metrics.observe_poll(summary, time.monotonic() - started)
        log.info(
            "poll cycle polled=%s not_modified=%s new_entries=%s updated_entries=%s events=%s "
            "alerts_queued=%s failures=%s gone=%s duration=%.2fs",
            summary.polled,
            summary.not_modified,
            summary.new_entries,
            summary.updated_entries,
            summary.events,
            summary.alerts_queued,
            len(summary.failures),
            summary.gone,
            time.monotonic() - started,
        )
        if self.on_poll is not None:
            self.on_poll(summary)
        self.dispatch()
        return summary

    def dispatch(self) -> DispatchSummary:
        """Send the deliveries that are due."""
        summary = dispatch_due(
            self.runtime.db,
            self.notifiers,
            self.clock(),
            provider_name=self.runtime.provider_name,
            max_attempts=self.runtime.settings.max_delivery_attempts,
            checklist_for=self.runtime.checklist_for,
            impact_for=self.runtime.impact_for,
        )
        if self.metrics is not None:
            self.metrics.observe_dispatch(summary)
        return summary

    def _beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.beat(self.clock())

    def remind(self) -> int:
        """Queue the deadline reminders due today (and any missed while down), then send."""
        now = self.clock()
        queued = queue_reminders(
            self.runtime.db, now.date(), self.runtime.settings.reminder_days, now
        )
        if queued:
            log.info("reminders queued count=%s", queued)
            self.dispatch()
        return queued

    def check_health(self) -> HealthSummary:
        """Warn channels once about providers none of whose feeds can be read, and recoveries."""
        summary = check_feed_health(
            self.runtime.db,
            self.clock(),
            after=self.runtime.settings.feed_health_after,
            provider_name=self.runtime.provider_name,
        )
        if summary.queued:
            self.dispatch()
        return summary

    def housekeeping(self) -> None:
        """Daily upkeep of the database."""
        housekeep(self.runtime.db)

    def stop(self) -> None:
        """Ask the loop to finish after the job that is running."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGINT and SIGTERM (call from the main thread)."""
        install_stop_handlers(self._stop)

    def run(self) -> None:
        """Poll at once, then run every job on its schedule until stopped."""
        settings = self.runtime.settings
        tick = poll_tick_seconds(settings)
        self.scheduler.every(tick).seconds.do(_guarded("poll", self.poll, self._beat))
        self.scheduler.every(round(settings.dispatch_interval) or 1).seconds.do(
            _guarded("dispatch", self.dispatch, self._beat)
        )
        self.scheduler.every().hour.do(_guarded("reminders", self.remind, self._beat))
        self.scheduler.every().hour.do(_guarded("feed health", self.check_health, self._beat))
        self.scheduler.every().day.at("04:00").do(
            _guarded("housekeeping", self.housekeeping, self._beat)
        )
        if not self._stop.is_set():
            _guarded("reminders", self.remind, self._beat)()
            _guarded("poll", self.poll, self._beat)()
        while not self._stop.is_set():
            self.scheduler.run_pending()
            idle = self.scheduler.idle_seconds
            self._stop.wait(timeout=max(0.05, min(1.0, idle if idle is not None else 1.0)))
        self.scheduler.clear()
        log.info("stopped")
