"""The provider catalog: which providers exitplan knows, their names and their feeds.

The catalog is data (`feeds/catalog.toml`); this module loads it, has every provider
validated (`feeds.catalog_schema`) with errors that name the file, the provider and the
key, and answers lookups by name. Providers from a user's config file are validated
here too and merged in with `Catalog.extended`.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path

from feeds.catalog_schema import CATALOG_RULES, CONFIG_RULES, read_provider
from feeds.providers import (
    CATEGORIES,
    CONFIDENCES,
    FEED_ROLES,
    SOURCES,
    STATUS_SOFTWARE,
    CatalogError,
    FeedSpec,
    Provider,
    normalise_name,
)

__all__ = [
    "CATEGORIES",
    "CONFIDENCES",
    "FEED_ROLES",
    "SOURCES",
    "STATUS_SOFTWARE",
    "Catalog",
    "CatalogError",
    "FeedSpec",
    "Provider",
    "load_catalog",
    "normalise_name",
    "provider_from_config",
]

_SUGGEST_CUTOFF = 0.6
_SHORTEST_FUZZY = 3
_SUBSTRING_SCORE = 0.8


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


def provider_from_config(table: Mapping[str, object], *, where: str) -> Provider:
    """Validate one `[[providers]]` table of a user's config file.

    `name` defaults to the slug, `category` to "custom", a feed's `role` to "news" and
    its `confidence` to "unknown". Raises CatalogError whose problems name `where`
    (e.g. "exitplan.toml: providers[2]") and the key.
    """
    problems: list[str] = []
    provider = read_provider(table, where, CONFIG_RULES, problems)
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
        provider = read_provider(table, place, CATALOG_RULES, problems)
        if provider is not None:
            providers.append(provider)
            places.append(f"{place} ({provider.slug})")
    _, clashes = _build_index(providers, lambda position, _: places[position])
    problems.extend(clashes)
    if problems:
        raise CatalogError(problems)
    return Catalog(providers)
