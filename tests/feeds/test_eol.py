"""End-of-life data (endoflife.date, Killed by Google) read into shutdown entries with deadlines."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot import core
from bot.notify import Target
from bot.runtime import open_runtime
from bot.settings import Settings
from feeds.catalog import provider_from_config
from feeds.eol import parse_eol
from feeds.fetch import FetchLimits
from feeds.model import Classification, Deadline, Evidence
from feeds.parse import NotAFeed
from feeds.watcher import PollSettings, poll_once
from storage import FeedSource, open_db
from storage.deliveries import due_deliveries
from storage.events import list_events
from storage.feeds import list_feeds, sync_feeds
from storage.reminders import reminder_plan
from storage.subscriptions import subscribe
from tests.servers import FeedServer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
API = "https://endoflife.date/api/acme-db.json"
SETTINGS = PollSettings(
    interval=600,
    jitter=0.0,
    limits=FetchLimits(total_timeout=5, read_timeout=5),
    allow_private=True,  # the test server listens on 127.0.0.1
)

#: endoflife.date's cycle list, as /api/<product>.json serves it (fields trimmed).
CYCLES = [
    {
        "cycle": "8.0",
        "releaseDate": "2018-10-23",
        "eol": "2026-09-30",
        "latest": "8.0.41",
        "link": "https://docs.acme.test/db/8.0",
        "lts": False,
        "support": True,
    },
    {"cycle": "5.7", "releaseDate": "2016-02-08", "eol": "2026-05-15", "latest": "5.7.44"},
    {"cycle": "5.6", "releaseDate": "2014-02-05", "eol": "2021-03-01", "latest": "5.6.51"},
    {"cycle": "8.4", "releaseDate": "2024-04-30", "eol": False, "latest": "8.4.3"},
    {"cycle": "5.5", "releaseDate": "2013-01-01", "eol": True},
]
#: Killed by Google's graveyard.json entries (fields as the project publishes them).
GRAVEYARD = [
    {
        "dateClose": "2026-08-31",
        "dateOpen": "2015-05-28",
        "description": "Acme Photos Classic kept photo albums online.",
        "link": "https://blog.google.test/photos-classic",
        "name": "Photos Classic",
        "type": "service",
    },
    {
        "dateClose": "2026-12-01",
        "dateOpen": "2019-10-15",
        "description": "A smart speaker.",
        "link": "https://store.google.test/speaker",
        "name": "Speaker One",
        "type": "hardware",
    },
    {
        "dateClose": "2019-03-31",
        "dateOpen": "2016-09-21",
        "description": "A messaging app.",
        "link": "https://en.wikipedia.test/wiki/Allo",
        "name": "Allo",
        "type": "app",
    },
]


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _eol_evidence(day: str, source: str) -> tuple[Evidence, ...]:
    return (
        Evidence("shutdown", f"end of life on {day}", f"{source} lists this end-of-life date"),
        Evidence("deadline", day, f"the end-of-life date {source} gives"),
    )


def test_endoflife_cycles_with_dates_ahead_become_shutdowns_due_on_that_date() -> None:
    """Cycles ending from 30 days ago on become shutdowns whose deadline is exactly the date."""
    data = parse_eol(_json(CYCLES), "endoflife", url=API, now=NOW)
    assert [(e.key, e.title, e.link) for e in data.entries] == [
        (
            "endoflife:acme-db:8.0",
            "acme-db 8.0: end of life on 2026-09-30",
            "https://docs.acme.test/db/8.0",
        ),
        (
            "endoflife:acme-db:5.7",
            "acme-db 5.7: end of life on 2026-05-15",
            "https://endoflife.date/acme-db",
        ),
    ]
    assert data.decisions() == {
        "endoflife:acme-db:8.0": Classification(
            ("shutdown",),
            "high",
            _eol_evidence("2026-09-30", "endoflife.date"),
            Deadline(date(2026, 9, 30), "end of life on 2026-09-30"),
        ),
        "endoflife:acme-db:5.7": Classification(
            ("shutdown",),
            "critical",
            _eol_evidence("2026-05-15", "endoflife.date"),
            Deadline(date(2026, 5, 15), "end of life on 2026-05-15"),
        ),
    }
    assert (data.skipped, data.warning) == (0, None)
    assert data.entries[0].text == (
        "endoflife.date lists 2026-09-30 as the end of life of acme-db 8.0 (released "
        "2018-10-23; latest version 8.0.41). After that date it gets no more fixes or "
        "support, and the provider may upgrade or retire what still runs on it: upgrade, or "
        "move the data it holds, before then."
    )


def test_endoflife_v1_document_is_read_like_the_cycle_list() -> None:
    """The v1 API's result.releases give the same keys, labelled with the product's label."""
    document = {
        "schema_version": "1.2.0",
        "result": {
            "name": "acme-db",
            "label": "Acme DB",
            "links": {"html": "https://endoflife.date/acme-db"},
            "releases": [
                {
                    "name": "8.0",
                    "isEol": False,
                    "eolFrom": "2026-09-30",
                    "latest": {"name": "8.0.41"},
                },
                {"name": "8.4", "isEol": False, "eolFrom": None},
            ],
        },
    }
    url = "https://endoflife.date/api/v1/products/acme-db/"
    data = parse_eol(_json(document), "endoflife", url=url, now=NOW)
    assert [(e.key, e.title, e.link) for e in data.entries] == [
        (
            "endoflife:acme-db:8.0",
            "Acme DB 8.0: end of life on 2026-09-30",
            "https://endoflife.date/acme-db",
        )
    ]
    assert data.title == "Acme DB"


def test_killedbygoogle_keeps_announced_closures_and_leaves_out_hardware() -> None:
    """A product closing ahead is a shutdown; hardware and long-closed products are left out."""
    url = "https://raw.githubusercontent.com/codyogden/killedbygoogle/main/graveyard.json"
    data = parse_eol(_json(GRAVEYARD), "killedbygoogle", url=url, now=NOW)
    assert [(e.key, e.title, e.link, e.text) for e in data.entries] == [
        (
            "killedbygoogle:Photos Classic",
            "Google shuts down Photos Classic on 2026-08-31",
            "https://blog.google.test/photos-classic",
            "Acme Photos Classic kept photo albums online. Killed by Google lists 2026-08-31 "
            "as the day Google shuts Photos Classic down. It opened on 2015-05-28. Export "
            "what you keep there before then.",
        )
    ]
    assert data.decisions()["killedbygoogle:Photos Classic"].deadline == Deadline(
        date(2026, 8, 31), "end of life on 2026-08-31"
    )


def test_items_missing_what_they_need_are_skipped_with_one_logged_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unknown fields are ignored; items without a cycle or with a bad date are counted."""
    cycles = [
        {"cycle": "9.0", "eol": "2027-01-31", "colour": "green", "support": {"nested": 1}},
        {"eol": "2027-01-31"},
        {"cycle": "7.0", "eol": "next spring"},
        "not an object",
    ]
    with caplog.at_level(logging.WARNING, logger="feeds.eol"):
        data = parse_eol(_json(cycles), "endoflife", url=API, now=NOW)
    assert [entry.key for entry in data.entries] == ["endoflife:acme-db:9.0"]
    assert data.skipped == 3
    assert data.warning == "skipped 3 item(s) it could not use (first: release 1: no cycle name)"
    assert [record.getMessage() for record in caplog.records] == [
        f"end-of-life data incomplete url={API} {data.warning}"
    ]


