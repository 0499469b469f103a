"""`exitplan run` with Discord, as real processes against the Discord stand-in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest

from bot.discord_app import LOGIN_REFUSED
from tests.discord_server import TOKEN, DiscordServer
from tests.servers import FeedServer

FEED = "/wasabi/news.rss"


@pytest.fixture
def discord_server() -> Iterator[DiscordServer]:
    """A Discord stand-in on 127.0.0.1."""
    with DiscordServer() as server:
        yield server


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll a condition (bounded); for servers that have no condition to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _rss(*items: tuple[str, str, str, datetime]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{xml_escape(title)}</title>"
        f"<link>https://wasabi.test/news/{guid}</link>"
        f"<description>{xml_escape(text)}</description>"
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate></item>"
        for guid, title, text, published in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wasabi news</title>'
        f"<link>https://wasabi.test/</link><description>news</description>{body}"
        "</channel></rss>"
    ).encode()


def _environment(tmp_path: Path, feed_server: FeedServer, server: DiscordServer) -> dict[str, str]:
    config = tmp_path / "exitplan.toml"
    config.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\n'
        "poll_catalog = false\nallow_private_feeds = true\n"
        'poll_interval = "1s"\npoll_jitter = 0\ndispatch_interval = "1s"\n'
        '[[providers]]\nslug = "wasabi"\n'
        f'feeds = [{{ url = "{feed_server.url(FEED)}", role = "news" }}]\n'
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EXITPLAN_", "SLACK_", "DISCORD_"))
    }
    env.update(
        EXITPLAN_CONFIG=str(config),
        DISCORD_TOKEN=TOKEN,
        EXITPLAN_DISCORD_API_URL=server.api_url,
        EXITPLAN_DISCORD_GATEWAY_URL=server.gateway_url,
    )
    return env


def _run(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM the process, wait for it and return what it wrote to stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return err


def _progress(answer: dict[str, object]) -> str:
    data = answer["data"]
    assert isinstance(data, dict)
    return str(data["embeds"][0]["fields"][-1]["name"])


def test_run_answers_subscribe_and_delivers_a_working_alert_across_restarts(
    tmp_path: Path, feed_server: FeedServer, discord_server: DiscordServer
) -> None:
    """Subscribe by slash command, get one shutdown embed, tick it, restart, tick it again."""
    now = datetime.now(UTC)
    old = ("old", "Wasabi adds a region", "A new region opens in Europe.", now - timedelta(days=9))
    feed_server.set_feed(FEED, _rss(old))
    env = _environment(tmp_path, feed_server, discord_server)
    first = _run(env)
    try:
        assert discord_server.wait_until(discord_server.is_ready, 30)
        assert _wait_for(lambda: feed_server.hits(FEED) >= 2)  # the baseline is stored
        answer = discord_server.answer(discord_server.slash("subscribe", {"provider": "wasabi"}))
        title = answer["data"]["embeds"][0]["title"]
        assert title.startswith("Subscribed: Wasabi (shutdown, data loss, security, price change)")
        shutdown = (
            "vault",
            "Wasabi will discontinue its Legacy Vault storage service",
            "Legacy Vault will shut down on March 31, 2031. Please move your data before then.",
            now,
        )
        feed_server.set_feed(FEED, _rss(shutdown, old))
        assert discord_server.wait_until(lambda: len(discord_server.posts()) == 1, 30)
        (message,) = discord_server.channel_messages()
        embed = message["embeds"][0]
        assert (embed["title"], embed["author"]["name"]) == (
            "Wasabi will discontinue its Legacy Vault storage service",
            "Wasabi",
        )
        buttons = [b["custom_id"] for row in message["components"] for b in row["components"]]
        assert len(buttons) == 8
        tick = discord_server.answer(discord_server.click(message["id"], buttons[0]))
        assert _progress(tick) == "Migration plan (1 of 8 done)"
    finally:
        first_err = _stop(first)
    assert first.returncode == 0, first_err

    polled = feed_server.hits(FEED)
    second = _run(env)
    try:
        assert discord_server.wait_until(lambda: discord_server.gateway.ready_sent == 2, 30)
        tick = discord_server.answer(discord_server.click(message["id"], buttons[1]))
        assert _progress(tick) == "Migration plan (2 of 8 done)"
        assert _wait_for(lambda: feed_server.hits(FEED) >= polled + 2)  # polled and dispatched
        assert len(discord_server.posts()) == 1
    finally:
        second_err = _stop(second)
    assert second.returncode == 0, second_err
    assert "Traceback" not in first_err + second_err


def test_run_keeps_watching_when_discord_rejects_the_token(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """An invalid token stops only the Discord bot, with the fix; polling goes on."""
    feed_server.set_feed(FEED, _rss())
    with DiscordServer(token="another-token") as server:  # noqa: S106 - a stand-in token
        process = _run(_environment(tmp_path, feed_server, server))
        try:
            assert _wait_for(lambda: feed_server.hits(FEED) >= 2)
        finally:
            err = _stop(process)
    assert process.returncode == 0, err
    assert LOGIN_REFUSED in err
    assert server.gateway.connections == 0
