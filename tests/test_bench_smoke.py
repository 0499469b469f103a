"""The poll-cycle benchmark, run on a tiny corpus served by the test feed server.

Only the shape of the report and its counts are checked: timings belong to the
benchmark's own report, never to tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import build_corpus
from bench.poll_cycle import PollConfig, run_poll_cycle
from tests.servers import FeedServer

FEEDS = 20
ENTRIES = 20
_TYPES = {".atom": "application/atom+xml", ".rss": "application/rss+xml"}
_MEASURES = {"wall_s", "cpu_s", "peak_rss_mb", "feeds", "feeds_per_s"}


class FeedServerOrigin:
    """The benchmark's feeds served by the tests' FeedServer instead of nginx."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server

    def urls(self, paths: Sequence[str]) -> list[str]:
        """The URL of each corpus path on the feed server."""
        return [self.server.url(f"/{path}") for path in paths]

    def publish(self, root: Path, paths: Sequence[str]) -> None:
        """Serve the current bytes of each file, with validators that change with them."""
        for path in paths:
            body = (root / path).read_bytes()
            self.server.set_feed(f"/{path}", body, content_type=_TYPES[Path(path).suffix])

    def cpu_seconds(self) -> float | None:
        """The feed server shares the test's process: its CPU time is not told apart."""
        return None


def _quiet(_line: str) -> None:
    """Keep the benchmark's progress lines out of the test output."""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The poll-cycle report for a corpus of 20 feeds of 20 entries (run once per module)."""
    workdir = tmp_path_factory.mktemp("bench")
    corpus = build_corpus(workdir / "feeds", FEEDS, ENTRIES)
    config = PollConfig(concurrency=4, per_host=4)
    with FeedServer() as server:
        yield run_poll_cycle(config, corpus, FeedServerOrigin(server), workdir, log=_quiet)


def test_poll_cycle_reports_what_exitplan_did_in_each_cycle(report: dict[str, Any]) -> None:
    """exitplan baselines every entry, then sees no change, then exactly the one new entry."""
    keys = ("feeds", "not_modified", "baselined", "new_entries", "updated_entries", "failures")
    counts = {
        name: {key: cycle["exitplan"][key] for key in keys}
        for name, cycle in report["cycles"].items()
    }
    assert counts == {
        "a_first": {
            "feeds": 20,
            "not_modified": 0,
            "baselined": 20,
            "new_entries": 400,
            "updated_entries": 0,
            "failures": 0,
        },
        "b_unchanged": {
            "feeds": 20,
            "not_modified": 20,
            "baselined": 0,
            "new_entries": 0,
            "updated_entries": 0,
            "failures": 0,
        },
        "c_changed": {
            "feeds": 20,
            "not_modified": 19,
            "baselined": 0,
            "new_entries": 1,
            "updated_entries": 0,
            "failures": 0,
        },
    }


def test_poll_cycle_runs_the_limit_and_the_naive_baseline_on_the_same_feeds(
    report: dict[str, Any],
) -> None:
    """The bare client makes the same conditional GETs; the naive loop reads every body."""
    cycles = report["cycles"]
    seen = {
        name: (cycle["limit"]["statuses"], cycle["naive"]["statuses"], cycle["grown_feeds"])
        for name, cycle in cycles.items()
    }
    assert seen == {
        "a_first": ({"200": 20}, {"200": 20}, 0),
        "b_unchanged": ({"304": 20}, {"200": 20}, 0),
        "c_changed": ({"200": 1, "304": 19}, {"200": 20}, 1),
    }
    parsed = [cycles["a_first"]["feedparser_bytes"]["entries_parsed"]] + [
        cycle["naive"]["entries_parsed"] for cycle in cycles.values()
    ]
    assert parsed == [400, 400, 400, 401]


def test_poll_cycle_report_has_every_figure_and_target(report: dict[str, Any]) -> None:
    """Each contender reports time, CPU and memory, and every target of the issue is checked."""
    missing = {
        f"{name}/{contender}": sorted(_MEASURES - set(figures))
        for name, cycle in report["cycles"].items()
        for contender, figures in cycle.items()
        if isinstance(figures, dict) and contender not in ("ratios",)
        if _MEASURES - set(figures)
    }
    assert missing == {}
    assert [check["name"] for check in report["targets"]] == [
        "(b) exitplan time / limit time",
        "(b) naive time / exitplan time",
        "(c) exitplan time / limit time",
        "(a) bare feedparser entries/s / exitplan entries/s",
        "exitplan peak RSS, MB (max of cycles)",
    ]
    assert report["corpus"]["shapes"] == {
        "statuspage-rss": 5,
        "wordpress": 10,
        "statuspage-atom": 5,
    }
