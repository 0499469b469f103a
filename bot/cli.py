"""The `exitplan` command line: a thin shell over the core, the watcher and storage."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import admin_commands, channel_commands, commands, providers_io
from bot.logs import configure_logging
from bot.settings import VENDOR_ENV, SettingsError, load_settings
from feeds.model import SEVERITIES
from storage import StorageError

Handler = Callable[[argparse.Namespace], int]
CommandFactory = Callable[[str, str, Handler], argparse.ArgumentParser]

_DESCRIPTION = (
    "exitplan watches cloud and storage providers' status pages and blogs, and warns "
    "your channels when one announces a shutdown, a price change, data loss, a breach "
    "or an outage."
)
_EPILOG = (
    "Settings come from --config (or EXITPLAN_CONFIG) and EXITPLAN_* environment "
    "variables; see README.md. Each command has its own --help."
)
_TO_HELP = (
    "send them to this Apprise URL instead (Teams, email, Matrix, ntfy, Telegram, "
    "json:// webhooks…); stored once, shown masked"
)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML settings file (default: $EXITPLAN_CONFIG, else built-in defaults)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree, with help for every command."""
    parser = argparse.ArgumentParser(prog="exitplan", description=_DESCRIPTION, epilog=_EPILOG)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_common(p)
        p.set_defaults(handler=handler)
        return p

    _watch_commands(command)
    _channel_commands(command)
    _tool_commands(command)
    return parser


def _watch_commands(command: CommandFactory) -> None:
    """Commands that poll feeds and show what they found."""
    command("run", "poll feeds, send alerts and reminders until stopped (Ctrl-C)", commands.run)

    p = command("poll", "poll the feeds that are due and send what they found", commands.poll)
    p.add_argument("--once", action="store_true", help="one cycle, print a summary, exit")
    p.add_argument(
        "--now",
        action="store_true",
        help="with --once: poll every feed now, even those not due or backing off",
    )

    p = command(
        "providers",
        "list known providers (or those matching QUERY); `providers add` adds one, "
        "`providers import`/`export` read and write OPML",
        commands.providers,
    )
    p.add_argument("query", nargs="?", default="", help="part of a name, alias or category")

    p = command(
        "events",
        "list classified announcements, newest first, with the sources of merged ones; "
        "`events split EVENT SOURCE` undoes a wrong merge",
        commands.events,
    )
    p.add_argument("--provider", help="only this provider (name or alias)")
    p.add_argument("--kind", action="append", default=[], help="only this kind (repeatable)")
    p.add_argument("--since", help="only since this date (YYYY-MM-DD) or age (e.g. 30d)")
    p.add_argument("--all", action="store_true", help="include unclassified news")
    p.add_argument("--limit", type=int, default=30, help="at most this many (default 30)")

    p = command("feeds", "every polled feed: ok, failing (and why) or gone", admin_commands.feeds)
    p.add_argument("--failing", action="store_true", help="only feeds failing or gone")


