"""The provider catalog: which providers exitplan knows, their names and their feeds.

The catalog is data (`feeds/catalog.toml`); this module loads it, validates every key
with errors that name the file, the provider and the key, and answers lookups by name.
Providers from a user's config file are validated here too and merged in with
`Catalog.extended`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Final, cast, get_args
from urllib.parse import urlsplit

from feeds.model import Confidence, FeedRole

FEED_ROLES: Final[tuple[FeedRole, ...]] = get_args(FeedRole)
CONFIDENCES: Final[tuple[Confidence, ...]] = get_args(Confidence)
#: The categories a provider can have; "custom" is the default for providers users add.
CATEGORIES: Final = (
    "hyperscaler",
    "cloud-hosting",
    "object-storage",
    "sync-and-share",
    "backup",
    "developer-platform",
    "collaboration",
    "custom",
)
#: The status-page software exitplan knows how to recognise.
STATUS_SOFTWARE: Final = (
    "statuspage",
    "statusio",
    "firehydrant",
    "instatus",
    "betterstack",
    "custom",
)
#: Where a provider came from: the packaged catalog, the config file, or a chat command.
SOURCES: Final = ("catalog", "config", "user")

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PROVIDER_KEYS: Final = frozenset(
    {"slug", "name", "aliases", "homepage", "category", "status_software", "notes", "feeds"}
)
_FEED_KEYS: Final = frozenset({"url", "role", "confidence", "note"})
_FEED_EXAMPLE = '{ url = "https://…", role = "status" }'
_SUGGEST_CUTOFF = 0.6
_SHORTEST_FUZZY = 3
_SUBSTRING_SCORE = 0.8


class CatalogError(ValueError):
    """A catalog or config provider is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class FeedSpec:
    """One feed of a provider: its address, what it carries and how sure we are of it."""

    url: str
    role: FeedRole
    confidence: Confidence
    note: str | None = None


@dataclass(frozen=True)
class Provider:
    """A provider exitplan can watch, with the names that find it and its feeds."""

    slug: str
    name: str
    aliases: tuple[str, ...]
    homepage: str | None
    category: str
    feeds: tuple[FeedSpec, ...]
    status_software: str | None = None
    notes: str | None = None
    source: str = "catalog"

    def feeds_with_role(self, role: FeedRole) -> tuple[FeedSpec, ...]:
        """Return the feeds that carry `role` (status pages or news)."""
        return tuple(feed for feed in self.feeds if feed.role == role)


def normalise_name(name: str) -> str:
    """Fold case and drop spaces, dashes, underscores, dots and other punctuation."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _names_of(provider: Provider) -> list[str]:
    """Every normalised name that should find `provider`, without repeats."""
    keys = (normalise_name(n) for n in (provider.slug, provider.name, *provider.aliases))
    return list(dict.fromkeys(key for key in keys if key))


def _describe(provider: Provider) -> str:
    return f"provider {provider.slug!r} ({provider.source})"


def _build_index(
    providers: Sequence[Provider], label: Callable[[int, Provider], str]
) -> tuple[dict[str, str], list[str]]:
    """Map every normalised name to a slug; report slugs and names used twice."""
    index: dict[str, str] = {}
    owner: dict[str, int] = {}
    problems: list[str] = []
    slugs: dict[str, int] = {}
    for position, provider in enumerate(providers):
        if provider.slug in slugs:
            first = providers[slugs[provider.slug]]
            problems.append(
                f"{label(position, provider)}: slug: {provider.slug!r} is already used by "
                f"{label(slugs[provider.slug], first)}; give one of them another slug"
            )
            continue
        slugs[provider.slug] = position
        for key in _names_of(provider):
            if key in index and index[key] != provider.slug:
                other = providers[owner[key]]
                problems.append(
                    f"{label(position, provider)}: the name {key!r} (from its slug, name or "
                    f"aliases) already finds {label(owner[key], other)}; remove it from one "
                    "of them"
                )
                continue
            index[key] = provider.slug
            owner[key] = position
    return index, problems


class Catalog:
    """An immutable set of providers with a case- and punctuation-blind name index."""

    __slots__ = ("_by_slug", "_index", "_providers")

    def __init__(self, providers: Iterable[Provider]) -> None:
        """Index `providers`; raise CatalogError when two share a slug or a name."""
        given = tuple(providers)
        index, problems = _build_index(given, lambda _, provider: _describe(provider))
        if problems:
            raise CatalogError(problems)
        self._providers = tuple(sorted(given, key=lambda provider: provider.slug))
        self._by_slug = {provider.slug: provider for provider in self._providers}
        self._index = index

    def __repr__(self) -> str:
        return f"Catalog({len(self._providers)} providers)"

    def __len__(self) -> int:
        return len(self._providers)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers)

    @property
    def providers(self) -> tuple[Provider, ...]:
        """Every provider, sorted by slug."""
        return self._providers

    def get(self, slug: str) -> Provider | None:
        """Return the provider with exactly this slug, or None."""
        return self._by_slug.get(slug)

    def resolve(self, name: str) -> Provider | None:
        """Return the provider whose slug, name or alias matches `name`, or None.

        Matching ignores case, spaces, dashes, underscores, dots and other punctuation.
        """
        slug = self._index.get(normalise_name(name))
        return None if slug is None else self._by_slug[slug]

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Return up to `limit` slugs whose names resemble `name`, best first."""
        wanted = normalise_name(name)
        if not wanted or limit <= 0:
            return []
        scores: dict[str, float] = {}
        for key, slug in self._index.items():
            if len(key) < _SHORTEST_FUZZY or len(wanted) < _SHORTEST_FUZZY:
                # "do", "b2", "c2": two letters are too few to be a near miss.
                score = 1.0 if key == wanted else 0.0
            else:
                score = difflib.SequenceMatcher(None, wanted, key).ratio()
                if wanted in key or key in wanted:
                    score = max(score, _SUBSTRING_SCORE)
            if score >= _SUGGEST_CUTOFF:
                scores[slug] = max(scores.get(slug, 0.0), score)
        ranked = sorted(scores, key=lambda slug: (-scores[slug], slug))
        return ranked[:limit]

    def search(self, query: str) -> list[Provider]:
        """Return the providers whose slug, name, aliases or category contain `query`."""
        wanted = normalise_name(query)
        if not wanted:
            return list(self._providers)
        return [
            provider
            for provider in self._providers
            if any(
                wanted in key for key in [*_names_of(provider), normalise_name(provider.category)]
            )
        ]

    def extended(self, custom: Iterable[Provider]) -> Catalog:
        """Return a new catalog with `custom` providers merged in.

        A custom provider whose slug exists adds its aliases and feeds to that provider
        (feeds de-duplicated by URL) and replaces the name, homepage, category, status
        software and notes only when it sets them (a name equal to the slug and the
        category "custom" count as unset). Any other custom provider is added as it is.
        Raises CatalogError naming both providers when a name would find two of them.
        """
        changed: dict[str, Provider] = {}
        for provider in custom:
            base = changed.get(provider.slug) or self._by_slug.get(provider.slug)
            changed[provider.slug] = provider if base is None else _merge(base, provider)
        # Changed providers go last so a clash is reported against them, not the catalog.
        kept = [provider for provider in self._providers if provider.slug not in changed]
        return Catalog([*kept, *changed.values()])


