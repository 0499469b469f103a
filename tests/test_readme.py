"""The README documents every command and the set-up commands CI runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import build_parser

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def _commands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def test_every_command_is_in_the_readme() -> None:
    """Each `exitplan` subcommand (and `providers add`, `db backup`) appears in the README."""
    missing = [
        name
        for name in [*_commands(), "providers add", "db backup", "db restore", "deliveries retry"]
        if f"`exitplan {name}" not in README
    ]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs exactly the test command the README gives newcomers."""
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert "bash tests/check.sh" in README
    assert "bash tests/check.sh" in ci
