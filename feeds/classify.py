"""Decide what an announcement is about: its kinds, severity, deadline and the evidence for each."""

from __future__ import annotations

from datetime import datetime, timedelta

from feeds.deadlines import extract_deadline
from feeds.model import KINDS, Classification, Deadline, Evidence, Kind, Severity
from feeds.rules import (
    CLAUSE_BREAK,
    GENERAL,
    HYPOTHETICAL,
    MAINTENANCE,
    NEGATION,
    NEGATION_REACH,
    RESOLVED,
    RULES,
    SOMEONE_ELSES,
    STORY_TITLE,
    Rule,
)
from feeds.sentences import normalise, split_sentences
from feeds.triggers import TriggerIndex

#: Evidence kept per kind; the first phrases are the ones a reader needs.
_MAX_EVIDENCE_PER_LABEL = 3
#: A shutdown this close to its publication is critical rather than high.
_URGENT = timedelta(days=30)
#: Kinds whose reports a modal turns into a mere possibility ("could let attackers read files").
_REPORTED_KINDS: frozenset[Kind] = frozenset({"security", "data_loss"})
#: Kinds whose announcements carry a date to act by (incident timestamps are not deadlines).
_DEADLINE_KINDS: frozenset[Kind] = frozenset({"shutdown", "price_change"})
_TRIGGERS = TriggerIndex(RULES)


def classify(title: str, text: str, published: datetime) -> Classification:
    """Classify one announcement from its title, plain text and publication time."""
    title, text = normalise(title), normalise(text)
    sentences = split_sentences(title) + split_sentences(text)
    lowered = [sentence.lower() for sentence in sentences]
    # Bit i of a sentence's mask is set when RULES[i] can match it (see feeds.triggers).
    masks = [_TRIGGERS.mask(lower) for lower in lowered]
    reachable = 0
    for mask in masks:
        reachable |= mask
    story = bool(STORY_TITLE.search(title))
    maintenance: bool | None = None  # read only when an outage phrase needs it

    found: dict[str, list[Evidence]] = {}
    weak: dict[str, list[Evidence]] = {}
    major_outage = False
    for index, rule in enumerate(RULES):
        bit = 1 << index
        if not reachable & bit:
            continue
        for sentence, lower, mask in zip(sentences, lowered, masks, strict=True):
            if not mask & bit:
                continue
            # Offsets in the lower-cased sentence are offsets in the sentence when lowering
            # kept its length (it does but for a few letters such as "İ").
            same = rule.lowered is not None and len(lower) == len(sentence)
            matches = (rule.lowered or rule.pattern).finditer(lower if same else sentence)
            vetoed: bool | None = None  # read once per sentence, not once per match
            for match in matches:
                if vetoed is None:
                    vetoed = rule.veto is not None and rule.veto.search(sentence) is not None
                if maintenance is None and rule.kind == "outage":
                    maintenance = bool(MAINTENANCE.search(title) or MAINTENANCE.search(text))
                why_not = _rejection(
                    rule,
                    sentence,
                    match.span(),
                    story=story,
                    maintenance=bool(maintenance),
                    vetoed=vetoed,
                )
                label = f"not:{rule.kind}" if why_not else rule.kind
                phrase = sentence[match.start() : match.end()].strip()
                item = Evidence(label, phrase, why_not or rule.reason)
                _add(weak if rule.weak and not why_not else found, item)
                major_outage |= not why_not and rule.kind == "outage" and rule.major

    _settle_weak(found, weak)
    kinds = tuple(kind for kind in KINDS if kind in found)
    deadline = extract_deadline(f"{title}.\n{text}", published) if _wants_deadline(kinds) else None
    if major_outage:  # a resolved incident is no longer a major outage
        major_outage = not (RESOLVED.search(title) or RESOLVED.search(text))
    severity = _severity(kinds, deadline, published, major_outage=major_outage)
    evidence = [item for label in _label_order(found) for item in found[label]]
    if deadline is not None:
        evidence.append(Evidence("deadline", deadline.phrase, "the date readers must act by"))
    return Classification(kinds, severity, tuple(evidence), deadline)


def _rejection(
    rule: Rule,
    sentence: str,
    span: tuple[int, int],
    *,
    story: bool,
    maintenance: bool,
    vetoed: bool,
) -> str:
    """Return why a match does not count (empty when it does); `vetoed` tells whether the
    sentence matches the rule's veto."""
    if story:
        return "the post tells a story or guide, not news from the provider"
    if maintenance and rule.kind == "outage":
        return "planned maintenance, not an incident"
    if vetoed:
        return "the sentence uses the words in another sense"
    if rule.kind == "shutdown" and SOMEONE_ELSES.match(sentence, span[1]):
        return "the words describe someone else's systems"
    return _clause_rejection(rule, sentence, span)


def _clause_rejection(rule: Rule, sentence: str, span: tuple[int, int]) -> str:
    """Return why the clause around a match turns it down: a negation, a condition or generic
    subject, a modal of mere possibility, or a question (empty when none does)."""
    start, end = span
    clause_start = max(0, start - NEGATION_REACH)
    for boundary in CLAUSE_BREAK.finditer(sentence, clause_start, start):
        clause_start = boundary.end()
    if NEGATION.search(sentence, clause_start, end if rule.negatable_inside else start):
        return "negated in the same clause"
    if GENERAL.search(sentence, clause_start, start):
        return "said of providers in general or of what might happen, not as news"
    if rule.kind in _REPORTED_KINDS and any(
        modal.start() < start for modal in HYPOTHETICAL.finditer(sentence, clause_start, end)
    ):
        return "says what could happen, not what did"
    if sentence.endswith("?"):
        return "asks a question rather than announcing"
    return ""


def _settle_weak(found: dict[str, list[Evidence]], weak: dict[str, list[Evidence]]) -> None:
    """Count weak evidence for its kind unless the text is about other kinds and not this one."""
    strong = [kind for kind in KINDS if kind in found]
    for label, items in weak.items():
        others = [kind for kind in strong if kind != label]
        counts = label in strong or not others
        for item in items:
            if counts:
                _add(found, item)
            else:
                reason = f"says only that something is looked into; the text is about {others[0]}"
                _add(found, Evidence(f"not:{label}", item.phrase, reason))


def _add(found: dict[str, list[Evidence]], item: Evidence) -> None:
    items = found.setdefault(item.label, [])
    phrase = item.phrase.casefold()
    if len(items) < _MAX_EVIDENCE_PER_LABEL and all(e.phrase.casefold() != phrase for e in items):
        items.append(item)


def _label_order(found: dict[str, list[Evidence]]) -> list[str]:
    positive = [kind for kind in KINDS if kind in found]
    rejected = [f"not:{kind}" for kind in KINDS if f"not:{kind}" in found]
    return positive + rejected


def _wants_deadline(kinds: tuple[Kind, ...]) -> bool:
    return any(kind in _DEADLINE_KINDS for kind in kinds)


def _severity(
    kinds: tuple[Kind, ...], deadline: Deadline | None, published: datetime, *, major_outage: bool
) -> Severity:
    if "data_loss" in kinds or "security" in kinds:
        return "critical"
    if "shutdown" in kinds:
        soon = deadline is not None and deadline.date - published.date() <= _URGENT
        return "critical" if soon else "high"
    if "price_change" in kinds or ("outage" in kinds and major_outage):
        return "medium"
    return "low" if "outage" in kinds else "info"
