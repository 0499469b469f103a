"""The status page in headless Chromium (Debian's package): it loads, shows a seeded deadline."""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.heartbeat import Heartbeat
from bot.http_app import HttpServer, serve_exitplan
from bot.metrics import Metrics
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.status_page import gather_page, render_page
from storage import EntryWrite, EvidenceRecord, FeedSource
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import subscribe

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
B2 = "https://backblaze.test/blog/feed"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTH, HEIGHT = 390, 844  # a phone's viewport


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium; .ci/run installs it, so under CI a missing browser fails the test."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it with apt-get install chromium")
    pytest.skip("chromium is not installed here: `apt-get install -y chromium` runs this test")


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A database with a subscription to Backblaze and its baselined blog feed."""
    settings = Settings(db_path=tmp_path / "exitplan.db", poll_catalog=False)
    runtime = open_runtime(settings, NOW, sync=False)
    sync_feeds(runtime.db, [FeedSource("backblaze", B2, "news")], NOW)
    _save(runtime, [])
    subscribe(
        runtime.db,
        platform="slack",
        workspace="T0",
        channel="C0OPS",
        provider="backblaze",
        kinds=("shutdown",),
        now=NOW,
    )
    yield runtime
    runtime.close()


@pytest.fixture
def page_url(rt: Runtime) -> Iterator[str]:
    """The status page of exitplan's HTTP server on 127.0.0.1, its clock at NOW."""
    http = HttpServer("127.0.0.1", 0)
    serve_exitplan(
        http, rt.settings, heartbeat=Heartbeat(NOW), metrics=Metrics(), clock=lambda: NOW
    )
    yield f"{http.url}/"
    http.stop()


def _save(rt: Runtime, writes: list[EntryWrite]) -> tuple[int, ...]:
    feed = list_feeds(rt.db)[0]
    result = save_entries(
        rt.db,
        feed.id,
        writes,
        NOW,
        NOW,
        status=200,
        etag=None,
        last_modified=None,
        body_hash=str(random.random()),
    )
    return result.events


def _vaults(deadline: date) -> EntryWrite:
    return EntryWrite(
        key="vaults",
        title="B2 Legacy Vaults will be discontinued",
        link="https://backblaze.test/blog/vaults",
        published=NOW,
        updated=None,
        text="Legacy Vaults will shut down on July 31, 2026.",
        categories=(),
        content_hash="vaults",
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will be discontinued", "a service ends"),),
        deadline=deadline,
        deadline_phrase="on July 31, 2026",
        state=None,
    )


class _SectionText(HTMLParser):
    """Collects the text of one element, by id, as a reader sees it (blocks apart)."""

    BLOCKS = frozenset({"div", "li", "ul", "ol", "h1", "h2", "h3", "p", "section"})

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth or dict(attrs).get("id") == self.element_id:
            self.depth += 1
            self.parts.append(" " if tag in self.BLOCKS else "")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            self.parts.append(" " if tag in self.BLOCKS else "")

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)

    @property
    def text(self) -> str:
        """The collected text, whitespace collapsed."""
        return " ".join("".join(self.parts).split())


def _section_text(dom: str, element_id: str) -> str:
    parser = _SectionText(element_id)
    parser.feed(dom)
    return parser.text


def _png_facts(path: Path) -> tuple[int, int, int]:
    """Width, height and how many distinct byte values the decompressed image data holds."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    position, image = 8, b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            image += data[position + 8 : position + 8 + length]
        position += 12 + length
    return width, height, len(set(zlib.decompress(image)))


def _chromium(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        *args,
    ]
    return subprocess.run(  # noqa: S603 - a fixed browser command line
        command, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_status_page_shows_a_seeded_deadline_in_headless_chromium(
    chromium: str, rt: Runtime, page_url: str, tmp_path: Path
) -> None:
    """Chromium loads the page at phone size: the deadline is on it and a screenshot is made."""
    _save(rt, [_vaults(date(2026, 7, 31))])
    dumped = _chromium(chromium, tmp_path, "--dump-dom", page_url)
    screenshot = tmp_path / "page.png"
    shot = _chromium(chromium, tmp_path, f"--screenshot={screenshot}", page_url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _section_text(dumped.stdout, "deadlines") == (
        "Deadlines ahead 2026-07-31 91 days left "
        "Backblaze: B2 Legacy Vaults will be discontinued Shutdown · high"
    )
    assert _section_text(dumped.stdout, "providers") == (
        "Providers operational Backblaze operational: no incident recorded yet"
    )
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in dumped.stdout
    width, height, distinct = _png_facts(screenshot)
    assert (width, height) == (WIDTH, HEIGHT)
    assert distinct > 16  # text and coloured bars, not a blank page


def test_the_timeline_orders_deadlines_and_marks_the_near_ones(rt: Runtime) -> None:
    """Deadlines come nearest first; one within 30 days is urgent, a far one is not."""
    far = _vaults(date(2027, 3, 1))
    near = replace(
        far, key="near", content_hash="near", title="Old API retired", deadline=date(2026, 5, 15)
    )
    _save(rt, [far, near])
    page = gather_page(rt, NOW)
    html = render_page(page)
    assert [(row.title, row.days_left) for row in page.deadlines] == [
        ("Old API retired", 14),
        ("B2 Legacy Vaults will be discontinued", 304),
    ]
    assert html.count('class="deadline urgent"') == 1
    assert '<span style="width: 83%"></span>' in html  # 304 of 365 days
