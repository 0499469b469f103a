"""Discord messages as plain data: alert embeds, checklist buttons and command replies.

No SDK here: `bot/discord_app.py` turns these values into `discord.Embed` and views.
Everything a feed wrote is untrusted and goes through `escape`: control characters are
removed, Discord markdown is backslash-escaped (so `[text](url)` never becomes a masked
link and `<@123>`, `<@&456>`, `<#1>` or `<t:0>` never render), and `@everyone`/`@here`
are broken with a zero-width space. Messages are also sent with no allowed mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from bot.alerts import Alert, AlertSource, kind_label
from bot.checklists import Checklist, Step, primary_kind
from bot.core import Reply
from feeds.catalog import Provider
from storage import Event

#: The custom_id of a checklist button: event, step and (for reminders) the message kind.
STEP_TEMPLATE = (
    r"exitplan:step:(?P<event>[0-9]+):(?P<step>[a-z0-9][a-z0-9_-]*)"
    r"(?::(?P<purpose>reminder|final))?"
)
#: Embed colours by the event's leading kind.
KIND_COLOURS = {
    "shutdown": 0xD62D20,
    "data_loss": 0x8B1A1A,
    "security": 0x8E44AD,
    "price_change": 0xE67E22,
    "outage": 0xF1C40F,
}
NEWS_COLOUR = 0x95A5A6
OK_COLOUR = 0x2ECC71
ERROR_COLOUR = 0xE74C3C

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_LIMIT = 6000
BUTTON_LABEL_LIMIT = 80
CHOICE_NAME_LIMIT = 100
MAX_CHOICES = 25
BUTTONS_PER_ROW = 5
MAX_BUTTONS = 25
_SUMMARY_LIMIT = 1500
_PHRASE_LIMIT = 200
_STEP_TEXT_LIMIT = 160

# C0 and C1 controls except newline and tab, and the bidirectional overrides that can
# make a title read differently from what it says.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_URL = re.compile(r"https?://[^\s<>\[\]\\`]+", re.IGNORECASE)
# Markdown that works anywhere in a line, and `<` which starts mentions, channel links,
# timestamps and custom emoji.
_INLINE = re.compile(r"([\\*_~|`\[\]<])")
# Markdown that only works at the start of a line: headings, quotes, lists, subtext.
_LINE_START = re.compile(r"^(\s*)(?:([#>-])|([0-9]+)\.)", re.MULTILINE)
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_RAW_MENTION = re.compile(r"@([!&]?[0-9]{15,21})")
_USER_MENTION = re.compile(r"^<@[0-9]{15,21}>$")


@dataclass(frozen=True)
class EmbedField:
    """One field of an embed."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class EmbedSpec:
    """An embed before it is a `discord.Embed`; texts are already escaped and cut."""

    title: str
    description: str
    colour: int
    url: str | None = None
    author: str | None = None
    timestamp: datetime | None = None
    fields: tuple[EmbedField, ...] = ()
    footer: str | None = None

    @property
    def length(self) -> int:
        """Characters Discord counts against its 6000 limit for one embed."""
        parts = [self.title, self.description, self.author or "", self.footer or ""]
        parts += [text for field in self.fields for text in (field.name, field.value)]
        return sum(len(part) for part in parts)


@dataclass(frozen=True)
class ButtonSpec:
    """A checklist button: green with a tick once the step is done."""

    custom_id: str
    label: str
    done: bool
    row: int


@dataclass(frozen=True)
class MessageSpec:
    """An embed and its buttons, ready for the adapter to send."""

    embed: EmbedSpec
    buttons: tuple[ButtonSpec, ...] = ()


# -- text ----------------------------------------------------------------------------------


def plain(text: str) -> str:
    """Untrusted text for places Discord shows without markdown (footers, author, choices)."""
    return _CONTROL.sub("", text)


def escape(text: str) -> str:
    """Make untrusted text inert in Discord markdown; URLs stay clickable as plain links."""
    text = plain(text)
    pieces: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        pieces.append(_escape_markdown(text[last : match.start()]))
        pieces.append(match.group(0))
        last = match.end()
    pieces.append(_escape_markdown(text[last:]))
    joined = "".join(pieces)
    joined = _MASS_MENTION.sub(lambda match: "@\u200b" + match.group(1), joined)
    return _RAW_MENTION.sub(lambda match: "@\u200b" + match.group(1), joined)


