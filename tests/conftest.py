"""Shared fixtures: a clean environment and a guarded network for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.servers import FeedServer

_CLEARED_PREFIXES = ("SLACK_", "DISCORD_", "EXITPLAN_")
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's chat tokens, exitplan settings and proxies out of every test."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(_CLEARED_PREFIXES) or upper in _PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A FeedServer on 127.0.0.1, started and ready, closed after the test."""
    with FeedServer() as server:
        yield server
