"""A progress bar for long commands: drawn on a terminal, silent elsewhere."""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 30
_MIN_REDRAW_SECONDS = 0.1


class ProgressBar:
    """Draws `label [#####.....] done/total` on one line of a terminal stream."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        """Show that `done` of `total` steps are finished."""
        if not self.enabled or total <= 0:
            return
        now = time.monotonic()
        if done < total and now - self._last_draw < _MIN_REDRAW_SECONDS:
            return
        self._last_draw = now
        filled = int(_WIDTH * done / total)
        bar = "#" * filled + "." * (_WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line so that later output starts on a fresh one."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