def _merge(base: Provider, extra: Provider) -> Provider:
    known = set(_names_of(base))
    aliases = [*base.aliases]
    for alias in extra.aliases:
        key = normalise_name(alias)
        if key not in known:
            known.add(key)
            aliases.append(alias)
    feeds: dict[str, FeedSpec] = {}
    for feed in (*base.feeds, *extra.feeds):
        feeds.setdefault(feed.url, feed)
    return replace(
        base,
        name=extra.name if extra.name != extra.slug else base.name,
        aliases=tuple(aliases),
        homepage=extra.homepage or base.homepage,
        category=extra.category if extra.category != "custom" else base.category,
        feeds=tuple(feeds.values()),
        status_software=extra.status_software or base.status_software,
        notes=extra.notes or base.notes,
    )


@dataclass(frozen=True)
class _Rules:
    """What differs between the packaged catalog and a user's config file."""

    source: str
    category: str | None  # default category; None means the key is required
    role: FeedRole | None
    confidence: Confidence | None
    name_defaults_to_slug: bool


_CATALOG_RULES = _Rules("catalog", None, None, None, name_defaults_to_slug=False)
_CONFIG_RULES = _Rules("config", "custom", "news", "unknown", name_defaults_to_slug=True)


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


def _read_provider(
    table: object, where: str, rules: _Rules, problems: list[str]
) -> Provider | None:
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


def _read_feeds(value: object, check: _Checker, rules: _Rules) -> tuple[FeedSpec, ...]:
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
        if url is not None and url in seen:
            check.fail(f"{key}.url", f"{url!r} is listed twice (also feeds[{seen[url]}]); keep one")
            continue
        if url is None or role is None or confidence is None:
            continue
        seen[url] = position
        feeds.append(FeedSpec(url, cast(FeedRole, role), cast(Confidence, confidence), note))
    return tuple(feeds)


def provider_from_config(table: Mapping[str, object], *, where: str) -> Provider:
    """Validate one `[[providers]]` table of a user's config file.

    `name` defaults to the slug, `category` to "custom", a feed's `role` to "news" and
    its `confidence` to "unknown". Raises CatalogError whose problems name `where`
    (e.g. "exitplan.toml: providers[2]") and the key.
    """
    problems: list[str] = []
    provider = _read_provider(table, where, _CONFIG_RULES, problems)
    if provider is None:
        raise CatalogError(problems or [f"{where}: invalid provider"])
    return provider


def load_catalog(path: Path | None = None) -> Catalog:
    """Load and validate a catalog file (by default the one packaged with exitplan).

    Raises CatalogError listing every problem, each naming the file, the provider
    (index and slug) and the key.
    """
    if path is None:
        label = "feeds/catalog.toml"
        text = resources.files("feeds").joinpath("catalog.toml").read_text(encoding="utf-8")
    else:
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CatalogError([f"{label}: cannot be read: {error.strerror or error}"]) from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError([f"{label}: is not valid TOML: {error}"]) from error

    problems: list[str] = []
    for key in sorted(set(document) - {"providers"}):
        problems.append(
            f"{label}: {key}: unknown top-level key; the file holds only [[providers]] tables"
        )
    tables = document.get("providers", [])
    if not isinstance(tables, list):
        raise CatalogError(
            [*problems, f"{label}: providers: must be a list of [[providers]] tables"]
        )
    providers: list[Provider] = []
    places: list[str] = []
    for position, table in enumerate(tables):
        place = f"{label}: providers[{position}]"
        provider = _read_provider(table, place, _CATALOG_RULES, problems)
        if provider is not None:
            providers.append(provider)
            places.append(f"{place} ({provider.slug})")
    _, clashes = _build_index(providers, lambda position, _: places[position])
    problems.extend(clashes)
    if problems:
        raise CatalogError(problems)
    return Catalog(providers)
