"""The provider catalog: the packaged data, lookups by name, validation and merging."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from feeds.catalog import (
    CONFIDENCES,
    FEED_ROLES,
    STATUS_SOFTWARE,
    Catalog,
    CatalogError,
    FeedSpec,
    Provider,
    load_catalog,
    provider_from_config,
)

REQUIRED_SLUGS = (
    "aws",
    "google-cloud",
    "azure",
    "backblaze",
    "wasabi",
    "cloudflare",
    "digitalocean",
    "linode",
    "scaleway",
    "ovhcloud",
    "hetzner",
    "idrive",
    "storj",
    "dropbox",
    "box",
    "google-workspace",
    "microsoft-365",
    "mega",
    "pcloud",
    "sync-com",
    "tresorit",
    "carbonite",
    "crashplan",
    "synology",
    "filebase",
    "egnyte",
    "github",
    "gitlab",
    "atlassian",
    "slack",
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The catalog packaged with exitplan."""
    return load_catalog()


def _config_provider(table: dict[str, object]) -> Provider:
    return provider_from_config(table, where="exitplan.toml: providers[0]")


def test_packaged_catalog_lists_enough_providers_sorted_by_slug(catalog: Catalog) -> None:
    """The packaged catalog loads, holds at least 30 providers and lists them by slug."""
    slugs = [provider.slug for provider in catalog.providers]
    assert len(slugs) >= 30
    assert slugs == sorted(slugs)
    assert {provider.source for provider in catalog.providers} == {"catalog"}


def test_packaged_catalog_has_every_required_slug(catalog: Catalog) -> None:
    """Every slug the rest of exitplan relies on is in the packaged catalog."""
    missing = [slug for slug in REQUIRED_SLUGS if catalog.get(slug) is None]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("s3", "aws"),
        ("aws-s3", "aws"),
        ("Amazon S3", "aws"),
        ("amazon", "aws"),
        ("GCS", "google-cloud"),
        ("Google Cloud Storage", "google-cloud"),
        ("Azure Blob Storage", "azure"),
        ("b2", "backblaze"),
        ("Backblaze Computer Backup", "backblaze"),
        ("Wasabi", "wasabi"),
        ("R2", "cloudflare"),
        ("DigitalOcean Spaces", "digitalocean"),
        ("Akamai", "linode"),
        ("Linode", "linode"),
        ("Scaleway", "scaleway"),
        ("OVH", "ovhcloud"),
        ("Hetzner Storage Box", "hetzner"),
        ("IDrive e2", "idrive"),
        ("Storj", "storj"),
        ("Dropbox", "dropbox"),
        ("Box", "box"),
        ("Google Drive", "google-workspace"),
        ("onedrive", "microsoft-365"),
        ("Office 365", "microsoft-365"),
        ("MEGA", "mega"),
        ("pCloud", "pcloud"),
        ("Sync.com", "sync-com"),
        ("Tresorit", "tresorit"),
        ("Carbonite", "carbonite"),
        ("Code42", "crashplan"),
        ("Synology C2", "synology"),
        ("Filebase", "filebase"),
        ("Egnyte", "egnyte"),
        ("GitHub", "github"),
        ("GitLab", "gitlab"),
        ("Jira", "atlassian"),
        ("Slack", "slack"),
        ("OCI", "oracle-cloud"),
        ("IBM Cloud Object Storage", "ibm-cloud"),
        ("Bunny.net", "bunny-net"),
        ("Tigris", "fly-io"),
        ("Supabase", "supabase"),
        ("UpCloud", "upcloud"),
        ("Vultr", "vultr"),
    ],
)
def test_common_names_resolve_to_their_provider(catalog: Catalog, name: str, slug: str) -> None:
    """A provider's everyday name finds the catalog entry with the agreed slug."""
    provider = catalog.resolve(name)
    assert provider is not None
    assert provider.slug == slug


@pytest.mark.parametrize("name", ["Amazon S3", "amazon-s3", "aws_s3", "AWS.S3", "  amazon s3 "])
def test_resolve_ignores_case_spaces_dashes_underscores_and_dots(
    catalog: Catalog, name: str
) -> None:
    """Spellings that differ only in case and separators find the same provider."""
    assert catalog.resolve(name) == catalog.get("aws")


def test_resolve_returns_none_for_unknown_names(catalog: Catalog) -> None:
    """A name no provider carries resolves to nothing rather than a guess."""
    assert (catalog.resolve("nirvanix"), catalog.resolve(""), catalog.resolve("--")) == (
        None,
        None,
        None,
    )


