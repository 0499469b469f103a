"""Structured logging: readable or JSON lines, key=value fields, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.logs import (
    configure_logging,
    mask_secrets,
    message_fields,
    url_secrets,
)
from bot.settings import SettingsError, load_settings
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
TOKEN = "xoxb-1234567890-abcdefSECRET"  # noqa: S105 - a made-up token to mask


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """The root logger, with its handlers and level put back after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _fail(error: Exception) -> None:
    raise error


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_text_lines_are_readable(root_logging: logging.Logger) -> None:
    """The text form is time, level, logger and message on one line."""
    stream = io.StringIO()
    configure_logging("INFO", "text", stream=stream)
    logging.getLogger("exitplan.test").info("poll cycle polled=%s", 3)
    logging.getLogger("exitplan.test").debug("not shown")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO exitplan\.test: poll cycle polled=3\n",
        stream.getvalue(),
    )


def test_json_lines_carry_the_message_pairs_as_fields(root_logging: logging.Logger) -> None:
    """The JSON form is one object a line; key=value pairs become fields, spaces and all."""
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    logging.getLogger("feeds.watcher").warning(
        "feed failed feed=%s kind=%s error=%s", "https://x.test/feed", "timeout", "read timed out"
    )
    line = json.loads(stream.getvalue())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line.pop("time"))
    assert line == {
        "level": "WARNING",
        "logger": "feeds.watcher",
        "message": "feed failed feed=https://x.test/feed kind=timeout error=read timed out",
        "feed": "https://x.test/feed",
        "kind": "timeout",
        "error": "read timed out",
    }


def test_json_lines_include_the_traceback(root_logging: logging.Logger) -> None:
    """An exception logged with its traceback stays on one JSON line."""
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    try:
        _fail(RuntimeError("boom"))
    except RuntimeError:
        logging.getLogger("bot.runner").exception("job failed job=%s", "poll")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert (record["job"], record["exception"].splitlines()[-1]) == (
        "poll",
        "RuntimeError: boom",
    )


def test_message_fields_skip_reserved_names_and_empty_values() -> None:
    """Pairs that would overwrite the record's own fields, or carry nothing, are left out."""
    assert message_fields("sent level=3 channel=C1 note= message=x to=a b=c") == {
        "channel": "C1",
        "to": "a",
        "b": "c",
    }


def test_secrets_are_masked_in_messages_and_tracebacks(root_logging: logging.Logger) -> None:
    """A configured token never reaches the output, whatever logged it and however."""
    stream = io.StringIO()
    configure_logging("DEBUG", "text", secrets=[TOKEN, "", "abc"], stream=stream)
    logging.getLogger("slack_sdk").debug("sending with token=%s", TOKEN)
    try:
        _fail(ValueError(f"bad auth {TOKEN}"))
    except ValueError:
        logging.getLogger("bot.slack_app").exception("failed")
    mask_secrets(["later-added-secret-value"])
    logging.getLogger("apprise").warning("posting to later-added-secret-value")
    logging.getLogger("x").info("abc is too short to be masked")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "later-added-secret-value" not in output
    assert "sending with token=***" in output
    assert "ValueError: bad auth ***" in output
    assert "posting to ***" in output
    assert "abc is too short to be masked" in output


def test_configuring_again_replaces_the_handler(root_logging: logging.Logger) -> None:
    """A second call (once settings are known) leaves one exitplan handler, not two."""
    first = configure_logging("WARNING")
    second = configure_logging("INFO", "json")
    ours = [h for h in root_logging.handlers if getattr(h, "exitplan", False)]
    assert (ours, first in root_logging.handlers, root_logging.level) == (
        [second],
        False,
        logging.INFO,
    )


def test_unknown_format_is_refused(root_logging: logging.Logger) -> None:
    """Only text and json exist, in the settings and in the function."""
    with pytest.raises(ValueError, match="log format must be one of text, json"):
        configure_logging("INFO", "yaml")
    with pytest.raises(SettingsError, match='EXITPLAN_LOG_FORMAT must be "text"'):
        load_settings(environ={"HOME": "/h", "EXITPLAN_LOG_FORMAT": "yaml"})
    settings = load_settings(environ={"HOME": "/h", "EXITPLAN_LOG_FORMAT": "JSON"})
    assert settings.log_format == "json"


def test_url_secrets_cover_passwords_and_tokens_but_not_hosts() -> None:
    """Passwords and long dotless segments are secrets; hostnames and short words are not."""
    teams = (
        "https://example.webhook.office.com/webhookb2/"
        "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab@0a1b2c3d-dddd-eeee-ffff-0123456789ab/"
        "IncomingWebhook/0123456789abcdef0123456789abcdef/0a1b2c3d-1111-2222-3333-0123456789ab"
    )
    assert url_secrets("json://user:pa%24%24word@127.0.0.1:8080/hook") == [
        "json://user:pa%24%24word@127.0.0.1:8080/hook",
        "pa%24%24word",
        "pa$$word",
    ]
    found = url_secrets(teams)
    assert "0123456789abcdef0123456789abcdef" in found
    assert "example.webhook.office.com" not in found
    assert "IncomingWebhook" not in found


def test_run_writes_json_lines_with_a_poll_cycle_summary(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """`exitplan run` with EXITPLAN_LOG_FORMAT=json logs each poll cycle as one JSON object."""
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    feed_server.set_response("/broken.rss", 503, b"busy")
    config = tmp_path / "exitplan.toml"
    config.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\npoll_catalog = false\n'
        "allow_private_feeds = true\n"
        '[[providers]]\nslug = "example"\n'
        f'feeds = [{{ url = "{feed_server.url("/history.rss")}", role = "status" }},'
        f' {{ url = "{feed_server.url("/broken.rss")}", role = "news" }}]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
    env |= {"EXITPLAN_CONFIG": str(config), "EXITPLAN_LOG_FORMAT": "json"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(
            lambda: feed_server.hits("/history.rss") >= 1 and feed_server.hits("/broken.rss") >= 1
        )
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    by_message = {" ".join(r["message"].split()[:2]): r for r in records}
    cycle = by_message["poll cycle"]
    assert (cycle["logger"], cycle["level"], cycle["polled"], cycle["failures"]) == (
        "bot.runner",
        "INFO",
        "2",
        "1",
    )
    assert re.fullmatch(r"\d+\.\d\ds", cycle["duration"])
    failed = by_message["feed failed"]
    assert (failed["feed"], failed["kind"]) == (feed_server.url("/broken.rss"), "http_5xx")
