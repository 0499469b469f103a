"""The status page at `/`: subscribed providers, deadlines ahead, recent events by kind.

`gather_page` reads the database into plain values; `render_page` turns them into one
self-contained HTML document (inline CSS, no scripts, no external assets) that reads on
a phone. Every piece of text is escaped with `html.escape`: feed text is untrusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from bot.alerts import days_left, kind_label
from bot.atom import safe_link
from bot.replies import describe_days_left
from bot.runtime import Runtime
from bot.status import current_state, open_incidents
from feeds.model import KINDS
from storage import EVERY_PROVIDER, Event
from storage.events import list_events, upcoming_deadlines
from storage.subscriptions import list_subscriptions

#: Deadlines further away than this fill the whole timeline bar.
HORIZON_DAYS = 365
#: Deadlines this close are drawn in red.
URGENT_DAYS = 30
_RECENT_PER_KIND = 5
_MAX_DEADLINES = 30
_STATE_ORDER = {"incident": 0, "operational": 1, "unknown": 2}


@dataclass(frozen=True)
class ProviderState:
    """One subscribed provider and what its status feed says now."""

    slug: str
    name: str
    state: str  # "incident", "operational" or "unknown"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class EventRow:
    """An event as the page shows it."""

    id: int
    provider_name: str
    title: str
    link: str | None
    kinds: tuple[str, ...]
    severity: str
    published: datetime | None
    deadline: date | None
    days_left: int | None


@dataclass(frozen=True)
class StatusPage:
    """Everything the page shows, read at one moment."""

    generated_at: datetime
    providers: tuple[ProviderState, ...]
    deadlines: tuple[EventRow, ...]
    recent: tuple[tuple[str, tuple[EventRow, ...]], ...]


def _subscribed(rt: Runtime) -> list[str] | None:
    """The slugs some channel subscribed to; None when one subscribed to every provider."""
    slugs = [sub.provider for sub in list_subscriptions(rt.db)]
    if EVERY_PROVIDER in slugs:
        return None
    return sorted(set(slugs))


def _state(rt: Runtime, slug: str, now: datetime) -> ProviderState:
    provider = rt.catalog.get(slug)
    if provider is None:
        return ProviderState(slug, slug, "unknown", ("not in the catalog any more",))
    lines = current_state(rt, provider, now)
    if open_incidents(rt, slug, now):
        state = "incident"
    elif provider.feeds_with_role("status"):
        state = "operational"
    else:
        state = "unknown"
    return ProviderState(slug, provider.name, state, lines)


def _row(rt: Runtime, event: Event, now: datetime) -> EventRow:
    return EventRow(
        id=event.id,
        provider_name=rt.provider_name(event.provider),
        title=event.title,
        link=safe_link(event.link),
        kinds=event.kinds,
        severity=event.severity,
        published=event.published,
        deadline=event.deadline,
        days_left=days_left(event.deadline, now.date()),
    )


def gather_page(rt: Runtime, now: datetime) -> StatusPage:
    """Read the subscribed providers' state, deadlines ahead and recent events by kind."""
    subscribed = _subscribed(rt)
    slugs = subscribed if subscribed is not None else [p.slug for p in rt.catalog]
    wanted = set(slugs)
    providers = sorted(
        (_state(rt, slug, now) for slug in slugs),
        key=lambda p: (_STATE_ORDER[p.state], p.name.lower()),
    )
    deadlines = [
        _row(rt, event, now)
        for event in upcoming_deadlines(rt.db, now.date(), limit=_MAX_DEADLINES * 4)
        if event.provider in wanted
    ][:_MAX_DEADLINES]
    recent = []
    for kind in KINDS:
        events = [e for e in list_events(rt.db, kinds=(kind,), limit=50) if e.provider in wanted]
        recent.append((kind, tuple(_row(rt, e, now) for e in events[:_RECENT_PER_KIND])))
    return StatusPage(now, tuple(providers), tuple(deadlines), tuple(recent))


