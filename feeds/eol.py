"""End-of-life data as a source of truth: endoflife.date and Killed by Google, read as entries.

A catalog feed with `role = "eol"` names its `format`: `endoflife` (endoflife.date's
per-product JSON, either the list of release cycles at `/api/<product>.json` or the v1
document at `/api/v1/products/<product>/`) or `killedbygoogle` (the `graveyard.json` list
of the Killed by Google project). Each cycle or product with an end-of-life date becomes an
`Entry` keyed by source, product and cycle, so a date that moves revises the same event.

The decision is made here, not by the classifier: the data says exactly what happens and
when, so every entry is a `shutdown` whose deadline is the end-of-life date as given (the
classifier could misread "8.0" or a release date). Only dates from `RECENT_DAYS` ago
onwards become entries; older ones are history nobody can act on. Killed by Google
hardware (phones, speakers) is left out: no customer data lives on it. Unknown fields are
ignored; an item missing the fields it needs is skipped and counted in one logged warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from feeds.model import Classification, Deadline, Entry, Evidence, Severity
from feeds.parse import NotAFeed
from feeds.providers import EOL_FORMATS

log = logging.getLogger(__name__)

#: End-of-life dates this many days in the past still become entries (a fresh notice).
RECENT_DAYS: Final = 30
#: A deadline this close to the day it was read makes the entry critical, as in the classifier.
URGENT_DAYS: Final = 30
_SOURCES: Final = {"endoflife": "endoflife.date", "killedbygoogle": "Killed by Google"}


class _Skip(ValueError):
    """An item of the data that cannot become an entry; the message says why."""


@dataclass(frozen=True)
class EolItem:
    """One end-of-life date, as an entry and the classification it carries."""

    entry: Entry
    classification: Classification


@dataclass(frozen=True)
class EolData:
    """The entries read from one end-of-life document, and a warning about skipped items."""

    title: str
    items: tuple[EolItem, ...]
    skipped: int
    warning: str | None

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The entries, in the order of the document."""
        return tuple(item.entry for item in self.items)

    def decisions(self) -> dict[str, Classification]:
        """Each entry's classification, by entry key."""
        return {item.entry.key: item.classification for item in self.items}


@dataclass(frozen=True)
class _Date:
    """One end-of-life date found in the data, before it becomes an entry."""

    key: str
    title: str
    text: str
    link: str | None
    eol: date


def is_eol_format(data_format: str | None) -> bool:
    """True for a format read by this module rather than by the feed parser."""
    return data_format in EOL_FORMATS


def parse_eol(body: bytes, data_format: str, *, url: str, now: datetime) -> EolData:
    """Read an end-of-life document fetched from `url` into entries, as of `now` (UTC-aware).

    Raises NotAFeed when the body is not JSON or not shaped like the format's data.
    """
    readers: Mapping[str, Callable[[object, str], tuple[str, list[_Date], list[str]]]] = {
        "endoflife": _read_endoflife,
        "killedbygoogle": _read_killedbygoogle,
    }
    reader = readers.get(data_format)
    if reader is None:
        raise NotAFeed(f"{data_format!r} is not an end-of-life format ({', '.join(readers)})")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        source = _SOURCES[data_format]
        raise NotAFeed(f"the body is not the JSON {source} publishes ({error})") from error
    title, dates, problems = reader(document, url)
    earliest = now.date() - timedelta(days=RECENT_DAYS)
    items: list[EolItem] = []
    seen: set[str] = set()
    for found in dates:
        if found.key in seen:
            problems.append(f"{found.title}: listed twice, kept the first")
            continue
        seen.add(found.key)
        if found.eol >= earliest:
            items.append(_item(found, data_format, now))
    warning = None
    if problems:
        warning = f"skipped {len(problems)} item(s) it could not use (first: {problems[0]})"
        log.warning("end-of-life data incomplete url=%s %s", url, warning)
    return EolData(title, tuple(items), len(problems), warning)


def _item(found: _Date, data_format: str, now: datetime) -> EolItem:
    phrase = f"end of life on {found.eol.isoformat()}"
    source = _SOURCES[data_format]
    digest = hashlib.sha256(
        "\n".join((found.title, found.text, found.link or "")).encode()
    ).hexdigest()
    entry = Entry(
        key=found.key,
        title=found.title,
        link=found.link,
        published=None,
        updated=None,
        text=found.text,
        categories=(source,),
        content_hash=digest,
    )
    severity: Severity = "critical" if (found.eol - now.date()).days <= URGENT_DAYS else "high"
    evidence = (
        Evidence("shutdown", phrase, f"{source} lists this end-of-life date"),
        Evidence("deadline", found.eol.isoformat(), f"the end-of-life date {source} gives"),
    )
    return EolItem(
        entry, Classification(("shutdown",), severity, evidence, Deadline(found.eol, phrase))
    )


# -- endoflife.date ---------------------------------------------------------------------


