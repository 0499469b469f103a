"""Value types that cross the boundaries of the `feeds` package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Kind = Literal["shutdown", "price_change", "data_loss", "security", "outage"]
Severity = Literal["critical", "high", "medium", "low", "info"]
FeedRole = Literal["status", "news", "eol"]
Confidence = Literal["confirmed", "likely", "unknown"]

#: Every kind of news exitplan recognises, in the order alerts list them.
KINDS: tuple[Kind, ...] = ("shutdown", "data_loss", "security", "price_change", "outage")
#: The kinds a new subscription receives unless it asks for others (outages are opt-in).
DEFAULT_KINDS: tuple[Kind, ...] = ("shutdown", "data_loss", "security", "price_change")
#: Severities from the most to the least urgent.
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Entry:
    """One item of a feed, normalised: plain text, UTC times, a stable key."""

    key: str
    title: str
    link: str | None
    published: datetime | None
    updated: datetime | None
    text: str
    categories: tuple[str, ...] = ()
    content_hash: str = ""


@dataclass(frozen=True)
class Evidence:
    """A phrase of the text that decided part of a classification."""

    label: str  # a kind, or "deadline", or a "not:<kind>" note for a rejected match
    phrase: str
    reason: str


@dataclass(frozen=True)
class Deadline:
    """The date a team must act by, with the phrase it was read from."""

    date: date
    phrase: str


@dataclass(frozen=True)
class Classification:
    """What an announcement is about: kinds, severity, evidence and deadline."""

    kinds: tuple[Kind, ...]
    severity: Severity
    evidence: tuple[Evidence, ...]
    deadline: Deadline | None

    @property
    def is_other(self) -> bool:
        """True when the text matched none of the kinds exitplan alerts on."""
        return not self.kinds