def test_every_feed_is_an_http_url_with_role_and_confidence(catalog: Catalog) -> None:
    """Each catalog feed has an http(s) address, a known role and a confidence mark."""
    bad = [
        (provider.slug, feed)
        for provider in catalog.providers
        for feed in provider.feeds
        if urlsplit(feed.url).scheme not in {"http", "https"}
        or not urlsplit(feed.url).hostname
        or feed.role not in FEED_ROLES
        or feed.confidence not in CONFIDENCES
    ]
    assert bad == []


def test_feed_urls_are_unique_across_the_catalog(catalog: Catalog) -> None:
    """No feed address is listed under two providers or twice under one."""
    urls = [feed.url for provider in catalog.providers for feed in provider.feeds]
    assert len(urls) == len(set(urls))


def test_status_software_is_known_where_given(catalog: Catalog) -> None:
    """Every recorded status-page software is one the fetcher can recognise."""
    recorded = {p.status_software for p in catalog.providers if p.status_software is not None}
    assert recorded <= set(STATUS_SOFTWARE)


def test_providers_without_feeds_say_so_in_their_notes(catalog: Catalog) -> None:
    """A provider with no feed keeps a note telling the reader to check by hand."""
    silent = [
        provider.slug
        for provider in catalog.providers
        if not provider.feeds and "no public feed" not in (provider.notes or "").casefold()
    ]
    assert silent == []


def test_aws_lists_the_general_s3_and_whats_new_feeds(catalog: Catalog) -> None:
    """AWS carries its all-services status feed, the S3 us-east-1 feed and What's New."""
    aws = catalog.get("aws")
    assert aws is not None
    found = {(feed.url, feed.role, feed.confidence) for feed in aws.feeds}
    assert {
        ("https://status.aws.amazon.com/rss/all.rss", "status", "confirmed"),
        ("https://status.aws.amazon.com/rss/s3-us-east-1.rss", "status", "confirmed"),
        ("https://aws.amazon.com/about-aws/whats-new/recent/feed/", "news", "confirmed"),
    } <= found


@pytest.mark.parametrize(
    ("slug", "software", "status_feeds"),
    [
        (
            "gitlab",
            "statusio",
            (("https://status.gitlab.com/pages/5b36dc6502d06804c08349f7/rss", "confirmed"),),
        ),
        ("github", "statuspage", (("https://www.githubstatus.com/history.atom", "likely"),)),
        ("slack", "custom", (("https://slack-status.com/feed/rss", "likely"),)),
        ("atlassian", "statuspage", (("https://status.atlassian.com/history.rss", "likely"),)),
        ("backblaze", "firehydrant", (("https://status.backblaze.com/data/rss.xml", "confirmed"),)),
    ],
)
def test_status_feeds_carry_the_reference_marks(
    catalog: Catalog, slug: str, software: str, status_feeds: tuple[tuple[str, str], ...]
) -> None:
    """Status feeds and software match the reference notes, unverified ones marked so."""
    provider = catalog.get(slug)
    assert provider is not None
    assert (
        provider.status_software,
        tuple((feed.url, feed.confidence) for feed in provider.feeds_with_role("status")),
    ) == (software, status_feeds)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("backblase", ["backblaze"]),
        ("dropbx", ["dropbox"]),
        ("hetzer", ["hetzner"]),
        ("clodflare", ["cloudflare", "apple-icloud"]),
        ("b2", ["backblaze"]),
        ("xyzzy", []),
        ("", []),
    ],
)
def test_suggest_offers_close_slugs(catalog: Catalog, name: str, expected: list[str]) -> None:
    """A misspelt name gets the slugs it most resembles, best first, and nonsense gets none."""
    assert catalog.suggest(name) == expected


def test_suggest_stops_at_the_limit(catalog: Catalog) -> None:
    """Suggestions never exceed the limit asked for."""
    assert (len(catalog.suggest("cloud")), catalog.suggest("cloud", limit=1)) == (
        3,
        ["apple-icloud"],
    )


def test_search_matches_names_aliases_and_category(catalog: Catalog) -> None:
    """Search finds providers by substring of slug, name, alias or category."""
    assert [provider.slug for provider in catalog.search("backup")] == [
        "backblaze",
        "carbonite",
        "crashplan",
        "idrive",
        "synology",
    ]
    assert [provider.slug for provider in catalog.search("OneDrive")] == ["microsoft-365"]
    assert catalog.search("") == list(catalog.providers)


