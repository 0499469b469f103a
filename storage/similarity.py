"""Whether two announcements of one provider are the same news: a pure decision with its reason.

A blog post and a status-page notice about one shutdown are one event; two services of
one provider retiring on the same day are two. The rules, in order:

1. They must share a kind. Grave kinds (shutdown, data loss, security, price change)
   merge within `WINDOW_DAYS` of publication; outages, which are many and noisy, only
   by `OUTAGE_SIMILAR` within `OUTAGE_WINDOW_DAYS`.
2. Never when each title names something the other announcement never mentions
   (`CodeCommit` against `Cloud9`, `eu-west` against `us-east-1`): AWS once retired
   several services on one date with one template, on its blog and its what's-new feed.
3. Never when both have deadlines more than `DEADLINE_TOLERANCE_DAYS` apart.
4. Same deadline (within the tolerance) and a shared grave kind: the same news.
5. Otherwise the titles and opening text must be `GRAVE_SIMILAR` alike (token-set
   Jaccard of their content words, see `similarity`).

The thresholds lean towards two alerts rather than one wrong merge: a duplicate costs
a channel a minute, a wrong merge can hide a shutdown (and `exitplan events split`
undoes it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

#: Kinds that are news in themselves; outages merge only by near-identical wording.
GRAVE_KINDS = frozenset({"shutdown", "data_loss", "security", "price_change"})
#: Grave announcements published this many days apart can still be the same news.
WINDOW_DAYS = 14
#: Deadlines this many days apart count as the same (a blog's "June 30" and a notice's
#: "July 1" after time zones and "by"/"on" wording).
DEADLINE_TOLERANCE_DAYS = 3
#: Similarity that makes two grave announcements one, without a shared deadline.
GRAVE_SIMILAR = 0.5
#: Outages: near-identical titles and text, published within two days.
OUTAGE_SIMILAR = 0.7
OUTAGE_WINDOW_DAYS = 2
#: How much of an entry's text, after its title, `similarity` compares.
TEXT_CHARS = 300
#: How much of the other announcement's text a title's names are looked for in.
NAME_SEARCH_CHARS = 5000

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    """a about after all also an and any are as at be been before being but by can could
    do does for from has have how if in into is it its may more new no not now of on or
    our out over so than that the their them then there these they this those to under
    until up us was we were what when which while who will with within would you your""".split()  # noqa: SIM905 - a word list reads best as text
)
_MONTHS_AND_DAYS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday today tomorrow""".split()  # noqa: SIM905 - as above
)
# Acronyms that name no product: time zones and announcement words.
_GENERIC_ACRONYMS = frozenset(
    "UTC GMT PST PDT EST EDT CET CEST BST IST EOL FAQ NEW FYI TBD ETA API SLA UPDATE".split()  # noqa: SIM905 - as above
)
_REGION = re.compile(r"\b[a-z]+-(?:north|south|east|west|central)[a-z]*(?:-?\d+)?\b")
_CAMEL = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*\b")
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,5}\b")
_ALNUM = re.compile(r"\b(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9]*\d)[A-Za-z0-9]+\b")
_NOT_A_NAME = re.compile(r"^\d+(?:st|nd|rd|th|am|pm|xx|[kmgtp]b|ms|s|h|d|m)$")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]{2,}\b")
# Words titles capitalise that name nothing: what announcements are about, not what of.
_ANNOUNCEMENT_WORDS = frozenset(
    """announcing announcement update updates important notice action required change
    changes changing price prices pricing plan plans retiring retirement retire retired
    end ending ends life support deprecation deprecating deprecated discontinued
    discontinuing shutdown shutting closing closure sunset sunsetting migration migrate
    service services storage data customers customer account accounts scheduled
    maintenance incident outage degraded performance elevated errors error resolved
    investigating identified monitoring security breach availability access free tier""".split()  # noqa: SIM905 - as above
)


@dataclass(frozen=True)
class Announcement:
    """What the merge rules compare of one feed entry."""

    title: str
    text: str
    kinds: tuple[str, ...]
    deadline: date | None
    published: datetime


@dataclass(frozen=True)
class MergeMatch:
    """Why two announcements are one event, and how strong the reason is."""

    reason: str
    by_deadline: bool
    score: float

    @property
    def strength(self) -> tuple[bool, float]:
        """Sort key: a shared deadline beats similar wording; then the more similar."""
        return (self.by_deadline, self.score)


