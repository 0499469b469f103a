"""Block Kit for Slack: alerts, command replies and App Home, as plain data (no SDK).

Everything a feed wrote is untrusted: it goes through `escape`, which turns `&`, `<` and
`>` into entities (so `<!channel>`, `<@U…>` and `<http://…|forged>` are shown, never
acted on) and breaks bare `@here`/`@channel`/`@everyone`. Text objects carrying feed
text are `verbatim`, so Slack does not link-ify or parse them either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from bot.alerts import Alert, AlertSource, kind_label
from bot.checklists import Checklist, Step, primary_kind
from bot.replies import Reply

Block = dict[str, Any]

#: The action id of every checklist checkbox; the block id says which event and step.
STEP_ACTION = "exitplan_step"
_STEP_BLOCK = re.compile(r"^exitplan_step:(\d+):([a-z_]+):([A-Za-z0-9_-]+)$")
_BARE_MENTION = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
# C0 and C1 controls except newline and tab, and bidirectional overrides (as for Discord).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
_KIND_EMOJI = {
    "shutdown": ":no_entry:",
    "data_loss": ":fire:",
    "security": ":lock:",
    "price_change": ":moneybag:",
    "outage": ":warning:",
}
#: exitplan's own notices about a provider's feeds (`Alert.notice`).
_NOTICE_EMOJI = {
    "provider_unreachable": ":satellite_antenna:",
    "provider_recovered": ":white_check_mark:",
}
_PURPOSE_EMOJI = {
    "update": ":arrows_counterclockwise:",
    "reminder": ":alarm_clock:",
    "final": ":hourglass:",
}
_TEXT_LIMIT = 3000
_HEADER_LIMIT = 150
#: A link's label is cut to this, so a long title is shortened inside its link, not through it.
_LABEL_LIMIT = 900
_URL_LIMIT = 2000
_MESSAGE_BLOCKS = 50
_HOME_BLOCKS = 100
_HOME_ITEMS = 15


def escape(text: str) -> str:
    """Make untrusted text inert in Slack: entities for &, <, > and no bare @-mentions."""
    text = _CONTROL.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_MENTION.sub(lambda match: "@\u200b" + match.group(1), text)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for `<url|label>`, or None for anything else."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"^https?://[^\s/]", url, re.IGNORECASE):
        return None
    quoted = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    return quoted.replace("&", "&amp;") if len(quoted) <= _URL_LIMIT else None


def link(url: str | None, label: str) -> str:
    """A mrkdwn link with an escaped label, or just the label when the URL is unusable."""
    target = safe_url(url)
    shown = _cut(escape(label), _LABEL_LIMIT) or "(untitled)"
    return f"<{target}|{shown}>" if target else shown


def user_ref(who: str | None) -> str:
    """A Slack user id as a mention that shows the name; anything else escaped."""
    if who and _USER_ID.match(who):
        return f"<@{who}>"
    return escape(who or "someone")


def channel_ref(channel: str) -> str:
    """A channel id as a channel link; anything else escaped."""
    return f"<#{channel}>" if _CHANNEL_ID.match(channel) else escape(channel)


def _cut(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _cut(text), "verbatim": True}


def _section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": _mrkdwn(text), **extra}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _header(text: str) -> Block:
    text_object = {"type": "plain_text", "text": _cut(text, _HEADER_LIMIT), "emoji": True}
    return {"type": "header", "text": text_object}


def days_phrase(days_left: int) -> str:
    """'121 days left', '1 day left', 'today' or 'passed 3 days ago'."""
    if days_left > 1:
        return f"{days_left} days left"
    if days_left == 1:
        return "1 day left"
    if days_left == 0:
        return "today"
    return f"passed {-days_left} days ago"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "undated"


def emoji(alert: Alert) -> str:
    """The emoji that leads an alert: by purpose for follow-ups, by kind for first alerts."""
    if alert.purpose in _PURPOSE_EMOJI:
        return _PURPOSE_EMOJI[alert.purpose]
    if alert.notice in _NOTICE_EMOJI:
        return _NOTICE_EMOJI[alert.notice]
    return _KIND_EMOJI.get(primary_kind(alert.kinds) or "", ":newspaper:")


def alert_text(alert: Alert) -> str:
    """The notification text (push, screen readers, clients without blocks), escaped."""
    parts = [f"{alert.headline}: {escape(alert.provider_name)} — {escape(alert.title)}"]
    if alert.deadline is not None and alert.days_left is not None:
        parts.append(f"deadline {alert.deadline.isoformat()} ({days_phrase(alert.days_left)})")
    if alert.state:
        parts.append(f"state: {escape(alert.state)}")
    return _cut(" · ".join(parts))


def _facts(alert: Alert) -> list[dict[str, Any]]:
    fields = [
        _mrkdwn(f"*Provider*\n{escape(alert.provider_name)}"),
        _mrkdwn(f"*Published*\n{_when(alert.published)}"),
    ]
    if alert.deadline is not None and alert.days_left is not None:
        deadline = f"*Deadline*\n{alert.deadline.isoformat()} · *{days_phrase(alert.days_left)}*"
        fields.append(_mrkdwn(deadline))
    if alert.state:
        fields.append(_mrkdwn(f"*State*\n{escape(alert.state)}"))
    return fields


def render_alert(alert: Alert) -> list[Block]:
    """An alert (or its update or reminder) as blocks, with the checklist as checkboxes."""
    blocks: list[Block] = [
        _header(f"{emoji(alert)} {alert.headline}"),
        _section(f"*{link(alert.link, alert.title)}*"),
        {"type": "section", "fields": _facts(alert)},
        *_source_blocks(alert),
    ]
    if alert.deadline_moved and alert.previous_deadline is not None:
        new = alert.deadline.isoformat() if alert.deadline else "none"
        blocks.append(
            _section(
                f":calendar: Deadline moved from {alert.previous_deadline.isoformat()} to {new}."
            )
        )
    if alert.evidence:
        why = ", ".join(
            f"“{escape(phrase)}” ({kind_label(label).lower()})" for label, phrase in alert.evidence
        )
        blocks.append(_context(f"Why: {why}"))
    if alert.summary:
        blocks.append(_section(escape(alert.summary)))
    if alert.impact:
        blocks.append(_section(f":moneybag: {escape(alert.impact)}"))
    if alert.checklist is not None:
        blocks.extend(render_checklist(alert.checklist, alert.purpose))
    blocks.append(
        _context(
            f"Event #{alert.event_id} · `/exitplan status {escape(alert.provider)}` · "
            f"`/exitplan checklist {alert.event_id}`"
        )
    )
    return blocks[:_MESSAGE_BLOCKS]


def _merged(source: AlertSource) -> str:
    return f" (merged: {escape(source.reason)})" if source.reason else ""


def _source_blocks(alert: Alert) -> list[Block]:
    """A split's note, the new sources of an update, and every source of a merged event."""
    blocks: list[Block] = []
    if alert.split_from is not None:
        blocks.append(
            _context(
                f":scissors: Split from event #{alert.split_from} by a person: "
                "separate news, not the same."
            )
        )
    for source in alert.new_sources:
        shown = link(source.link, f"{source.role}: {source.title}")
        blocks.append(_section(f":link: Also announced on the {shown}{_merged(source)}"))
    if alert.sources:
        listed = ", ".join(
            f"{source.number}. {link(source.link, source.role)}{_merged(source)}"
            for source in alert.sources
        )
        blocks.append(_context(f"Sources: {listed}"))
    return blocks