def _channel_commands(command: CommandFactory) -> None:
    """Commands for the console channel: subscriptions, status and checklists."""
    p = command(
        "subscribe",
        "send a provider's alerts to the console, or with --to to an Apprise URL",
        commands.subscribe_cmd,
    )
    p.add_argument("provider", help="provider name or alias, or `all`")
    p.add_argument("--to", metavar="URL", help=_TO_HELP)
    p.add_argument(
        "--kinds",
        nargs="+",
        default=[],
        metavar="KIND",
        help="shutdown data_loss security price_change outage all (default: all but outage)",
    )
    _filter_options(p)
    p = command("unsubscribe", "stop a provider's alerts on the console", commands.unsubscribe_cmd)
    p.add_argument("provider", help="provider name or alias, or `all`")
    p.add_argument("--to", metavar="URL", help="stop them at this Apprise URL instead")
    p = command(
        "pause", "hold a subscription's alerts, keeping its settings", channel_commands.pause
    )
    p.add_argument("provider", help="provider name or alias, or `all`")
    p.add_argument("--by", default=None, help="who paused it (default: your login name)")
    p = command(
        "resume",
        "take a paused subscription up again; pending deadlines and open incidents follow",
        channel_commands.resume,
    )
    p.add_argument("provider", help="provider name or alias, or `all`")
    command(
        "health",
        "failing feeds of the console's providers, with their last error",
        channel_commands.health,
    )
    command(
        "subscriptions",
        "list the console's subscriptions and those of Apprise URLs",
        commands.subscriptions,
    )

    p = command(
        "status",
        "a provider's state, announcements, deadlines, checklist progress and feeds; "
        "without PROVIDER, every subscription of the console, worst first",
        commands.status,
    )
    p.add_argument("provider", nargs="?", default=None, help="provider name or alias")

    p = command(
        "usage",
        "`usage set PROVIDER SIZE` records how much the console's team keeps there (12TB), so "
        "price-change alerts say what they cost; `usage [PROVIDER]` shows it",
        commands.usage,
    )
    p.add_argument("words", nargs="*", metavar="set PROVIDER SIZE | PROVIDER")

    p = command(
        "reminders",
        "the deadline reminder plan: each pending reminder with its date, channel and event",
        commands.reminders,
    )
    p.add_argument("--as-of", metavar="DATE", help="show what would be sent on this date")

    p = command(
        "checklist", "show the console's checklist for an event, or tick steps", commands.checklist
    )
    p.add_argument("event", help="the event number, as `exitplan events` shows it")
    p.add_argument("--done", nargs="+", default=[], metavar="STEP", help="tick these steps")
    p.add_argument("--undo", nargs="+", default=[], metavar="STEP", help="untick these steps")
    p.add_argument("--by", default=None, help="who did it (default: your login name)")


def _filter_options(p: argparse.ArgumentParser) -> None:
    """`subscribe`'s filters: match terms, exclusions and a minimum severity."""
    p.add_argument(
        "--match",
        nargs="+",
        action="extend",
        default=[],
        metavar="TERM",
        help="only news naming one of these (a region, component or product: us-east-1, "
        "B2, 'Spaces NYC3'); whole words, any case",
    )
    p.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        default=[],
        metavar="TERM",
        help="never news naming one of these",
    )
    p.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default=None,
        metavar="LEVEL",
        help="only news at least this severe: " + ", ".join(SEVERITIES),
    )


def _tool_commands(command: CommandFactory) -> None:
    """Operator tools: classification, the outbox and the database."""
    p = command("check", "classify a text and show the evidence", admin_commands.check)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("text", nargs="?", help="the announcement text")
    source.add_argument("--file", type=Path, help="read the text from a file ('-' for stdin)")
    source.add_argument("--url", help="fetch a feed and classify each of its entries")
    p.add_argument("--published", help="publication date, for relative deadlines (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command(
        "eval", "measure the classifier on a labelled corpus (JSON lines)", admin_commands.eval_
    )
    p.add_argument(
        "corpus", type=Path, help="JSON lines with id, title, text, published, kinds, deadline"
    )
    p.add_argument("--predictions", type=Path, metavar="FILE", help="write one JSON line per item")

    p = command(
        "deliveries",
        "list outbox rows; `deliveries retry` resends failed ones",
        admin_commands.deliveries,
    )
    p.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    p.add_argument("--failed", action="store_true", help="only failed deliveries")

    p = command("db", "database maintenance", admin_commands.db_info)
    db_sub = p.add_subparsers(dest="db_command", metavar="ACTION")
    backup = db_sub.add_parser("backup", help="copy the live database (SQLite online backup)")
    _add_common(backup)
    backup.add_argument("path", type=Path, help="where to write the copy")
    backup.set_defaults(handler=admin_commands.db_backup)
    restore = db_sub.add_parser(
        "restore",
        help="replace the database with a backup, after checking it and saving the current one",
    )
    _add_common(restore)
    restore.add_argument("path", type=Path, help="the backup to restore (from `db backup`)")
    restore.set_defaults(handler=admin_commands.db_restore)