_CSS = """
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --bad: #b91c1c;
  --warn: #b45309; --ok: #15803d; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 48rem; padding: 1rem; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
ul, ol { padding-left: 0; list-style: none; margin: 0; }
li { margin: .4rem 0; }
.muted, .lines, .left, .meta { color: var(--muted); font-size: .9rem; }
.badge { display: inline-block; min-width: 6.5rem; padding: 0 .4rem; border-radius: .25rem;
  font-size: .8rem; text-align: center; color: #fff; background: var(--muted); }
.state-incident .badge { background: var(--bad); }
.state-operational .badge { background: var(--ok); }
.lines li { margin: .1rem 0 .1rem 1rem; }
.deadline { padding: .5rem 0; border-bottom: 1px solid var(--line); }
.bar { height: .5rem; background: var(--line); border-radius: .25rem; margin-top: .3rem; }
.bar span { display: block; height: 100%; border-radius: .25rem; background: var(--warn); }
.urgent .bar span { background: var(--bad); }
.urgent .left { color: var(--bad); font-weight: 600; }
.kinds { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
"""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _title(row: EventRow) -> str:
    title = _text(row.title or "(untitled)")
    if not row.link:
        return title
    return f'<a href="{_text(row.link)}" rel="noopener noreferrer">{title}</a>'


def _kinds(row: EventRow) -> str:
    names = " + ".join(kind_label(kind) for kind in row.kinds) or "News"
    return f'<span class="kinds">{_text(names)} · {_text(row.severity)}</span>'


def _provider(state: ProviderState) -> str:
    lines = "".join(f"<li>{_text(line)}</li>" for line in state.lines)
    return (
        f'<li class="provider state-{_text(state.state)}" data-provider="{_text(state.slug)}">'
        f'<span class="badge">{_text(state.state)}</span> <strong>{_text(state.name)}</strong>'
        f'<ul class="lines">{lines}</ul></li>'
    )


def _deadline(row: EventRow) -> str:
    left = row.days_left if row.days_left is not None else 0
    width = max(2, min(100, round(left * 100 / HORIZON_DAYS)))
    urgent = " urgent" if left <= URGENT_DAYS else ""
    when = row.deadline.isoformat() if row.deadline else ""
    return (
        f'<li class="deadline{urgent}" data-event="{row.id}">'
        f'<div><time datetime="{_text(when)}">{_text(when)}</time> '
        f'<span class="left">{_text(describe_days_left(row.days_left))}</span></div>'
        f"<div><strong>{_text(row.provider_name)}</strong>: {_title(row)} {_kinds(row)}</div>"
        f'<div class="bar" title="{_text(describe_days_left(row.days_left))}">'
        f'<span style="width: {width}%"></span></div></li>'
    )


def _recent(row: EventRow) -> str:
    when = row.published.strftime("%Y-%m-%d") if row.published else "undated"
    return (
        f'<li data-event="{row.id}"><span class="meta">{_text(when)}</span> '
        f"<strong>{_text(row.provider_name)}</strong>: {_title(row)} {_kinds(row)}</li>"
    )


def render_page(page: StatusPage) -> str:
    """The status page as one HTML document."""
    providers = "".join(_provider(state) for state in page.providers)
    deadlines = "".join(_deadline(row) for row in page.deadlines)
    recent = []
    for kind, rows in page.recent:
        items = "".join(_recent(row) for row in rows) or '<li class="muted">None yet.</li>'
        recent.append(f'<h3 id="kind-{_text(kind)}">{_text(kind_label(kind))}</h3><ul>{items}</ul>')
    generated = page.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="300">
<title>exitplan status</title>
<link rel="alternate" type="application/atom+xml" title="exitplan events" \
href="/feeds/events.atom">
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>exitplan status</h1>
<p class="muted">Updated {_text(generated)} · <a href="/feeds/events.atom">Atom feed</a></p>
</header>
<main>
<section id="providers">
<h2>Providers</h2>
<ul>{providers or '<li class="muted">No subscriptions yet.</li>'}</ul>
</section>
<section id="deadlines">
<h2>Deadlines ahead</h2>
<ol class="timeline">{deadlines or '<li class="muted">None ahead.</li>'}</ol>
</section>
<section id="recent">
<h2>Recent events by kind</h2>
{"".join(recent)}
</section>
</main>
</body>
</html>
"""
