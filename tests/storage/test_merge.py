"""One event across feeds: the merge rules, merged storage, follow-ups and splitting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import EntryWrite, EvidenceRecord, FeedSource, Notice, open_db
from storage.deliveries import due_deliveries, list_deliveries, mark_sent
from storage.entries import save_entries
from storage.events import get_event, list_events, save_notice
from storage.feeds import list_feeds, sync_feeds
from storage.migrations import MIGRATIONS
from storage.similarity import (
    Announcement,
    MergeMatch,
    match_announcements,
    similarity,
    title_names,
)
from storage.split import SplitError, split_source
from storage.subscriptions import subscribe

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
BLOG = "https://acme.test/blog.rss"
STATUS = "https://status.acme.test/history.rss"
OTHER_BLOG = "https://globex.test/blog.rss"

VAULT_POST = (
    "Retiring Acme Vault on June 30, 2026",
    "Today we are announcing that Acme Vault, our cold archive service, will be shut down "
    "on June 30, 2026. Data left in Vault after that date will be deleted. Please move "
    "your archives to Acme Object Storage.",
)
VAULT_NOTICE = (
    "Acme Vault end of service",
    "Acme Vault will be shut down on June 30, 2026. Customers must move their data out "
    "of Vault before then.",
)


def _ann(
    title: str,
    text: str = "",
    kinds: tuple[str, ...] = ("shutdown",),
    deadline: date | None = date(2026, 6, 30),
    days: float = 0,
) -> Announcement:
    return Announcement(title, text, kinds, deadline, NOW + timedelta(days=days))


# -- the rules (pure) ------------------------------------------------------------------------


def test_a_blog_post_and_a_status_notice_with_one_deadline_are_one_event() -> None:
    """Different wording, same deadline and kind: merged, and the reason names both."""
    match = match_announcements(_ann(*VAULT_POST), _ann(*VAULT_NOTICE, days=1))
    assert match == MergeMatch("same deadline 2026-06-30 and kind shutdown", True, 0.4)


def test_deadlines_a_few_days_apart_still_merge_and_say_so() -> None:
    """Deadlines up to three days apart count as the same; the reason gives both."""
    notice = _ann(*VAULT_NOTICE, deadline=date(2026, 7, 1))
    match = match_announcements(_ann(*VAULT_POST), notice)
    assert match is not None
    assert match.reason == "deadlines 2026-06-30 and 2026-07-01 (1 days apart) and kind shutdown"


def test_deadlines_more_than_three_days_apart_never_merge() -> None:
    """Two shutdowns of one provider with different deadlines stay two, however alike."""
    later = _ann(*VAULT_NOTICE, deadline=date(2026, 7, 4))
    assert match_announcements(_ann(*VAULT_NOTICE), later) is None


def test_templated_retirements_of_different_services_stay_apart() -> None:
    """Same template, date and kind, but each title names a service the other never does."""
    text = "We have decided to close new customer access to AWS {}, effective July 25, 2024."
    codecommit = _ann("AWS CodeCommit no longer available", text.format("CodeCommit"))
    cloud9 = _ann("AWS Cloud9 no longer available", text.format("Cloud9"))
    assert match_announcements(codecommit, cloud9) is None


def test_title_names_are_products_regions_and_codes() -> None:
    """Names are CamelCase, digits, regions and capitalised words; not months or jargon."""
    assert title_names("Retiring Acme Vault on June 30, 2026") == {"acme", "vault"}
    assert title_names("Elevated errors for S3 in us-east-1 Since Monday") == {
        "s3",
        "us-east-1",
        "since",
    }
    assert title_names("Announcing The End Of AWS CodeCommit Pricing") == {"aws", "codecommit"}


def test_similarity_is_the_jaccard_of_content_words() -> None:
    """Shared content words over all content words, function words left out."""
    a = _ann("Vault closes", "Vault will close for all customers")
    b = _ann("Vault closing", "Vault will close")
    # {vault, closes, close, customers} against {vault, closing, close}: 2 of 5 shared
    assert similarity(a, b) == pytest.approx(2 / 5)


def test_similar_wording_merges_without_deadlines_above_the_threshold() -> None:
    """Without deadlines, 0.5 similar grave news merges; less similar news does not."""
    post = _ann("Acme Vault is shutting down", "Acme Vault will be discontinued.", deadline=None)
    same = _ann("Acme Vault is shutting down", "Vault will be discontinued soon.", deadline=None)
    vague = _ann("Changes to Acme Vault", "Vault plans change this year.", deadline=None)
    match = match_announcements(post, same)
    assert match == MergeMatch("titles and text 0.83 similar and kind shutdown", False, 0.83)
    assert match_announcements(post, vague) is None


def test_news_weeks_apart_or_of_other_kinds_never_merges() -> None:
    """Outside the 14-day window, or with no kind in common, announcements stay apart."""
    assert match_announcements(_ann(*VAULT_POST), _ann(*VAULT_NOTICE, days=15)) is None
    price = _ann(*VAULT_NOTICE, kinds=("price_change",))
    assert match_announcements(_ann(*VAULT_POST), price) is None


def test_outages_merge_only_when_nearly_identical_within_two_days() -> None:
    """The same incident on two status feeds merges; another region or a later day does not."""
    text = "We are investigating elevated 5xx errors on uploads in {}."
    title = "Elevated upload errors in {}"
    west = _ann(title.format("eu-west"), text.format("eu-west"), ("outage",), None)
    again = _ann(title.format("eu-west"), text.format("eu-west"), ("outage",), None, days=1)
    east = _ann(title.format("us-east-1"), text.format("us-east-1"), ("outage",), None)
    late = _ann(title.format("eu-west"), text.format("eu-west"), ("outage",), None, days=3)
    match = match_announcements(west, again)
    assert match == MergeMatch("titles and text 1.00 similar and kind outage", False, 1.0)
    assert match_announcements(west, east) is None
    assert match_announcements(west, late) is None


# -- storing merged events -------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """Provider acme with a blog and a status feed, globex with a blog; all read once."""
    database = open_db(tmp_path / "exitplan.db")
    sync_feeds(
        database,
        [
            FeedSource("acme", BLOG, "news"),
            FeedSource("acme", STATUS, "status"),
            FeedSource("globex", OTHER_BLOG, "news"),
        ],
        NOW,
    )
    for url in (BLOG, STATUS, OTHER_BLOG):
        _save(database, url)  # the silent baseline: nothing yet
    subscribe(
        database,
        platform="console",
        workspace="local",
        channel="ops",
        provider="*",
        kinds=("shutdown",),
        now=NOW,
    )
    return database


def _write(key: str, title: str, text: str, **changes: object) -> EntryWrite:
    base = EntryWrite(
        key=key,
        title=title,
        link=f"https://acme.test/{key}",
        published=NOW,
        updated=None,
        text=text,
        categories=(),
        content_hash=f"hash-{key}",
        kinds=("shutdown",),
        severity="high",
        evidence=(EvidenceRecord("shutdown", "will be shut down", "a service ends"),),
        deadline=date(2026, 6, 30),
        deadline_phrase="on June 30, 2026",
        state=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _save(db: Database, url: str, *writes: EntryWrite, at: datetime = NOW) -> int:
    feed = next(feed for feed in list_feeds(db) if feed.url == url)
    result = save_entries(
        db,
        feed.id,
        writes,
        at,
        at + timedelta(minutes=10),
        status=200,
        etag=None,
        last_modified=None,
        body_hash=f"{url}-{at.isoformat()}-{len(writes)}",
    )
    return result.deliveries


def _post() -> EntryWrite:
    return _write("post", *VAULT_POST)


def _notice(**changes: object) -> EntryWrite:
    return replace(_write("notice", *VAULT_NOTICE), **changes)  # type: ignore[arg-type]


def _outbox(db: Database) -> list[tuple[int, str, int, str]]:
    rows = sorted(list_deliveries(db), key=lambda row: row.id)
    return [(row.event_id, row.purpose, row.revision, row.status) for row in rows]


def _send_all(db: Database, at: datetime) -> None:
    for job in due_deliveries(db, at):
        mark_sent(db, job.delivery.id, at, f"ref-{job.delivery.id}")


def test_a_second_source_becomes_a_follow_up_of_the_sent_alert(db: Database) -> None:
    """The status notice joins the blog post's event; its channel gets an update, not an alert."""
    assert _save(db, BLOG, _post()) == 1
    _send_all(db, NOW)
    assert _save(db, STATUS, _notice(), at=NOW + timedelta(hours=2)) == 1
    (event,) = list_events(db, provider="acme")
    assert [(s.number, s.feed_role, s.title, s.reason, s.revision) for s in event.sources] == [
        (1, "news", VAULT_POST[0], None, 1),
        (2, "status", VAULT_NOTICE[0], "same deadline 2026-06-30 and kind shutdown", 2),
    ]
    assert (event.title, event.revision, event.feed_role) == (VAULT_POST[0], 2, "news")
    assert _outbox(db) == [(event.id, "alert", 1, "sent"), (event.id, "update", 2, "pending")]


