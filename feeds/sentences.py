"""Split announcement text into sentences and clauses, the units classification reasons over."""

from __future__ import annotations

import re

# A line break ends a sentence too; the look-behind starts that match only where a run of
# whitespace starts, so a long run without a line break costs one pass, not one per character.
_SENTENCE_END = re.compile(r"(?<=[.!?])[^\S\n]+(?=[A-Z0-9\"'(\[])|(?<!\s)\s*\n\s*")
# A full stop after these ends an abbreviation, not a sentence ("Sept. 1", "e.g. S3").
_ABBREVIATIONS = frozenset({
    "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.",
    "dec.", "e.g.", "i.e.", "etc.", "vs.", "approx.", "inc.", "ltd.", "no.", "mr.", "ms.", "dr.",
    "st.", "u.s.",
})  # fmt: skip
# Typographic apostrophes and quotes, read as their plain forms.
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
# "we'll", "it'll": the rules read "will".
_WILL = re.compile(r"(?<=[A-Za-z])'ll\b")
# A comma ends a clause unless a year follows it ("July 31, 2014").
_CLAUSE_END = re.compile(r",(?!\s*\d)|;|\s\band\b\s|\s\bbut\b\s|\s\bor\b\s", re.IGNORECASE)


def normalise(text: str) -> str:
    """Return `text` with plain apostrophes and quotes and "'ll" spelt out as " will"."""
    return _WILL.sub(" will", text.translate(_QUOTES))


def split_sentences(text: str) -> list[str]:
    """Return the non-empty sentences of `text`, each on one line and stripped."""
    sentences: list[str] = []
    start = 0
    for end in _SENTENCE_END.finditer(text):
        piece = text[start : end.start()]
        last_word = piece.rsplit(None, 1)[-1].lower() if piece.strip() else ""
        if "\n" in end.group(0) or last_word not in _ABBREVIATIONS:
            sentences.append(piece)
            start = end.end()
    sentences.append(text[start:])
    return [" ".join(s.split()) for s in sentences if s.strip()]


def clause_spans(sentence: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of the clauses of one sentence, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _CLAUSE_END.finditer(sentence):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(sentence)))
    return spans
