"""`exitplan feeds`, gone feeds on the console, and the address guard from the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
FIX = "set EXITPLAN_ALLOW_PRIVATE_FEEDS=1 if this feed is on your intranet"


def _write_config(path: Path, server: FeedServer, *, allow_private: bool) -> Path:
    path.write_text(
        f'database = "{path.parent / "exitplan.db"}"\n'
        "poll_catalog = false\n"
        f"allow_private_feeds = {'true' if allow_private else 'false'}\n"
        "[[providers]]\n"
        'slug = "example-cloud"\n'
        'name = "Example Cloud"\n'
        "feeds = [\n"
        f'  {{ url = "{server.url("/blog.rss")}", role = "news" }},\n'
        f'  {{ url = "{server.url("/history.rss")}", role = "status" }},\n'
        "]\n"
    )
    return path


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config watching two feeds of one provider on the local server, loopback allowed."""
    feed_server.set_feed("/blog.rss", (DATA / "wordpress_blog.rss").read_bytes())
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    path = _write_config(tmp_path / "exitplan.toml", feed_server, allow_private=True)
    monkeypatch.setenv("EXITPLAN_CONFIG", str(path))
    return path


def test_feeds_lists_every_feed_with_its_state(
    config: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before a poll feeds are not read yet; after it, one is ok and one failing with why."""
    assert main(["feeds"]) == 0
    before = capsys.readouterr().out.splitlines()
    feed_server.set_response("/history.rss", 503, b"busy")
    main(["poll", "--once", "--now"])
    capsys.readouterr()

    assert main(["feeds"]) == 0
    after = capsys.readouterr().out.splitlines()

    blog, history = feed_server.url("/blog.rss"), feed_server.url("/history.rss")
    assert before == [
        "2 feed(s): 0 failing, 0 gone.",
        f"Example Cloud (news) {blog} — not read yet",
        f"Example Cloud (status) {history} — not read yet",
    ]
    assert after[0] == "2 feed(s): 1 failing, 0 gone."
    assert re.fullmatch(
        rf"Example Cloud \(news\) {blog} — ok, last read {WHEN}; next poll {WHEN}", after[1]
    )
    assert re.fullmatch(
        rf"Example Cloud \(status\) {history} — failing 1x http_5xx: HTTP 503 Service "
        rf"Unavailable; next poll {WHEN}",
        after[2],
    )
    assert len(after) == 3


def test_a_gone_feed_is_told_once_on_the_console_and_listed_as_failing(
    config: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read feed that answers 410 prints one notice; `feeds --failing` lists only it, gone."""
    assert main(["subscribe", "example-cloud"]) == 0
    main(["poll", "--once", "--now"])
    capsys.readouterr()
    feed_server.set_response("/history.rss", 410, b"gone")
    history = feed_server.url("/history.rss")

    main(["poll", "--once", "--now"])
    told = capsys.readouterr().out
    main(["poll", "--once", "--now"])
    told_again = capsys.readouterr().out
    assert main(["feeds", "--failing"]) == 0
    failing = capsys.readouterr().out.splitlines()

    assert told.count(f"Example Cloud feed is gone: {history}") == 1
    assert "== FEED GONE ·" in told
    assert "A disappearing feed can be a sign of a shutdown: check Example Cloud's" in told
    assert "feed is gone" not in told_again
    assert failing[0] == "2 feed(s): 0 failing, 1 gone."
    assert re.fullmatch(
        rf"Example Cloud \(status\) {history} — gone since \d{{4}}-\d\d-\d\d \(HTTP 410 Gone\), "
        rf"failing \dx http_4xx: HTTP 410 Gone; next poll {WHEN}",
        failing[1],
    )
    assert len(failing) == 2


def test_private_feeds_are_refused_unless_the_operator_allows_them(
    tmp_path: Path,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without allow_private_feeds the poll refuses 127.0.0.1 and `feeds` says how to allow it."""
    feed_server.set_feed("/blog.rss", (DATA / "wordpress_blog.rss").read_bytes())
    path = _write_config(tmp_path / "exitplan.toml", feed_server, allow_private=False)
    monkeypatch.setenv("EXITPLAN_CONFIG", str(path))

    main(["poll", "--once", "--now"])
    capsys.readouterr()
    assert main(["feeds", "--failing"]) == 0
    failing = capsys.readouterr().out.splitlines()

    assert failing[0] == "2 feed(s): 2 failing, 0 gone."
    assert re.fullmatch(
        rf"Example Cloud \(news\) {feed_server.url('/blog.rss')} — failing 1x blocked: "
        rf"127\.0\.0\.1 is a loopback address; {FIX}; next poll {WHEN}",
        failing[1],
    )
    assert feed_server.requests == []
    monkeypatch.setenv("EXITPLAN_ALLOW_PRIVATE_FEEDS", "1")
    main(["poll", "--once", "--now"])
    assert feed_server.hits("/blog.rss") == 1


@pytest.mark.parametrize("allow", [False, True])
def test_check_url_obeys_the_address_guard(
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    allow: bool,
) -> None:
    """`check --url` fetches a loopback feed only when private feeds are allowed."""
    feed_server.set_feed("/blog.rss", (DATA / "wordpress_blog.rss").read_bytes())
    monkeypatch.setenv("EXITPLAN_DB", str(tmp_path / "exitplan.db"))
    if allow:
        monkeypatch.setenv("EXITPLAN_ALLOW_PRIVATE_FEEDS", "1")
    url = feed_server.url("/blog.rss")

    status = main(["check", "--url", url, "--json"])

    err = capsys.readouterr().err
    if allow:
        assert (status, err, feed_server.hits("/blog.rss")) == (0, "", 1)
    else:
        assert (status, err.strip(), feed_server.requests) == (
            1,
            f"exitplan: could not fetch {url}: blocked: 127.0.0.1 is a loopback address; {FIX}",
            [],
        )
