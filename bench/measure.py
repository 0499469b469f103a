"""Run one scenario in a fresh Python process and collect what it measured.

Each scenario (one contender in one cycle) runs in its own subprocess, so its peak RSS
(`ru_maxrss`) is its own and no scenario warms caches or heaps for the next. The
subprocess writes one JSON object on its last stdout line.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
#: A scenario that runs longer than this is stopped: the benchmark never hangs.
SCENARIO_TIMEOUT = 3600.0

Result = dict[str, Any]


class ScenarioError(RuntimeError):
    """A scenario subprocess failed; the message carries the end of its stderr."""


def child_env() -> dict[str, str]:
    """The environment of a benchmark subprocess: ours, with the repository importable."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{path}" if path else str(REPO)
    return env


def run_scenario(
    kind: str,
    spec: Mapping[str, Any],
    workdir: Path,
    *,
    server_cpu: Callable[[], float | None] | None = None,
) -> Result:
    """Run `bench.worker` for one scenario in a fresh process; return its measurements.

    `server_cpu` reads the feed server's CPU seconds so far; the difference over the
    scenario is reported as `server_cpu_s`.
    """
    spec_file = workdir / f"spec-{kind}-{time.monotonic_ns()}.json"
    spec_file.write_text(json.dumps(dict(spec)))
    before = server_cpu() if server_cpu else None
    load = os.getloadavg()[0]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.worker", kind, str(spec_file)],
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=REPO,
            timeout=SCENARIO_TIMEOUT,
            check=False,
        )
    finally:
        spec_file.unlink(missing_ok=True)
    after = server_cpu() if server_cpu else None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise ScenarioError(
            f"scenario {kind} failed (exit {done.returncode}): {done.stderr.strip()[-3000:]}"
        )
    result: Result = json.loads(lines[-1])
    # Other work on the machine shows here: wall time is only comparable at low load.
    result["load_before"] = round(load, 2)
    if before is not None and after is not None:
        result["server_cpu_s"] = round(after - before, 3)
    return result


def measured(work: Callable[[], Result]) -> Result:
    """Run `work` and add wall seconds, CPU seconds and peak RSS (MB).

    CPU seconds include child processes the work waited for (a process pool, say), and
    their largest peak RSS is reported next to the process's own.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time()
    start = time.perf_counter()
    result = work()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    result.setdefault("wall_s", wall)
    result.update(
        {
            "cpu_s": cpu,
            # ru_maxrss is in kilobytes on Linux.
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "children_peak_rss_mb": after.ru_maxrss / 1024,
        }
    )
    return {
        key: round(value, 4) if isinstance(value, float) else value for key, value in result.items()
    }


def rate(count: float, seconds: float) -> float:
    """`count` per second, 0 when no time was measured."""
    return round(count / seconds, 1) if seconds > 0 else 0.0
