"""The HTTP server over real sockets: /healthz, /metrics, the Atom feed, Slack's endpoint."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from bot.console import ConsoleNotifier
from bot.heartbeat import Heartbeat
from bot.http_app import HttpServer, HttpServerError, serve_exitplan
from bot.metrics import Metrics
from bot.runner import Runner
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack_app import start_slack
from feeds.watcher import FeedFailure, PollSummary
from storage import EntryWrite, EvidenceRecord, FeedSource
from storage.entries import save_entries
from storage.feeds import list_feeds, sync_feeds
from storage.subscriptions import subscribe
from tests.servers import FeedServer
from tests.slack_server import BOT_TOKEN, SlackServer, signed_post

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
B2 = "https://backblaze.test/blog/feed"
AWS = "https://aws.test/status.rss"
ATOM = "{http://www.w3.org/2005/Atom}"
#: RFC 4287's RELAX NG schema (Appendix B), transcribed to XML syntax.
ATOM_SCHEMA = Path(__file__).parents[1] / "data" / "atom.rng"
SECRET = "signing-secret"  # noqa: S105 - the test's own signing secret


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a database in the test's folder; polls every 10 minutes (60 s ticks)."""
    return Settings(db_path=tmp_path / "exitplan.db", poll_catalog=False, http_port=0)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    """The test's own Runtime with two baselined feeds (Backblaze news, AWS status)."""
    runtime = open_runtime(settings, NOW, sync=False)
    sync_feeds(
        runtime.db, [FeedSource("backblaze", B2, "news"), FeedSource("aws", AWS, "status")], NOW
    )
    for feed in list_feeds(runtime.db):
        _save(runtime, feed.url, [])
    yield runtime
    runtime.close()


@pytest.fixture
def clock() -> Clock:
    """The server's clock, at NOW."""
    return Clock(NOW)


@pytest.fixture
def heartbeat() -> Heartbeat:
    """A heartbeat whose last beat is NOW."""
    beat = Heartbeat(NOW - timedelta(hours=1))
    beat.beat(NOW)
    return beat


@pytest.fixture
def metrics() -> Metrics:
    """Metrics that know the console platform."""
    return Metrics(["console"])


@pytest.fixture
def server(
    settings: Settings, rt: Runtime, clock: Clock, heartbeat: Heartbeat, metrics: Metrics
) -> Iterator[HttpServer]:
    """exitplan's HTTP server on 127.0.0.1, port 0, stopped after the test."""
    http = HttpServer("127.0.0.1", 0)
    serve_exitplan(http, settings, heartbeat=heartbeat, metrics=metrics, clock=clock)
    yield http
    http.stop()


def _write(key: str, title: str, **changes: object) -> EntryWrite:
    write = EntryWrite(
        key=key,
        title=title,
        link=f"https://backblaze.test/blog/{key}",
        published=NOW,
        updated=None,
        text="Legacy Vaults will shut down on July 31, 2026. Copy your data out before then.",
        categories=(),
        content_hash=key,
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will shut down", "a service ends"),),
        deadline=date(2026, 7, 31),
        deadline_phrase="on July 31, 2026",
        state=None,
    )
    return replace(write, **changes)  # type: ignore[arg-type]


def _save(rt: Runtime, url: str, writes: list[EntryWrite], at: datetime = NOW) -> tuple[int, ...]:
    feed = next(feed for feed in list_feeds(rt.db) if feed.url == url)
    result = save_entries(
        rt.db,
        feed.id,
        writes,
        at,
        at,
        status=200,
        etag=None,
        last_modified=None,
        body_hash=str(random.random()),
    )
    return result.events


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), dict(error.headers), error.read()


def _health(server: HttpServer, probe: str = "") -> tuple[int, dict[str, object]]:
    status, _, body = _get(f"{server.url}/healthz" + (f"?probe={probe}" if probe else ""))
    return status, json.loads(body)


# -- /healthz ---------------------------------------------------------------------------------


