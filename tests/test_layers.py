"""Imports point one way: bot -> feeds -> storage, and chat SDKs stay in their adapters."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent
ADAPTERS = {"bot/slack_app.py", "bot/discord_app.py", "bot/apprise_app.py"}
CHAT_LIBRARIES = {"slack_sdk", "slack_bolt", "discord", "apprise"}
FORBIDDEN = {"storage": {"bot", "feeds"}, "feeds": {"bot"}, "bot": set()}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_packages_import_in_one_direction() -> None:
    """storage imports neither bot nor feeds; feeds does not import bot."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package, banned in FORBIDDEN.items()
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(_imports(path) & banned)
    ]
    assert wrong == []


def test_chat_libraries_stay_inside_their_adapters() -> None:
    """Only the adapters (Slack, Discord, Apprise) may import a chat or notification SDK."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in FORBIDDEN
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in ADAPTERS
        for name in sorted(_imports(path) & CHAT_LIBRARIES)
    ]
    assert wrong == []