_BROKEN = """\
[[providers]]
slug = "alpha"
name = "Alpha"
category = "hyperscaler"
feeds = [
  { url = "ftp://alpha.example/feed", role = "status", confidence = "confirmed" },
  { url = "https://alpha.example/news", role = "blog", confidence = "sure" },
  { url = "https://alpha.example/other", role = "news" },
]

[[providers]]
slug = "Beta Corp"
aliases = ["b", 3]
category = "storage"
homepage = "beta.example"
colour = "blue"

[[providers]]
slug = "gamma"
name = "Gamma"
aliases = ["Alpha"]
category = "backup"
"""


def test_broken_catalog_reports_every_problem_with_provider_and_key(tmp_path: Path) -> None:
    """A bad catalog file fails once, listing each problem with file, provider and key."""
    path = tmp_path / "catalog.toml"
    path.write_text(_BROKEN, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    first = f"{path}: providers[0] (alpha)"
    second = f"{path}: providers[1] (Beta Corp)"
    assert caught.value.problems == (
        f"{first}: feeds[0].url: 'ftp://alpha.example/feed' is not an http(s) URL; "
        "write it as https://host/path",
        f"{first}: feeds[1].role: 'blog' is not allowed; use one of: status, news, eol",
        f"{first}: feeds[1].confidence: 'sure' is not allowed; "
        "use one of: confirmed, likely, unknown",
        f"{first}: feeds[2].confidence: is required; use one of: confirmed, likely, unknown",
        f"{second}: colour: unknown key; known keys: aliases, category, feeds, homepage, "
        "name, notes, slug, status_software",
        f"{second}: slug: 'Beta Corp' must be lowercase letters and digits joined by single dashes",
        f'{second}: name: is required; add name = "The Name People Know"',
        f"{second}: homepage: 'beta.example' is not an http(s) URL; write it as https://host/path",
        f"{second}: category: 'storage' is not allowed; use one of: hyperscaler, "
        "cloud-hosting, object-storage, sync-and-share, backup, developer-platform, "
        "collaboration, custom",
        f"{second}: aliases[1]: 3 must be a string with letters or digits",
    )


def test_catalog_rejects_a_shared_slug_and_a_shared_alias(tmp_path: Path) -> None:
    """Two providers may not share a slug, nor a name that would find both."""
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[[providers]]\nslug = "alpha"\nname = "Alpha"\ncategory = "backup"\n'
        '[[providers]]\nslug = "beta"\nname = "Beta"\naliases = ["ALPHA"]\ncategory = "backup"\n'
        '[[providers]]\nslug = "alpha"\nname = "Alpha Two"\ncategory = "backup"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert caught.value.problems == (
        f"{path}: providers[1] (beta): the name 'alpha' (from its slug, name or aliases) "
        f"already finds {path}: providers[0] (alpha); remove it from one of them",
        f"{path}: providers[2] (alpha): slug: 'alpha' is already used by "
        f"{path}: providers[0] (alpha); give one of them another slug",
    )


def test_catalog_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    """A file that is not TOML gives one problem naming the file."""
    path = tmp_path / "catalog.toml"
    path.write_text("[[providers]\nslug = ", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{path}: is not valid TOML: ")


def test_valid_catalog_file_loads_as_written(tmp_path: Path) -> None:
    """A small valid catalog file gives exactly the providers it describes."""
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[[providers]]\nslug = "alpha"\nname = "Alpha"\naliases = ["A1"]\n'
        'category = "backup"\nstatus_software = "instatus"\n'
        '[[providers.feeds]]\nurl = "https://status.alpha.example/history.rss"\n'
        'role = "status"\nconfidence = "likely"\nnote = "pattern"\n',
        encoding="utf-8",
    )
    assert load_catalog(path).providers == (
        Provider(
            slug="alpha",
            name="Alpha",
            aliases=("A1",),
            homepage=None,
            category="backup",
            feeds=(
                FeedSpec("https://status.alpha.example/history.rss", "status", "likely", "pattern"),
            ),
            status_software="instatus",
            notes=None,
            source="catalog",
        ),
    )


def test_provider_from_config_fills_defaults() -> None:
    """A config provider defaults its name, category, feed role and confidence."""
    provider = _config_provider(
        {"slug": "nas-vendor", "feeds": [{"url": "https://nas.example/feed.xml"}]}
    )
    assert provider == Provider(
        slug="nas-vendor",
        name="nas-vendor",
        aliases=(),
        homepage=None,
        category="custom",
        feeds=(FeedSpec("https://nas.example/feed.xml", "news", "unknown", None),),
        status_software=None,
        notes=None,
        source="config",
    )