def build_providers_add_parser() -> argparse.ArgumentParser:
    """`exitplan providers add`: its own parser, since `providers` takes a free query."""
    p = argparse.ArgumentParser(
        prog="exitplan providers add",
        description="Add a provider (or another feed of a known provider) to watch.",
    )
    _add_common(p)
    p.add_argument("slug", help="short lowercase name, e.g. acme-cloud (a known slug extends it)")
    p.add_argument(
        "url", help="the feed's http(s) URL, or a status page or blog whose feed exitplan finds"
    )
    p.add_argument("--name", help="display name (default: the slug)")
    p.add_argument(
        "--role",
        choices=["status", "news"],
        default=None,
        help="default: status when a status-page software's feed is found, else news",
    )
    p.add_argument(
        "--no-discover",
        action="store_true",
        help="add URL as it is, without fetching it to look for a feed",
    )
    p.set_defaults(handler=commands.providers_add, command="providers add")
    return p


def build_providers_import_parser() -> argparse.ArgumentParser:
    """`exitplan providers import FILE.opml`."""
    p = argparse.ArgumentParser(
        prog="exitplan providers import",
        description="Add the providers and feeds of an OPML file; says what it skipped and why.",
    )
    _add_common(p)
    p.add_argument("file", type=Path, help="an OPML file ('-' reads standard input)")
    p.set_defaults(handler=providers_io.providers_import, command="providers import")
    return p


def build_providers_export_parser() -> argparse.ArgumentParser:
    """`exitplan providers export [--output FILE] [--all]`."""
    p = argparse.ArgumentParser(
        prog="exitplan providers export",
        description="Write the providers and feeds you added (config file and `providers "
        "add`) as OPML.",
    )
    _add_common(p)
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here, not stdout")
    p.add_argument("--all", action="store_true", help="the whole catalog too")
    p.set_defaults(handler=providers_io.providers_export, command="providers export")
    return p


def build_events_split_parser() -> argparse.ArgumentParser:
    """`exitplan events split EVENT SOURCE`: its own parser, since `events` takes options."""
    p = argparse.ArgumentParser(
        prog="exitplan events split",
        description="Make one source of a merged event its own event again (undo a wrong "
        "merge); `exitplan events` numbers the sources and says why they were merged.",
    )
    _add_common(p)
    p.add_argument("event", help="the event number, as `exitplan events` shows it")
    p.add_argument("source", type=int, help="the number of the source to split off")
    p.set_defaults(handler=admin_commands.split_event, command="events split")
    return p


#: `providers` takes a free query, so these words after it get parsers of their own.
_PROVIDERS_ACTIONS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "add": build_providers_add_parser,
    "import": build_providers_import_parser,
    "export": build_providers_export_parser,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status (0 ok, 1 failed, 2 bad usage or settings)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["providers"] and args_list[1:2] and args_list[1] in _PROVIDERS_ACTIONS:
        args = _PROVIDERS_ACTIONS[args_list[1]]().parse_args(args_list[2:])
    elif args_list[:2] == ["events", "split"]:
        args = build_events_split_parser().parse_args(args_list[2:])
    else:
        args = build_parser().parse_args(args_list)
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        args.settings = settings = load_settings(args.config)
        level = settings.log_level if args.command == "run" else "WARNING"
        configure_logging(
            logging.DEBUG if args.verbose else level,
            settings.log_format,
            secrets=[getattr(settings, name) or "" for name in VENDOR_ENV],
        )
        handler: Handler = args.handler
        return handler(args)
    except SettingsError as error:
        print(f"exitplan: {error}", file=sys.stderr)
        return 2
    except StorageError as error:
        print(f"exitplan: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`exitplan events | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
