"""The console's `pause`, `resume` and `health`; bot/cli.py parses the arguments."""

from __future__ import annotations

import argparse
import getpass

from bot.commands import console_target, open_for, print_reply
from bot.feed_health import cmd_health
from bot.pause import cmd_pause, cmd_resume
from bot.runner import utc_now


def pause(args: argparse.Namespace) -> int:
    """`exitplan pause PROVIDER [--by WHO]`."""
    rt = open_for(args, sync=False)
    try:
        user = args.by or getpass.getuser()
        target = console_target(rt.settings)
        return print_reply(cmd_pause(rt, target, args.provider, utc_now(), user=user))
    finally:
        rt.close()


def resume(args: argparse.Namespace) -> int:
    """`exitplan resume PROVIDER`."""
    rt = open_for(args, sync=False)
    try:
        target = console_target(rt.settings)
        return print_reply(cmd_resume(rt, target, args.provider, utc_now()))
    finally:
        rt.close()


def health(args: argparse.Namespace) -> int:
    """`exitplan health`: the failing feeds of the console's providers."""
    rt = open_for(args, sync=False)
    try:
        return print_reply(cmd_health(rt, console_target(rt.settings), utc_now()))
    finally:
        rt.close()
