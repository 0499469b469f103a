"""The `/exitplan` command on Slack: its words in, the core's reply out (no SDK here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot import core
from bot.checklists import Checklist
from bot.feed_health import cmd_health
from bot.filters import filter_words, split_words
from bot.notify import Target
from bot.pause import cmd_pause, cmd_resume
from bot.runtime import Runtime

CHECKLIST_USAGE = "Usage: `/exitplan checklist EVENT [done N...] [undo N...]`"
ADMINS_ONLY = "Only the people in EXITPLAN_SLACK_ADMINS may change subscriptions."
FILTER_USAGE = (
    ", narrowed by `match:TERM`, `exclude:TERM` and `min:LEVEL` (quote a term with spaces: "
    '`match:"Spaces NYC3"`)'
)


@dataclass(frozen=True)
class CommandResult:
    """A reply, whether the whole channel should see it, and a checklist it changed."""

    reply: core.Reply
    public: bool = False
    ticked_event: int | None = None


def run_command(
    rt: Runtime,
    target: Target,
    user: str,
    text: str,
    now: datetime,
    *,
    may_change: Callable[[str], bool],
) -> CommandResult:
    """Run `/exitplan TEXT` for a user in a channel.

    Only a successful subscribe, unsubscribe, pause or resume is public; everything else
    answers the caller alone. `may_change(user)` says whether the user may change subscriptions.
    """
    words = text.split()
    verb, args = (words[0].lower(), words[1:]) if words else ("help", [])
    if verb == "subscribe":
        args = split_words(text)[1:]  # match:"Spaces NYC3" is one word
    if verb in ("subscribe", "unsubscribe", "pause", "resume"):
        return _change(rt, target, user, verb, args, now=now, may_change=may_change)
    if verb == "checklist":
        return _checklist(rt, target, user, args, now)
    commands: dict[str, Callable[[], core.Reply]] = {
        "list": lambda: core.cmd_list(rt, target),
        "providers": lambda: core.cmd_providers(rt, " ".join(args)),
        "status": lambda: core.cmd_status(rt, " ".join(args) or None, now, target),
        "health": lambda: cmd_health(rt, target, now),
        "help": core.cmd_help,
    }
    command = commands.get(verb)
    if command is None:
        help_reply = core.cmd_help()
        title = f"Unknown command {verb!r}. {help_reply.title}"
        return CommandResult(core.Reply(ok=False, title=title, sections=help_reply.sections))
    return CommandResult(command())


def _change(
    rt: Runtime,
    target: Target,
    user: str,
    verb: str,
    args: list[str],
    *,
    now: datetime,
    may_change: Callable[[str], bool],
) -> CommandResult:
    if not args:
        usage = "PROVIDER [KIND...]" if verb == "subscribe" else "PROVIDER"
        title = f"Usage: `/exitplan {verb} {usage}`" + (FILTER_USAGE if verb == "subscribe" else "")
        return CommandResult(core.Reply(ok=False, title=title))
    if not may_change(user):
        return CommandResult(core.Reply(ok=False, title=ADMINS_ONLY))
    if verb == "subscribe":
        words = filter_words(args[1:])
        reply = core.cmd_subscribe(
            rt,
            target,
            args[0],
            list(words.kinds),
            now,
            match=words.match,
            exclude=words.exclude,
            min_severity=words.min_severity,
        )
    elif verb == "pause":
        reply = cmd_pause(rt, target, args[0], now, user=user)
    elif verb == "resume":
        reply = cmd_resume(rt, target, args[0], now)
    else:
        reply = core.cmd_unsubscribe(rt, target, args[0])
    return CommandResult(reply, public=reply.ok)


def _checklist(
    rt: Runtime, target: Target, user: str, args: list[str], now: datetime
) -> CommandResult:
    if not args:
        return CommandResult(core.Reply(ok=False, title=CHECKLIST_USAGE))
    done: list[str] = []
    undo: list[str] = []
    bucket: list[str] | None = None
    for word in args[1:]:
        if word.lower() in ("done", "tick"):
            bucket = done
        elif word.lower() in ("undo", "untick"):
            bucket = undo
        elif bucket is None:
            return CommandResult(core.Reply(ok=False, title=CHECKLIST_USAGE))
        else:
            bucket.extend(part for part in word.split(",") if part)
    reply = core.cmd_checklist(rt, target, args[0], now, done=done, undo=undo, user=user)
    event = core.find_event(rt, args[0])
    changed = event.id if reply.ok and (done or undo) and event is not None else None
    return CommandResult(reply, ticked_event=changed)


def set_step(
    rt: Runtime,
    target: Target,
    event_id: int,
    step_id: str,
    *,
    user: str,
    now: datetime,
    done: bool,
) -> Checklist:
    """Tick or untick one step as its checkbox now shows it.

    Not a blind toggle: two people ticking the same box at once both mean "done".
    Raises LookupError with a message for the person.
    """
    return core.toggle_step(rt, target, event_id, ref=step_id, user=user, now=now, done=done)