def _escape_markdown(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, number = match.group(1), match.group(2), match.group(3)
    return f"{indent}\\{marker}" if marker else f"{indent}{number}\\."


def cut(text: str, limit: int) -> str:
    """Shorten text to `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    shortened = text[: limit - 1]
    # Never leave a dangling backslash that would escape the ellipsis.
    if shortened.endswith("\\") and not shortened.endswith("\\\\"):
        shortened = shortened[:-1]
    return shortened.rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for an embed's link, or None for anything else."""
    if not url:
        return None
    url = plain(url).strip()
    if not re.match(r"^https?://[^\s/]", url, re.IGNORECASE) or any(c.isspace() for c in url):
        return None
    return url if len(url) <= 2048 else None


def timestamp_tag(moment: datetime, style: str = "R") -> str:
    """Discord's `<t:…:R>` tag: a time every reader sees in their own zone ("in 3 days")."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of a day."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def who(done_by: str | None) -> str:
    """Who ticked a step: a Discord user mention as such, anything else escaped."""
    if done_by and _USER_MENTION.match(done_by):
        return done_by
    return escape(done_by or "someone")


# -- alerts --------------------------------------------------------------------------------


def colour_for(kinds: tuple[str, ...]) -> int:
    """The embed colour of an event: its leading kind's, grey for unclassified news."""
    kind = primary_kind(kinds)
    return KIND_COLOURS.get(kind, NEWS_COLOUR) if kind else NEWS_COLOUR


def step_custom_id(event_id: int, step_id: str, purpose: str = "alert") -> str:
    """The custom_id of a step's button; it carries all a click needs after a restart."""
    suffix = f":{purpose}" if purpose in ("reminder", "final") else ""
    return f"exitplan:step:{event_id}:{step_id}{suffix}"


def deadline_value(alert: Alert) -> str | None:
    """The deadline as a date and a relative time, with the words that set it."""
    if alert.deadline is None:
        return None
    start = day_start(alert.deadline)
    value = f"{alert.deadline.isoformat()} ({timestamp_tag(start, 'R')})"
    if alert.deadline_moved and alert.previous_deadline is not None:
        value += f"\nMoved from {alert.previous_deadline.isoformat()}"
    if alert.deadline_phrase:
        value += f"\n“{cut(escape(alert.deadline_phrase), _PHRASE_LIMIT)}”"
    return cut(value, FIELD_VALUE_LIMIT)


def evidence_lines(alert: Alert) -> list[str]:
    """The phrases that decided the classification, each with what it showed."""
    return [
        f"“{cut(escape(phrase), _PHRASE_LIMIT)}” — {kind_label(label).lower()}"
        for label, phrase in alert.evidence
    ]


def source_line(source: AlertSource) -> str:
    """A source: feed kind, title, link (clickable as a plain URL) and why it was merged."""
    line = f"{source.role}: {cut(escape(source.title or '(untitled)'), _PHRASE_LIMIT)}"
    url = safe_url(source.link)
    if url:
        line += f" — {url}"
    if source.reason:
        line += f" (merged: {escape(source.reason)})"
    return line


def step_line(step: Step) -> str:
    """One checklist step: a box, its number and text, and who ticked it when."""
    text = cut(escape(step.text), _STEP_TEXT_LIMIT)
    if not step.done:
        return f"☐ **{step.number}.** {text}"
    line = f"☑ **{step.number}.** ~~{text}~~ — {who(step.done_by)}"
    if step.done_at is not None:
        line += f" {timestamp_tag(step.done_at, 'R')}"
    return line


def checklist_fields(checklist: Checklist, purpose: str = "alert") -> tuple[EmbedField, ...]:
    """The checklist as embed fields of at most 1024 characters each."""
    heading = f"{checklist.title} ({checklist.progress})"
    if purpose == "final":
        heading = f"Open steps: {checklist.title} ({checklist.progress})"
    chunks = pack_lines([step_line(step) for step in checklist.steps], FIELD_VALUE_LIMIT)
    names = [cut(escape(heading), FIELD_NAME_LIMIT)] + ["…continued"] * (len(chunks) - 1)
    return tuple(EmbedField(name, chunk) for name, chunk in zip(names, chunks, strict=True))


def pack_lines(lines: Iterable[str], limit: int) -> list[str]:
    """Join lines into chunks of at most `limit` characters (a long line is cut)."""
    chunks: list[str] = []
    current = ""
    for whole in lines:
        line = cut(whole, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def checklist_buttons(checklist: Checklist, purpose: str = "alert") -> tuple[ButtonSpec, ...]:
    """One button per step (five to a row, at most 25), labelled with number and step id."""
    buttons = []
    for index, step in enumerate(checklist.steps[:MAX_BUTTONS]):
        name = step.id.replace("-", " ").replace("_", " ")
        label = f"{'✓ ' if step.done else ''}{step.number}. {name}"
        buttons.append(
            ButtonSpec(
                custom_id=step_custom_id(checklist.event_id, step.id, purpose),
                label=cut(label, BUTTON_LABEL_LIMIT),
                done=step.done,
                row=index // BUTTONS_PER_ROW,
            )
        )
    return tuple(buttons)


def render_alert(alert: Alert) -> MessageSpec:
    """An alert as an embed (colour by kind, linked title, deadline, evidence, checklist)."""
    description = f"**{escape(alert.headline)}**"
    if alert.split_from is not None:
        description += (
            f"\n✂️ Split from event #{alert.split_from} by a person: separate news, not the same."
        )
    for source in alert.new_sources:
        description += f"\n🔗 Also announced on the {source_line(source)}"
    if alert.summary:
        description += "\n" + cut(escape(alert.summary), _SUMMARY_LIMIT)
    fields: list[EmbedField] = []
    deadline = deadline_value(alert)
    if deadline:
        fields.append(EmbedField("Deadline", deadline, inline=True))
    if alert.state:
        fields.append(EmbedField("State", cut(escape(alert.state), 100), inline=True))
    why = pack_lines(evidence_lines(alert), FIELD_VALUE_LIMIT)
    if why:
        fields.append(EmbedField("Why exitplan thinks so", why[0]))
    listed = pack_lines([f"{s.number}. {source_line(s)}" for s in alert.sources], FIELD_VALUE_LIMIT)
    if listed:
        fields.append(EmbedField(f"Sources ({len(alert.sources)})", listed[0]))
    buttons: tuple[ButtonSpec, ...] = ()
    if alert.checklist is not None:
        fields.extend(checklist_fields(alert.checklist, alert.purpose))
        buttons = checklist_buttons(alert.checklist, alert.purpose)
    footer = f"Event #{alert.event_id} · /exitplan status provider:{alert.provider}"
    embed = EmbedSpec(
        title=cut(escape(alert.title) or "(untitled)", TITLE_LIMIT),
        description=cut(description, DESCRIPTION_LIMIT),
        colour=colour_for(alert.kinds),
        url=safe_url(alert.link),
        author=cut(plain(alert.provider_name), AUTHOR_LIMIT),
        timestamp=alert.published,
        fields=tuple(fields),
        footer=cut(plain(footer), FOOTER_LIMIT),
    )
    return MessageSpec(embed=embed, buttons=buttons)


# -- replies -------------------------------------------------------------------------------


def render_reply(reply: Reply) -> EmbedSpec:
    """A command's reply as an embed: green when it worked, red when it did not."""
    title = escape(reply.title)
    description_lines: list[str] = []
    if len(title) > TITLE_LIMIT:
        description_lines.append(title)
        title = "exitplan"
    for section in reply.sections:
        if section.heading:
            description_lines.append(f"\n**{escape(section.heading)}**")
        description_lines.extend(f"• {escape(line)}" for line in section.lines)
    return EmbedSpec(
        title=title,
        description=fit_lines(description_lines, DESCRIPTION_LIMIT),
        colour=OK_COLOUR if reply.ok else ERROR_COLOUR,
    )


def fit_lines(lines: list[str], limit: int) -> str:
    """Join lines, dropping the tail with a count of what was left out when too long."""
    text = "\n".join(lines).strip()
    if len(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = f"… and {len(lines) - index} more line(s)"
        if used + len(line) + 1 + len(more) > limit:
            kept.append(more)
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept).strip()


HELP_LINES = (
    "`/exitplan subscribe provider: kinds: match: exclude: min_severity:` — alerts for a "
    "provider in this channel (needs Manage Channels); outages are opt-in; `match:` keeps "
    "only news naming a term (us-east-1, Spaces NYC3; commas between terms), `exclude:` "
    "drops news naming one; subscribing again replaces the filters",
    "`/exitplan unsubscribe provider:` — stop them (needs Manage Channels)",
    "`/exitplan pause provider:` / `/exitplan resume provider:` — hold a subscription and "
    "take it up again, settings kept (needs Manage Channels)",
    "`/exitplan health` — failing feeds of this channel's providers, with their last error",
    "`/exitplan list` — this channel's subscriptions, and why one is paused",
    "`/exitplan providers query:` — the providers exitplan knows",
    "`/exitplan status provider:` — state, announcements, deadlines and feed health; "
    "without a provider, every subscription of this channel",
    "`/exitplan checklist event:` — the migration checklist for an event, with a button per step",
    "`/exitplan help` — this text",
)


def render_help() -> EmbedSpec:
    """What the Discord bot understands."""
    return EmbedSpec(
        title="exitplan commands",
        description="\n".join(f"• {line}" for line in HELP_LINES),
        colour=OK_COLOUR,
    )


# -- choices -------------------------------------------------------------------------------

#: `kinds` choices of `/exitplan subscribe`: (shown name, value).
KIND_CHOICES: tuple[tuple[str, str], ...] = (
    ("Shutdowns, data loss, security and price changes (default)", "default"),
    ("The defaults and outages", "default,outage"),
    ("Everything, unclassified news included", "all"),
    ("Shutdowns only", "shutdown"),
    ("Data loss only", "data_loss"),
    ("Security only", "security"),
    ("Price changes only", "price_change"),
    ("Outages only", "outage"),
)
_DEFAULT_WORDS = ("shutdown", "data_loss", "security", "price_change")
#: `min_severity` choices of `/exitplan subscribe`: (shown name, value).
SEVERITY_CHOICES: tuple[tuple[str, str], ...] = (
    ("Critical only", "critical"),
    ("High or worse", "high"),
    ("Medium or worse", "medium"),
    ("Low or worse", "low"),
)


def kinds_from_choice(value: str | None) -> list[str]:
    """The kind words for the core from a `kinds` choice ([] means the defaults)."""
    if not value or value == "default":
        return []
    words = [word for word in value.split(",") if word]
    if "default" in words:
        words = [*_DEFAULT_WORDS, *(word for word in words if word != "default")]
    return words


def provider_choices(
    providers: Iterable[Provider], query: str, *, include_every: bool = False
) -> list[tuple[str, str]]:
    """Autocomplete for a provider: (shown name, slug), best matches first, at most 25.

    A provider matches on its slug, name or an alias; one found by an alias says so.
    """
    wanted = _fold(query)
    ranked: list[tuple[int, str, tuple[str, str]]] = []
    for provider in providers:
        rank, alias = _match(provider, wanted)
        if rank is None:
            continue
        shown = f"{provider.name} ({provider.slug})"
        if alias:
            shown += f" · alias {alias}"
        ranked.append((rank, provider.slug, (cut(plain(shown), CHOICE_NAME_LIMIT), provider.slug)))
    ranked.sort(key=lambda item: (item[0], item[1]))
    choices = [choice for _, _, choice in ranked]
    if include_every and (not wanted or "all".startswith(wanted) or "every".startswith(wanted)):
        choices.insert(0, ("Every provider (all)", "all"))
    return choices[:MAX_CHOICES]


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _match(provider: Provider, wanted: str) -> tuple[int | None, str | None]:
    """How well a provider matches: 0 slug/name prefix, 1 alias prefix, 2 substring."""
    if not wanted:
        return 0, None
    names = [_fold(provider.slug), _fold(provider.name)]
    if any(name.startswith(wanted) for name in names):
        return 0, None
    for alias in provider.aliases:
        if _fold(alias).startswith(wanted):
            return 1, alias
    if any(wanted in name for name in names):
        return 2, None
    for alias in provider.aliases:
        if wanted in _fold(alias):
            return 2, alias
    return None, None


def event_choices(events: Iterable[Event], query: str) -> list[tuple[str, int]]:
    """Autocomplete for an event: (shown "#42 provider: title", id), at most 25."""
    wanted = query.strip().lstrip("#").casefold()
    choices = []
    for event in events:
        shown = f"#{event.id} {event.provider}: {event.title}"
        if wanted and wanted not in shown.casefold():
            continue
        choices.append((cut(plain(shown), CHOICE_NAME_LIMIT), event.id))
    return choices[:MAX_CHOICES]
