"""The benchmark report: a plain-text table for the terminal and the JSON written to disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_CONTENDERS = (
    ("exitplan", "exitplan"),
    ("limit", "limit (bare client)"),
    ("naive", "naive (feedparser.parse(url))"),
    ("feedparser_bytes", "bare feedparser.parse(bytes)"),
)
_COLUMNS = ("wall s", "feeds/s", "entries/s", "CPU s", "peak RSS MB", "server CPU s")


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")


def format_report(report: dict[str, Any]) -> str:
    """The whole report as a table with the target checks under it."""
    lines: list[str] = []
    meta = report["meta"]
    lines.append(
        f"exitplan benchmarks · {meta['started']} · {meta['cpus']} CPUs · Python "
        f"{meta['python']} · {meta.get('server', 'feed server ?')}"
    )
    poll = report.get("poll_cycle")
    if poll is not None:
        lines.extend(_poll_table(poll))
    fanout = report.get("fanout")
    if fanout is not None:
        lines.extend(_fanout_table(fanout))
    return "\n".join(lines)


def _poll_table(poll: dict[str, Any]) -> list[str]:
    corpus, config = poll["corpus"], poll["config"]
    shapes = ", ".join(f"{count:,} {shape}" for shape, count in corpus["shapes"].items())
    lines = [
        "",
        f"Poll cycle: {corpus['feeds']:,} feeds x {corpus['entries_per_feed']} entries "
        f"({shapes}; mean {corpus['mean_feed_bytes']:,} bytes), "
        f"concurrency {config['concurrency']}, {config['per_host']} per host",
    ]
    header = f"{'':36}{'':32}" + "".join(f"{col:>13}" for col in _COLUMNS)
    lines.append(header)
    for cycle in poll["cycles"].values():
        first = True
        for key, label in _CONTENDERS:
            figure = cycle.get(key)
            if figure is None:
                continue
            title = cycle["title"] if first else ""
            first = False
            cells = (
                _num(figure.get("wall_s"), 2),
                _num(figure.get("feeds_per_s"), 0),
                _num(figure.get("entries_per_s"), 0),
                _num(figure.get("cpu_s"), 2),
                _num(figure.get("peak_rss_mb"), 0),
                _num(figure.get("server_cpu_s"), 2),
            )
            lines.append(f"{title:36}{label:32}" + "".join(f"{cell:>13}" for cell in cells))
        lines.append(f"{'':36}{_counts(cycle['exitplan'])}")
    lines.append("")
    lines.append("Targets")
    for check in poll["targets"]:
        mark = "met" if check["met"] else "MISSED"
        lines.append(
            f"  {check['name']:56}{check['value']:>10}   target {check['target']:8} {mark}"
        )
    return lines


def _fanout_table(fanout: dict[str, Any]) -> list[str]:
    dispatch, bare, queue = fanout["dispatch"], fanout["bare"], fanout["queue"]
    return [
        "",
        f"Fan-out: one shutdown to {fanout['channels']:,} channels "
        f"(stand-in received {fanout['stand_in_received']:,})",
        f"{'':44}" + "".join(f"{col:>13}" for col in ("wall s", "sent/s", "CPU s", "peak RSS MB")),
        _fan_line("store event + queue outbox rows", queue, queue.get("deliveries")),
        _fan_line("dispatch_due → chat stand-in", dispatch, dispatch.get("deliveries_per_s")),
        _fan_line("limit: bare POST loop", bare, bare.get("deliveries_per_s")),
        f"  dispatch / bare: {fanout['ratios']['dispatch_over_bare']}x; time inside the "
        f"notifier {dispatch.get('in_notifier_s', 0):.2f} s of {dispatch['wall_s']:.2f} s; "
        f"{dispatch.get('passes')} passes",
    ]


def _fan_line(label: str, figure: dict[str, Any], middle: float | None) -> str:
    cells = (
        _num(figure.get("wall_s"), 3),
        _num(middle, 0) if "deliveries_per_s" in figure else f"{middle} rows",
        _num(figure.get("cpu_s"), 2),
        _num(figure.get("peak_rss_mb"), 0),
    )
    return f"  {label:42}" + "".join(f"{cell:>13}" for cell in cells)


def _counts(figure: dict[str, Any]) -> str:
    parts = [
        f"polled {figure.get('feeds', 0):,}",
        f"not modified {figure.get('not_modified', 0):,}",
        f"new entries {figure.get('new_entries', 0):,}",
        f"events {figure.get('events', 0):,}",
        f"alerts queued {figure.get('alerts_queued', 0):,}",
        f"failures {figure.get('failures', 0):,}",
    ]
    return "exitplan: " + ", ".join(parts)


def _num(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"
