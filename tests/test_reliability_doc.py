"""docs/reliability.md names real tests, and names every test of the reliability files."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "reliability.md"
_REFERENCE = re.compile(r"`([\w/]+\.py)::(test_\w+)`")


def _defined(path: Path) -> set[str]:
    return set(re.findall(r"^def (test_\w+)\(", path.read_text("utf-8"), re.MULTILINE))


def test_every_test_the_fault_matrix_names_exists() -> None:
    """Each `file::test` in the fault matrix is a test function defined in that file."""
    references = _REFERENCE.findall(DOC.read_text("utf-8"))
    missing = [
        f"{file}::{name}"
        for file, name in references
        if not (ROOT / "tests" / file).exists() or name not in _defined(ROOT / "tests" / file)
    ]
    assert len(references) > 80
    assert missing == []


def test_the_fault_matrix_cites_every_reliability_test() -> None:
    """Every test of the crash, untrusted-text and data-safety files proves a row."""
    cited = set(_REFERENCE.findall(DOC.read_text("utf-8")))
    files = ("test_crash.py", "test_untrusted.py", "test_data_safety.py")
    uncited = [
        f"{file}::{name}"
        for file in files
        for name in sorted(_defined(ROOT / "tests" / file))
        if (file, name) not in cited
    ]
    assert uncited == []
