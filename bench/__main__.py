"""`python -m bench`: run the benchmarks, print a table, write bench/results/latest.json."""

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
from bench.measure import REPO
from bench.nginx import Nginx, nginx_version
from bench.poll_cycle import PollConfig, run_poll_cycle
from bench.report import format_report, write_json
from feeds.fetch import FetchLimits

DEFAULT_OUTPUT = REPO / "bench" / "results" / "latest.json"
QUICK_FEEDS = 500
QUICK_CHANNELS = 200


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line of `python -m bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure exitplan's poll cycle and fan-out against local servers.",
    )
    parser.add_argument("--feeds", type=int, default=10_000, help="feeds in the corpus")
    parser.add_argument("--entries", type=int, default=20, help="entries per feed")
    parser.add_argument("--channels", type=int, default=5_000, help="channels in the fan-out")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run: {QUICK_FEEDS} feeds, {QUICK_CHANNELS} channels",
    )
    parser.add_argument("--only", choices=("poll", "fanout"), help="run one benchmark")
    parser.add_argument("--hosts", type=int, default=16, help="nginx ports the feeds spread over")
    parser.add_argument("--concurrency", type=int, default=FetchLimits.concurrency)
    parser.add_argument("--per-host", type=int, default=FetchLimits.per_host)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON report")
    parser.add_argument("--workdir", type=Path, help="keep the corpus and databases here")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.channels = QUICK_FEEDS, QUICK_CHANNELS
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; return the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="exitplan-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # nginx's worker runs as an unprivileged user and reads from here
    report: dict[str, Any] = {"meta": _meta()}
    try:
        if args.only in (None, "poll"):
            report["poll_cycle"] = _poll(args, workdir, report["meta"])
        if args.only in (None, "fanout"):
            report["fanout"] = run_fanout(FanoutConfig(args.channels), workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    write_json(report, args.output)
    print()
    print(format_report(report))
    print(f"\nwritten to {args.output}")
    return 0


def _poll(args: argparse.Namespace, workdir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    root = workdir / "feeds"
    print(f"generating {args.feeds:,} feeds of {args.entries} entries in {root} …")
    corpus = build_corpus(root, args.feeds, args.entries)
    config = PollConfig(
        concurrency=args.concurrency,
        per_host=args.per_host,
        naive=not args.no_naive,
    )
    with Nginx(root, ports=args.hosts) as nginx:
        meta["server"] = f"{nginx_version(nginx.binary)} on {len(nginx.ports)} ports"
        return run_poll_cycle(config, corpus, nginx, workdir)


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
