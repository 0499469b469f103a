"""`exitplan subscribe/unsubscribe PROVIDER --to URL` and the listing of Apprise targets.

The URL is stored once in `apprise_targets`; the subscription's channel is `target:<id>`.
Apprise URLs are chosen by the operator, so they are trusted: the feed address guard
does not apply to them (a webhook on the local network is a normal target).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime

from bot import core
from bot.apprise_app import check_url, mask_url
from bot.commands import open_for, print_reply
from bot.notify import Target
from bot.replies import Reply, Section, subscription_line
from bot.runner import utc_now
from bot.runtime import Runtime
from storage.apprise_targets import (
    APPRISE_PLATFORM,
    APPRISE_WORKSPACE,
    AppriseTarget,
    add_target,
    find_target,
    list_targets,
    remove_target_if_unused,
)
from storage.subscriptions import list_subscriptions


def apprise_target(target: AppriseTarget) -> Target:
    """Where the dispatcher sends a target's alerts."""
    return Target(APPRISE_PLATFORM, APPRISE_WORKSPACE, target.channel)


def _describe(target: AppriseTarget) -> str:
    return f"{mask_url(target.url)} (apprise target {target.id})"


def cmd_subscribe_url(
    rt: Runtime,
    url: str,
    provider_name: str,
    kinds: list[str],
    now: datetime,
    *,
    match: Sequence[str] = (),
    exclude: Sequence[str] = (),
    min_severity: str | None = None,
) -> Reply:
    """Subscribe an Apprise URL to a provider, storing the URL once; filters as the console's."""
    problem = check_url(url)
    if problem:
        return Reply(ok=False, title=problem)
    known = find_target(rt.db, url)
    stored = known or add_target(rt.db, url, now)
    reply = core.cmd_subscribe(
        rt,
        apprise_target(stored),
        provider_name,
        kinds,
        now,
        match=match,
        exclude=exclude,
        min_severity=min_severity,
    )
    if not reply.ok:
        if known is None:
            remove_target_if_unused(rt.db, stored.id)
        return reply
    return Reply(ok=True, title=f"{reply.title} Alerts go to {_describe(stored)}.")


def cmd_unsubscribe_url(rt: Runtime, url: str, provider_name: str) -> Reply:
    """Stop an Apprise URL's alerts for a provider; forget the URL once nothing uses it."""
    stored = find_target(rt.db, url)
    if stored is None:
        return Reply(ok=False, title="No subscription sends to that URL.")
    reply = core.cmd_unsubscribe(rt, apprise_target(stored), provider_name)
    if reply.ok and remove_target_if_unused(rt.db, stored.id):
        return Reply(ok=True, title=f"{reply.title} {mask_url(url)} is no longer stored.")
    return reply


def target_replies(rt: Runtime) -> list[Reply]:
    """One reply per Apprise target: its masked URL and its subscriptions."""
    replies = []
    for stored in list_targets(rt.db):
        subs = list_subscriptions(
            rt.db, platform=APPRISE_PLATFORM, workspace=APPRISE_WORKSPACE, channel=stored.channel
        )
        lines = tuple(subscription_line(rt, sub) for sub in subs)
        replies.append(
            Reply(
                ok=True,
                title=f"{_describe(stored)}: {len(subs)} subscription(s):",
                sections=(Section("", lines),),
            )
        )
    return replies


def subscribe(args: argparse.Namespace) -> int:
    """`exitplan subscribe PROVIDER --to URL [--kinds ...] [--match ...] [--exclude ...]`."""
    rt = open_for(args, sync=False)
    try:
        reply = cmd_subscribe_url(
            rt,
            args.to,
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


def unsubscribe(args: argparse.Namespace) -> int:
    """`exitplan unsubscribe PROVIDER --to URL`."""
    rt = open_for(args, sync=False)
    try:
        return print_reply(cmd_unsubscribe_url(rt, args.to, args.provider))
    finally:
        rt.close()


def print_targets(rt: Runtime) -> None:
    """Print every Apprise target with its subscriptions (the URLs masked)."""
    for reply in target_replies(rt):
        print()  # noqa: T201 - a command's output
        print_reply(reply)
