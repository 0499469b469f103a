"""The schema, as numbered forward-only migrations. Never edit one that has shipped."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("exitplan")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    """Providers added by users, feeds, entries, events, subscriptions and the outbox."""
    db.table("providers").create(
        {
            "slug": str,
            "name": str,
            "aliases": str,
            "homepage": str,
            "category": str,
            "created_at": str,
        },
        pk="slug",
    )
    db.table("feeds").create(
        {
            "id": int,
            "provider": str,
            "url": str,
            "role": str,
            "source": str,
            "active": int,
            "etag": str,
            "last_modified": str,
            "body_hash": str,
            "baselined": int,
            "failure_count": int,
            "last_error_kind": str,
            "last_error": str,
            "last_status": int,
            "next_poll_at": str,
            "last_polled_at": str,
            "last_success_at": str,
            "created_at": str,
        },
        pk="id",
        not_null={"provider", "url", "role", "source"},
        defaults={"active": 1, "baselined": 0, "failure_count": 0},
    )
    db.table("feeds").create_index(["url"], unique=True)
    db.table("feeds").create_index(["provider"])
    db.table("entries").create(
        {
            "id": int,
            "feed_id": int,
            "key": str,
            "title": str,
            "link": str,
            "published": str,
            "updated": str,
            "text": str,
            "categories": str,
            "content_hash": str,
            "first_seen": str,
            "last_changed": str,
        },
        pk="id",
        foreign_keys=[("feed_id", "feeds", "id")],
        not_null={"feed_id", "key"},
    )
    db.table("entries").create_index(["feed_id", "key"], unique=True)
    db.table("events").create(
        {
            "id": int,
            "entry_id": int,
            "feed_id": int,
            "provider": str,
            "title": str,
            "link": str,
            "published": str,
            "kinds": str,
            "severity": str,
            "evidence": str,
            "deadline": str,
            "deadline_phrase": str,
            "state": str,
            "baseline": int,
            "revision": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("entry_id", "entries", "id"), ("feed_id", "feeds", "id")],
        not_null={"entry_id", "provider"},
        defaults={"baseline": 0, "revision": 1},
    )
    db.table("events").create_index(["entry_id"], unique=True)
    db.table("events").create_index(["provider", "published"])
    db.table("events").create_index(["deadline"])
    db.table("subscriptions").create(
        {
            "id": int,
            "platform": str,
            "workspace": str,
            "channel": str,
            "provider": str,
            "kinds": str,
            "paused_reason": str,
            "paused_at": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"platform", "workspace", "channel", "provider", "kinds"},
    )
    db.table("subscriptions").create_index(
        ["platform", "workspace", "channel", "provider"], unique=True
    )
    db.table("subscriptions").create_index(["provider"])
    db.table("deliveries").create(
        {
            "id": int,
            "event_id": int,
            "subscription_id": int,
            "purpose": str,
            "revision": int,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "message_ref": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id"), ("subscription_id", "subscriptions", "id")],
        not_null={"event_id", "subscription_id", "purpose", "status"},
        defaults={"attempts": 0, "revision": 1},
    )
    db.table("deliveries").create_index(
        ["event_id", "subscription_id", "purpose", "revision"], unique=True
    )
    db.table("deliveries").create_index(["status", "next_attempt_at"])


@MIGRATIONS(transactional=False)
def m002_wal(db: Database) -> None:
    """Write-ahead logging, so readers never block the poller."""
    db.enable_wal()


@MIGRATIONS()
def m003_checklists(db: Database) -> None:
    """Checklist steps ticked per channel and event, and how much each channel keeps where."""
    db.table("checklist_steps").create(
        {
            "platform": str,
            "workspace": str,
            "channel": str,
            "event_id": int,
            "step": str,
            "done_by": str,
            "done_at": str,
        },
        pk=("platform", "workspace", "channel", "event_id", "step"),
        foreign_keys=[("event_id", "events", "id")],
    )
    db.table("usage").create(
        {
            "platform": str,
            "workspace": str,
            "channel": str,
            "provider": str,
            "bytes": int,
            "updated_at": str,
        },
        pk=("platform", "workspace", "channel", "provider"),
    )


@MIGRATIONS()
def m004_reminders(db: Database) -> None:
    """Reminders planned per subscription and event deadline, each sent once."""
    db.table("reminders").create(
        {
            "id": int,
            "event_id": int,
            "subscription_id": int,
            "deadline": str,
            "days_before": int,
            "due_on": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("event_id", "events", "id"), ("subscription_id", "subscriptions", "id")],
        not_null={"event_id", "subscription_id", "deadline", "days_before"},
    )
    db.table("reminders").create_index(
        ["event_id", "subscription_id", "deadline", "days_before"], unique=True
    )


@MIGRATIONS()
def m005_event_history(db: Database) -> None:
    """What an event said before its latest revision, and when its deadline was set."""
    events = db.table("events")
    events.add_column("previous_kinds", str)
    events.add_column("previous_deadline", str)
    events.add_column("deadline_set_at", str)


@MIGRATIONS()
def m005_feed_gone(db: Database) -> None:
    """Feeds that disappeared (410 Gone, or unreachable for days), and notices about them."""
    feeds = db.table("feeds")
    feeds.add_column("gone_at", str)
    feeds.add_column("gone_reason", str)
    db.table("events").add_column("notice", str)


@MIGRATIONS()
def m009_apprise_targets(db: Database) -> None:
    """Apprise URLs that subscriptions send to; the URL may carry secrets, so it lives here."""
    db.table("apprise_targets").create(
        {"id": int, "url": str, "created_at": str}, pk="id", not_null={"url", "created_at"}
    )
    db.table("apprise_targets").create_index(["url"], unique=True)


@MIGRATIONS()
def m008_sources_of_truth(db: Database) -> None:
    """What a feed's body is: an RSS/Atom "feed", or end-of-life data read by feeds.eol."""
    db.table("feeds").add_column("format", str, not_null_default="feed")