def test_a_source_arriving_before_the_alert_is_sent_adds_nothing_to_the_outbox(
    db: Database,
) -> None:
    """While the alert is still pending it will list both sources, so no update is queued."""
    assert _save(db, BLOG, _post()) == 1
    assert _save(db, STATUS, _notice()) == 0
    (job,) = due_deliveries(db, NOW)
    assert [source.title for source in job.event.sources] == [VAULT_POST[0], VAULT_NOTICE[0]]


def test_entries_of_one_feed_are_never_merged(db: Database) -> None:
    """Two items of the same feed are separate news, however alike."""
    _save(db, BLOG, _post(), _write("post-again", *VAULT_POST))
    assert len(list_events(db, provider="acme")) == 2


def test_two_shutdowns_with_different_deadlines_are_two_events(db: Database) -> None:
    """A Vault post and a Tape notice of one provider stay two events with an alert each."""
    tape = _write(
        "tape",
        "Acme Tape end of service",
        "Acme Tape will be shut down on September 30, 2026.",
        deadline=date(2026, 9, 30),
    )
    assert _save(db, BLOG, _post()) + _save(db, STATUS, tape) == 2
    titles = [(e.title, len(e.sources)) for e in list_events(db, provider="acme")]
    assert sorted(titles) == [("Acme Tape end of service", 1), (VAULT_POST[0], 1)]


