"""Whether a status-page entry describes an incident that is still open."""

from __future__ import annotations

import re
from typing import Literal

IncidentState = Literal["open", "resolved", "scheduled"]

# Statuspage puts the newest update first as "<Status> - <body>"; AWS and Google prefix
# the title ("Resolved:", "RESOLVED:", "Service is operating normally:"); FireHydrant and
# Rootly bodies carry "[Resolved]" or "resolved" markers.
_RESOLVED_TITLE = re.compile(
    r"^\s*(?:\[?resolved\]?\s*[:\-]|service is operating normally|completed\s*[:\-])"
    r"|\[resolved\]",
    re.IGNORECASE,
)
_LEAD_STATUS = re.compile(
    r"^\s*(investigating|identified|update|monitoring|resolved|postmortem|scheduled|"
    r"in progress|verifying|completed)\b\s*[-:]",
    re.IGNORECASE,
)
_RESOLVED_WORDS = {"resolved", "postmortem", "completed"}
_SCHEDULED_WORDS = {"scheduled"}


def incident_state(title: str, text: str) -> IncidentState:
    """Read the current state of a status-page incident from its title and newest update."""
    if _RESOLVED_TITLE.search(title):
        return "resolved"
    # The newest update leads, after at most a line holding its timestamp.
    for line in text.lstrip().splitlines()[:2]:
        lead = _LEAD_STATUS.match(line)
        if lead:
            word = lead.group(1).lower()
            if word in _RESOLVED_WORDS:
                return "resolved"
            if word in _SCHEDULED_WORDS:
                return "scheduled"
            return "open"
    if re.match(r"^\s*\[?resolved\]?\b", text, re.IGNORECASE):
        return "resolved"
    return "open"