@MIGRATIONS()
def m006_subscription_filters(db: Database) -> None:
    """Filters and who paused a subscription, event tags, and providers' feed health."""
    subscriptions = db.table("subscriptions")
    subscriptions.add_column("match_terms", str)
    subscriptions.add_column("exclude_terms", str)
    subscriptions.add_column("min_severity", str)
    subscriptions.add_column("paused_by", str)
    db.table("events").add_column("tags", str)
    db.table("provider_health").create(
        {
            "provider": str,
            "state": str,
            "since": str,
            "last_error": str,
            "event_id": int,
            "checked_at": str,
        },
        pk="provider",
        not_null={"state", "since", "checked_at"},
    )


@MIGRATIONS()
def m007_event_sources(db: Database) -> None:
    """The feed entries behind each event (one announcement, several feeds), and why merged.

    Each entry belongs to exactly one event through its row here, which keeps the entry's
    own classification so a wrong merge can be split again; every existing event gets the
    row of its one entry.
    """
    db.table("event_sources").create(
        {
            "id": int,
            "event_id": int,
            "entry_id": int,
            "feed_id": int,
            "published": str,
            "kinds": str,
            "severity": str,
            "evidence": str,
            "deadline": str,
            "deadline_phrase": str,
            "state": str,
            "tags": str,
            "baseline": int,
            "reason": str,
            "revision": int,
            "merged_at": str,
            "split_from": int,
            "split_at": str,
        },
        pk="id",
        foreign_keys=[
            ("event_id", "events", "id"),
            ("entry_id", "entries", "id"),
            ("feed_id", "feeds", "id"),
        ],
        not_null={"event_id", "entry_id", "feed_id"},
        defaults={"baseline": 0, "revision": 1},
    )
    db.table("event_sources").create_index(["entry_id"], unique=True)
    db.table("event_sources").create_index(["event_id"])
    tags = "tags" if "tags" in db.table("events").columns_dict else "NULL"
    db.execute(
        f"""INSERT INTO event_sources (event_id, entry_id, feed_id, published, kinds, severity,
            evidence, deadline, deadline_phrase, state, tags, baseline, revision, merged_at)
            SELECT id, entry_id, feed_id, published, kinds, severity, evidence, deadline,
                   deadline_phrase, state, {tags}, baseline, 1, created_at
            FROM events ORDER BY id"""  # noqa: S608 - a column name or NULL, not input
    )


@MIGRATIONS()
def m010_item_hashes(db: Database) -> None:
    """The split of each feed's last body (feeds.items): header hash and one hash per item."""
    feeds = db.table("feeds")
    feeds.add_column("header_hash", str)
    feeds.add_column("item_hashes", str)