@pytest.mark.parametrize(
    ("body", "data_format", "message"),
    [
        (b"<html><body>Not found</body></html>", "endoflife", "the body is not the JSON"),
        (b'{"detail": "Not found"}', "endoflife", "the body is not endoflife.date data"),
        (b'{"name": "Allo"}', "killedbygoogle", "the body is not Killed by Google data"),
        (b"[]", "icalendar", "'icalendar' is not an end-of-life format"),
    ],
)
def test_a_body_of_another_shape_is_not_a_feed(body: bytes, data_format: str, message: str) -> None:
    """HTML, an error object or the wrong format raise NotAFeed, which the watcher records."""
    with pytest.raises(NotAFeed, match=message):
        parse_eol(body, data_format, url=API, now=NOW)


def _watch(tmp_path: Path, server: FeedServer) -> Database:
    db = open_db(tmp_path / "exitplan.db")
    source = FeedSource("acme", server.url("/api/acme-db.json"), "eol", format="endoflife")
    sync_feeds(db, [source], NOW)
    subscribe(
        db,
        platform="console",
        workspace="local",
        channel="ops",
        provider="acme",
        kinds=("shutdown",),
        now=NOW,
    )
    return db


def _poll(db: Database, at: datetime) -> tuple[int, int, int, int, int]:
    s = poll_once(db, at, SETTINGS, rng=random.Random(3), every_feed=True)
    return s.polled, s.not_modified, s.new_entries, s.updated_entries, s.alerts_queued


