"""The benchmarks, run small: the poll cycle on a tiny corpus served by the test feed server,
classification, queries and the fan-out.

Only the shape of the reports and their counts are checked: timings belong to the
benchmark's own report, never to tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import LABELLED
from bench.corpus import build_corpus
from bench.fanout import FanoutConfig, run_fanout
from bench.measure import run_scenario
from bench.poll_cycle import PollConfig, run_poll_cycle
from bench.queries import build_database, time_queries
from tests.servers import FeedServer

DATA = Path(__file__).parent / "data"

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
    keys = (
        "feeds",
        "not_modified",
        "baselined",
        "new_entries",
        "updated_entries",
        "failures",
        "read_modes",
    )
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
            "read_modes": {"full": 20},
        },
        "b_unchanged": {
            "feeds": 20,
            "not_modified": 20,
            "baselined": 0,
            "new_entries": 0,
            "updated_entries": 0,
            "failures": 0,
            "read_modes": {},
        },
        "c_changed": {
            "feeds": 20,
            "not_modified": 19,
            "baselined": 0,
            "new_entries": 1,
            "updated_entries": 0,
            "failures": 0,
            "read_modes": {"incremental": 1},
        },
    }


def test_poll_cycle_runs_the_limit_and_the_naive_baseline_on_the_same_feeds(
    report: dict[str, Any],
) -> None:
    """The bare client makes the same conditional GETs; the naive loop, run once, reads all."""
    cycles = report["cycles"]
    seen = {
        name: (
            cycle["limit"]["statuses"],
            cycle.get("naive", {}).get("statuses"),
            cycle["grown_feeds"],
        )
        for name, cycle in cycles.items()
    }
    assert seen == {
        "a_first": ({"200": 20}, None, 0),
        "b_unchanged": ({"304": 20}, {"200": 20}, 0),
        "c_changed": ({"200": 1, "304": 19}, None, 1),
    }
    parsed = [
        cycles["a_first"]["feedparser_bytes"]["entries_parsed"],
        cycles["b_unchanged"]["naive"]["entries_parsed"],
    ]
    assert parsed == [400, 400]


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
        "exitplan peak RSS, MB (with parse workers)",
    ]
    assert report["corpus"]["shapes"] == {
        "statuspage-rss": 5,
        "wordpress": 10,
        "statuspage-atom": 5,
    }


def test_a_sampled_baseline_reads_a_spread_of_feeds_and_scales_its_time(
    tmp_path: Path,
) -> None:
    """With a sample, the naive loop reads that many feeds and its time is scaled up."""
    corpus = build_corpus(tmp_path / "feeds", 8, 2)
    config = PollConfig(concurrency=4, per_host=4, baseline_sample=2)
    with FeedServer() as server:
        sampled = run_poll_cycle(config, corpus, FeedServerOrigin(server), tmp_path, log=_quiet)
    naive = sampled["cycles"]["b_unchanged"]["naive"]
    bare = sampled["cycles"]["a_first"]["feedparser_bytes"]
    assert (naive["feeds"], bare["feeds"], sampled["corpus"]["baseline_feeds"]) == (2, 2, 2)
    assert naive["scaled_wall_s"] == round(naive["wall_s"] * 4, 3)


def test_classification_figure_reads_the_labelled_sets_but_not_the_blind_one(
    tmp_path: Path,
) -> None:
    """The corpus, holdout and unseen sets are repeated to the requested count."""
    files = [str(DATA / name) for name in LABELLED]
    result = run_scenario("classify", {"corpus_files": files, "entries": 700}, tmp_path)
    assert (result["entries"], result["labelled_items"], "blind.jsonl" in LABELLED) == (
        700,
        336,
        False,
    )


def test_query_database_has_the_rows_and_every_query_a_plan(tmp_path: Path) -> None:
    """A small query database holds a tenth as many events as entries; each query is planned."""
    built = build_database(tmp_path / "q.db", 2_000)
    timed = time_queries(tmp_path / "q.db")
    shape = {name: bool(query["plans"]) for name, query in timed["queries"].items()}
    assert (built["rows"]["entries"], built["rows"]["events"], built["rows"]["deliveries"]) == (
        2_000,
        200,
        2_000,
    )
    assert shape == {"status": True, "events --provider": True, "due deliveries": True}


def test_fanout_reaches_every_channel_once_even_when_rate_limited(tmp_path: Path) -> None:
    """Both fan-outs deliver one message to each channel: none lost, none twice."""
    result = run_fanout(FanoutConfig(40), tmp_path, log=_quiet)
    limited = result["limited"]
    assert (result["stand_in_received"], result["dispatch"]["sent"]) == (40, 40)
    assert (limited["stand_in"]["channels"], limited["lost"], limited["duplicated"]) == (40, 0, 0)
    assert [check["met"] for check in result["targets"]][1:] == [True]