def content_words(text: str) -> frozenset[str]:
    """The lowercase words of a text without accents, function words and single letters."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return frozenset(
        word for word in _WORD.findall(folded) if len(word) > 1 and word not in _STOPWORDS
    )


def similarity(a: Announcement, b: Announcement) -> float:
    """Token-set Jaccard of the content words of each title and its first TEXT_CHARS of text.

    0.0 shares nothing, 1.0 the same words; word order and repetition do not count.
    """
    left = content_words(f"{a.title} {a.text[:TEXT_CHARS]}")
    right = content_words(f"{b.title} {b.text[:TEXT_CHARS]}")
    union = left | right
    return len(left & right) / len(union) if union else 0.0


def title_names(title: str) -> frozenset[str]:
    """Words of a title that name a thing: products, regions, codes (lowercase).

    CamelCase words (CodeCommit), acronyms (RDS), words with digits (Cloud9, us-east-1),
    region codes (eu-west) and capitalised words after the first (Vault, Tape) unless they
    are announcement words (Retirement, Pricing). Months and weekdays are not names.
    """
    names = {match.lower() for match in _REGION.findall(title.casefold())}
    names |= {match.lower() for match in _CAMEL.findall(title)}
    names |= {match.lower() for match in _ALNUM.findall(title)}
    names |= {m.lower() for m in _ACRONYM.findall(title) if m not in _GENERIC_ACRONYMS}
    first = re.match(r"\W*(\w+)", title)
    start = first.end() if first else 0
    names |= {
        word.lower()
        for word in _CAPITALISED.findall(title[start:])
        if word.lower() not in _ANNOUNCEMENT_WORDS and word.lower() not in _STOPWORDS
    }
    return frozenset(
        name for name in names if name not in _MONTHS_AND_DAYS and not _NOT_A_NAME.match(name)
    )


def _unmentioned(names: frozenset[str], other: Announcement) -> frozenset[str]:
    haystack = f"{other.title} {other.text[:NAME_SEARCH_CHARS]}".casefold()
    return frozenset(
        name
        for name in names
        if not re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", haystack)
    )


def name_conflict(a: Announcement, b: Announcement) -> tuple[str, str] | None:
    """A name each title has that the other announcement never mentions, or None."""
    only_a = _unmentioned(title_names(a.title), b)
    only_b = _unmentioned(title_names(b.title), a)
    if only_a and only_b:
        return min(only_a), min(only_b)
    return None


def _apart(existing: Announcement, incoming: Announcement, grave: bool) -> bool:
    """True when rule 1's window, rule 2's names or rule 3's deadlines keep them apart."""
    days = abs((existing.published - incoming.published).total_seconds()) / 86400.0
    if days > (WINDOW_DAYS if grave else OUTAGE_WINDOW_DAYS):
        return True
    if existing.deadline is not None and incoming.deadline is not None:
        gap = abs((existing.deadline - incoming.deadline).days)
        if gap > DEADLINE_TOLERANCE_DAYS:
            return True
    return name_conflict(existing, incoming) is not None


def match_announcements(existing: Announcement, incoming: Announcement) -> MergeMatch | None:
    """Decide whether `incoming` is the same news as `existing` (one provider, other feeds)."""
    shared = [kind for kind in existing.kinds if kind in incoming.kinds]
    grave = [kind for kind in shared if kind in GRAVE_KINDS]
    if not shared or _apart(existing, incoming, bool(grave)):
        return None
    score = round(similarity(existing, incoming), 2)
    if grave and existing.deadline is not None and incoming.deadline is not None:
        reason = _deadline_reason(existing.deadline, incoming.deadline, grave[0])
        return MergeMatch(reason, by_deadline=True, score=score)
    if score < (GRAVE_SIMILAR if grave else OUTAGE_SIMILAR):
        return None
    kind = grave[0] if grave else shared[0]
    return MergeMatch(f"titles and text {score:.2f} similar and kind {kind}", False, score)


def _deadline_reason(existing: date, incoming: date, kind: str) -> str:
    if existing == incoming:
        return f"same deadline {existing.isoformat()} and kind {kind}"
    return (
        f"deadlines {existing.isoformat()} and {incoming.isoformat()} "
        f"({abs((existing - incoming).days)} days apart) and kind {kind}"
    )
