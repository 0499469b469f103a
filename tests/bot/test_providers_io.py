"""`providers import`/`export` (OPML) and `providers add` finding a feed, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from feeds.catalog import load_catalog
from feeds.opml import NAMESPACE, read_opml
from storage import FeedSource, open_db
from storage.feeds import list_feeds
from tests.servers import FeedServer

DATA = Path(__file__).parent.parent / "data" / "feeds"
HTML = {"Content-Type": "text/html"}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh database named by EXITPLAN_DB, without polling the catalog's feeds."""
    path = tmp_path / "exitplan.db"
    monkeypatch.setenv("EXITPLAN_DB", str(path))
    monkeypatch.setenv("EXITPLAN_POLL_CATALOG", "false")
    monkeypatch.setenv("EXITPLAN_ALLOW_PRIVATE_FEEDS", "true")
    return path


def _user_feeds(db_path: Path) -> list[FeedSource]:
    db = open_db(db_path)
    try:
        return [
            FeedSource(f.provider, f.url, f.role, f.source, f.format)
            for f in list_feeds(db, active_only=False)
            if f.source == "user"
        ]
    finally:
        db.close()


def test_export_then_import_into_a_new_database_round_trips(
    env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Config and user providers, and feeds added to catalog ones, survive export and import."""
    config = tmp_path / "exitplan.toml"
    config.write_text(
        "[[providers]]\n"
        'slug = "nimbus"\n'
        'name = "Nimbus Backup"\n'
        'aliases = ["nimbus-bk"]\n'
        'category = "backup"\n'
        "feeds = [\n"
        '  { url = "https://status.nimbus.test/history.atom", role = "status" },\n'
        '  { url = "https://endoflife.date/api/nimbus.json", role = "eol",'
        ' format = "endoflife" },\n'
        "]\n"
    )
    monkeypatch.setenv("EXITPLAN_CONFIG", str(config))
    add = ["providers", "add", "--no-discover"]
    assert main([*add, "acme-cloud", "https://acme.test/blog/feed/", "--name", "Acme Cloud"]) == 0
    assert main([*add, "backblaze", "https://www.backblaze.com/blog/b2/feed/"]) == 0
    first = tmp_path / "first.opml"
    assert main(["providers", "export", "--output", str(first)]) == 0
    assert capsys.readouterr().err == f"Wrote 3 provider(s) to {first}.\n"

    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("EXITPLAN_DB", str(fresh))
    monkeypatch.delenv("EXITPLAN_CONFIG")
    assert main(["providers", "import", str(first)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Added 4 feed(s) to 3 provider(s).",
        "  new provider Acme Cloud (acme-cloud): https://acme.test/blog/feed/",
        "  more feeds of Backblaze (backblaze): https://www.backblaze.com/blog/b2/feed/",
        "  new provider Nimbus Backup (nimbus): https://status.nimbus.test/history.atom, "
        "https://endoflife.date/api/nimbus.json",
        "The new feeds are polled from the next cycle on.",
    ]
    assert main(["providers", "export"]) == 0
    second = capsys.readouterr().out
    assert read_opml(second.encode()).providers == read_opml(first.read_bytes()).providers
    assert _user_feeds(fresh) == [
        FeedSource("acme-cloud", "https://acme.test/blog/feed/", "news", "user"),
        FeedSource("backblaze", "https://www.backblaze.com/blog/b2/feed/", "news", "user"),
        FeedSource("nimbus", "https://endoflife.date/api/nimbus.json", "eol", "user", "endoflife"),
        FeedSource("nimbus", "https://status.nimbus.test/history.atom", "status", "user"),
    ]

    assert main(["providers", "import", str(first)]) == 0
    again = capsys.readouterr().out.splitlines()
    assert again[0] == "Added 0 feed(s) to 0 provider(s)."
    assert again[1:3] == [
        "Skipped 4:",
        "  https://acme.test/blog/feed/ — already watched, as a feed of acme-cloud",
    ]


FOREIGN = f"""<?xml version="1.0"?>
<opml version="2.0" xmlns:exitplan="{NAMESPACE}">
  <head><title>From a feed reader</title></head>
  <body>
    <outline text="Backblaze">
      <outline type="rss" text="B2 blog" xmlUrl="https://www.backblaze.com/blog/b2/feed/"/>
      <outline type="rss" text="Blog" xmlUrl="https://www.backblaze.com/blog/feed/"/>
    </outline>
    <outline text="Drive mirror" exitplan:slug="drive-mirror" exitplan:aliases="Google Drive">
      <outline type="rss" text="x" xmlUrl="https://mirror.test/feed"/>
    </outline>
    <outline text="Bad Slug" exitplan:slug="Bad Slug">
      <outline type="rss" text="x" xmlUrl="https://bad.test/feed"/>
    </outline>
    <outline type="rss" text="Orbit Files" xmlUrl="https://orbit.test/status.rss"
             category="status"/>
    <outline type="rss" text="Gopher" xmlUrl="gopher://old.test/feed"/>
  </body>
</opml>
"""


def test_import_adds_what_is_new_and_says_why_it_skipped_the_rest(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Known URLs, names that would find another provider, bad slugs and schemes are skipped."""
    path = tmp_path / "reader.opml"
    path.write_text(FOREIGN)
    assert main(["providers", "import", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Added 2 feed(s) to 2 provider(s).",
        "  more feeds of Backblaze (backblaze): https://www.backblaze.com/blog/b2/feed/",
        "  new provider Orbit Files (orbit-files): https://orbit.test/status.rss",
        "Skipped 4:",
        "  gopher://old.test/feed — not an http(s) address",
        "  https://www.backblaze.com/blog/feed/ — already watched, as a feed of backblaze",
        "  https://mirror.test/feed — provider 'drive-mirror' (user): the name 'googledrive' "
        "(from its slug, name or aliases) already finds provider 'google-workspace' "
        "(catalog); remove it from one of them",
        "  https://bad.test/feed — the slug 'Bad Slug' must be lowercase letters and digits "
        "joined by dashes",
        "The new feeds are polled from the next cycle on.",
    ]
    assert main(["providers", "orbit"]) == 0
    assert (
        "orbit-files — Orbit Files [custom] (1 feed(s), 1 unconfirmed)" in capsys.readouterr().out
    )


def test_import_refuses_a_file_with_a_doctype(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An OPML file declaring entities is refused whole, naming the file."""
    path = tmp_path / "laughs.opml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaa">]>\n'
        "<opml version='2.0'><body><outline text='&a;'/></body></opml>\n"
    )
    assert main(["providers", "import", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"exitplan: {path}: the file declares a DOCTYPE, which exitplan refuses in OPML files\n"
    )
    assert _user_feeds(env) == []


def test_export_all_includes_the_catalog(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`export --all` writes every catalog provider, end-of-life data feeds included."""
    assert main(["providers", "export"]) == 0
    assert read_opml(capsys.readouterr().out.encode()).providers == ()
    assert main(["providers", "export", "--all"]) == 0
    document = read_opml(capsys.readouterr().out.encode())
    assert [provider.slug for provider in document.providers] == [
        provider.slug for provider in load_catalog() if provider.feeds
    ]
    workspace = next(p for p in document.providers if p.slug == "google-workspace")
    assert [(f.role, f.format) for f in workspace.feeds if f.role == "eol"] == [
        ("eol", "killedbygoogle")
    ]


def test_providers_add_finds_a_statuspage_feed_and_watches_it_as_status(
    env: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given the status page, `providers add` says what it found and stores that feed."""
    feed_server.set_response("/", 200, b"<html><body>All good</body></html>", HTML)
    feed_server.set_response("/api/v2/summary.json", 200, b'{"page": {"id": "x"}}')
    feed_server.set_feed("/history.atom", (DATA / "statuspage_history.atom").read_bytes())
    assert main(["providers", "add", "acme-cloud", feed_server.url("/")]) == 0
    atom = feed_server.url("/history.atom")
    assert capsys.readouterr().out.splitlines() == [
        f"Found an Atlassian Statuspage feed: {atom}",
        f"Added acme-cloud (acme-cloud): {atom}. It is polled from the next cycle on.",
    ]
    assert _user_feeds(env) == [FeedSource("acme-cloud", atom, "status", "user")]


def test_providers_add_refuses_when_no_feed_is_found_unless_told_not_to_look(
    env: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing found: exit 1 with what was tried; --no-discover adds the address as it is."""
    feed_server.set_response("/", 200, b"<html><body>Hello</body></html>", HTML)
    page = feed_server.url("/")
    assert main(["providers", "add", "acme-cloud", page]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"exitplan: found no feed for {page}; tried {page}, ")
    assert err.endswith("or add this one as it is with --no-discover.\n")
    assert _user_feeds(env) == []
    assert main(["providers", "add", "--no-discover", "acme-cloud", page]) == 0
    assert _user_feeds(env) == [FeedSource("acme-cloud", page, "news", "user")]