def _read_endoflife(document: object, url: str) -> tuple[str, list[_Date], list[str]]:
    """Both shapes of endoflife.date's product data: the cycle list and the v1 document."""
    if isinstance(document, list):
        product = _product_from_url(url)
        page = f"https://endoflife.date/{product}"
        return (product, *_cycles(document, product, product, page, legacy=True))
    result = document.get("result") if isinstance(document, dict) else None
    if isinstance(result, dict) and isinstance(result.get("releases"), list):
        product = _text(result.get("name")) or _product_from_url(url)
        label = _text(result.get("label")) or product
        links = result.get("links")
        html = _http(links.get("html")) if isinstance(links, dict) else None
        page = html or f"https://endoflife.date/{product}"
        return (label, *_cycles(result["releases"], product, label, page, legacy=False))
    raise NotAFeed(
        "the body is not endoflife.date data: expected a list of release cycles "
        "(/api/<product>.json) or a v1 product document with result.releases"
    )


def _cycles(
    releases: list[object], product: str, label: str, page: str, *, legacy: bool
) -> tuple[list[_Date], list[str]]:
    dates: list[_Date] = []
    problems: list[str] = []
    for position, release in enumerate(releases):
        try:
            found = _cycle(release, product, label, page, legacy=legacy)
        except _Skip as skip:
            problems.append(f"release {position}: {skip}")
            continue
        if found is not None:
            dates.append(found)
    return dates, problems


def _cycle(release: object, product: str, label: str, page: str, *, legacy: bool) -> _Date | None:
    if not isinstance(release, dict):
        raise _Skip(f"not an object: {release!r:.60}")
    name = release.get("cycle" if legacy else "name")
    if isinstance(name, bool) or not isinstance(name, str | int | float) or str(name) == "":
        raise _Skip("no cycle name")
    cycle = str(name)
    raw_eol = release.get("eol" if legacy else "eolFrom")
    if raw_eol is None or isinstance(raw_eol, bool):
        return None  # no end of life set yet, or ended without a known date
    eol = _date(raw_eol, f"{cycle}: end-of-life date")
    released = _text(release.get("releaseDate"))
    latest = release.get("latest")
    if isinstance(latest, dict):
        latest_link = _http(latest.get("link"))
        latest = latest.get("name")
    else:
        latest_link = None
    link = _http(release.get("link")) or latest_link or page
    details = [f"released {released}"] if released else []
    if isinstance(latest, str | int | float) and not isinstance(latest, bool) and str(latest):
        details.append(f"latest version {latest}")
    about = f" ({'; '.join(details)})" if details else ""
    text = (
        f"endoflife.date lists {eol.isoformat()} as the end of life of {label} {cycle}{about}. "
        "After that date it gets no more fixes or support, and the provider may upgrade or "
        "retire what still runs on it: upgrade, or move the data it holds, before then."
    )
    return _Date(
        key=f"endoflife:{product}:{cycle}",
        title=f"{label} {cycle}: end of life on {eol.isoformat()}",
        text=text,
        link=link,
        eol=eol,
    )


def _product_from_url(url: str) -> str:
    """The product slug in an endoflife.date API address (…/api/<p>.json, …/products/<p>/)."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    last = parts[-1] if parts else "product"
    if last == "releases" and len(parts) > 1:
        last = parts[-2]
    return last.removesuffix(".json") or "product"


# -- Killed by Google ---------------------------------------------------------------------


def _read_killedbygoogle(document: object, url: str) -> tuple[str, list[_Date], list[str]]:
    if not isinstance(document, list):
        raise NotAFeed(
            "the body is not Killed by Google data: expected the graveyard.json list of "
            "products with name and dateClose"
        )
    dates: list[_Date] = []
    problems: list[str] = []
    for position, product in enumerate(document):
        try:
            found = _grave(product)
        except _Skip as skip:
            problems.append(f"item {position}: {skip}")
            continue
        if found is not None:
            dates.append(found)
    return "Killed by Google", dates, problems


def _grave(product: object) -> _Date | None:
    if not isinstance(product, dict):
        raise _Skip(f"not an object: {product!r:.60}")
    name = _text(product.get("name"))
    if name is None:
        raise _Skip("no name")
    if _text(product.get("type")) == "hardware":
        return None
    closes = _date(product.get("dateClose"), f"{name}: dateClose")
    description = _text(product.get("description"))
    opened = _text(product.get("dateOpen"))
    since = f" It opened on {opened}." if opened else ""
    text = (
        f"{description + ' ' if description else ''}Killed by Google lists "
        f"{closes.isoformat()} as the day Google shuts {name} down.{since} Export what you "
        "keep there before then."
    )
    return _Date(
        key=f"killedbygoogle:{name}",
        title=f"Google shuts down {name} on {closes.isoformat()}",
        text=text,
        link=_http(product.get("link")),
        eol=closes,
    )


# -- values ---------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _http(value: object) -> str | None:
    text = _text(value)
    if text is None or urlsplit(text).scheme not in ("http", "https"):
        return None
    return text


def _date(value: object, what: str) -> date:
    text = _text(value)
    if text is None:
        raise _Skip(f"{what} is missing")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _Skip(f"{what} {text!r} is not a date like 2026-12-31") from None
