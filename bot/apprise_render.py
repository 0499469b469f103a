"""Alerts as Markdown for Apprise targets (Teams, email, Matrix, ntfy, webhooks…): pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.alerts import Alert, kind_label
from bot.checklists import Checklist
from bot.console import clean, describe_deadline

# Characters that would let feed text make a link, an image, emphasis, a heading, a table
# or raw HTML in a Markdown renderer.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~!])")


@dataclass(frozen=True)
class AppriseMessage:
    """What Apprise is asked to send: a title and a Markdown body."""

    title: str
    body: str


def escape_markdown(text: str) -> str:
    """Untrusted text made inert in Markdown: metacharacters escaped, controls removed."""
    return _MARKDOWN.sub(r"\\\1", clean(text))


def _link(alert: Alert) -> str | None:
    if not alert.link or not re.match(r"^https?://[^\s()<>]+$", alert.link):
        return None
    return alert.link


def render_checklist(checklist: Checklist) -> list[str]:
    """The checklist as a Markdown bullet list under a heading with the progress."""
    lines = [f"**{escape_markdown(checklist.title)}** ({checklist.progress})", ""]
    for step in checklist.steps:
        mark = "[x]" if step.done else "[ ]"
        line = f"- {mark} {step.number}. {escape_markdown(step.text)}"
        if step.done and step.done_at is not None:
            line += f" — {escape_markdown(step.done_by or '')}, {step.done_at:%Y-%m-%d}"
        lines.append(line)
    lines += ["", f"Tick steps with: `exitplan checklist {checklist.event_id} --done NUMBER`"]
    return lines


def render_alert_markdown(alert: Alert) -> AppriseMessage:
    """An alert as a title and a Markdown body: headline, provider, link, deadline,
    evidence, summary, cost and the checklist with its progress."""
    title = clean(f"{alert.headline} — {alert.provider_name}: {alert.title}")
    lines = [f"**{alert.headline}** · {escape_markdown(alert.provider_name)}", ""]
    link = _link(alert)
    heading = escape_markdown(alert.title)
    lines.append(f"[{heading}]({link})" if link else heading)
    facts = []
    if alert.published is not None:
        facts.append(f"Published {alert.published:%Y-%m-%d %H:%M} UTC")
    if alert.state:
        facts.append(f"State: {escape_markdown(alert.state)}")
    deadline = describe_deadline(alert)
    if deadline:
        facts.append(f"**{deadline}**")
    if facts:
        lines += ["", " · ".join(facts)]
    if alert.deadline_moved and alert.previous_deadline is not None:
        moved_to = alert.deadline.isoformat() if alert.deadline else "none"
        lines += ["", f"Deadline moved from {alert.previous_deadline.isoformat()} to {moved_to}."]
    if alert.evidence:
        why = ", ".join(
            f'"{escape_markdown(phrase)}" ({kind_label(label).lower()})'
            for label, phrase in alert.evidence
        )
        lines += ["", f"**Why:** {why}"]
    if alert.summary:
        lines += ["", f"> {escape_markdown(alert.summary)}"]
    if alert.impact:
        lines += ["", f"**Cost:** {escape_markdown(alert.impact)}"]
    if alert.checklist is not None:
        lines.append("")
        if alert.purpose == "final":
            lines += ["Open steps:" if alert.checklist.open_steps else "Every step is done.", ""]
        lines += render_checklist(alert.checklist)
    lines += ["", f"Event #{alert.event_id} · `exitplan status {alert.provider}`"]
    return AppriseMessage(title=title, body="\n".join(lines))
