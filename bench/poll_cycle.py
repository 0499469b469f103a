"""The poll-cycle benchmark: exitplan against the limit and the naive baseline, three cycles.

(a) the first cycle, every feed new; (b) a cycle where nothing changed; (c) a cycle where a
fraction of the feeds gained one entry. In each cycle exitplan's `poll_once` and the
limit (a bare aiohttp client making the same conditional GETs at the same concurrency,
no parsing, no storage) run, each in a fresh process. The naive baseline (a sequential
loop of `feedparser.parse(url)`) sends no validators, so its work is the same in every
cycle: it runs once, in cycle (b), where its target is. Cycle (a) also times bare
`feedparser.parse` on the same documents, read from disk. With `baseline_sample` the two
feedparser baselines read only that many feeds (spread over the corpus) and their times
are scaled to the whole corpus (`scaled_wall_s`): a quick run stays quick.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from bench.corpus import FIRST_POLL, Corpus, grow_feeds
from bench.measure import Result, rate, run_scenario
from feeds.model import DEFAULT_KINDS
from feeds.watcher import PollSettings
from storage import EVERY_PROVIDER, FeedSource, open_db
from storage.feeds import sync_feeds
from storage.subscriptions import subscribe

CYCLES = (
    ("a_first", "(a) first cycle, every feed new"),
    ("b_unchanged", "(b) nothing changed"),
    ("c_changed", "(c) some feeds gained one entry"),
)
#: The issue's targets (2 cores).
MAX_B_OVER_LIMIT = 2.0
MIN_NAIVE_OVER_B = 50.0
MAX_C_OVER_LIMIT = 3.0
MAX_PARSE_OVERHEAD = 1.3
MAX_RSS_MB = 300.0


class Origin(Protocol):
    """Where the feeds are served from: nginx in the benchmark, a test server in tests."""

    def urls(self, paths: Sequence[str]) -> list[str]:
        """The URL of each corpus path."""
        ...

    def publish(self, root: Path, paths: Sequence[str]) -> None:
        """Serve the current bytes of these files (nginx reads them from disk itself)."""
        ...

    def cpu_seconds(self) -> float | None:
        """CPU seconds the server has used so far, or None when it cannot tell."""
        ...


@dataclass(frozen=True)
class PollConfig:
    """The size and shape of one poll-cycle run."""

    concurrency: int = 50
    per_host: int = 4
    grow_fraction: float = 0.05
    naive: bool = True
    #: Time bare feedparser.parse on the documents in cycle (a).
    bare_parse: bool = True
    #: Feeds the feedparser baselines read (spread over the corpus); None: all of them.
    baseline_sample: int | None = None
    #: exitplan's parse workers (the `parse_workers` setting, resolved: "auto" on this machine).
    parse_workers: int = 0


Log = Callable[[str], None]


def run_poll_cycle(
    config: PollConfig, corpus: Corpus, origin: Origin, workdir: Path, log: Log = print
) -> dict[str, Any]:
    """Run the three cycles for every contender; return the figures and the target checks."""
    paths = [feed.path for feed in corpus.feeds]
    origin.publish(corpus.root, paths)
    urls = origin.urls(paths)
    urls_file = workdir / "urls.json"
    urls_file.write_text(json.dumps(urls))
    sample = _sample(len(paths), config.baseline_sample)
    sample_urls_file = workdir / "sample-urls.json"
    sample_urls_file.write_text(json.dumps([urls[i] for i in sample]))
    paths_file = workdir / "paths.json"
    paths_file.write_text(json.dumps([str(corpus.root / paths[i]) for i in sample]))
    scale = len(paths) / max(1, len(sample))
    db_path = workdir / "exitplan.db"
    _prepare_db(db_path, corpus, urls)
    common = {"concurrency": config.concurrency, "per_host": config.per_host}
    server_cpu = origin.cpu_seconds
    cycles: dict[str, Any] = {}
    for number, (name, title) in enumerate(CYCLES):
        # An hour apart: every feed is due again (the poll interval is ten minutes).
        now = FIRST_POLL + timedelta(hours=number)
        grown: tuple[str, ...] = ()
        if name == "c_changed":
            grown = tuple(feed.path for feed in grow_feeds(corpus, config.grow_fraction))
            origin.publish(corpus.root, grown)
        log(f"poll cycle {title}: {len(paths):,} feeds")
        figures: dict[str, Result] = {}
        log("  exitplan poll_once …")
        figures["exitplan"] = run_scenario(
            "exitplan-poll",
            {
                **common,
                "db": str(db_path),
                "now": now.isoformat(),
                "parse_workers": config.parse_workers,
            },
            workdir,
            server_cpu=server_cpu,
        )
        log("  limit: bare aiohttp client …")
        figures["limit"] = run_scenario(
            "limit",
            {**common, "urls_file": str(urls_file), "state_file": str(workdir / "limit.json")},
            workdir,
            server_cpu=server_cpu,
        )
        if config.naive and name == "b_unchanged":
            log(f"  naive: sequential feedparser.parse(url), {len(sample):,} feeds …")
            figures["naive"] = run_scenario(
                "naive", {"urls_file": str(sample_urls_file)}, workdir, server_cpu=server_cpu
            )
        if config.bare_parse and name == "a_first":
            log(f"  bare feedparser.parse on the same bytes, {len(sample):,} feeds …")
            figures["feedparser_bytes"] = run_scenario(
                "feedparser-bytes", {"paths_file": str(paths_file)}, workdir
            )
        for key in ("naive", "feedparser_bytes"):
            if key in figures and scale != 1:
                figures[key]["scaled_wall_s"] = round(figures[key]["wall_s"] * scale, 3)
        for figure in figures.values():
            figure["feeds_per_s"] = rate(figure["feeds"], figure["wall_s"])
            if "entries_parsed" in figure:
                figure["entries_per_s"] = rate(figure["entries_parsed"], figure["wall_s"])
        pooled = figures["exitplan"].get("baselined", 0) >= PollSettings().pool_min_feeds
        workers = config.parse_workers if pooled else 0
        figures["exitplan"]["all_processes_rss_mb"] = round(
            figures["exitplan"]["peak_rss_mb"]
            + workers * figures["exitplan"].get("children_peak_rss_mb", 0.0),
            1,
        )
        exitplan = figures["exitplan"]
        if name == "a_first":
            exitplan["entries_parsed"] = exitplan["new_entries"]
            exitplan["entries_per_s"] = rate(exitplan["new_entries"], exitplan["wall_s"])
        cycles[name] = {
            "title": title,
            "now": now.isoformat(),
            "grown_feeds": len(grown),
            **figures,
            "ratios": _ratios(figures),
        }
    return {
        "config": asdict(config),
        "corpus": {
            "feeds": len(corpus.feeds),
            "entries_per_feed": corpus.entries_per_feed,
            "shapes": corpus.shapes(),
            "bytes": corpus.total_bytes,
            "mean_feed_bytes": round(corpus.total_bytes / max(1, len(corpus.feeds))),
            "baseline_feeds": len(sample),
        },
        "cycles": cycles,
        "targets": check_targets(cycles),
    }


def _sample(count: int, size: int | None) -> list[int]:
    """Indexes of `size` feeds spread evenly over `count` (all of them without a size)."""
    if size is None or size >= count:
        return list(range(count))
    return [round(i * count / size) for i in range(size)]


def _prepare_db(db_path: Path, corpus: Corpus, urls: list[str]) -> None:
    """A fresh database with every feed and one subscription to every provider."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db = open_db(db_path)
    start = FIRST_POLL - timedelta(minutes=1)
    sources = [
        FeedSource(feed.provider, url, feed.role)
        for feed, url in zip(corpus.feeds, urls, strict=True)
    ]
    sync_feeds(db, sources, start)
    subscribe(
        db,
        platform="console",
        workspace="local",
        channel="console",
        provider=EVERY_PROVIDER,
        kinds=DEFAULT_KINDS,
        now=start,
    )
    db.close()


