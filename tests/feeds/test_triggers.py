"""Tests for the classifier's fast paths: the trigger index and the lower-cased patterns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from feeds.evaluate import load_corpus
from feeds.rules import RULES, load_rules
from feeds.sentences import normalise, split_sentences
from feeds.triggers import TriggerIndex

DATA = Path(__file__).parent.parent / "data"
LABELLED = ("corpus.jsonl", "holdout.jsonl", "unseen.jsonl")


@dataclass(frozen=True)
class _Gated:
    triggers: tuple[str, ...]


def _sentences() -> list[str]:
    items = [item for name in LABELLED for item in load_corpus(DATA / name)]
    texts = [normalise(text) for item in items for text in (item.title, item.text)]
    return [sentence for text in texts for sentence in split_sentences(text)]


def test_trigger_index_gives_exactly_the_rules_whose_literals_occur() -> None:
    """On every labelled sentence the index's mask equals testing each rule's literals."""
    index = TriggerIndex(RULES)
    differing = []
    for sentence in _sentences():
        lower = sentence.lower()
        expected = sum(
            1 << number
            for number, rule in enumerate(RULES)
            if not rule.triggers or any(word in lower for word in rule.triggers)
        )
        if index.mask(lower) != expected:
            differing.append(sentence)
    assert differing == []


def test_trigger_index_sees_literals_inside_longer_ones() -> None:
    """A literal that starts or ends inside a longer one still counts ("shut" in "shutdown")."""
    index = TriggerIndex([_Gated(("shut",)), _Gated(("shutdown",)), _Gated(("down",)), _Gated(())])
    masks = [index.mask(text) for text in ("the shutdown", "shut the door", "countdown", "")]
    assert masks == [0b1111, 0b1001, 0b1100, 0b1000]


def test_lowered_patterns_match_where_the_case_insensitive_ones_do() -> None:
    """Each rule's lower-case pattern finds the same spans on lower-cased labelled sentences."""
    differing = []
    for sentence in _sentences():
        lower = sentence.lower()
        for rule in RULES:
            assert rule.lowered is not None
            ours = [match.span() for match in rule.lowered.finditer(lower)]
            if ours != [match.span() for match in rule.pattern.finditer(sentence)]:
                differing.append((rule.reason, sentence))
    assert differing == []


def test_patterns_with_character_codes_are_not_lowered() -> None:
    """Escapes are kept as written; a pattern naming characters by code keeps case folding."""
    text = (
        '[vetoes]\n[[rule]]\nkind = "shutdown"\nreason = "x"\npatterns = ["\\\\bEOL\\\\S"]\n'
        '[[rule]]\nkind = "shutdown"\nreason = "y"\npatterns = ["\\\\x41rchive"]\n'
    )
    plain, coded = load_rules(text, "rules.toml")
    assert (plain.lowered.pattern if plain.lowered else None, coded.lowered) == ("\\beol\\S", None)