def test_provider_from_config_names_where_and_key() -> None:
    """Every problem of a config provider names the place given and the bad key."""
    with pytest.raises(CatalogError) as caught:
        _config_provider({"name": "No Slug", "aliases": "x", "feeds": [{"role": "status"}]})
    assert caught.value.problems == (
        'exitplan.toml: providers[0]: slug: is required; add slug = "lowercase-words-with-dashes"',
        'exitplan.toml: providers[0]: aliases: must be a list of strings like ["S3", "Amazon S3"], '
        "not 'x'",
        'exitplan.toml: providers[0]: feeds[0].url: is required; add url = "https://…" '
        "pointing at an RSS or Atom feed",
    )


def test_extended_merges_aliases_and_feeds_into_an_existing_provider(catalog: Catalog) -> None:
    """A config provider with a catalog slug adds its aliases and new feeds to it."""
    aws = catalog.get("aws")
    assert aws is not None
    extra = _config_provider(
        {
            "slug": "aws",
            "aliases": ["our-cloud", "S3"],
            "feeds": [
                {"url": "https://status.aws.amazon.com/rss/all.rss", "role": "status"},
                {"url": "https://status.aws.amazon.com/rss/s3-eu-west-1.rss", "role": "status"},
            ],
        }
    )
    merged = catalog.extended([extra])
    assert merged.get("aws") == Provider(
        slug="aws",
        name=aws.name,
        aliases=(*aws.aliases, "our-cloud"),
        homepage=aws.homepage,
        category=aws.category,
        feeds=(
            *aws.feeds,
            FeedSpec("https://status.aws.amazon.com/rss/s3-eu-west-1.rss", "status", "unknown"),
        ),
        status_software=aws.status_software,
        notes=aws.notes,
        source="catalog",
    )
    assert merged.resolve("Our Cloud") == merged.get("aws")
    assert catalog.resolve("our-cloud") is None


def test_extended_adds_a_new_provider(catalog: Catalog) -> None:
    """A config provider with a new slug joins the catalog and resolves by its aliases."""
    nas = _config_provider(
        {
            "slug": "nas-vendor",
            "name": "NAS Vendor",
            "aliases": ["nasv"],
            "category": "backup",
            "feeds": [{"url": "https://nas.example/status.rss", "role": "status"}],
        }
    )
    merged = catalog.extended([nas])
    assert (len(merged), merged.resolve("NASV"), merged.get("aws")) == (
        len(catalog) + 1,
        nas,
        catalog.get("aws"),
    )


def test_extended_reports_an_alias_that_finds_another_provider(catalog: Catalog) -> None:
    """A new provider may not take a name that already finds a catalog provider."""
    thief = _config_provider({"slug": "my-store", "aliases": ["b2", "S3"]})
    with pytest.raises(CatalogError) as caught:
        catalog.extended([thief])
    assert caught.value.problems == (
        "provider 'my-store' (config): the name 'b2' (from its slug, name or aliases) "
        "already finds provider 'backblaze' (catalog); remove it from one of them",
        "provider 'my-store' (config): the name 's3' (from its slug, name or aliases) "
        "already finds provider 'aws' (catalog); remove it from one of them",
    )


def test_extended_reports_an_alias_added_to_a_catalog_provider(catalog: Catalog) -> None:
    """Extending a catalog provider with another provider's alias names both of them."""
    greedy = _config_provider({"slug": "wasabi", "aliases": ["Dropbox Business"]})
    with pytest.raises(CatalogError) as caught:
        catalog.extended([greedy])
    assert caught.value.problems == (
        "provider 'wasabi' (catalog): the name 'dropboxbusiness' (from its slug, name or "
        "aliases) already finds provider 'dropbox' (catalog); remove it from one of them",
    )


def test_extended_applies_custom_providers_in_order(catalog: Catalog) -> None:
    """Two config providers with the same new slug add up to one provider."""
    first = _config_provider({"slug": "nas-vendor", "name": "NAS Vendor", "aliases": ["nasv"]})
    second = _config_provider(
        {"slug": "nas-vendor", "feeds": [{"url": "https://nas.example/feed.xml"}]}
    )
    assert catalog.extended([first, second]).get("nas-vendor") == Provider(
        slug="nas-vendor",
        name="NAS Vendor",
        aliases=("nasv",),
        homepage=None,
        category="custom",
        feeds=(FeedSpec("https://nas.example/feed.xml", "news", "unknown"),),
        status_software=None,
        notes=None,
        source="config",
    )
