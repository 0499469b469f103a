"""Tell in one pass over a sentence which rules can match it, from their trigger literals.

Every rule lists literals of which a sentence must hold one for the rule to match (see
`feeds.rules.Rule.triggers`). Testing each rule's literals against each sentence costs
more than the rules themselves, so the literals of all rules go into one regular
expression shaped as a trie: scanning a lower-cased sentence once yields, at each
position, the longest literal starting there. Every shorter literal starting at the same
position is a prefix of that one, so a precomputed bit mask per literal (the rules of the
literal and of each literal that is a prefix of it) gives exactly the rules whose
`any(word in sentence for word in rule.triggers)` holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol


class Triggered(Protocol):
    """What the index reads from a rule: the literals that gate it (empty: always runs)."""

    @property
    def triggers(self) -> tuple[str, ...]:
        """Lower-case literals of which a sentence must hold one."""
        ...


class TriggerIndex:
    """Bit masks of the rules (bit i for rules[i]) that a lower-cased sentence can match."""

    def __init__(self, rules: Sequence[Triggered]) -> None:
        own: dict[str, int] = {}
        always = 0
        for index, rule in enumerate(rules):
            if not rule.triggers:
                always |= 1 << index
            for word in rule.triggers:
                own[word] = own.get(word, 0) | (1 << index)
        self._always = always
        # A literal found at a position brings every literal that is a prefix of it.
        self._masks = {
            word: _or(own.get(word[:length], 0) for length in range(1, len(word) + 1))
            for word in own
        }
        self._scan = re.compile(f"(?=({_trie(sorted(own))}))") if own else None

    def mask(self, lower: str) -> int:
        """The rules that can match `lower` (a lower-cased sentence), as a bit mask."""
        found = self._always
        if self._scan is not None:
            for word in set(self._scan.findall(lower)):
                found |= self._masks[word]
        return found


def _or(masks: Iterable[int]) -> int:
    total = 0
    for mask in masks:
        total |= mask
    return total


#: A trie node: the next character to the node after it; "" marks the end of a word.
_Node = dict[str, "_Node"]


def _trie(words: Sequence[str]) -> str:
    """A regular expression matching the longest of `words` at a position (non-empty words)."""
    root: _Node = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branch(root)


def _branch(node: _Node) -> str:
    children = sorted((char, child) for char, child in node.items() if char)
    alternatives = [re.escape(char) + _branch(child) for char, child in children]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
    # Greedy: a longer literal is preferred, and a word that ends here still matches.
    return f"(?:{body})?" if "" in node else body
