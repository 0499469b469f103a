"""`python -m bench`: run the benchmarks, print a table, write bench/results/latest.json.

The figures, in order: the poll cycle at full size (exitplan against the limit and the
naive baseline), the same cycles at smaller sizes (how cost grows), classification
throughput, queries on a database of a million entries, and the fan-out. `bench/run`
calls this from the repository root; bench/README.md explains every figure.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.corpus import build_corpus
from bench.fanout import FanoutConfig, run_fanout
from bench.measure import REPO, run_scenario
from bench.nginx import Nginx, nginx_version
from bench.poll_cycle import PollConfig, run_poll_cycle
from bench.queries import MAX_QUERY_MS
from bench.report import format_report, write_json
from feeds.fetch import FetchLimits
from feeds.pool import auto_workers

DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.json"
QUICK_FEEDS = 2_000
QUICK_CHANNELS = 2_000
#: A quick run times the feedparser baselines on this many feeds and scales the times.
QUICK_BASELINE_SAMPLE = 500
QUICK_QUERY_ENTRIES = 100_000
#: Classification runs over the labelled corpus repeated to this many entries.
CLASSIFY_ENTRIES = 10_000
#: At least this many entries per second through classification (the issue's target).
MIN_CLASSIFY_PER_S = 2_000.0
#: The labelled sets the classification figure reads; never the blind set.
LABELLED = ("corpus.jsonl", "holdout.jsonl", "unseen.jsonl")
STEPS = ("poll", "growth", "classify", "queries", "fanout")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of `python -m bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure exitplan's poll cycle and fan-out against local servers.",
    )
    parser.add_argument("--feeds", type=int, default=10_000, help="feeds in the corpus")
    parser.add_argument("--entries", type=int, default=20, help="entries per feed")
    parser.add_argument("--channels", type=int, default=10_000, help="channels in the fan-out")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a quick look: {QUICK_FEEDS:,} feeds, {QUICK_CHANNELS:,} channels, baselines on "
        f"{QUICK_BASELINE_SAMPLE} feeds (scaled), {QUICK_QUERY_ENTRIES:,} entries for queries",
    )
    parser.add_argument("--only", choices=STEPS, action="append", help="run these steps only")
    parser.add_argument(
        "--growth",
        default="100,1000",
        help="smaller corpus sizes for the growth table (comma-separated; the full size is "
        "added as the last row)",
    )
    parser.add_argument(
        "--query-entries", type=int, default=1_000_000, help="entries in the query database"
    )
    parser.add_argument(
        "--baseline-sample", type=int, help="feeds the feedparser baselines read (default all)"
    )
    parser.add_argument("--hosts", type=int, default=16, help="nginx ports the feeds spread over")
    parser.add_argument("--concurrency", type=int, default=FetchLimits.concurrency)
    parser.add_argument("--per-host", type=int, default=FetchLimits.per_host)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--parse-workers",
        type=int,
        help="exitplan's parse_workers setting (default: auto, as exitplan run uses it)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON report")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and databases here")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.channels = QUICK_FEEDS, QUICK_CHANNELS
        args.query_entries = QUICK_QUERY_ENTRIES
        args.baseline_sample = args.baseline_sample or QUICK_BASELINE_SAMPLE
    args.steps = tuple(args.only or STEPS)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="exitplan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # nginx's worker runs as an unprivileged user and reads from here
    report: dict[str, Any] = {"meta": _meta()}
    report["meta"]["quick"] = bool(args.quick)
    try:
        if "poll" in args.steps:
            report["poll_cycle"] = _poll(args, workdir, report["meta"], args.feeds)
        if "growth" in args.steps:
            report["growth"] = _growth(args, workdir, report)
        if "classify" in args.steps:
            report["classification"] = _classify(workdir)
        if "queries" in args.steps:
            report["queries"] = _queries(args, workdir)
        if "fanout" in args.steps:
            report["fanout"] = run_fanout(FanoutConfig(args.channels), workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    write_json(report, args.output)
    print()
    print(format_report(report))
    print(f"\nwritten to {args.output}")
    return 0


def _poll(
    args: argparse.Namespace, workdir: Path, meta: dict[str, Any], feeds: int, *, full: bool = True
) -> dict[str, Any]:
    root = workdir / f"feeds-{feeds}"
    print(f"generating {feeds:,} feeds of {args.entries} entries in {root} …")
    corpus = build_corpus(root, feeds, args.entries)
    config = PollConfig(
        concurrency=args.concurrency,
        per_host=args.per_host,
        naive=full and not args.no_naive,
        bare_parse=full,
        baseline_sample=args.baseline_sample,
        parse_workers=auto_workers() if args.parse_workers is None else args.parse_workers,
    )
    with Nginx(root, ports=args.hosts) as nginx:
        meta["server"] = f"{nginx_version(nginx.binary)} on {len(nginx.ports)} ports"
        result = run_poll_cycle(config, corpus, nginx, workdir)
    shutil.rmtree(root, ignore_errors=True)
    return result


def _growth(args: argparse.Namespace, workdir: Path, report: dict[str, Any]) -> list[Any]:
    """The poll cycles at each smaller size, then the full size's (run here if not yet)."""
    sizes = sorted({int(size) for size in args.growth.split(",") if size.strip()})
    rows = [
        _poll(args, workdir, report["meta"], size, full=False)
        for size in sizes
        if size < args.feeds
    ]
    full = report.get("poll_cycle") or _poll(args, workdir, report["meta"], args.feeds)
    return [*rows, full]


def _classify(workdir: Path) -> dict[str, Any]:
    print(f"classification: the labelled corpus repeated to {CLASSIFY_ENTRIES:,} entries …")
    files = [str(REPO / "tests" / "data" / name) for name in LABELLED]
    result = run_scenario("classify", {"corpus_files": files, "entries": CLASSIFY_ENTRIES}, workdir)
    result["target"] = {
        "name": "classification entries/s",
        "value": result["classify_per_s"],
        "target": f">= {MIN_CLASSIFY_PER_S:g}",
        "met": result["classify_per_s"] >= MIN_CLASSIFY_PER_S,
    }
    return result


def _queries(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db = workdir / "queries.db"
    print(f"queries: building a database of {args.query_entries:,} entries …")
    built = run_scenario("queries-build", {"db": str(db), "entries": args.query_entries}, workdir)
    print("  timing status, events --provider and due deliveries …")
    timed = run_scenario("queries", {"db": str(db)}, workdir)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    targets = [
        {
            "name": f"query `{name}`, median ms",
            "value": figure["median_ms"],
            "target": f"< {MAX_QUERY_MS:g}",
            "met": figure["median_ms"] < MAX_QUERY_MS,
        }
        for name, figure in timed["queries"].items()
    ]
    return {"build": built, **timed, "targets": targets}


def _meta() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    return {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: version(name) for name in ("exitplan", "aiohttp", "feedparser", "sqlite-utils")
        },
    }


if __name__ == "__main__":
    sys.exit(main())
