"""Migration checklists: templates per kind (data files), filled in for a provider.

Templates live in `bot/checklists/<kind>.toml`; `routes.toml` says how to copy data out
of each provider and how to verify the copy. A channel's progress is kept in storage.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlite_utils import Database

from feeds.catalog import Catalog, Provider
from feeds.model import KINDS
from storage import Event
from storage.checklists import StepDone, set_step, steps_done

_MAX_ALTERNATIVES = 6


class ChecklistError(ValueError):
    """A checklist template is invalid; the message names the file and key."""


@dataclass(frozen=True)
class Step:
    """One step of a checklist, filled in for a provider."""

    number: int
    id: str
    text: str
    detail: str | None
    done_by: str | None = None
    done_at: datetime | None = None

    @property
    def done(self) -> bool:
        """True once someone ticked the step."""
        return self.done_by is not None


@dataclass(frozen=True)
class Checklist:
    """A channel's checklist for one event: the steps and who ticked which."""

    event_id: int
    kind: str
    title: str
    steps: tuple[Step, ...]

    @property
    def done(self) -> int:
        """How many steps are ticked."""
        return sum(1 for step in self.steps if step.done)

    @property
    def progress(self) -> str:
        """'3 of 7 done'."""
        return f"{self.done} of {len(self.steps)} done"

    @property
    def open_steps(self) -> tuple[Step, ...]:
        """The steps nobody has ticked yet."""
        return tuple(step for step in self.steps if not step.done)

    def step(self, ref: str) -> Step | None:
        """Find a step by its number ("3") or its id ("verify")."""
        for step in self.steps:
            if ref.strip() in (str(step.number), step.id):
                return step
        return None


@dataclass(frozen=True)
class _Template:
    kind: str
    title: str
    steps: tuple[tuple[str, str, str | None], ...]


def _read(name: str) -> dict[str, Any]:
    text = resources.files("bot").joinpath("checklists", name).read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ChecklistError(f"bot/checklists/{name}: not valid TOML: {error}") from error


@cache
def _template(kind: str) -> _Template:
    name = f"{kind}.toml"
    data = _read(name)
    steps = []
    for index, raw in enumerate(data.get("steps", [])):
        if not isinstance(raw, dict) or not raw.get("id") or not raw.get("text"):
            raise ChecklistError(f"bot/checklists/{name}: steps[{index}] needs an id and a text")
        steps.append((str(raw["id"]), str(raw["text"]), raw.get("detail")))
    if data.get("kind") != kind or not steps:
        raise ChecklistError(f"bot/checklists/{name}: needs kind = {kind!r} and some [[steps]]")
    return _Template(kind=kind, title=str(data.get("title", "Checklist")), steps=tuple(steps))


@cache
def _routes() -> dict[str, dict[str, str]]:
    return {key: dict(value) for key, value in _read("routes.toml").items()}


def primary_kind(kinds: tuple[str, ...]) -> str | None:
    """The kind whose checklist leads: shutdown, then data loss, security, price, outage."""
    for kind in KINDS:
        if kind in kinds:
            return kind
    return None


def alternatives(catalog: Catalog, provider: Provider | None) -> str:
    """Other providers of the same category, as candidates for the data's new home."""
    if provider is None:
        return "another provider of the same kind"
    others = [
        other.name
        for other in catalog
        if other.category == provider.category and other.slug != provider.slug
    ]
    return ", ".join(others[:_MAX_ALTERNATIVES]) or "another provider of the same kind"


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def build_checklist(
    event: Event,
    catalog: Catalog,
    done: dict[str, StepDone] | None = None,
) -> Checklist | None:
    """The checklist for an event (None for unclassified news), with ticks filled in."""
    kind = primary_kind(event.kinds)
    if kind is None:
        return None
    template = _template(kind)
    provider = catalog.get(event.provider)
    name = provider.name if provider else event.provider
    routes = _routes()
    route = {**routes["default"], **routes.get(event.provider, {})}
    values = {
        "provider": name,
        "deadline": _describe_deadline(event.deadline),
        "alternatives": alternatives(catalog, provider),
        "export_tool": route.get("export", "the provider's export"),
    }
    values["copy_route"] = _fill(route["copy"], values)
    values["verify"] = _fill(route["verify"], values)
    ticks = done or {}
    steps = []
    for number, (step_id, text, detail) in enumerate(template.steps, start=1):
        tick = ticks.get(step_id)
        steps.append(
            Step(
                number=number,
                id=step_id,
                text=_fill(text, values),
                detail=_fill(detail, values) if detail else None,
                done_by=tick.done_by if tick else None,
                done_at=tick.done_at if tick else None,
            )
        )
    return Checklist(event_id=event.id, kind=kind, title=template.title, steps=tuple(steps))


def _describe_deadline(deadline: date | None) -> str:
    return deadline.isoformat() if deadline else "the deadline"


def channel_checklist(
    db: Database,
    catalog: Catalog,
    event: Event,
    *,
    platform: str,
    workspace: str,
    channel: str,
) -> Checklist | None:
    """An event's checklist with one channel's ticks."""
    done = steps_done(
        db, platform=platform, workspace=workspace, channel=channel, event_id=event.id
    )
    return build_checklist(event, catalog, done)


def tick(
    db: Database,
    catalog: Catalog,
    event: Event,
    *,
    platform: str,
    workspace: str,
    channel: str,
    ref: str,
    by: str,
    now: datetime,
    done: bool | None = None,
) -> Checklist:
    """Tick, untick (or, with `done=None`, toggle) a step; return the updated checklist.

    Raises LookupError naming the valid steps when `ref` matches none.
    """
    where = {"platform": platform, "workspace": workspace, "channel": channel}
    current = channel_checklist(db, catalog, event, **where)
    if current is None:
        raise LookupError(f"event #{event.id} is not classified, so it has no checklist")
    step = current.step(ref)
    if step is None:
        raise LookupError(
            f"no step {ref!r} in this checklist; use a number from 1 to {len(current.steps)}"
        )
    target = (not step.done) if done is None else done
    set_step(db, event_id=event.id, step=step.id, done=target, by=by, now=now, **where)
    updated = channel_checklist(db, catalog, event, **where)
    if updated is None:
        raise LookupError(f"event #{event.id} lost its checklist")
    return updated