def test_healthz_is_ok_when_a_job_ran_lately_and_the_database_takes_writes(
    server: HttpServer,
) -> None:
    """Both probes pass: 200 with status ok and each check marked ok."""
    status, body = _health(server)
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert (status, body["status"], body["problems"]) == (200, "ok", [])
    assert checks["scheduler"] == {
        "ok": True,
        "last_job_at": "2026-05-01T08:00:00+00:00",
        "seconds_since": 0.0,
        "stale_after_seconds": 180.0,
    }
    assert checks["database"] == {"ok": True, "error": None}


def test_liveness_fails_after_three_poll_ticks_without_a_finished_job(
    server: HttpServer, clock: Clock
) -> None:
    """181 s after the last job (ticks of 60 s) the live probe answers 503; ready stays 200."""
    clock.now = NOW + timedelta(seconds=180)
    fresh, _ = _health(server, "live")
    clock.now = NOW + timedelta(seconds=181)
    stale, body = _health(server, "live")
    ready, _ = _health(server, "ready")
    assert (fresh, stale, ready) == (200, 503, 200)
    assert body["problems"] == ["no scheduler job finished for 181s (stale after 180s)"]
    assert list(body["checks"]) == ["scheduler"]  # type: ignore[call-overload]


def test_readiness_fails_while_another_writer_holds_the_database(
    server: HttpServer, settings: Settings
) -> None:
    """A write lock held elsewhere makes the ready probe answer 503 and name the lock."""
    blocker = sqlite3.connect(settings.db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        ready, body = _health(server, "ready")
        live, _ = _health(server, "live")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    after, _ = _health(server, "ready")
    assert (ready, live, after) == (503, 200, 200)
    assert body["problems"] == ["the database cannot be written: database is locked"]


def test_healthz_refuses_an_unknown_probe(server: HttpServer) -> None:
    """?probe=startup is a client error, not a health verdict."""
    status, _, body = _get(f"{server.url}/healthz?probe=startup")
    assert (status, body) == (400, b"probe must be live or ready (or absent for both)\n")


# -- /metrics ---------------------------------------------------------------------------------


def _rss(*items: tuple[str, str, str]) -> bytes:
    published = format_datetime(NOW, usegmt=True)
    entries = "".join(
        f"<item><title>{title}</title><link>https://b2.test/{key}</link><guid>{key}</guid>"
        f"<pubDate>{published}</pubDate><description>{text}</description></item>"
        for key, title, text in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>B2</title>'
        f"<link>https://b2.test/</link>{entries}</channel></rss>"
    ).encode()


def _samples(text: str) -> dict[str, float]:
    """Every sample of a scrape as "name{label=value,...}" -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_metrics_count_what_the_runner_did_and_read_the_outbox_at_scrape_time(
    tmp_path: Path, feed_server: FeedServer, heartbeat: Heartbeat
) -> None:
    """Three polls (baseline, a shutdown, nothing new) and a 404 feed show up as counted."""
    settings = Settings(
        db_path=tmp_path / "exitplan.db", poll_catalog=False, allow_private_feeds=True
    )
    feed_server.set_feed("/b2.rss", _rss(("dc", "A new data center", "We opened one.")))
    feed_server.set_response("/gone.rss", 404, b"no")
    clock = Clock(NOW)
    runtime = open_runtime(settings, NOW, sync=False)
    sync_feeds(
        runtime.db,
        [
            FeedSource("backblaze", feed_server.url("/b2.rss"), "news"),
            FeedSource("wasabi", feed_server.url("/gone.rss"), "news"),
        ],
        NOW,
    )
    for platform in ("console", "slack"):
        subscribe(
            runtime.db,
            platform=platform,
            workspace="local" if platform == "console" else "T0",
            channel="ops",
            provider="backblaze",
            kinds=("shutdown",),
            now=NOW,
        )
    metrics = Metrics(["console"])
    output = (tmp_path / "console.txt").open("w")
    runner = Runner(runtime, {"console": ConsoleNotifier(output)}, clock=clock, metrics=metrics)
    http = HttpServer("127.0.0.1", 0)
    serve_exitplan(http, settings, heartbeat=heartbeat, metrics=metrics, clock=clock)
    try:
        runner.poll()
        clock.now = second = NOW + timedelta(seconds=700)
        feed_server.set_feed(
            "/b2.rss",
            _rss(
                ("vaults", "B2 Legacy Vaults will be discontinued", "It will shut down."),
                ("dc", "A new data center", "We opened one."),
            ),
        )
        runner.poll()
        clock.now = second + timedelta(seconds=700)
        runner.poll()
        clock.now = second + timedelta(seconds=900)
        status, headers, body = _get(f"{http.url}/metrics")
    finally:
        http.stop()
        output.close()
        runtime.close()
    samples = _samples(body.decode())
    assert (status, headers["Content-Type"]) == (200, "text/plain; version=0.0.4; charset=utf-8")
    assert {key: value for key, value in samples.items() if "feeds_polled_total" in key} == {
        "exitplan_feeds_polled_total{outcome=changed}": 2.0,
        "exitplan_feeds_polled_total{outcome=not_modified}": 1.0,
        "exitplan_feeds_polled_total{outcome=failed}": 2.0,
    }
    assert samples["exitplan_fetch_errors_total{kind=http_4xx}"] == 2.0
    assert samples["exitplan_fetch_errors_total{kind=timeout}"] == 0.0
    assert samples["exitplan_poll_not_modified_ratio{}"] == 1.0
    assert samples["exitplan_events_total{kind=shutdown}"] == 1.0
    assert samples["exitplan_events_total{kind=outage}"] == 0.0
    assert samples["exitplan_poll_cycle_seconds_count{}"] == 3.0
    assert samples["exitplan_deliveries_total{outcome=sent,platform=console}"] == 1.0
    assert samples["exitplan_deliveries_total{outcome=failed,platform=console}"] == 0.0
    assert {key: value for key, value in samples.items() if "pending" in key} == {
        "exitplan_deliveries_pending{platform=console}": 0.0,
        "exitplan_deliveries_pending{platform=slack}": 1.0,
    }
    assert samples["exitplan_outbox_lag_seconds{}"] == 900.0


def test_metrics_registries_are_separate(metrics: Metrics) -> None:
    """Two Metrics objects (two servers in one process) never share a count."""
    other = Metrics()
    metrics.observe_poll(_summary_with_failure(), 1.0)
    assert (
        other.registry.get_sample_value("exitplan_fetch_errors_total", {"kind": "timeout"}) == 0.0
    )
    assert (
        metrics.registry.get_sample_value("exitplan_fetch_errors_total", {"kind": "timeout"}) == 1.0
    )


def _summary_with_failure() -> PollSummary:
    return PollSummary(polled=1, failures=[FeedFailure("aws", AWS, "timeout", "slow", 1)])


# -- /feeds/events.atom -----------------------------------------------------------------------


def _seed(rt: Runtime) -> None:
    _save(rt, B2, [_write("vaults", "B2 Legacy Vaults will be discontinued")])
    _save(
        rt,
        B2,
        [
            _write(
                "prices",
                "New B2 pricing",
                published=NOW + timedelta(hours=1),
                kinds=("price_change",),
                severity="medium",
                deadline=None,
                deadline_phrase=None,
                evidence=(EvidenceRecord("price_change", "price rises", "a price goes up"),),
            )
        ],
        NOW + timedelta(hours=1),
    )
    _save(
        rt,
        AWS,
        [
            _write(
                "ebs",
                "Volumes lost in us-east-1",
                published=NOW + timedelta(hours=2),
                link="https://aws.test/status/ebs",
                kinds=("data_loss", "outage"),
                severity="critical",
                deadline=None,
                deadline_phrase=None,
                state="open",
            )
        ],
        NOW + timedelta(hours=2),
    )


RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
TEXT_TYPES = (None, "text", "html", "xhtml")


def _element_problems(element: ET.Element, where: str) -> list[str]:
    """One feed or entry: exactly one id, title and updated; well-formed ids and dates."""
    problems = []
    for name in ("id", "title", "updated"):
        found = element.findall(f"{ATOM}{name}")
        if len(found) != 1:
            problems.append(f"{where}: {len(found)} atom:{name}, need exactly 1")
    for child in element:
        name, text = child.tag.removeprefix(ATOM), (child.text or "").strip()
        if name == "id" and not ABSOLUTE_IRI.match(text):
            problems.append(f"{where}: id {text!r} is not an absolute IRI")
        if name in ("updated", "published") and not RFC3339.match(text):
            problems.append(f"{where}: {name} {text!r} is not an RFC 3339 date-time")
        if name in ("title", "summary", "content") and child.get("type") not in TEXT_TYPES:
            problems.append(f"{where}: {name} has type {child.get('type')!r}")
        if name == "category" and not child.get("term"):
            problems.append(f"{where}: category without term")
    return problems


def _link_problems(element: ET.Element, where: str) -> list[str]:
    """Absolute hrefs, and at most one alternate link per type and language."""
    problems, alternates = [], set()
    for link in element.findall(f"{ATOM}link"):
        href = link.get("href") or ""
        if not ABSOLUTE_IRI.match(href):
            problems.append(f"{where}: link href {href!r} is not absolute")
        if link.get("rel", "alternate") == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in alternates:
                problems.append(f"{where}: two alternate links of one type")
            alternates.add(key)
    return problems


def atom_problems(document: bytes) -> list[str]:
    """What breaks RFC 4287's MUSTs in an Atom document (a structural check, no schema)."""
    root = ET.fromstring(document)  # noqa: S314 - our own server's output
    if root.tag != f"{ATOM}feed":
        return [f"root is {root.tag}, not atom:feed"]
    problems = _element_problems(root, "feed") + _link_problems(root, "feed")
    authors = root.findall(f"{ATOM}author")
    entries = root.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    if len(set(ids)) != len(ids):
        problems.append("two entries share an id")
    for index, entry in enumerate(entries):
        where = f"entry {index}"
        problems += _element_problems(entry, where) + _link_problems(entry, where)
        everyone = authors + entry.findall(f"{ATOM}author")
        named = [a for a in everyone if a.find(f"{ATOM}name") is not None]
        if not named:
            problems.append(f"{where}: no named atom:author here nor on the feed")
        alternate = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        if entry.find(f"{ATOM}content") is None and not alternate:
            problems.append(f"{where}: neither atom:content nor an alternate link")
    return problems


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    """RFC 4287's schema, compiled by libxml2."""
    return etree.RelaxNG(file=str(ATOM_SCHEMA))


def schema_errors(schema: etree.RelaxNG, document: bytes) -> list[str]:
    """The schema's error log for `document` as "line: message" strings; [] when it is valid."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    if schema.validate(etree.fromstring(document, parser)):
        return []
    return [f"{error.line}: {error.message}" for error in schema.error_log]


def test_the_atom_feed_is_valid_atom_that_feedparser_reads(
    server: HttpServer, rt: Runtime, atom_schema: etree.RelaxNG
) -> None:
    """The feed passes RFC 4287's RELAX NG schema, the structural check, and feedparser."""
    _seed(rt)
    status, headers, body = _get(f"{server.url}/feeds/events.atom")
    parsed = feedparser.parse(body)
    assert (status, headers["Content-Type"]) == (200, "application/atom+xml; charset=utf-8")
    assert schema_errors(atom_schema, body) == []
    assert atom_problems(body) == []
    assert (parsed.bozo, parsed.version) == (False, "atom10")
    assert parsed.feed.title == "exitplan: classified events"
    assert parsed.feed.id == "tag:exitplan,2026:events"
    assert [entry.title for entry in parsed.entries] == [
        "[Data loss, Outage, critical] Amazon Web Services: Volumes lost in us-east-1",
        "[Price change, medium] Backblaze: New B2 pricing",
        "[Shutdown, high] Backblaze: B2 Legacy Vaults will be discontinued",
    ]


def test_an_atom_entry_carries_id_link_dates_categories_and_a_summary(
    server: HttpServer, rt: Runtime
) -> None:
    """Each entry has a stable tag id, the source link, kind and severity terms, the deadline."""
    (event_id,) = _save(rt, B2, [_write("vaults", "B2 Legacy Vaults will be discontinued")])
    _, _, body = _get(f"{server.url}/feeds/events.atom")
    (entry,) = feedparser.parse(body).entries
    assert entry.id == f"tag:exitplan,2026-05-01:event/{event_id}"
    assert entry.link == "https://backblaze.test/blog/vaults"
    assert (entry.published, entry.updated) == ("2026-05-01T08:00:00Z", "2026-05-01T08:00:00Z")
    assert [(tag.term, tag.scheme) for tag in entry.tags] == [
        ("shutdown", "tag:exitplan,2026:kind"),
        ("high", "tag:exitplan,2026:severity"),
    ]
    assert entry.summary == (
        'Deadline: 2026-07-31, 91 days left ("on July 31, 2026").\n'
        'Shutdown: "will shut down" (a service ends).'
    )


def test_the_atom_feed_filters_by_provider_alias_and_by_kind(
    server: HttpServer, rt: Runtime, atom_schema: etree.RelaxNG
) -> None:
    """?provider=B2 (an alias) keeps Backblaze's events; &kind= narrows to one kind."""
    _seed(rt)
    _, _, by_alias = _get(f"{server.url}/feeds/events.atom?provider=B2")
    _, _, by_kind = _get(f"{server.url}/feeds/events.atom?provider=b2&kind=price_change")
    _, _, outages = _get(f"{server.url}/feeds/events.atom?kind=outage")
    alias, kind, outage = (feedparser.parse(body) for body in (by_alias, by_kind, outages))
    assert [e.title.split("] ")[1] for e in alias.entries] == [
        "Backblaze: New B2 pricing",
        "Backblaze: B2 Legacy Vaults will be discontinued",
    ]
    assert alias.feed.id == "tag:exitplan,2026:events?provider=backblaze"
    assert [e.title for e in kind.entries] == ["[Price change, medium] Backblaze: New B2 pricing"]
    assert kind.feed.title == "exitplan: Backblaze price change events"
    assert [e.title for e in outage.entries] == [
        "[Data loss, Outage, critical] Amazon Web Services: Volumes lost in us-east-1"
    ]
    assert [schema_errors(atom_schema, body) for body in (by_alias, by_kind, outages)] == [
        [],
        [],
        [],
    ]
    assert atom_problems(by_kind) == []


def test_the_atom_schema_rejects_the_served_feed_without_its_id(
    server: HttpServer, rt: Runtime, atom_schema: etree.RelaxNG
) -> None:
    """The served feed passes; the same bytes less the feed's atom:id fail, naming the id."""
    _seed(rt)
    _, _, body = _get(f"{server.url}/feeds/events.atom")
    feed = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    feed.remove(feed.find(f"{ATOM}id"))
    without_id = etree.tostring(feed, xml_declaration=True, encoding="utf-8")
    assert schema_errors(atom_schema, body) == []
    assert [error.partition(": ")[2] for error in schema_errors(atom_schema, without_id)] == [
        "Expecting an element id, got nothing",
        "Invalid sequence in interleave",
        "Element feed failed to validate content",
    ]


def test_an_unknown_provider_or_kind_is_a_404_with_suggestions(server: HttpServer) -> None:
    """A misspelt provider gets the near names in a plain-text 404; an unknown kind the kinds."""
    provider = _get(f"{server.url}/feeds/events.atom?provider=backblase")
    kind = _get(f"{server.url}/feeds/events.atom?kind=outages")
    assert (provider[0], provider[2]) == (
        404,
        b"Unknown provider 'backblase'. Did you mean: backblaze?\n",
    )
    assert (kind[0], kind[2]) == (
        404,
        b"Unknown kind 'outages'; kinds: shutdown, data_loss, security, price_change, outage\n",
    )


def test_hostile_feed_text_stays_text_in_the_atom_feed(
    server: HttpServer, rt: Runtime, atom_schema: etree.RelaxNG
) -> None:
    """Markup, ampersands, a CDATA end, NUL and a javascript: link cannot break the XML."""
    hostile = 'Vaults <script>alert("x")</script> & ]]> \x00\x0b end'
    _save(rt, B2, [_write("evil", hostile, link="javascript:alert(1)")])
    _, _, body = _get(f"{server.url}/feeds/events.atom")
    parsed = feedparser.parse(body)
    (entry,) = parsed.entries
    assert schema_errors(atom_schema, body) == []
    assert atom_problems(body) == []
    assert parsed.bozo is False
    assert b"<script>" not in body
    assert (
        entry.title == '[Shutdown, high] Backblaze: Vaults <script>alert("x")</script> & ]]>  end'
    )
    assert entry.get("links", []) == []


# -- the status page, as HTTP (the browser test is tests/bot/test_status_page.py) --------------


def test_the_status_page_is_self_contained_html_with_escaped_text(
    server: HttpServer, rt: Runtime
) -> None:
    """/ answers HTML with a strict CSP, no external asset, and feed text escaped."""
    subscribe(
        rt.db,
        platform="console",
        workspace="local",
        channel="console",
        provider="backblaze",
        kinds=("shutdown",),
        now=NOW,
    )
    _save(rt, B2, [_write("evil", "<img src=x onerror=alert(1)> Vaults close")])
    status, headers, body = _get(f"{server.url}/")
    page = body.decode()
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert "&lt;img src=x onerror=alert(1)&gt; Vaults close" in page
    assert re.findall(r"<(?:script|img|iframe|object|embed|link)\b[^>]*>", page) == [
        '<link rel="alternate" type="application/atom+xml" title="exitplan events" '
        'href="/feeds/events.atom">'
    ]
    assert re.findall(r"url\(|@import|\ssrc=\"", page) == []


# -- one server for everything, Slack's HTTP mode included ------------------------------------


def test_slack_http_mode_shares_the_server_with_healthz(
    settings: Settings, rt: Runtime, heartbeat: Heartbeat, metrics: Metrics
) -> None:
    """/slack/events and /healthz answer on one port; the Slack route still checks signatures."""
    with SlackServer() as slack:
        http_settings = replace(
            settings,
            slack_mode="http",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
        )
        http = HttpServer("127.0.0.1", 0)
        adapter = start_slack(http_settings, clock=lambda: NOW, http_server=http)
        serve_exitplan(http, http_settings, heartbeat=heartbeat, metrics=metrics, clock=lambda: NOW)
        try:
            body = urllib.parse.urlencode(slack.command_payload("help"))
            url = f"{http.url}/slack/events"
            good = signed_post(url, body, timestamp=int(time.time()), secret=SECRET)
            stale = signed_post(url, body, timestamp=int(time.time()) - 600, secret=SECRET)
            (answer,) = slack.wait_for_responses(1)
            health, _ = _health(http)
            port = adapter.http_port
        finally:
            adapter.stop()
            http.stop()
    assert (good, stale, health, port) == (200, 401, 200, http.port)
    assert answer["text"].startswith("exitplan commands:")


def test_a_taken_port_is_an_error_that_names_the_setting() -> None:
    """Starting on a port another socket holds raises HttpServerError naming the variable."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HttpServer("127.0.0.1", taken.getsockname()[1])
        with pytest.raises(HttpServerError, match="EXITPLAN_HTTP_PORT"):
            server.start()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_exitplan_run_serves_the_endpoints_on_the_configured_port(tmp_path: Path) -> None:
    """`exitplan run` with EXITPLAN_HTTP_PORT answers /healthz and /metrics, then stops on TERM."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXITPLAN_", "SLACK_"))}
    env |= {
        "EXITPLAN_DB": str(tmp_path / "exitplan.db"),
        "EXITPLAN_POLL_CATALOG": "false",
        "EXITPLAN_HTTP_PORT": str(port),
    }
    err = (tmp_path / "stderr").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    try:
        health: tuple[int, dict[str, object]] | None = None
        deadline = time.monotonic() + 30
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/healthz")
                health = (status, json.loads(body))
            except OSError:
                threading.Event().wait(0.05)  # not listening yet: check again shortly
        metrics_status, _, scrape = _get(f"http://127.0.0.1:{port}/metrics")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        err.close()
    log = (tmp_path / "stderr").read_text()
    assert process.returncode == 0, log
    assert health is not None, log
    assert (health[0], health[1]["status"], metrics_status) == (200, "ok", 200)
    assert b"exitplan_feeds_polled_total" in scrape
    assert f"on http://127.0.0.1:{port}/" in log
