"""Score the classifier against a labelled corpus: precision and recall per kind, deadlines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from feeds.classify import classify
from feeds.model import KINDS, Classification, Kind

_REQUIRED = ("id", "title", "text", "published", "kinds", "deadline")


@dataclass(frozen=True)
class CorpusItem:
    """One labelled announcement: what a careful reader says it is about."""

    id: str
    title: str
    text: str
    published: datetime
    kinds: tuple[Kind, ...]
    deadline: date | None


@dataclass(frozen=True)
class KindScore:
    """Counts and rates for one kind (a rate with nothing to divide by is 1.0)."""

    kind: Kind
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of the entries given this kind that carry it in the labels."""
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        """Share of the entries labelled with this kind that the classifier found."""
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Mismatch:
    """An item whose predicted kinds or deadline differ from its labels."""

    id: str
    expected_kinds: tuple[Kind, ...]
    predicted_kinds: tuple[Kind, ...]
    expected_deadline: date | None
    predicted_deadline: date | None


@dataclass(frozen=True)
class EvalReport:
    """The outcome of classifying a whole corpus."""

    scores: tuple[KindScore, ...]
    items: int
    exact_kinds: int
    deadline_correct: int
    deadline_total: int
    mismatches: tuple[Mismatch, ...]

    @property
    def deadline_accuracy(self) -> float:
        """Share of items with a labelled or predicted deadline whose date is exactly right."""
        return _ratio(self.deadline_correct, self.deadline_total)

    def score(self, kind: Kind) -> KindScore:
        """Return the score of one kind."""
        return next(score for score in self.scores if score.kind == kind)


def load_corpus(path: Path) -> list[CorpusItem]:
    """Read a JSON-lines corpus; raise ValueError naming the file, line and fix on a bad line."""
    items: list[CorpusItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = _parse_line(line, f"{path}:{number}")
        if item.id in seen:
            raise ValueError(
                f"{path}:{number}: duplicate id {item.id!r}; give each item its own id"
            )
        seen.add(item.id)
        items.append(item)
    return items


def evaluate(items: Sequence[CorpusItem]) -> EvalReport:
    """Classify every item and compare the kinds and deadline with its labels."""
    counts = {kind: [0, 0, 0] for kind in KINDS}
    exact = deadline_correct = deadline_total = 0
    mismatches: list[Mismatch] = []
    for item in items:
        result = classify(item.title, item.text, item.published)
        predicted = result.deadline.date if result.deadline else None
        for kind in KINDS:
            labelled, found = kind in item.kinds, kind in result.kinds
            if labelled and found:
                counts[kind][0] += 1
            elif found:
                counts[kind][1] += 1
            elif labelled:
                counts[kind][2] += 1
        exact += set(item.kinds) == set(result.kinds)
        if item.deadline is not None or predicted is not None:
            deadline_total += 1
            deadline_correct += item.deadline == predicted
        if set(item.kinds) != set(result.kinds) or item.deadline != predicted:
            mismatches.append(Mismatch(item.id, item.kinds, result.kinds, item.deadline, predicted))
    scores = tuple(KindScore(kind, *counts[kind]) for kind in KINDS)
    return EvalReport(
        scores, len(items), exact, deadline_correct, deadline_total, tuple(mismatches)
    )


def format_report(report: EvalReport) -> str:
    """Render the report as a plain-text table followed by the mismatched items."""
    lines = [f"{'kind':<14}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}{'F1':>7}"]
    for score in report.scores:
        lines.append(
            f"{score.kind:<14}{score.true_positives:>5}{score.false_positives:>5}"
            f"{score.false_negatives:>5}{score.precision:>11.2f}{score.recall:>8.2f}"
            f"{score.f1:>7.2f}"
        )
    lines.append("")
    lines.append(
        f"deadline exact date: {report.deadline_correct}/{report.deadline_total}"
        f" = {report.deadline_accuracy:.2f}"
    )
    lines.append(
        f"items: {report.items}, kinds exactly right: {report.exact_kinds}"
        f" ({_ratio(report.exact_kinds, report.items):.2f})"
    )
    if report.mismatches:
        lines.append("")
        lines.append("mismatches:")
        for miss in report.mismatches:
            lines.append(
                f"  {miss.id}: kinds expected {list(miss.expected_kinds)}"
                f" got {list(miss.predicted_kinds)}; deadline expected"
                f" {_iso(miss.expected_deadline)} got {_iso(miss.predicted_deadline)}"
            )
    return "\n".join(lines)


def prediction_record(item: CorpusItem, classification: Classification) -> dict[str, Any]:
    """Return the classifier's answer for one item as a JSON-ready dict."""
    deadline = classification.deadline
    return {
        "id": item.id,
        "kinds": list(classification.kinds),
        "severity": classification.severity,
        "deadline": deadline.date.isoformat() if deadline else None,
        "evidence": [
            {"label": e.label, "phrase": e.phrase, "reason": e.reason}
            for e in classification.evidence
        ],
    }


def _parse_line(line: str, where: str) -> CorpusItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{where}: not valid JSON ({error.msg}); write one JSON object per line"
        ) from None
    if not isinstance(raw, dict):
        # A bad corpus line is bad input, whatever its JSON type: one error type for callers.
        raise ValueError(f"{where}: expected a JSON object; write one object per line")  # noqa: TRY004
    missing = [field for field in _REQUIRED if field not in raw]
    if missing:
        raise ValueError(
            f"{where}: missing {', '.join(missing)}; every item needs {', '.join(_REQUIRED)}"
        )
    for field in ("id", "title", "text", "published"):
        if not isinstance(raw[field], str) or (field == "id" and not raw[field]):
            raise ValueError(f"{where}: {field} must be a non-empty string")
    return CorpusItem(
        id=raw["id"],
        title=raw["title"],
        text=raw["text"],
        published=_published(raw["published"], where),
        kinds=_kinds(raw["kinds"], where),
        deadline=_deadline(raw["deadline"], where),
    )


def _published(value: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{where}: published {value!r} is not an ISO date; use YYYY-MM-DD or an ISO datetime"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _kinds(value: object, where: str) -> tuple[Kind, ...]:
    if not isinstance(value, list) or any(kind not in KINDS for kind in value):
        raise ValueError(
            f"{where}: kinds {value!r} must be a list drawn from {', '.join(KINDS)} ([] for other)"
        )
    return tuple(kind for kind in KINDS if kind in value)


def _deadline(value: object, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: deadline {value!r} must be YYYY-MM-DD or null")


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "none"
