"""Validation of provider tables read from TOML: the packaged catalog and users' config files.

`read_provider` turns one `[[providers]]` table into a `Provider`, collecting a problem
that names the place and the key for every bad value instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast
from urllib.parse import urlsplit

from feeds.model import Confidence, FeedRole
from feeds.providers import (
    CATEGORIES,
    CONFIDENCES,
    EOL_FORMATS,
    FEED_FORMATS,
    FEED_ROLES,
    STATUS_SOFTWARE,
    FeedSpec,
    Provider,
    SpecRole,
    normalise_name,
)

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PROVIDER_KEYS: Final = frozenset(
    {"slug", "name", "aliases", "homepage", "category", "status_software", "notes", "feeds"}
)
_FEED_KEYS: Final = frozenset({"url", "role", "confidence", "note", "format"})
_FEED_EXAMPLE = '{ url = "https://…", role = "status" }'


@dataclass(frozen=True)
class Rules:
    """What differs between the packaged catalog and a user's config file."""

    source: str
    category: str | None  # default category; None means the key is required
    role: FeedRole | None
    confidence: Confidence | None
    name_defaults_to_slug: bool


#: The packaged catalog: every key is required.
CATALOG_RULES = Rules("catalog", None, None, None, name_defaults_to_slug=False)
#: A user's config file: name, category, role and confidence have defaults.
CONFIG_RULES = Rules("config", "custom", "news", "unknown", name_defaults_to_slug=True)


class _Checker:
    """Reads keys of one TOML table, collecting a problem for each bad value."""

    def __init__(self, where: str, problems: list[str]) -> None:
        self.where = where
        self.problems = problems

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{self.where}: {key}: {message}")

    def keys(self, table: Mapping[str, object], allowed: frozenset[str], prefix: str) -> None:
        for key in sorted(set(table) - allowed):
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"known keys: {', '.join(sorted(allowed))}"
            )
            self.fail(f"{prefix}{key}", f"unknown key; {hint}")

    def text(self, table: Mapping[str, object], key: str, *, shown: str = "") -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(shown or key, f"must be a non-empty string, not {value!r}")
            return None
        return value.strip()

    def choice(
        self, table: Mapping[str, object], key: str, choices: Sequence[str], *, shown: str = ""
    ) -> str | None:
        value = self.text(table, key, shown=shown)
        if value is not None and value not in choices:
            self.fail(shown or key, f"{value!r} is not allowed; use one of: {', '.join(choices)}")
            return None
        return value

    def url(self, table: Mapping[str, object], key: str, *, shown: str = "") -> str | None:
        value = self.text(table, key, shown=shown)
        if value is None:
            return None
        parts = urlsplit(value)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or any(c.isspace() for c in value)
        ):
            self.fail(
                shown or key, f"{value!r} is not an http(s) URL; write it as https://host/path"
            )
            return None
        return value

    def missing(self, key: str, fix: str) -> None:
        self.fail(key, f"is required; {fix}")


def read_provider(table: object, where: str, rules: Rules, problems: list[str]) -> Provider | None:
    """Validate one provider table; append problems and return None when it is invalid."""
    if not isinstance(table, Mapping):
        problems.append(f"{where}: must be a table like [[providers]], not {table!r}")
        return None
    raw_slug = table.get("slug")
    if isinstance(raw_slug, str) and raw_slug.strip():
        where = f"{where} ({raw_slug.strip()})"
    check = _Checker(where, problems)
    before = len(problems)
    check.keys(table, _PROVIDER_KEYS, "")

    slug = check.text(table, "slug")
    if slug is None and "slug" not in table:
        check.missing("slug", 'add slug = "lowercase-words-with-dashes"')
    elif slug is not None and not _SLUG.fullmatch(slug):
        check.fail("slug", f"{slug!r} must be lowercase letters and digits joined by single dashes")
    name = check.text(table, "name")
    if name is None and "name" not in table and not rules.name_defaults_to_slug:
        check.missing("name", 'add name = "The Name People Know"')
    homepage = check.url(table, "homepage")
    category = check.choice(table, "category", CATEGORIES)
    if category is None and "category" not in table:
        if rules.category is None:
            check.missing("category", f"use one of: {', '.join(CATEGORIES)}")
        category = rules.category
    software = check.choice(table, "status_software", STATUS_SOFTWARE)
    notes = check.text(table, "notes")
    aliases = _read_aliases(table.get("aliases", []), check)
    feeds = _read_feeds(table.get("feeds", []), check, rules)

    if len(problems) > before or slug is None or category is None:
        return None
    return Provider(
        slug=slug,
        name=name or slug,
        aliases=aliases,
        homepage=homepage,
        category=category,
        feeds=feeds,
        status_software=software,
        notes=notes,
        source=rules.source,
    )