def step_block_id(event_id: int, purpose: str, step_id: str) -> str:
    """The block id of one step's checkbox: which event, message purpose and step."""
    return f"{STEP_ACTION}:{event_id}:{purpose}:{step_id}"


def parse_step_block_id(block_id: str) -> tuple[int, str, str] | None:
    """(event id, purpose, step id) from a checkbox's block id, or None if it is not ours."""
    match = _STEP_BLOCK.match(block_id)
    return (int(match.group(1)), match.group(2), match.group(3)) if match else None


def _step_text(step: Step) -> str:
    text = f"*{step.number}.* {escape(step.text)}"
    if step.done:
        when = f" on {step.done_at:%Y-%m-%d}" if step.done_at else ""
        return f"{text}\n:white_check_mark: _done by {user_ref(step.done_by)}{when}_"
    if step.detail:
        return f"{text}\n_{escape(step.detail)}_"
    return text


def render_checklist(checklist: Checklist, purpose: str = "alert") -> list[Block]:
    """A checklist: a heading with progress, then one section per step with a checkbox."""
    blocks: list[Block] = [
        {"type": "divider"},
        _section(f"*{escape(checklist.title)}* · {checklist.progress}"),
    ]
    for step in checklist.steps:
        option = {
            "text": {"type": "mrkdwn", "text": "Done"},
            "value": f"{checklist.event_id}:{step.id}",
        }
        accessory: dict[str, Any] = {
            "type": "checkboxes",
            "action_id": STEP_ACTION,
            "options": [option],
        }
        if step.done:
            accessory["initial_options"] = [option]
        blocks.append(
            _section(
                _step_text(step),
                block_id=step_block_id(checklist.event_id, purpose, step.id),
                accessory=accessory,
            )
        )
    return blocks


