"""Subscription filters: match terms, exclusions and a minimum severity, applied to events.

Pure functions over strings, so storage can decide what a channel hears when it queues
deliveries. Terms are case-insensitive and whole-word: `B2` matches "B2 Cloud Storage"
but not "B20", `us-east-1` matches "US-EAST-1 Region" but not "us-east-10", and a space
in a term matches any run of spaces or line breaks ("Spaces NYC3").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

#: Severities from the most to the least urgent. A copy of `feeds.model.SEVERITIES`
#: (storage imports neither `feeds` nor `bot`); a test keeps the two equal.
SEVERITY_ORDER: tuple[str, ...] = ("critical", "high", "medium", "low", "info")


@lru_cache(maxsize=512)
def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in term.split()]
    return re.compile(r"(?<![^\W_])" + r"\s+".join(words) + r"(?![^\W_])", re.IGNORECASE)


def term_in(term: str, text: str) -> bool:
    """True when `term` appears in `text` as whole words, ignoring case."""
    return bool(term.split()) and _term_pattern(term).search(text) is not None


def severity_at_least(severity: str, minimum: str | None) -> bool:
    """True when `severity` is as urgent as `minimum` or more (unknown counts as "info")."""
    if minimum is None or minimum not in SEVERITY_ORDER:
        return True
    least = len(SEVERITY_ORDER) - 1
    rank = SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else least
    return rank <= SEVERITY_ORDER.index(minimum)


def passes_filter(
    *,
    title: str,
    text: str,
    tags: Sequence[str],
    severity: str,
    match_terms: Sequence[str],
    exclude_terms: Sequence[str],
    min_severity: str | None,
) -> bool:
    """True when an event passes: severe enough, some match term present, no excluded one.

    Terms are looked for in the title, the text and the tags (regions and components
    recognised in the entry).
    """
    if not severity_at_least(severity, min_severity):
        return False
    haystack = "\n".join((title, text, *tags))
    if match_terms and not any(term_in(term, haystack) for term in match_terms):
        return False
    return not any(term_in(term, haystack) for term in exclude_terms)
