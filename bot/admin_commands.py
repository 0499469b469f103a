"""Operator commands: feed health, the outbox, the database, the classifier's tools, and
splitting a wrong merge of two feeds' announcements."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime

from bot.alerts import ROLE_LABELS
from bot.commands import open_for, parse_when
from bot.console import clean
from bot.runner import utc_now
from bot.settings import Settings
from feeds.classify import classify
from feeds.evaluate import evaluate, format_report, load_corpus, prediction_record
from feeds.fetch import Fetcher, FetchLimits, FetchRequest, FetchResult
from feeds.guard import AddressGuard
from feeds.model import Classification
from feeds.parse import NotAFeed, parse_feed
from storage import Feed, backup_db, schema_version
from storage.deliveries import count_deliveries, list_deliveries, retry_failed
from storage.entries import count_entries
from storage.events import count_events
from storage.feeds import list_feeds
from storage.restore import restore_db
from storage.split import SplitError, split_source


def feed_state(feed: Feed) -> str:
    """A feed's health in one line: ok, failing (how often, why) or gone, and its next poll."""
    failing = f"failing {feed.failure_count}x {feed.last_error_kind}: {feed.last_error}"
    if feed.gone_at is not None:
        state = f"gone since {feed.gone_at:%Y-%m-%d} ({feed.gone_reason}), {failing}"
    elif feed.failure_count:
        state = failing
    elif feed.last_success_at is not None:
        state = f"ok, last read {feed.last_success_at:%Y-%m-%d %H:%M} UTC"
    else:
        state = "not read yet"
    if feed.next_poll_at is not None:
        state += f"; next poll {feed.next_poll_at:%Y-%m-%d %H:%M} UTC"
    return state


def feeds(args: argparse.Namespace) -> int:
    """`exitplan feeds [--failing]`."""
    rt = open_for(args)
    try:
        every = list_feeds(rt.db)
        bad = [f for f in every if f.failure_count or f.gone_at is not None]
        gone = sum(1 for f in bad if f.gone_at is not None)
        print(f"{len(every)} feed(s): {len(bad) - gone} failing, {gone} gone.")
        for feed in bad if args.failing else every:
            name = rt.provider_name(feed.provider)
            print(clean(f"{name} ({feed.role}) {feed.url} — {feed_state(feed)}"))
        return 0
    finally:
        rt.close()


def deliveries(args: argparse.Namespace) -> int:
    """`exitplan deliveries [--failed]` and `exitplan deliveries retry`."""
    rt = open_for(args, sync=False)
    try:
        if args.action == "retry":
            count = retry_failed(rt.db, utc_now())
            print(f"Queued {count} failed delivery(ies) again; `exitplan run` sends them.")
            return 0
        rows = list_deliveries(rt.db, status="failed" if args.failed else None)
        if not rows:
            print("No failed deliveries." if args.failed else "The outbox is empty.")
            return 0
        for row in rows:
            error = f" — {row.last_error}" if row.last_error else ""
            print(
                f"#{row.id} event #{row.event_id} subscription #{row.subscription_id} "
                f"{row.purpose} {row.status} after {row.attempts} attempt(s){error}"
            )
        return 0
    finally:
        rt.close()


def split_event(args: argparse.Namespace) -> int:
    """`exitplan events split EVENT SOURCE`."""
    digits = args.event.strip().lstrip("#")
    if not digits.isdigit():
        print(f"exitplan: {args.event!r} is not an event number like 12 or #12", file=sys.stderr)
        return 2
    rt = open_for(args, sync=False)
    try:
        try:
            result = split_source(rt.db, int(digits), args.source, utc_now())
        except SplitError as error:
            print(f"exitplan: {error}", file=sys.stderr)
            return 1
        source = result.source
        role = ROLE_LABELS.get(source.feed_role, source.feed_role)
        told = (
            f"{result.alerts} alert(s) saying so queued; `exitplan run` sends them."
            if result.alerts
            else "No channel is told (none wants it, or it is old news from a first read)."
        )
        print(
            clean(
                f"Split source {source.number} ({role}: {source.title}) off event "
                f"#{result.split_from}: it is event #{result.event_id} now. {told}"
            )
        )
        return 0
    finally:
        rt.close()


def db_info(args: argparse.Namespace) -> int:
    """`exitplan db`: where the database is and what it holds."""
    rt = open_for(args, sync=False)
    try:
        print(f"Database: {rt.settings.db_path}")
        print(f"Schema version: {schema_version(rt.db)}")
        print(
            f"Entries: {count_entries(rt.db)}, events: {count_events(rt.db)}, "
            f"deliveries pending: {count_deliveries(rt.db, 'pending')}, "
            f"failed: {count_deliveries(rt.db, 'failed')}"
        )
        print("Back it up with `exitplan db backup PATH`.")
        return 0
    finally:
        rt.close()