def _ratios(figures: dict[str, Result]) -> dict[str, float]:
    """exitplan's wall time over the limit's, and the naive baseline's over exitplan's."""
    exitplan = figures["exitplan"]["wall_s"]
    ratios = {"exitplan_over_limit": _ratio(exitplan, figures["limit"]["wall_s"])}
    if "naive" in figures:
        naive = float(figures["naive"].get("scaled_wall_s") or figures["naive"]["wall_s"])
        ratios["naive_over_exitplan"] = _ratio(naive, exitplan)
    if "feedparser_bytes" in figures:
        ratios["feedparser_rate_over_exitplan_rate"] = _ratio(
            figures["feedparser_bytes"]["entries_per_s"], figures["exitplan"]["entries_per_s"]
        )
    return ratios


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator > 0 else float("inf")


def check_targets(cycles: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it was met."""
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, target: str, met: bool) -> None:
        checks.append({"name": name, "value": value, "target": target, "met": met})

    b, c, a = cycles["b_unchanged"]["ratios"], cycles["c_changed"]["ratios"], cycles["a_first"]
    check(
        "(b) exitplan time / limit time",
        b["exitplan_over_limit"],
        f"<= {MAX_B_OVER_LIMIT:g}",
        b["exitplan_over_limit"] <= MAX_B_OVER_LIMIT,
    )
    if "naive_over_exitplan" in b:
        check(
            "(b) naive time / exitplan time",
            b["naive_over_exitplan"],
            f">= {MIN_NAIVE_OVER_B:g}",
            b["naive_over_exitplan"] >= MIN_NAIVE_OVER_B,
        )
    check(
        "(c) exitplan time / limit time",
        c["exitplan_over_limit"],
        f"<= {MAX_C_OVER_LIMIT:g}",
        c["exitplan_over_limit"] <= MAX_C_OVER_LIMIT,
    )
    overhead = a["ratios"].get("feedparser_rate_over_exitplan_rate")
    if overhead is not None:
        check(
            "(a) bare feedparser entries/s / exitplan entries/s",
            overhead,
            f"<= {MAX_PARSE_OVERHEAD:g}",
            overhead <= MAX_PARSE_OVERHEAD,
        )
    peak = max(cycles[name]["exitplan"]["all_processes_rss_mb"] for name, _ in CYCLES)
    check(
        "exitplan peak RSS, MB (with parse workers)", peak, f"< {MAX_RSS_MB:g}", peak < MAX_RSS_MB
    )
    return checks
