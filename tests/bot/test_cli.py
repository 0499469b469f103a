"""The `exitplan` command end to end, against feeds served on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
CORPUS = Path(__file__).parent.parent / "data" / "corpus.jsonl"

NEW_POST = """
	<item>
		<title>Example Cloud Drive will be discontinued</title>
		<link>https://blog.example-cloud.test/2026/11/drive-retirement/</link>
		<pubDate>Sun, 01 Nov 2026 09:00:00 +0000</pubDate>
		<guid isPermaLink="false">https://blog.example-cloud.test/?p=9001</guid>
		<description><![CDATA[<p>We are retiring Example Cloud Drive. The service will shut down on
		December 31, 2026 and all remaining files will be permanently deleted.
		\x1b]0;pwned\x07Please export your files before then.</p>]]></description>
	</item>
"""


@pytest.fixture
def config(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file watching one provider whose two feeds the local server serves."""
    feed_server.set_feed("/blog.rss", (DATA / "wordpress_blog.rss").read_bytes())
    feed_server.set_feed("/history.rss", (DATA / "statuspage_history.rss").read_bytes())
    path = tmp_path / "exitplan.toml"
    path.write_text(
        f'database = "{tmp_path / "exitplan.db"}"\n'
        "poll_catalog = false\n"
        "allow_private_feeds = true\n"
        "[[providers]]\n"
        'slug = "example-cloud"\n'
        'name = "Example Cloud"\n'
        'aliases = ["excloud"]\n'
        "feeds = [\n"
        f'  {{ url = "{feed_server.url("/blog.rss")}", role = "news" }},\n'
        f'  {{ url = "{feed_server.url("/history.rss")}", role = "status" }},\n'
        "]\n"
    )
    monkeypatch.setenv("EXITPLAN_CONFIG", str(path))
    return path


def _publish_new_post(feed_server: FeedServer) -> None:
    body = (DATA / "wordpress_blog.rss").read_text("utf-8")
    head, sep, tail = body.partition("\t<item>")
    feed_server.set_feed("/blog.rss", (head + NEW_POST + sep + tail).encode())


def test_poll_baselines_then_alerts_once_on_the_console(
    config: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first poll is silent; a new shutdown post prints one alert; a re-poll prints none."""
    assert main(["subscribe", "excloud"]) == 0
    assert main(["poll", "--once", "--now"]) == 0
    first = capsys.readouterr()
    assert first.out.strip().splitlines()[0].startswith("Subscribed: Example Cloud")
    assert "Polled 2 feed(s)" in first.err
    assert "read for the first time" in first.err

    _publish_new_post(feed_server)
    assert main(["poll", "--once", "--now"]) == 0
    second = capsys.readouterr()
    assert "== SHUTDOWN" in second.out
    assert "Example Cloud Drive will be discontinued" in second.out
    assert "Deadline 2026-12-31" in second.out
    assert "\x1b" not in second.out
    assert "1 alert(s) queued" in second.err

    assert main(["poll", "--once", "--now"]) == 0
    third = capsys.readouterr()
    assert "==" not in third.out
    assert "1 not modified" in third.err or "2 not modified" in third.err
    blog_requests = [r for r in feed_server.requests if r.path == "/blog.rss"]
    assert blog_requests[-1].headers.get("If-None-Match")


def test_unknown_provider_gets_suggestions_and_fails(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt provider name exits non-zero and suggests near matches."""
    assert main(["subscribe", "exampel-cloud"]) == 1
    assert "Did you mean: example-cloud" in capsys.readouterr().err


def test_status_shows_announcements_deadlines_and_feeds(
    config: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a poll, status lists the classified announcements, the deadline and feed health."""
    main(["poll", "--once", "--now"])
    capsys.readouterr()
    assert main(["status", "Example Cloud"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Example Cloud (example-cloud)")
    assert "Example Cloud Vault is shutting down on September 30, 2024" in out
    assert f"news: {feed_server.url('/blog.rss')} — ok, last read" in out


def test_events_filters_by_kind(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`events --kind price_change` lists the pricing post and not the shutdown."""
    main(["poll", "--once", "--now"])
    capsys.readouterr()
    assert main(["events", "--kind", "price_change"]) == 0
    out = capsys.readouterr().out
    assert "Changes to Object Storage pricing" in out
    assert "Vault is shutting down" not in out


def test_broken_feed_is_recorded_and_the_cycle_goes_on(
    config: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A feed answering 503 is reported with its error while the other feed is read."""
    feed_server.set_response("/history.rss", 503, b"busy", {"Retry-After": "120"})
    assert main(["poll", "--once", "--now"]) == 0
    err = capsys.readouterr().err
    assert "1 failure(s)" in err
    assert "http_5xx" in err
    assert main(["events"]) == 0
    assert "Vault is shutting down" in capsys.readouterr().out


def test_check_explains_a_classification(capsys: pytest.CaptureFixture[str]) -> None:
    """`check` prints kinds, deadline and evidence as JSON."""
    text = (
        "Acme Backup is closing\n"
        "Acme Backup will be discontinued. All backups will be deleted on March 31, 2027."
    )
    assert main(["check", text, "--published", "2026-11-01", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "shutdown" in result["kinds"]
    assert result["deadline"] == "2027-03-31"
    assert result["evidence"]


def test_eval_reports_and_writes_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`eval` prints per-kind figures and writes one prediction per corpus line."""
    predictions = tmp_path / "predictions.jsonl"
    assert main(["eval", str(CORPUS), "--predictions", str(predictions)]) == 0
    out = capsys.readouterr().out
    assert "shutdown" in out
    lines = predictions.read_text().splitlines()
    assert len(lines) == len(CORPUS.read_text().splitlines())
    assert set(json.loads(lines[0])) >= {"id", "kinds", "severity", "deadline", "evidence"}


def test_eval_rejects_a_broken_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A corpus line that is not JSON is named with its line number."""
    bad = tmp_path / "bad.jsonl"
    good = '{"id": "a", "title": "t", "text": "x", "published": "2026-01-01", "kinds": [], '
    bad.write_text(good + '"deadline": null}\nnot json\n')
    assert main(["eval", str(bad)]) == 1
    assert f"{bad}:2:" in capsys.readouterr().err


def test_providers_add_then_listed(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A provider added from the command line is found by `providers` and polled."""
    assert main(["providers", "add", "acme-archive", "http://127.0.0.1:9/feed.xml"]) == 0
    assert main(["providers", "acme"]) == 0
    assert "acme-archive" in capsys.readouterr().out


def test_providers_add_rejects_a_bad_slug(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A slug with spaces or capitals is refused with the rule to follow."""
    assert main(["providers", "add", "Acme Archive", "https://acme.test/feed"]) == 2
    assert "lowercase letters, digits and dashes" in capsys.readouterr().err


def test_db_backup_writes_a_copy(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db backup` writes a readable SQLite copy holding the feeds."""
    main(["poll", "--once", "--now"])
    target = tmp_path / "copy.db"
    assert main(["db", "backup", str(target)]) == 0
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM feeds").fetchone() == (2,)
    copy.close()


def test_bad_config_exits_2_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid setting stops every command with exit status 2 and names the key."""
    monkeypatch.setenv("EXITPLAN_POLL_INTERVAL", "often")
    monkeypatch.setenv("EXITPLAN_DB", str(tmp_path / "x.db"))
    assert main(["subscriptions"]) == 2
    assert "EXITPLAN_POLL_INTERVAL must be a duration" in capsys.readouterr().err