def reply_text(reply: Reply) -> str:
    """A command reply as escaped plain text (the notification fallback)."""
    return _cut(escape(reply.text))


def render_reply(reply: Reply) -> list[Block]:
    """A command reply as blocks: the title, then each section in chunks Slack accepts."""
    mark = "" if reply.ok else ":warning: "
    blocks: list[Block] = [_section(mark + escape(reply.title))]
    for section in reply.sections:
        heading = f"*{escape(section.heading)}*\n" if section.heading else ""
        chunk = heading
        for line in section.lines:
            entry = f"• {escape(line)}\n"
            if len(chunk) + len(entry) > _TEXT_LIMIT:
                blocks.append(_section(chunk.rstrip()))
                chunk = ""
            chunk += entry
        if chunk.strip():
            blocks.append(_section(chunk.rstrip()))
    if len(blocks) > _MESSAGE_BLOCKS:
        blocks = [*blocks[: _MESSAGE_BLOCKS - 1], _context("…cut short; narrow the command.")]
    return blocks


@dataclass(frozen=True)
class HomeSubscription:
    """One channel's subscription to one provider, as App Home lists it."""

    channel: str
    provider_name: str
    kinds: str
    paused_reason: str | None


@dataclass(frozen=True)
class HomeEvent:
    """An open incident or an upcoming deadline, with each channel's checklist progress."""

    event_id: int
    provider_name: str
    title: str
    link: str | None
    kinds: tuple[str, ...]
    severity: str
    published: datetime | None
    deadline: date | None
    days_left: int | None
    progress: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Home:
    """What App Home shows for one workspace."""

    subscriptions: tuple[HomeSubscription, ...]
    incidents: tuple[HomeEvent, ...]
    deadlines: tuple[HomeEvent, ...]


def _home_event(event: HomeEvent) -> Block:
    kinds = ", ".join(kind_label(kind).lower() for kind in event.kinds) or "news"
    lines = [f"*{link(event.link, event.title)}*", f"{escape(event.provider_name)} · {kinds}"]
    if event.deadline is not None and event.days_left is not None:
        lines[1] += f" · deadline {event.deadline.isoformat()} ({days_phrase(event.days_left)})"
    else:
        lines[1] += f" · since {_when(event.published)}"
    lines.extend(f"{channel_ref(channel)}: {progress}" for channel, progress in event.progress)
    lines.append(f"_Event #{event.event_id}_")
    return _section("\n".join(lines))


def render_home(home: Home) -> dict[str, Any]:
    """The App Home tab: subscriptions, open incidents, upcoming deadlines with progress."""
    blocks: list[Block] = [_header("exitplan")]
    blocks.append(_section("*Subscriptions in this workspace*"))
    if not home.subscriptions:
        blocks.append(_context("None yet. In a channel, type `/exitplan subscribe aws`."))
    for sub in home.subscriptions[: _HOME_ITEMS * 2]:
        line = f"{channel_ref(sub.channel)} · {escape(sub.provider_name)} ({escape(sub.kinds)})"
        if sub.paused_reason:
            line += f"\n:double_vertical_bar: *Paused:* {escape(sub.paused_reason)}"
        blocks.append(_section(line))
    for title, events, empty in (
        ("Open incidents", home.incidents, "No open incidents."),
        ("Upcoming deadlines", home.deadlines, "No deadlines ahead."),
    ):
        blocks.extend([{"type": "divider"}, _section(f"*{title}*")])
        if not events:
            blocks.append(_context(empty))
        blocks.extend(_home_event(event) for event in events[:_HOME_ITEMS])
    blocks.append(_context("`/exitplan help` lists the commands."))
    return {"type": "home", "blocks": blocks[:_HOME_BLOCKS]}