def _read_aliases(value: object, check: _Checker) -> tuple[str, ...]:
    if not isinstance(value, list):
        check.fail("aliases", f'must be a list of strings like ["S3", "Amazon S3"], not {value!r}')
        return ()
    aliases: dict[str, str] = {}
    for position, alias in enumerate(value):
        if not isinstance(alias, str) or not normalise_name(alias):
            check.fail(f"aliases[{position}]", f"{alias!r} must be a string with letters or digits")
        else:
            aliases.setdefault(normalise_name(alias), alias.strip())
    return tuple(aliases.values())


def _read_feeds(value: object, check: _Checker, rules: Rules) -> tuple[FeedSpec, ...]:
    if not isinstance(value, list):
        check.fail(
            "feeds",
            f"must be a list of tables like {_FEED_EXAMPLE}, not {value!r}",
        )
        return ()
    feeds: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(value):
        key = f"feeds[{position}]"
        if not isinstance(table, Mapping):
            check.fail(key, f"must be a table like {_FEED_EXAMPLE}, not {table!r}")
            continue
        check.keys(table, _FEED_KEYS, f"{key}.")
        url = check.url(table, "url", shown=f"{key}.url")
        if url is None and "url" not in table:
            check.missing(f"{key}.url", 'add url = "https://…" pointing at an RSS or Atom feed')
        role = check.choice(table, "role", FEED_ROLES, shown=f"{key}.role")
        if role is None and "role" not in table:
            if rules.role is None:
                check.missing(f"{key}.role", f"use one of: {', '.join(FEED_ROLES)}")
            role = rules.role
        confidence = check.choice(table, "confidence", CONFIDENCES, shown=f"{key}.confidence")
        if confidence is None and "confidence" not in table:
            if rules.confidence is None:
                check.missing(f"{key}.confidence", f"use one of: {', '.join(CONFIDENCES)}")
            confidence = rules.confidence
        note = check.text(table, "note", shown=f"{key}.note")
        data_format = _read_format(table, check, key, role)
        if url is not None and url in seen:
            check.fail(f"{key}.url", f"{url!r} is listed twice (also feeds[{seen[url]}]); keep one")
            continue
        if url is None or role is None or confidence is None or data_format is None:
            continue
        seen[url] = position
        feeds.append(
            FeedSpec(url, cast(SpecRole, role), cast(Confidence, confidence), note, data_format)
        )
    return tuple(feeds)


def _read_format(
    table: Mapping[str, object], check: _Checker, key: str, role: str | None
) -> str | None:
    """A feed's format: "feed" unless it is an "eol" feed, which must name its data format."""
    shown = f"{key}.format"
    value = check.choice(table, "format", FEED_FORMATS, shown=shown)
    if "format" in table and value is None:
        return None
    if role == "eol":
        if value is None:
            check.missing(shown, f"an eol feed reads one of: {', '.join(EOL_FORMATS)}")
        elif value not in EOL_FORMATS:
            check.fail(shown, f"an eol feed reads one of: {', '.join(EOL_FORMATS)}")
            return None
        return value
    if value in EOL_FORMATS:
        check.fail(shown, f'{value!r} is end-of-life data; give this feed role = "eol"')
        return None
    return value or "feed"
