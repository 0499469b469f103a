"""Crash safety with real processes: `exitplan run` killed with SIGKILL, then started again.

Feeds come from `FeedServer`, alerts go through the real Slack adapter (slack_sdk over
Socket Mode) to the Slack stand-in, which here answers `chat.postMessage` slowly so that a
kill lands while a message is in flight. Every wait polls a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import IO

import pytest
from aiohttp import web

from bot.runtime import open_runtime
from bot.settings import load_settings
from feeds.watcher import poll_once
from storage import EVERY_PROVIDER, open_db
from storage.subscriptions import subscribe
from tests.servers import FeedServer
from tests.slack_server import APP_TOKEN, BOT_TOKEN, TEAM, SlackServer

#: How long the stand-in takes to answer each chat.postMessage after it has recorded it.
POST_DELAY = 0.01
_DEADLINE = 30.0


class SlowSlackServer(SlackServer):
    """The Slack stand-in, answering chat.postMessage only `POST_DELAY` s after posting it."""

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if request.match_info["method"] == "chat.postMessage":
            await asyncio.sleep(POST_DELAY)
        return response


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """The slow Slack stand-in on 127.0.0.1, closed after the test."""
    with SlowSlackServer() as server:
        yield server


def _wait_for(condition: Callable[[], object], what: str, timeout: float = _DEADLINE) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _rss(*items: tuple[str, str]) -> bytes:
    """An RSS document with one item per (key, title); the title is also its text."""
    published = format_datetime(datetime.now(UTC), usegmt=True)
    entries = "".join(
        f"<item><title>{title}</title><link>https://provider.test/{key}</link>"
        f"<guid>{key}</guid><pubDate>{published}</pubDate>"
        f"<description>{title}.</description></item>"
        for key, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        f"<link>https://provider.test/</link>{entries}</channel></rss>"
    ).encode()


def _shutdown(slug: str) -> tuple[str, str]:
    return (f"{slug}-vault", f"{slug.title()} Vault will be discontinued and shut down")


def _baseline(slug: str) -> tuple[str, str]:
    return (f"{slug}-dc", f"{slug.title()} opens a data center in Toronto")


class Deployment:
    """A config, a database and the way to start `exitplan run` against the stand-ins."""

    def __init__(self, tmp_path: Path, feeds: FeedServer, slack: SlackServer) -> None:
        self.tmp_path = tmp_path
        self.db_path = tmp_path / "exitplan.db"
        self.config = tmp_path / "exitplan.toml"
        self.feeds = feeds
        self.slack = slack
        self.starts = 0

    def configure(self, slugs: list[str]) -> None:
        """Write the config: one feed per provider slug, polled and dispatched every second."""
        providers = "".join(
            f'[[providers]]\nslug = "{slug}"\n'
            f'feeds = [{{ url = "{self.feeds.url(f"/{slug}.rss")}", role = "news" }}]\n'
            for slug in slugs
        )
        self.config.write_text(
            f'database = "{self.db_path}"\npoll_catalog = false\nallow_private_feeds = true\n'
            'poll_interval = "1s"\npoll_jitter = 0\ndispatch_interval = "1s"\n' + providers
        )

    def baseline(self, channels: list[str], provider: str) -> None:
        """Read every feed once (the silent baseline) and subscribe the Slack channels."""
        now = datetime.now(UTC)
        rt = open_runtime(load_settings(self.config), now)
        try:
            poll_once(rt.db, now, rt.poll_settings(), every_feed=True)
            for channel in channels:
                subscribe(
                    rt.db,
                    platform="slack",
                    workspace=TEAM,
                    channel=channel,
                    provider=provider,
                    kinds=("shutdown",),
                    now=now,
                )
        finally:
            rt.close()

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start `python -m bot ARGS` with the Slack tokens, logging to files in tmp_path."""
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
        env |= {
            "EXITPLAN_CONFIG": str(self.config),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "EXITPLAN_SLACK_API_URL": self.slack.api_url,
        }
        out: IO[str] = (self.tmp_path / f"run{self.starts}.out").open("w")
        err: IO[str] = (self.tmp_path / f"run{self.starts}.err").open("w")
        with out, err:
            return subprocess.Popen(  # noqa: S603 - this interpreter, exitplan, test arguments
                [sys.executable, "-m", "bot", *(args or ("run",))],
                env=env,
                stdout=out,
                stderr=err,
                text=True,
            )

    def log(self, start: int) -> str:
        """The standard error of the `start`-th process."""
        return (self.tmp_path / f"run{start}.err").read_text()

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the live database from outside the process (WAL lets a reader in)."""
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def sent_channels(self) -> set[str]:
        """The channels whose delivery the database records as sent."""
        rows = self.query(
            "SELECT s.channel FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id "
            "WHERE d.status = 'sent'"
        )
        return {str(channel) for (channel,) in rows}


def _posted(slack: SlackServer) -> list[tuple[str, str]]:
    """Every chat.postMessage so far as (channel, fallback text), oldest first."""
    return [
        (str(call.args.get("channel")), str(call.args.get("text")))
        for call in slack.calls("chat.postMessage")
    ]


def _posts_per_process(slack: SlackServer) -> list[list[str]]:
    """The channels posted to by each process in turn: a process begins with auth.test, so
    a request the killed one had already sent still counts as its own."""
    runs: list[list[str]] = []
    for call in slack.calls():
        if call.method == "auth.test" and (not runs or runs[-1]):
            runs.append([])
        elif call.method == "chat.postMessage":
            runs[-1].append(str(call.args.get("channel")))
    return runs


def _kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process: no handler runs, no transaction commits."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=_DEADLINE)
    assert process.returncode == -signal.SIGKILL


def _stop(process: subprocess.Popen[str]) -> int:
    """Stop the process the way a service manager does, killing it if it hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=_DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _integrity(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def deployment(tmp_path: Path, feed_server: FeedServer, slack: SlackServer) -> Deployment:
    """A fresh deployment on the local feed server and the slow Slack stand-in."""
    return Deployment(tmp_path, feed_server, slack)


def test_a_kill_during_a_poll_cycle_loses_no_event_and_sends_each_alert_once(
    deployment: Deployment, feed_server: FeedServer, slack: SlackServer
) -> None:
    """Killed while one feed is stored and another is still being fetched, a restart sends
    both events to every subscribed channel exactly once and the database stays intact."""
    slugs = ["alpha", "beta"]
    channels = [f"C0POLL{n}" for n in range(4)]
    deployment.configure(slugs)
    for slug in slugs:
        feed_server.set_feed(f"/{slug}.rss", _rss(_baseline(slug)))
    deployment.baseline(channels, provider=EVERY_PROVIDER)
    for slug in slugs:
        feed_server.set_feed(f"/{slug}.rss", _rss(_shutdown(slug), _baseline(slug)))
    feed_server.set_delay("/beta.rss", 120.0)  # answered only when the server closes
    beta_hits = feed_server.hits("/beta.rss")

    first = deployment.start()
    try:
        _wait_for(lambda: feed_server.hits("/beta.rss") > beta_hits, "beta's fetch to start")
        _wait_for(
            lambda: (
                deployment.query("SELECT count(*) FROM events WHERE kinds LIKE '%shutdown%'")
                == [(1,)]
            ),
            "alpha's event to be stored",
        )
    finally:
        _kill(first)
    stored_at_kill = deployment.query("SELECT status, count(*) FROM deliveries GROUP BY status")
    integrity_after_kill = _integrity(deployment.db_path)

    feed_server.set_delay("/beta.rss", 0.0)
    second = deployment.start()
    try:
        _wait_for(lambda: len(_posted(slack)) >= 2 * len(channels), "every alert to be posted")
        _wait_for(
            lambda: (
                deployment.query("SELECT count(*) FROM deliveries WHERE status = 'sent'")
                == [(2 * len(channels),)]
            ),
            "every delivery to be recorded as sent",
        )
    finally:
        assert _stop(second) == 0, deployment.log(2)

    posts = Counter((channel, text.split(" — ")[0]) for channel, text in _posted(slack))
    assert (stored_at_kill, integrity_after_kill) == ([("pending", len(channels))], "ok")
    assert posts == Counter(
        {
            (channel, f"SHUTDOWN · high: {slug}"): 1
            for channel in channels
            for slug in ("alpha", "beta")
        }
    )
    assert deployment.query("SELECT count(*) FROM events WHERE kinds LIKE '%shutdown%'") == [(2,)]
    assert _integrity(deployment.db_path) == "ok"


def test_a_kill_during_a_fan_out_resends_at_most_the_message_in_flight(
    deployment: Deployment, feed_server: FeedServer, slack: SlackServer
) -> None:
    """Killed a third of the way through sending one event to 300 channels, a restart sends
    the rest; nothing recorded as sent goes out again, at most the one in flight does."""
    channels = [f"C{n:04d}" for n in range(300)]
    deployment.configure(["gamma"])
    feed_server.set_feed("/gamma.rss", _rss(_baseline("gamma")))
    deployment.baseline(channels, provider="gamma")
    feed_server.set_feed("/gamma.rss", _rss(_shutdown("gamma"), _baseline("gamma")))

    first = deployment.start()
    try:
        _wait_for(lambda: len(_posted(slack)) >= 100, "a hundred alerts to be posted")
    finally:
        _kill(first)
    recorded_sent = deployment.sent_channels()
    integrity_after_kill = _integrity(deployment.db_path)

    second = deployment.start()
    try:
        _wait_for(lambda: {c for c, _ in _posted(slack)} == set(channels), "all 300 channels")
        _wait_for(lambda: deployment.sent_channels() == set(channels), "all recorded as sent")
    finally:
        assert _stop(second) == 0, deployment.log(2)

    posted_before, posted_after = _posts_per_process(slack)
    in_flight = set(posted_before) - recorded_sent
    per_channel = Counter(posted_before + posted_after)
    assert integrity_after_kill == "ok"
    assert recorded_sent <= set(posted_before)
    assert len(in_flight) <= 1
    assert recorded_sent.isdisjoint(posted_after)
    assert {c for c, n in per_channel.items() if n > 1} <= in_flight
    assert set(per_channel) == set(channels)
    assert max(per_channel.values()) <= 2
    assert deployment.query("SELECT status, count(*) FROM deliveries GROUP BY status") == [
        ("sent", 300)
    ]
    assert _integrity(deployment.db_path) == "ok"


def test_concurrent_cli_commands_wait_for_the_lock_instead_of_failing(
    deployment: Deployment, feed_server: FeedServer
) -> None:
    """Five `exitplan subscribe` processes started while `run` polls and while another
    connection holds the write lock all succeed: the busy timeout waits, never "locked"."""
    slugs = [f"p{n}" for n in range(5)]
    deployment.configure(slugs)
    for slug in slugs:
        feed_server.set_feed(f"/{slug}.rss", _rss(*(_baseline(f"{slug}{i}") for i in range(40))))
    runner = deployment.start("run")
    try:
        _wait_for(lambda: all(feed_server.hits(f"/{s}.rss") for s in slugs), "the first poll")
        holder = sqlite3.connect(deployment.db_path, timeout=10, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # hold the write lock while the commands start
        clients = [deployment.start("subscribe", slug) for slug in slugs]
        try:
            _wait_for(
                lambda: all(
                    c.poll() is not None or _has_open(c.pid, deployment.db_path) for c in clients
                ),
                "every command to open the database",
            )
        finally:
            holder.execute("COMMIT")
            holder.close()
        codes = [client.wait(timeout=_DEADLINE) for client in clients]
    finally:
        assert _stop(runner) == 0, deployment.log(1)
    logs = [deployment.log(n) for n in range(1, deployment.starts + 1)]
    assert codes == [0] * 5, logs
    assert [log for log in logs if "locked" in log] == []
    assert deployment.query("SELECT provider FROM subscriptions ORDER BY 1") == [
        (slug,) for slug in slugs
    ]
    assert _integrity(deployment.db_path) == "ok"


def test_open_db_sets_a_busy_timeout(tmp_path: Path) -> None:
    """Every connection exitplan opens waits up to ten seconds for another writer."""
    db = open_db(tmp_path / "exitplan.db")
    try:
        assert db.execute("PRAGMA busy_timeout").fetchone() == (10000,)
    finally:
        db.close()


def _has_open(pid: int, path: Path) -> bool:
    """True when process `pid` has `path` open (Linux /proc), or no longer runs."""
    wanted = str(path.resolve())
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return True
    for descriptor in descriptors:
        with contextlib.suppress(OSError):  # closed since the listing
            if os.readlink(descriptor) == wanted:
                return True
    return False