def test_the_same_news_from_two_providers_is_two_events(db: Database) -> None:
    """Only one provider's feeds merge: the same title at another provider is other news."""
    assert _save(db, BLOG, _post()) + _save(db, OTHER_BLOG, _post()) == 2
    assert [len(event.sources) for event in list_events(db)] == [1, 1]


def test_a_later_source_fills_in_a_missing_deadline(db: Database) -> None:
    """A post without a date and a notice with one (similar wording): the event gets the date."""
    post = _write("post", *VAULT_NOTICE, deadline=None, deadline_phrase=None)
    _save(db, BLOG, post)
    _save(db, STATUS, _notice(), at=NOW + timedelta(hours=1))
    (event,) = list_events(db, provider="acme")
    assert (event.deadline, event.deadline_phrase, event.previous_deadline) == (
        date(2026, 6, 30),
        "on June 30, 2026",
        None,
    )
    assert event.sources[1].reason == "titles and text 1.00 similar and kind shutdown"


def test_a_source_that_changes_revises_the_event_it_belongs_to(db: Database) -> None:
    """An update of the merged notice (now also data loss) is a revision of the one event."""
    _save(db, BLOG, _post())
    _send_all(db, NOW)
    _save(db, STATUS, _notice(), at=NOW + timedelta(hours=1))
    _send_all(db, NOW + timedelta(hours=1))
    graver = _notice(kinds=("shutdown", "data_loss"), content_hash="hash-notice-2")
    assert _save(db, STATUS, graver, at=NOW + timedelta(hours=2)) == 1
    (event,) = list_events(db, provider="acme")
    assert (event.kinds, event.revision, event.escalated) == (("shutdown", "data_loss"), 3, True)
    assert _outbox(db)[-1] == (event.id, "update", 3, "pending")


def test_a_restart_never_merges_or_alerts_twice(db: Database, tmp_path: Path) -> None:
    """Reopening the database and storing both entries again changes and queues nothing."""
    _save(db, BLOG, _post())
    _save(db, STATUS, _notice(), at=NOW + timedelta(hours=1))
    before = _outbox(db)
    db.close()
    again = open_db(tmp_path / "exitplan.db")
    later = NOW + timedelta(hours=2)
    assert _save(again, BLOG, _post(), at=later) + _save(again, STATUS, _notice(), at=later) == 0
    assert _outbox(again) == before
    assert [len(event.sources) for event in list_events(again)] == [2]


