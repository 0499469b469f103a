"""The scheduler's heartbeat: when a job last finished, for the liveness probe."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class Heartbeat:
    """When the runner last finished a job; shared by the runner and the HTTP server.

    Before the first job finishes, the time the heartbeat was made counts as the last
    beat, so a process that just started is alive.
    """

    def __init__(self, started: datetime) -> None:
        self._lock = threading.Lock()
        self._started = started
        self._last: datetime | None = None

    def beat(self, now: datetime) -> None:
        """Record that a job finished at `now`."""
        with self._lock:
            self._last = now

    @property
    def last(self) -> datetime | None:
        """When a job last finished, or None before the first one."""
        with self._lock:
            return self._last

    def age(self, now: datetime) -> timedelta:
        """How long ago the last job finished (or the heartbeat was made)."""
        with self._lock:
            return now - (self._last or self._started)

    def is_fresh(self, now: datetime, max_age: timedelta) -> bool:
        """True when a job finished (or the process started) at most `max_age` ago."""
        return self.age(now) <= max_age
