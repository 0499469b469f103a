"""Alerts: what the bot tells a channel about an event, independent of any chat platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.checklists import Checklist
from storage import Event

_KIND_LABELS = {
    "shutdown": "Shutdown",
    "data_loss": "Data loss",
    "security": "Security",
    "price_change": "Price change",
    "outage": "Outage",
}
#: Headlines of the notices exitplan writes itself (`Event.notice`).
NOTICE_HEADLINES = {
    "feed_gone": "FEED GONE",
    "provider_unreachable": "FEEDS UNREACHABLE",
    "provider_recovered": "FEEDS RECOVERED",
}
#: How an alert names the kind of feed a source came from.
ROLE_LABELS = {"status": "status page", "news": "news feed", "eol": "end-of-life data"}


@dataclass(frozen=True)
class AlertSource:
    """One feed that announced the event: what kind of feed, its entry, why it was merged."""

    number: int
    role: str  # "status page", "news feed"
    title: str
    link: str | None
    reason: str | None  # why it joined the event; None for the first source
    new: bool = False  # added by the revision this update is about


@dataclass(frozen=True)
class Alert:
    """One message about one event, ready for an adapter to render."""

    event_id: int
    # "alert" (first message), "update" (a later revision, threaded under the alert),
    # "reminder" (a deadline is near) or "final" (the deadline passed)
    purpose: str
    provider: str
    provider_name: str
    title: str
    link: str | None
    kinds: tuple[str, ...]
    severity: str
    published: datetime | None
    deadline: date | None
    days_left: int | None
    deadline_phrase: str | None
    state: str | None
    evidence: tuple[tuple[str, str], ...]
    summary: str
    checklist: Checklist | None = None
    previous_deadline: date | None = None
    escalated: bool = False
    notice: str | None = None  # exitplan's own notices: "feed_gone", "provider_unreachable"…
    impact: str | None = None  # for price changes: what it costs this channel, or why unknown
    sources: tuple[AlertSource, ...] = ()  # every feed that announced it, when more than one
    split_from: int | None = None  # the event a person split this one from

    @property
    def new_sources(self) -> tuple[AlertSource, ...]:
        """The sources this update is about ("also announced on …")."""
        return tuple(source for source in self.sources if source.new)

    @property
    def headline(self) -> str:
        """Kind and severity at a glance, e.g. "SHUTDOWN · high" or "REMINDER: 30 days left"."""
        if self.notice in NOTICE_HEADLINES:
            return f"{NOTICE_HEADLINES[self.notice]} · {self.severity}"
        kinds = " + ".join(kind_label(kind).upper() for kind in self.kinds) or "NEWS"
        return f"{self.prefix}{kinds} · {self.severity}"

    @property
    def prefix(self) -> str:
        """What kind of message this is, before the kinds: "UPDATE: ", "REMINDER: …"."""
        if self.purpose == "reminder":
            left = self.days_left if self.days_left is not None else 0
            return f"REMINDER: {left} day{'s' if left != 1 else ''} left · "
        if self.purpose == "final":
            return "DEADLINE PASSED · "
        if self.purpose == "update":
            if self.escalated:
                return "ESCALATED: "
            return "ALSO ANNOUNCED: " if self.new_sources else "UPDATE: "
        return ""

    @property
    def deadline_moved(self) -> bool:
        """True for an update that moved the deadline."""
        return (
            self.purpose == "update"
            and self.previous_deadline is not None
            and self.previous_deadline != self.deadline
        )


def kind_label(kind: str) -> str:
    """A person's name for a kind: "price_change" -> "Price change"."""
    return _KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def days_left(deadline: date | None, today: date) -> int | None:
    """Whole days from today until the deadline (negative once it has passed)."""
    return None if deadline is None else (deadline - today).days


def summarise(text: str, limit: int = 280) -> str:
    """The first sentences of an entry's text, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def alert_sources(event: Event, purpose: str) -> tuple[AlertSource, ...]:
    """The sources of an event announced by more than one feed (none otherwise)."""
    if len(event.sources) < 2:
        return ()
    return tuple(
        AlertSource(
            number=source.number,
            role=ROLE_LABELS.get(source.feed_role, source.feed_role),
            title=source.title,
            link=source.link,
            reason=source.reason,
            new=purpose == "update" and source.number > 1 and source.revision == event.revision,
        )
        for source in event.sources
    )


def describe_source(source: AlertSource) -> str:
    """'status page: Vault end of service (merged: same deadline 2026-06-30 …)'."""
    merged = f" (merged: {source.reason})" if source.reason else ""
    return f"{source.role}: {source.title or '(untitled)'}{merged}"


def build_alert(
    event: Event,
    *,
    provider_name: str,
    purpose: str,
    today: date,
    checklist: Checklist | None = None,
    impact: str | None = None,
) -> Alert:
    """Turn a stored event into an alert for one channel."""
    evidence = tuple(
        (item.label, item.phrase) for item in event.evidence if not item.label.startswith("not:")
    )
    return Alert(
        event_id=event.id,
        purpose=purpose,
        provider=event.provider,
        provider_name=provider_name,
        title=event.title,
        link=event.link,
        kinds=event.kinds,
        severity=event.severity,
        published=event.published,
        deadline=event.deadline,
        days_left=days_left(event.deadline, today),
        deadline_phrase=event.deadline_phrase,
        state=event.state,
        evidence=evidence,
        summary=summarise(event.text),
        checklist=checklist,
        previous_deadline=event.previous_deadline,
        escalated=event.escalated,
        notice=event.notice,
        impact=impact,
        sources=alert_sources(event, purpose),
        split_from=event.split_from,
    )
