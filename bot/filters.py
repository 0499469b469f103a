"""Subscription filters as people type them: match terms, exclusions, a minimum severity.

The same rules on every platform: terms are separated by commas (`us-east-1, us-west-2`)
and may contain spaces (`Spaces NYC3`); on Slack, where words are separated by spaces,
filters are `match:TERM`, `exclude:TERM` and `min:LEVEL` words, quoting a term with
spaces (`match:"Spaces NYC3"`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from feeds.model import SEVERITIES
from storage import Subscription

#: At most this many terms of each sort, each at most this long.
MAX_TERMS = 20
MAX_TERM_LENGTH = 80
#: Slack's word prefixes, and the filter each sets.
FILTER_PREFIXES = {
    "match": "match",
    "exclude": "exclude",
    "min": "min_severity",
    "min_severity": "min_severity",
    "severity": "min_severity",
}
_WORD = re.compile(r'(?:[^\s"“”]+|"[^"]*"?|“[^”]*”?)+')


@dataclass(frozen=True)
class Filters:
    """A subscription's filters, validated."""

    match: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_severity: str | None = None


def parse_terms(values: Iterable[str]) -> tuple[tuple[str, ...], str | None]:
    """Terms from what was typed (commas separate terms); returns the terms or an error."""
    terms: list[str] = []
    for value in values:
        for part in value.split(","):
            term = " ".join(part.strip().strip("\"“”'").split())
            if not term:
                continue
            if len(term) > MAX_TERM_LENGTH:
                return (), f"The term {term[:20]!r}… is too long (at most {MAX_TERM_LENGTH})."
            if not any(char.isalnum() for char in term):
                return (), f"The term {term!r} has no letter or digit to look for."
            if term.casefold() not in {known.casefold() for known in terms}:
                terms.append(term)
    if len(terms) > MAX_TERMS:
        return (), f"At most {MAX_TERMS} terms, please; {len(terms)} were given."
    return tuple(terms), None


def parse_filters(
    match: Iterable[str] = (), exclude: Iterable[str] = (), min_severity: str | None = None
) -> tuple[Filters, str | None]:
    """Validate filters as typed; returns them, or an error message for the person."""
    matched, error = parse_terms(match)
    if error:
        return Filters(), error
    excluded, error = parse_terms(exclude)
    if error:
        return Filters(), error
    both = {term.casefold() for term in matched} & {term.casefold() for term in excluded}
    if both:
        return Filters(), f"{sorted(both)[0]!r} cannot be both matched and excluded."
    level = (min_severity or "").strip().lower() or None
    if level is not None and level not in SEVERITIES:
        choices = ", ".join(SEVERITIES)
        return Filters(), f"Unknown severity {min_severity!r}. Choose from: {choices}."
    return Filters(matched, excluded, level), None


def describe_filters(sub: Subscription) -> str:
    """A subscription's filters in a few words, or "" without any."""
    parts = []
    if sub.match_terms:
        parts.append("match: " + ", ".join(sub.match_terms))
    if sub.exclude_terms:
        parts.append("exclude: " + ", ".join(sub.exclude_terms))
    if sub.min_severity:
        parts.append(f"severity {sub.min_severity} or worse")
    return " · ".join(parts)


def split_words(text: str) -> list[str]:
    """Split a command at spaces, keeping quoted parts ("…" or “…”) in one word."""
    return _WORD.findall(text)


@dataclass(frozen=True)
class FilterWords:
    """A Slack subscribe command's words after the provider: kinds and filters."""

    kinds: tuple[str, ...] = ()
    match: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_severity: str | None = None


def filter_words(words: Iterable[str]) -> FilterWords:
    """Sort words into kinds and `match:`, `exclude:`, `min:` filters."""
    kinds: list[str] = []
    found: dict[str, list[str]] = {"match": [], "exclude": [], "min_severity": []}
    for word in words:
        prefix, colon, value = word.partition(":")
        target = FILTER_PREFIXES.get(prefix.lower()) if colon else None
        if target is None:
            kinds.append(word)
        else:
            found[target].append(value)
    levels = found["min_severity"]
    return FilterWords(
        kinds=tuple(kinds),
        match=tuple(found["match"]),
        exclude=tuple(found["exclude"]),
        min_severity=levels[-1] if levels else None,
    )
