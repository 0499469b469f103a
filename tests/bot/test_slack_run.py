"""`exitplan run` with Slack tokens, end to end: a command in, a feed entry out as an alert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.slack_render import parse_step_block_id
from tests.servers import FeedServer
from tests.slack_server import APP_TOKEN, BOT_TOKEN, SlackServer

OPS = "C0OPS"


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    """The Slack stand-in on 127.0.0.1, closed after the test."""
    with SlackServer() as server:
        yield server


def _rss(*items: tuple[str, str, str]) -> bytes:
    published = format_datetime(datetime.now(UTC), usegmt=True)
    entries = "".join(
        f"<item><title>{title}</title><link>https://backblaze.test/blog/{key}</link>"
        f"<guid>{key}</guid><pubDate>{published}</pubDate>"
        f"<description>{text}</description></item>"
        for key, title, text in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Backblaze Blog</title>'
        f"<link>https://backblaze.test/blog</link>{entries}</channel></rss>"
    ).encode()


BASELINE = ("dc", "A new data center in Toronto", "We opened a data center in Toronto.")
SHUTDOWN = (
    "vaults",
    "Backblaze is retiring B2 Legacy Vaults",
    "B2 Legacy Vaults will be discontinued. The service will shut down on "
    f"September 30, {datetime.now(UTC).year + 1}; please migrate your data before then.",
)


def test_run_turns_a_slash_command_and_a_feed_entry_into_one_working_alert(
    tmp_path: Path, feed_server: FeedServer, slack: SlackServer
) -> None:
    """With tokens on the stand-in, a subscribed channel gets the shutdown once, ticks work."""
    feed_server.set_feed("/b2.rss", _rss(BASELINE))
    config = tmp_path / "exitplan.toml"
    config.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\npoll_catalog = false\n'
        'allow_private_feeds = true\npoll_interval = "1s"\ndispatch_interval = "1s"\n'
        '[[providers]]\nslug = "backblaze"\n'
        f'feeds = [{{ url = "{feed_server.url("/b2.rss")}", role = "news" }}]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
    env |= {
        "EXITPLAN_CONFIG": str(config),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "EXITPLAN_SLACK_API_URL": slack.api_url,
    }
    out, err = (tmp_path / "stdout").open("w"), (tmp_path / "stderr").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, stdout=out, stderr=err, text=True
    )
    try:
        slack.wait_for(lambda: slack.connections >= 1, timeout=30)
        slack.wait_for(lambda: feed_server.hits("/b2.rss") >= 1, timeout=30)
        slack.wait_for_ack(slack.slash_command("subscribe backblaze", channel=OPS))
        (answer,) = slack.wait_for_responses(1)
        feed_server.set_feed("/b2.rss", _rss(SHUTDOWN, BASELINE))
        (posted,) = slack.wait_for_calls("chat.postMessage")
        (alert,) = slack.messages(OPS)
        block_id = next(
            b["block_id"] for b in alert.blocks if b.get("block_id", "").startswith("exitplan_step")
        )
        slack.wait_for_ack(slack.block_action(alert, block_id, selected=True))
        slack.wait_for_calls("chat.update")
        polled = feed_server.hits("/b2.rss")
        slack.wait_for(lambda: feed_server.hits("/b2.rss") >= polled + 2, timeout=30)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        err.close()
    log = (tmp_path / "stderr").read_text()
    assert process.returncode == 0, log
    assert answer["text"].startswith("Subscribed: Backblaze")
    assert (posted.args["channel"], alert.text.split(" — ")[0]) == (
        OPS,
        "SHUTDOWN · high: Backblaze",
    )
    assert len(slack.calls("chat.postMessage")) == 1
    edited = slack.messages(OPS)[0]
    ticked = next(b for b in edited.blocks if b.get("block_id") == block_id)
    assert ticked["accessory"]["initial_options"] == ticked["accessory"]["options"]
    assert (parse_step_block_id(block_id) or (0,))[1:] == ("alert", "owner")
    assert "sending to slack" in log