def db_backup(args: argparse.Namespace) -> int:
    """`exitplan db backup PATH`."""
    target = args.path
    if target.exists():
        print(f"exitplan: {target} exists; choose a new file name", file=sys.stderr)
        return 1
    rt = open_for(args, sync=False)
    try:
        backup_db(rt.db, target)
        print(f"Backed up {rt.settings.db_path} to {target}.")
        return 0
    finally:
        rt.close()


def db_restore(args: argparse.Namespace) -> int:
    """`exitplan db restore PATH`: check the backup, save the current database, then copy."""
    settings: Settings = args.settings
    done = restore_db(args.path, settings.db_path, utc_now())
    print(
        f"Checked {args.path}: an exitplan database, integrity ok, schema version "
        f"{done.backup.schema_version} (this exitplan: {done.backup.known_version})."
    )
    if done.saved_as is not None:
        print(f"Saved the current database as {done.saved_as}.")
    print(
        f"Restored {settings.db_path} from {args.path}; schema version now "
        f"{done.schema_version}. Start exitplan again."
    )
    return 0


def _classification_json(result: Classification) -> dict[str, object]:
    return {
        "kinds": list(result.kinds),
        "severity": result.severity,
        "deadline": result.deadline.date.isoformat() if result.deadline else None,
        "deadline_phrase": result.deadline.phrase if result.deadline else None,
        "evidence": [
            {"label": e.label, "phrase": e.phrase, "reason": e.reason} for e in result.evidence
        ],
    }


def _print_classification(title: str, result: Classification, published: datetime) -> None:
    kinds = ", ".join(result.kinds) or "other (nothing exitplan alerts on)"
    print(clean(f"{title}" if title else "(text)"))
    print(f"  kinds: {kinds}")
    print(f"  severity: {result.severity}")
    if result.deadline:
        left = (result.deadline.date - published.date()).days
        print(
            clean(
                f"  deadline: {result.deadline.date.isoformat()} ({left} days after "
                f'publication), from "{result.deadline.phrase}"'
            )
        )
    for item in result.evidence:
        print(clean(f'  evidence [{item.label}]: "{item.phrase}" — {item.reason}'))


def check(args: argparse.Namespace) -> int:
    """`exitplan check TEXT|--file F|--url U [--published DATE] [--json]`."""
    published = parse_when(args.published)
    if args.url:
        return _check_url(args, published)
    if args.file is not None:
        try:
            text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text("utf-8")
        except OSError as error:
            print(f"exitplan: cannot read {args.file}: {error.strerror}", file=sys.stderr)
            return 1
    else:
        text = args.text
    title, _, body = text.strip().partition("\n")
    result = classify(title, body, published)
    if args.json:
        print(json.dumps(_classification_json(result), ensure_ascii=False, indent=2))
    else:
        _print_classification("", result, published)
    return 0


def _check_url(args: argparse.Namespace, fallback: datetime) -> int:
    settings: Settings = args.settings
    limits = FetchLimits(total_timeout=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes)

    async def fetch() -> FetchResult:
        guard = AddressGuard(allow_private=settings.allow_private_feeds)
        async with Fetcher(limits, guard=guard) as fetcher:
            return await fetcher.fetch(FetchRequest(args.url), utc_now())

    result = asyncio.run(fetch())
    if result.outcome != "ok" or result.body is None:
        print(
            f"exitplan: could not fetch {args.url}: {result.error_kind}: {result.error}",
            file=sys.stderr,
        )
        return 1
    try:
        parsed = parse_feed(
            result.body, url=args.url, fetched_at=utc_now(), content_type=result.content_type
        )
    except NotAFeed as error:
        print(f"exitplan: {args.url}: {error}", file=sys.stderr)
        return 1
    records = []
    for entry in parsed.entries:
        published = entry.published or entry.updated or fallback
        outcome = classify(entry.title, entry.text, published)
        if args.json:
            records.append(
                {"key": entry.key, "title": entry.title, **_classification_json(outcome)}
            )
        else:
            _print_classification(entry.title, outcome, published)
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
    return 0


def eval_(args: argparse.Namespace) -> int:
    """`exitplan eval CORPUS.jsonl [--predictions FILE]`."""
    try:
        items = load_corpus(args.corpus)
    except (OSError, ValueError) as error:
        print(f"exitplan: {error}", file=sys.stderr)
        return 1
    report = evaluate(items)
    print(format_report(report))
    if args.predictions is not None:
        with args.predictions.open("w", encoding="utf-8") as out:
            for item in items:
                record = prediction_record(item, classify(item.title, item.text, item.published))
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"Predictions written to {args.predictions}.")
    return 0
