"""What each `exitplan` command does; bot/cli.py parses the arguments and calls these."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import threading
from datetime import UTC, date, datetime, timedelta

from bot import core
from bot.adapters import AdapterError, start_adapters
from bot.apprise_app import AppriseNotifier
from bot.console import ConsoleNotifier, clean
from bot.heartbeat import Heartbeat
from bot.http_app import HttpServer, HttpServerError, serve_exitplan
from bot.metrics import Metrics
from bot.notify import Notifier, Target
from bot.progress import ProgressBar
from bot.providers_io import find_feed
from bot.replies import source_lines
from bot.runner import Runner, install_stop_handlers, utc_now
from bot.runtime import CONSOLE_WORKSPACE, Runtime, open_runtime
from bot.settings import Settings
from feeds.model import DEFAULT_KINDS
from feeds.watcher import PollSummary, poll_once
from storage import EVERY_PROVIDER, FeedSource
from storage.events import list_events
from storage.providers import add_user_provider
from storage.reminders import PlannedReminder, due_reminders, reminder_plan
from storage.subscriptions import list_subscriptions, subscribe

_AGE = re.compile(r"^(\d+)([dhw])$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def console_target(settings: Settings) -> Target:
    return Target("console", CONSOLE_WORKSPACE, settings.console_channel)


def print_reply(reply: core.Reply) -> int:
    stream = sys.stdout if reply.ok else sys.stderr
    print(clean(reply.text), file=stream)
    return 0 if reply.ok else 1


def open_for(args: argparse.Namespace, *, sync: bool = True) -> Runtime:
    settings: Settings = args.settings
    return open_runtime(settings, utc_now(), sync=sync)


def _ensure_console_default(rt: Runtime) -> None:
    """Without chat tokens and without any subscription, the console hears every provider."""
    if rt.settings.chat_configured or list_subscriptions(rt.db):
        return
    target = console_target(rt.settings)
    subscribe(
        rt.db,
        platform=target.platform,
        workspace=target.workspace,
        channel=target.channel,
        provider=EVERY_PROVIDER,
        kinds=DEFAULT_KINDS,
        now=utc_now(),
    )
    print(
        "No subscriptions yet: the console will show shutdowns, data loss, security and "
        "price news from every provider. Narrow it with `exitplan subscribe PROVIDER` "
        "and `exitplan unsubscribe all`.",
        file=sys.stderr,
    )


def _print_summary(summary: PollSummary) -> None:
    line = (
        f"Polled {summary.polled} feed(s): {summary.not_modified} not modified, "
        f"{summary.new_entries} new and {summary.updated_entries} updated entries, "
        f"{summary.events} classified, {summary.alerts_queued} alert(s) queued, "
        f"{len(summary.failures)} failure(s)"
        + (f", {summary.gone} feed(s) now gone." if summary.gone else ".")
    )
    print(line, file=sys.stderr)
    if summary.baselined:
        print(
            f"{summary.baselined} feed(s) read for the first time: their entries are a "
            "silent baseline (see `exitplan events`); only news from now on is alerted.",
            file=sys.stderr,
        )
    for failure in summary.failures:
        print(
            f"  failed: {failure.provider} {failure.url} — {failure.kind}: {failure.message} "
            f"(retried later with backoff; {failure.failures_in_a_row} in a row)",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    """`exitplan run`: the main job, with every chat adapter whose token is set."""
    stop = threading.Event()
    install_stop_handlers(stop)
    rt = open_for(args)
    port = rt.settings.http_port
    http = HttpServer(rt.settings.http_host, port) if port is not None else None
    try:
        adapters = start_adapters(rt.settings, http_server=http)
    except AdapterError as error:
        print(f"exitplan: {error}", file=sys.stderr)
        rt.close()
        return 2
    notifiers: dict[str, Notifier] = {a.platform: a.notifier for a in adapters}
    if not adapters:
        _ensure_console_default(rt)
    notifiers["console"] = ConsoleNotifier(sys.stdout)
    notifiers["apprise"] = AppriseNotifier(rt.settings.db_path)
    heartbeat, metrics = Heartbeat(utc_now()), Metrics(notifiers)
    runner = Runner(rt, notifiers, heartbeat=heartbeat, metrics=metrics, stop=stop)
    chats = ", ".join(a.platform for a in adapters) or "the console only"
    print(
        f"exitplan is watching {len(rt.catalog)} providers and sending to {chats}; "
        f"database {rt.settings.db_path}. Ctrl-C stops it.",
        file=sys.stderr,
    )
    try:
        if http is not None:
            serve_exitplan(http, rt.settings, heartbeat=heartbeat, metrics=metrics)
            print(f"Status page, /healthz and /metrics on {http.url}/", file=sys.stderr)
        runner.run()
    except HttpServerError as error:
        print(f"exitplan: {error}", file=sys.stderr)
        return 2
    finally:
        if http is not None:
            http.stop()
        for adapter in adapters:
            adapter.stop()
        rt.close()
    return 0


def poll(args: argparse.Namespace) -> int:
    """`exitplan poll [--once]`."""
    rt = open_for(args)
    _ensure_console_default(rt)
    notifiers: dict[str, Notifier] = {
        "console": ConsoleNotifier(sys.stdout),
        "apprise": AppriseNotifier(rt.settings.db_path),
    }
    if not args.once:
        runner = Runner(rt, notifiers, on_poll=_print_summary)
        runner.install_signal_handlers()
        runner.run()
        rt.close()
        return 0
    bar = ProgressBar(sys.stderr, "Polling feeds")
    summary = poll_once(
        rt.db, utc_now(), rt.poll_settings(), progress=bar.update, every_feed=args.now
    )
    bar.finish()
    Runner(rt, notifiers).dispatch()
    _print_summary(summary)
    rt.close()
    return 1 if summary.polled and len(summary.failures) == summary.polled else 0


def providers(args: argparse.Namespace) -> int:
    """`exitplan providers [QUERY]`."""
    rt = open_for(args, sync=False)
    try:
        return print_reply(core.cmd_providers(rt, args.query))
    finally:
        rt.close()


def providers_add(args: argparse.Namespace) -> int:
    """`exitplan providers add SLUG URL [--name NAME] [--role ROLE] [--no-discover]`."""
    slug = args.slug.strip().lower()
    if not _SLUG.match(slug):
        print(
            f"exitplan: {args.slug!r} is not a valid slug; use lowercase letters, digits "
            "and dashes, e.g. acme-cloud",
            file=sys.stderr,
        )
        return 2
    if not re.match(r"^https?://[^\s/]+", args.url):
        print(f"exitplan: {args.url!r} is not an http(s) URL", file=sys.stderr)
        return 2
    rt = open_for(args, sync=False)
    try:
        url, role = args.url, args.role
        if not args.no_discover:
            found = find_feed(rt, args.url, utc_now())
            said = found.describe()
            if found.error is not None:
                print(f"exitplan: {said}; adding the address as it is.", file=sys.stderr)
            elif found.feed_url is None:
                print(
                    f"exitplan: {said}. Give the feed's own address, or add this one as it "
                    "is with --no-discover.",
                    file=sys.stderr,
                )
                return 1
            else:
                print(said[:1].upper() + said[1:])
                url = found.feed_url
                role = role or ("status" if found.software else "news")
        role = role or "news"
        known = rt.catalog.get(slug)
        name = args.name or (known.name if known else slug)
        add_user_provider(
            rt.db,
            slug=slug,
            name=name,
            feeds=[FeedSource(slug, url, role, "user")],
            now=utc_now(),
        )
        what = f"another {role} feed of {known.name}" if known else f"{name} ({slug})"
        print(f"Added {what}: {url}. It is polled from the next cycle on.")
        return 0
    finally:
        rt.close()


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    age = _AGE.match(text.strip())
    if age:
        unit = {"d": "days", "h": "hours", "w": "weeks"}[age.group(2)]
        return utc_now() - timedelta(**{unit: int(age.group(1))})
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise SystemExit(
            f"exitplan: --since {text!r} is neither a date (2026-03-01) nor an age (30d)"
        ) from None


def events(args: argparse.Namespace) -> int:
    """`exitplan events [--provider P] [--kind K] [--since WHEN] [--all]`."""
    rt = open_for(args, sync=False)
    try:
        slug = None
        if args.provider:
            provider = rt.catalog.resolve(args.provider)
            if provider is None:
                return print_reply(core.unknown_provider(rt, args.provider))
            slug = provider.slug
        kinds, error = core.parse_kinds(args.kind) if args.kind else ((), None)
        if error:
            return print_reply(core.Reply(ok=False, title=error))
        found = list_events(
            rt.db,
            provider=slug,
            kinds=kinds,
            since=_since(args.since),
            include_other=args.all,
            limit=args.limit,
        )
        if not found:
            print("No events match. Poll first (`exitplan poll --once`) or widen the filters.")
            return 0
        now = utc_now()
        for event in found:
            print(clean(f"{rt.provider_name(event.provider)}: {core.event_line(event, now)}"))
            for line in source_lines(event):
                print(clean(f"    {line}"))
        return 0
    finally:
        rt.close()


def subscribe_cmd(args: argparse.Namespace) -> int:
    """`exitplan subscribe PROVIDER [--kinds ...] [--to URL]` for the console or a URL."""
    if args.to:
        from bot import apprise_commands  # noqa: PLC0415 - it imports this module

        return apprise_commands.subscribe(args)
    rt = open_for(args, sync=False)
    try:
        target = console_target(rt.settings)
        reply = core.cmd_subscribe(
            rt,
            target,
            args.provider,
            args.kinds,
            utc_now(),
            match=args.match,
            exclude=args.exclude,
            min_severity=args.min_severity,
        )
        return print_reply(reply)
    finally:
        rt.close()


def unsubscribe_cmd(args: argparse.Namespace) -> int:
    """`exitplan unsubscribe PROVIDER [--to URL]` for the console or a URL."""
    if args.to:
        from bot import apprise_commands  # noqa: PLC0415 - it imports this module

        return apprise_commands.unsubscribe(args)
    rt = open_for(args, sync=False)
    try:
        return print_reply(core.cmd_unsubscribe(rt, console_target(rt.settings), args.provider))
    finally:
        rt.close()


def subscriptions(args: argparse.Namespace) -> int:
    """`exitplan subscriptions`: the console's subscriptions, then each Apprise URL's."""
    from bot import apprise_commands  # noqa: PLC0415 - it imports this module

    rt = open_for(args, sync=False)
    try:
        status = print_reply(core.cmd_list(rt, console_target(rt.settings)))
        apprise_commands.print_targets(rt)
        return status
    finally:
        rt.close()


def status(args: argparse.Namespace) -> int:
    """`exitplan status PROVIDER`."""
    rt = open_for(args, sync=False)
    try:
        reply = core.cmd_status(rt, args.provider, utc_now(), console_target(rt.settings))
        return print_reply(reply)
    finally:
        rt.close()


def _reminder_line(rt: Runtime, item: PlannedReminder) -> str:
    sub = item.subscription
    plural = "s" if item.days_before != 1 else ""
    when = "deadline passed" if item.final else f"{item.days_before} day{plural} before"
    state = " (sent)" if item.sent else ""
    return clean(
        f"{item.due_on.isoformat()}  {when:<16} {sub.platform}:{sub.workspace}/{sub.channel}  "
        f"#{item.event.id} {rt.provider_name(item.event.provider)}: {item.event.title} "
        f"(deadline {item.deadline.isoformat()}){state}"
    )


def reminders(args: argparse.Namespace) -> int:
    """`exitplan reminders [--as-of DATE]`."""
    rt = open_for(args, sync=False)
    try:
        offsets = rt.settings.reminder_days
        if args.as_of:
            as_of = parse_when(args.as_of).date()
            due = due_reminders(rt.db, as_of, offsets)
            print(f"Reminders that would be sent on {as_of.isoformat()}: {len(due)}")
            for item in due:
                print(_reminder_line(rt, item))
            return 0
        today = utc_now().date()
        plan = [p for p in reminder_plan(rt.db, today, offsets) if not p.sent]
        if not plan:
            print("No reminders planned: no subscribed channel has a deadline ahead.")
            return 0
        print(f"{len(plan)} pending reminder(s), offsets {', '.join(map(str, offsets))} days:")
        for item in plan:
            print(_reminder_line(rt, item))
        return 0
    finally:
        rt.close()


def usage(args: argparse.Namespace) -> int:
    """`exitplan usage set PROVIDER SIZE` and `exitplan usage [PROVIDER]`."""
    words: list[str] = args.words
    if words[:1] == ["set"] and len(words) != 3:
        print(
            "exitplan: usage set takes a provider and a size, e.g. usage set b2 12TB",
            file=sys.stderr,
        )
        return 2
    if len(words) > 1 and words[0] != "set":
        print("exitplan: to record usage, write `usage set PROVIDER SIZE`", file=sys.stderr)
        return 2
    provider, amount = (
        (words[1], words[2]) if words[:1] == ["set"] else (words[0] if words else None, None)
    )
    rt = open_for(args, sync=False)
    try:
        return print_reply(
            core.cmd_usage(rt, console_target(rt.settings), provider, amount, utc_now())
        )
    finally:
        rt.close()


def checklist(args: argparse.Namespace) -> int:
    """`exitplan checklist EVENT [--done N ...] [--undo N ...]`."""
    rt = open_for(args, sync=False)
    try:
        reply = core.cmd_checklist(
            rt,
            console_target(rt.settings),
            args.event,
            utc_now(),
            done=args.done,
            undo=args.undo,
            user=args.by or getpass.getuser(),
        )
        return print_reply(reply)
    finally:
        rt.close()


def parse_when(text: str | None) -> datetime:
    if not text:
        return utc_now()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"exitplan: --published {text!r} is not a date like 2026-03-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
