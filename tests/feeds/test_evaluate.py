"""Tests for feeds.evaluate: loading a corpus, scoring it, and reporting the result."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from feeds.evaluate import (
    CorpusItem,
    EvalReport,
    KindScore,
    Mismatch,
    evaluate,
    format_report,
    load_corpus,
    prediction_record,
)
from feeds.model import Classification, Deadline, Evidence

SHUTDOWN = {
    "id": "vault-closing",
    "title": "Vault is closing",
    "text": "Vault will be shut down on 1 June 2024 and all files deleted.",
    "published": "2024-03-01",
    "kinds": ["shutdown"],
    "deadline": "2024-06-01",
    "source": "synthetic",
}
OUTAGE = {
    "id": "s3-errors",
    "title": "Service disruption: S3",
    "text": "Requests to S3 are failing.",
    "published": "2024-03-01T10:15:00+01:00",
    "kinds": ["outage", "data_loss"],
    "deadline": None,
}
LAUNCH = {
    "id": "region-launch",
    "title": "New region now available",
    "text": "Frankfurt is open for Object Storage.",
    "published": "2024-03-01",
    "kinds": [],
    "deadline": None,
}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_corpus_reads_items_in_utc_with_kinds_in_order(tmp_path: Path) -> None:
    """Dates become UTC datetimes, kinds follow KINDS order, extra fields and blanks are ignored."""
    path = _write(tmp_path, json.dumps(SHUTDOWN), "", json.dumps(OUTAGE))
    assert load_corpus(path) == [
        CorpusItem(
            id="vault-closing",
            title="Vault is closing",
            text="Vault will be shut down on 1 June 2024 and all files deleted.",
            published=datetime(2024, 3, 1, tzinfo=UTC),
            kinds=("shutdown",),
            deadline=date(2024, 6, 1),
        ),
        CorpusItem(
            id="s3-errors",
            title="Service disruption: S3",
            text="Requests to S3 are failing.",
            published=datetime(2024, 3, 1, 9, 15, tzinfo=UTC),
            kinds=("data_loss", "outage"),
            deadline=None,
        ),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"corpus\.jsonl:2: not valid JSON .*; write one JSON object per line"),
        ("[1, 2]", r"corpus\.jsonl:2: expected a JSON object"),
        (json.dumps({"id": "x"}), r"corpus\.jsonl:2: missing title, text, published, kinds"),
        (json.dumps({**LAUNCH, "kinds": ["outrage"]}), r"corpus\.jsonl:2: kinds \['outrage'\]"),
        (
            json.dumps({**LAUNCH, "deadline": "31/03/2024"}),
            r"corpus\.jsonl:2: deadline '31/03/2024'",
        ),
        (
            json.dumps({**LAUNCH, "published": "yesterday"}),
            r"corpus\.jsonl:2: published 'yesterday'",
        ),
        (json.dumps({**LAUNCH, "id": "vault-closing"}), r"corpus\.jsonl:2: duplicate id"),
    ],
)
def test_bad_corpus_lines_name_file_line_and_fix(tmp_path: Path, line: str, message: str) -> None:
    """Every malformed line raises a ValueError that says where it is and what to write."""
    path = _write(tmp_path, json.dumps(SHUTDOWN), line)
    with pytest.raises(ValueError, match=message):
        load_corpus(path)


def test_evaluate_counts_hits_misses_and_deadlines(tmp_path: Path) -> None:
    """A found shutdown, an outage whose data loss was missed, and a quiet launch score exactly."""
    items = load_corpus(
        _write(tmp_path, json.dumps(SHUTDOWN), json.dumps(OUTAGE), json.dumps(LAUNCH))
    )
    report = evaluate(items)
    assert report == EvalReport(
        scores=(
            KindScore("shutdown", 1, 0, 0),
            KindScore("data_loss", 0, 0, 1),
            KindScore("security", 0, 0, 0),
            KindScore("price_change", 0, 0, 0),
            KindScore("outage", 1, 0, 0),
        ),
        items=3,
        exact_kinds=2,
        deadline_correct=1,
        deadline_total=1,
        mismatches=(Mismatch("s3-errors", ("data_loss", "outage"), ("outage",), None, None),),
    )
    assert (report.score("data_loss").recall, report.score("security").precision) == (0.0, 1.0)


def test_format_report_is_a_readable_table() -> None:
    """The report lists each kind's counts and rates, the deadline accuracy and the mismatches."""
    report = EvalReport(
        scores=(
            KindScore("shutdown", 3, 1, 0),
            KindScore("data_loss", 1, 0, 1),
            KindScore("security", 0, 0, 0),
            KindScore("price_change", 2, 0, 0),
            KindScore("outage", 0, 1, 0),
        ),
        items=6,
        exact_kinds=4,
        deadline_correct=2,
        deadline_total=3,
        mismatches=(Mismatch("a", ("data_loss",), (), None, date(2024, 5, 1)),),
    )
    assert format_report(report) == "\n".join(
        [
            "kind             TP   FP   FN  precision  recall     F1",
            "shutdown          3    1    0       0.75    1.00   0.86",
            "data_loss         1    0    1       1.00    0.50   0.67",
            "security          0    0    0       1.00    1.00   1.00",
            "price_change      2    0    0       1.00    1.00   1.00",
            "outage            0    1    0       0.00    1.00   0.00",
            "",
            "deadline exact date: 2/3 = 0.67",
            "items: 6, kinds exactly right: 4 (0.67)",
            "",
            "mismatches:",
            "  a: kinds expected ['data_loss'] got []; deadline expected none got 2024-05-01",
        ]
    )


def test_prediction_record_is_json_ready() -> None:
    """A prediction becomes a plain dict with the id, kinds, severity, deadline and evidence."""
    item = CorpusItem("x", "t", "b", datetime(2024, 3, 1, tzinfo=UTC), ("shutdown",), None)
    result = Classification(
        kinds=("shutdown",),
        severity="high",
        evidence=(Evidence("shutdown", "will be retired", "the product is being retired"),),
        deadline=Deadline(date(2025, 9, 30), "on 30 September 2025"),
    )
    record = prediction_record(item, result)
    assert record == {
        "id": "x",
        "kinds": ["shutdown"],
        "severity": "high",
        "deadline": "2025-09-30",
        "evidence": [
            {
                "label": "shutdown",
                "phrase": "will be retired",
                "reason": "the product is being retired",
            }
        ],
    }
    assert json.loads(json.dumps(record)) == record