def test_split_makes_a_source_its_own_event_and_alerts_that_it_was_split(db: Database) -> None:
    """The split-off notice is a new event (split from the old one) with its own alert."""
    _save(db, BLOG, _post())
    _send_all(db, NOW)
    _save(db, STATUS, _notice(), at=NOW + timedelta(hours=1))
    (merged,) = list_events(db, provider="acme")
    result = split_source(db, merged.id, 2, NOW + timedelta(hours=3))
    assert (result.split_from, result.source.title, result.alerts) == (
        merged.id,
        VAULT_NOTICE[0],
        1,
    )
    old, new = get_event(db, merged.id), get_event(db, result.event_id)
    assert old is not None
    assert new is not None
    assert [s.title for s in old.sources] == [VAULT_POST[0]]
    assert (new.title, new.feed_role, new.split_from, new.kinds) == (
        VAULT_NOTICE[0],
        "status",
        merged.id,
        ("shutdown",),
    )
    assert new.sources[0].reason == f"split from event #{merged.id} by a person"
    assert _outbox(db)[-1] == (new.id, "alert", 1, "pending")


def test_a_split_source_stays_apart_when_its_feed_is_read_again(db: Database) -> None:
    """After a split, a new version of the notice revises its own event, not the old one."""
    _save(db, BLOG, _post())
    _save(db, STATUS, _notice())
    (merged,) = list_events(db, provider="acme")
    result = split_source(db, merged.id, 2, NOW)
    _save(db, STATUS, _notice(content_hash="v2", title="Acme Vault end of service (updated)"))
    titles = sorted((e.id, e.title, len(e.sources)) for e in list_events(db, provider="acme"))
    assert titles == [
        (merged.id, VAULT_POST[0], 1),
        (result.event_id, "Acme Vault end of service (updated)", 1),
    ]


def test_splitting_the_first_source_hands_the_event_to_the_next(db: Database) -> None:
    """Split off source 1 and the old event carries on as the notice; the post is new."""
    _save(db, BLOG, _post())
    _save(db, STATUS, _notice())
    (merged,) = list_events(db, provider="acme")
    result = split_source(db, merged.id, 1, NOW)
    old, new = get_event(db, merged.id), get_event(db, result.event_id)
    assert old is not None
    assert new is not None
    assert (old.title, old.feed_role, [s.number for s in old.sources]) == (
        VAULT_NOTICE[0],
        "status",
        [1],
    )
    assert (new.title, new.split_from) == (VAULT_POST[0], merged.id)


def test_split_refuses_an_event_with_one_source_or_a_wrong_number(db: Database) -> None:
    """Nothing to split, or no such source: a message for a person, nothing changed."""
    _save(db, BLOG, _post())
    (event,) = list_events(db, provider="acme")
    with pytest.raises(SplitError, match="has one source"):
        split_source(db, event.id, 1, NOW)
    _save(db, STATUS, _notice())
    with pytest.raises(SplitError, match="has sources 1 to 2"):
        split_source(db, event.id, 3, NOW)
    with pytest.raises(SplitError, match="There is no event #999"):
        split_source(db, 999, 1, NOW)
    assert [len(e.sources) for e in list_events(db)] == [2]


def test_notices_get_a_source_and_never_merge(db: Database) -> None:
    """exitplan's own notices are events of one source that nothing joins."""
    feed = next(feed for feed in list_feeds(db) if feed.url == STATUS)
    notice = Notice(key="gone", notice="feed_gone", title="Feed gone", text="gone", link=None)
    event_id, _ = save_notice(db, notice, feed_id=feed.id, provider="acme", now=NOW)
    _save(db, BLOG, _write("post", "Feed gone", "gone"))
    event = get_event(db, event_id)
    assert event is not None
    assert [s.title for s in event.sources] == ["Feed gone"]


def test_the_migration_gives_every_existing_event_its_source(tmp_path: Path) -> None:
    """Events stored before m007 each get the source row of their own entry."""
    database = Database(tmp_path / "old.db")
    MIGRATIONS.apply(database, stop_before="m007_event_sources")
    sync_feeds(database, [FeedSource("acme", BLOG, "news")], NOW)
    feed_id = list_feeds(database)[0].id
    database.table("entries").insert({"id": 7, "feed_id": feed_id, "key": "k", "title": "Old"})
    database.table("events").insert(
        {
            "id": 3,
            "entry_id": 7,
            "feed_id": feed_id,
            "provider": "acme",
            "title": "Old",
            "published": NOW.isoformat(),
            "kinds": '["shutdown"]',
            "severity": "high",
            "evidence": "[]",
            "deadline": "2026-06-30",
            "created_at": NOW.isoformat(),
            "updated_at": NOW.isoformat(),
        }
    )
    MIGRATIONS.apply(database)
    event = get_event(database, 3)
    assert event is not None
    assert [(s.number, s.entry_id, s.kinds, s.deadline, s.reason) for s in event.sources] == [
        (1, 7, ("shutdown",), date(2026, 6, 30), None)
    ]
