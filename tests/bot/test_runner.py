"""`exitplan run` as a real process: it polls at once and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_run_polls_then_stops_on_sigterm(tmp_path: Path, feed_server: FeedServer) -> None:
    """The main job reads its feeds on start and exits 0 when the service manager stops it."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    config = tmp_path / "exitplan.toml"
    config.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\npoll_catalog = false\n'
        "allow_private_feeds = true\n"
        '[[providers]]\nslug = "example"\n'
        f'feeds = [{{ url = "{feed_server.url("/history.rss")}", role = "status" }}]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
    env["EXITPLAN_CONFIG"] = str(config)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: feed_server.hits("/history.rss") >= 1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "exitplan is watching" in err
    assert "No subscriptions yet: the console will show" in err
    assert "stopping signal=SIGTERM" in err