def test_eol_feed_alerts_pending_deadlines_on_its_first_read_then_uses_validators(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """The baseline still queues alerts for dates ahead; the next poll sends validators."""
    feed_server.set_feed("/api/acme-db.json", _json(CYCLES), content_type="application/json")
    db = _watch(tmp_path, feed_server)
    assert list_feeds(db)[0].format == "endoflife"
    assert _poll(db, NOW) == (1, 0, 2, 0, 1)
    events = list_events(db, provider="acme")
    assert [(e.title, e.kinds, e.deadline, e.baseline) for e in events] == [
        ("acme-db 5.7: end of life on 2026-05-15", ("shutdown",), date(2026, 5, 15), True),
        ("acme-db 8.0: end of life on 2026-09-30", ("shutdown",), date(2026, 9, 30), True),
    ]
    assert [job.event.title for job in due_deliveries(db, NOW)] == [
        "acme-db 8.0: end of life on 2026-09-30"
    ]
    assert _poll(db, NOW + timedelta(minutes=10)) == (1, 1, 0, 0, 0)
    assert feed_server.requests[-1].headers.get("If-None-Match")


def test_a_moved_eol_date_revises_the_same_event(tmp_path: Path, feed_server: FeedServer) -> None:
    """When the data postpones a cycle's end of life, its event keeps its number, new deadline."""
    feed_server.set_feed("/api/acme-db.json", _json(CYCLES), content_type="application/json")
    db = _watch(tmp_path, feed_server)
    _poll(db, NOW)
    first = {e.title: e.id for e in list_events(db, provider="acme")}
    moved = [{**CYCLES[0], "eol": "2027-03-31"}, *CYCLES[1:]]
    feed_server.set_feed("/api/acme-db.json", _json(moved), content_type="application/json")
    assert _poll(db, NOW + timedelta(minutes=10)) == (1, 0, 0, 1, 1)
    revised = next(e for e in list_events(db, provider="acme") if e.title.startswith("acme-db 8.0"))
    assert (revised.id, revised.deadline, revised.previous_deadline, revised.revision) == (
        first["acme-db 8.0: end of life on 2026-09-30"],
        date(2027, 3, 31),
        date(2026, 9, 30),
        2,
    )


def test_an_eol_date_shows_in_status_with_its_reminders(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    """A config provider's end-of-life feed yields a deadline in `status` and a reminder plan."""
    feed_server.set_feed("/api/acme-db.json", _json(CYCLES), content_type="application/json")
    acme = provider_from_config(
        {
            "slug": "acme",
            "name": "Acme Cloud",
            "feeds": [
                {"url": feed_server.url("/api/acme-db.json"), "role": "eol", "format": "endoflife"}
            ],
        },
        where="test",
    )
    settings = Settings(
        db_path=tmp_path / "x.db",
        poll_catalog=False,
        providers=(acme,),
        allow_private_feeds=True,
        reminder_days=(90, 30, 7),
    )
    rt = open_runtime(settings, NOW)
    target = Target("console", "local", "ops")
    assert core.cmd_subscribe(rt, target, "acme", [], NOW).ok
    poll_once(rt.db, NOW, rt.poll_settings(), rng=random.Random(3))

    reply = core.cmd_status(rt, "acme", NOW, target)
    deadlines = next(s.lines for s in reply.sections if s.heading == "Deadlines")
    assert [line.split("] ", 1)[1] for line in deadlines] == [
        "acme-db 8.0: end of life on 2026-09-30 — deadline 2026-09-30 (121 days left) — "
        "checklist 0 of 8 done"
    ]
    plan = reminder_plan(rt.db, NOW.date(), settings.reminder_days)
    assert [(p.event.title, p.days_before, p.due_on) for p in plan] == [
        ("acme-db 8.0: end of life on 2026-09-30", 90, date(2026, 7, 2)),
        ("acme-db 8.0: end of life on 2026-09-30", 30, date(2026, 8, 31)),
        ("acme-db 8.0: end of life on 2026-09-30", 7, date(2026, 9, 23)),
        ("acme-db 8.0: end of life on 2026-09-30", -1, date(2026, 10, 1)),
    ]
    rt.close()
