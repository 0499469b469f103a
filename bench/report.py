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
    if meta.get("quick"):
        lines.append("QUICK RUN: the feedparser baselines read a sample and are scaled; see README")
    poll = report.get("poll_cycle")
    if poll is not None:
        lines.extend(_poll_table(poll))
    if report.get("growth"):
        lines.extend(_growth_table(report["growth"]))
    if report.get("classification"):
        lines.extend(_classification_table(report["classification"]))
    if report.get("queries"):
        lines.extend(_queries_table(report["queries"]))
    fanout = report.get("fanout")
    if fanout is not None:
        lines.extend(_fanout_table(fanout))
    lines.extend(_targets(report))
    return "\n".join(lines)


def _targets(report: dict[str, Any]) -> list[str]:
    checks = list(report.get("poll_cycle", {}).get("targets", []))
    if report.get("classification"):
        checks.append(report["classification"]["target"])
    checks.extend(report.get("queries", {}).get("targets", []))
    checks.extend(report.get("fanout", {}).get("targets", []))
    lines = ["", "Targets"]
    for check in checks:
        mark = "met" if check["met"] else "MISSED"
        lines.append(
            f"  {check['name']:56}{check['value']!s:>10}   target {check['target']:8} {mark}"
        )
    return lines


def _growth_table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("(a) s", "(a) entries/s", "(a) CPU s", "(b) s", "(b)/limit", "(c) s", "(c)/limit")
    lines = ["", "Growth: the same cycles at each size", f"{'feeds':>8}" + "".join(
        f"{col:>14}" for col in (*head, "peak RSS MB"))]  # fmt: skip
    for row in rows:
        a, b, c = (row["cycles"][name] for name in ("a_first", "b_unchanged", "c_changed"))
        peak = max(cycle["exitplan"]["all_processes_rss_mb"] for cycle in (a, b, c))
        cells = (
            _num(a["exitplan"]["wall_s"], 2),
            _num(a["exitplan"].get("entries_per_s"), 0),
            _num(a["exitplan"]["cpu_s"], 2),
            _num(b["exitplan"]["wall_s"], 2),
            _num(b["ratios"]["exitplan_over_limit"], 2),
            _num(c["exitplan"]["wall_s"], 2),
            _num(c["ratios"]["exitplan_over_limit"], 2),
            _num(peak, 0),
        )
        lines.append(f"{row['corpus']['feeds']:>8,}" + "".join(f"{cell:>14}" for cell in cells))
    return lines


def _classification_table(figure: dict[str, Any]) -> list[str]:
    rows = (
        ("classify (deadlines only for shutdown, price change)", figure["classify_per_s"],
         f"{figure['classified_with_kinds']:,} with a kind"),
        ("deadline extraction on every entry", figure["deadline_per_s"],
         f"{figure['with_deadline']:,} with a deadline"),
        ("both on every entry", figure["both_per_s"], ""),
    )  # fmt: skip
    return [
        "",
        f"Classification: {figure['entries']:,} entries (the {figure['labelled_items']} labelled "
        "entries of corpus, holdout and unseen, repeated)",
        *(f"  {label:54}{value:>10,.0f} entries/s   {note}" for label, value, note in rows),
    ]


def _queries_table(figure: dict[str, Any]) -> list[str]:
    rows = figure["build"]["rows"]
    lines = [
        "",
        f"Queries: {rows['entries']:,} entries, {rows['events']:,} events, "
        f"{rows['deliveries']:,} deliveries (built in {figure['build']['build_s']} s); "
        f"provider {figure['provider']}",
    ]
    for name, query in figure["queries"].items():
        lines.append(
            f"  {name:22} median {query['median_ms']:>7.2f} ms   max {query['max_ms']:>7.2f} ms"
            f"   {query['statements']} statements"
        )
        for plan in query["plans"]:
            lines.append(f"      {plan['sql'][:110]}")
            lines.extend(f"        {step}" for step in plan["plan"])
    return lines


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
    sampled = poll["corpus"].get("baseline_feeds", corpus["feeds"])
    if sampled < corpus["feeds"]:
        naive = poll["cycles"]["b_unchanged"].get("naive", {}).get("scaled_wall_s", "-")
        lines.append(
            f"{'':36}feedparser baselines read {sampled:,} feeds; their times are scaled to "
            f"{corpus['feeds']:,} (naive, scaled: {naive} s)"
        )
    return lines


def _fanout_table(fanout: dict[str, Any]) -> list[str]:
    dispatch, bare, queue = fanout["dispatch"], fanout["bare"], fanout["queue"]
    limited = fanout.get("limited", {})
    tail = []
    if limited:
        stats = limited["stand_in"]
        tail = [
            f"  rate-limited (1/s per channel, 5% 429): completion {limited['completion_s']:.2f} s "
            f"({limited['wall_s']:.2f} s sending + {limited['waited_s']:.0f} s waiting for "
            f"scheduled retries) against a bound of {limited['bound_s']:.2f} s; "
            f"{stats['limited']:,} answers 429, {limited.get('retried', 0):,} retries; "
            f"lost {limited['lost']}, duplicated {limited['duplicated']}",
        ]
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
        *tail,
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
