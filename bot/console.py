"""The console: the embedded default channel, printing alerts as plain text."""

from __future__ import annotations

import re
import threading
from typing import TextIO

from bot.alerts import Alert, describe_source, kind_label
from bot.checklists import Checklist
from bot.notify import Target
from bot.replies import describe_days_left

# C0/C1 control characters other than newline and tab, including ESC: feed text must not
# move the cursor, recolour the terminal or set its title.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Remove terminal control characters from untrusted text."""
    return _CONTROL.sub("", text)


def describe_deadline(alert: Alert) -> str | None:
    """'Deadline 2026-06-30 (121 days left)', or None without a deadline."""
    if alert.deadline is None or alert.days_left is None:
        return None
    return f"Deadline {alert.deadline.isoformat()} ({describe_days_left(alert.days_left)})"


def render_alert_text(alert: Alert) -> str:
    """Plain text for one alert: headline, title, link, dates, evidence and summary."""
    lines = [f"== {alert.headline} == {clean(alert.provider_name)}", clean(alert.title)]
    if alert.link:
        lines.append(clean(alert.link))
    lines.extend(source_lines(alert))
    facts = []
    if alert.published is not None:
        facts.append(f"Published {alert.published.strftime('%Y-%m-%d %H:%M')} UTC")
    if alert.state:
        facts.append(f"State: {alert.state}")
    deadline = describe_deadline(alert)
    if deadline:
        facts.append(deadline)
    if facts:
        lines.append(" · ".join(facts))
    if alert.deadline_moved and alert.previous_deadline is not None:
        lines.append(
            f"Deadline moved from {alert.previous_deadline.isoformat()} to "
            f"{alert.deadline.isoformat() if alert.deadline else 'none'}; reminders re-planned."
        )
    if alert.evidence:
        why = ", ".join(
            f'"{clean(phrase)}" ({kind_label(label).lower()})' for label, phrase in alert.evidence
        )
        lines.append(f"Why: {why}")
    if alert.summary:
        lines.append(clean(alert.summary))
    if alert.impact:
        lines.append(clean(f"Cost: {alert.impact}"))
    if alert.checklist is not None:
        if alert.purpose == "final":
            lines.append("Open steps:" if alert.checklist.open_steps else "Every step is done.")
        lines.extend(render_checklist_lines(alert.checklist))
    lines.append(f"Event #{alert.event_id} · exitplan status {alert.provider}")
    return "\n".join(lines)


def source_lines(alert: Alert) -> list[str]:
    """A split's note, the new sources of an update, and every source of a merged event."""
    lines = []
    if alert.split_from is not None:
        lines.append(
            f"Split from event #{alert.split_from} by a person: separate news, not the same."
        )
    lines.extend(
        clean(f"Also announced on the {describe_source(source)}") for source in alert.new_sources
    )
    if alert.sources:
        lines.append(f"Sources ({len(alert.sources)}):")
    for source in alert.sources:
        link = f" — {source.link}" if source.link else ""
        lines.append(clean(f"  {source.number}. {describe_source(source)}{link}"))
    return lines


def render_checklist_lines(checklist: Checklist) -> list[str]:
    """The checklist as text: a line per step, ticked ones with who and when."""
    lines = [f"{checklist.title} ({checklist.progress}):"]
    for step in checklist.steps:
        mark = "x" if step.done else " "
        line = f"  [{mark}] {step.number}. {step.text}"
        if step.done and step.done_at is not None:
            line += f" — {step.done_by}, {step.done_at.strftime('%Y-%m-%d')}"
        lines.append(clean(line))
        if step.detail and not step.done:
            lines.append(clean(f"        {step.detail}"))
    lines.append(f"Tick steps with: exitplan checklist {checklist.event_id} --done NUMBER")
    return lines


class ConsoleNotifier:
    """Prints alerts to a text stream (standard output when run from the command line)."""

    platform = "console"

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._count = 0

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Print the alert, followed by a blank line; return a reference to it."""
        text = render_alert_text(alert)
        if reply_to:
            text = f"(follows {reply_to})\n{text}"
        with self._lock:
            self._stream.write(text + "\n\n")
            self._stream.flush()
            self._count += 1
            return f"console:{alert.event_id}:{self._count}"
