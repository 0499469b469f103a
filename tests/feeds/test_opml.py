"""OPML reading and writing: providers with their feeds, exitplan's extras, hostile files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feeds.catalog import FeedSpec, Provider
from feeds.opml import (
    NAMESPACE,
    OpmlDocument,
    OpmlError,
    OpmlFeed,
    OpmlProvider,
    OpmlSkip,
    read_opml,
    slug_from,
    write_opml,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

MIXED = f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:exitplan="{NAMESPACE}">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Acme Cloud" exitplan:slug="acme-cloud" exitplan:aliases="acme, Acme Storage"
             exitplan:homepage="https://acme.test/" exitplan:category="object-storage">
      <outline type="rss" text="status" xmlUrl="https://status.acme.test/history.atom"
               exitplan:role="status"/>
      <outline type="rss" text="blog" xmlUrl="https://acme.test/blog/feed/"/>
      <outline type="rss" text="eol" xmlUrl="https://endoflife.date/api/acme-db.json"
               exitplan:role="eol" exitplan:format="endoflife"/>
      <outline type="rss" text="bad eol" xmlUrl="https://acme.test/eol.json" exitplan:role="eol"/>
      <outline type="rss" text="twice" xmlUrl="https://acme.test/blog/feed/"/>
    </outline>
    <outline text="Reading">
      <outline text="Backups" title="Nimbus Backup" htmlUrl="https://nimbus.test/">
        <outline type="rss" text="Nimbus status" xmlUrl="https://nimbus.test/status.rss"
                 category="/status"/>
        <outline type="rss" text="Nimbus FTP" xmlUrl="ftp://nimbus.test/feed"/>
      </outline>
    </outline>
    <outline type="rss" text="Lone Blog" xmlUrl="https://lone.test/rss"
             htmlUrl="https://lone.test/"/>
    <outline type="rss" text="Odd" xmlUrl="https://odd.test/rss" exitplan:role="blog"/>
    <outline type="rss" text="No address"/>
  </body>
</opml>
"""


def test_read_opml_groups_feeds_by_provider_and_skips_bad_outlines_with_reasons() -> None:
    """Provider outlines group their feeds; loose feeds stand alone; bad ones say why."""
    assert read_opml(MIXED.encode()) == OpmlDocument(
        title="My feeds",
        providers=(
            OpmlProvider(
                name="Acme Cloud",
                slug="acme-cloud",
                feeds=(
                    OpmlFeed("https://status.acme.test/history.atom", "status"),
                    OpmlFeed("https://acme.test/blog/feed/", "news"),
                    OpmlFeed("https://endoflife.date/api/acme-db.json", "eol", "endoflife"),
                ),
                aliases=("acme", "Acme Storage"),
                homepage="https://acme.test/",
                category="object-storage",
            ),
            OpmlProvider(
                name="Nimbus Backup",
                slug=None,
                feeds=(OpmlFeed("https://nimbus.test/status.rss", "status"),),
                homepage="https://nimbus.test/",
            ),
            OpmlProvider(
                name="Lone Blog", slug=None, feeds=(OpmlFeed("https://lone.test/rss", "news"),)
            ),
        ),
        skipped=(
            OpmlSkip(
                "https://acme.test/eol.json",
                "an eol feed needs exitplan:format, one of endoflife, killedbygoogle",
            ),
            OpmlSkip("https://acme.test/blog/feed/", "listed twice in the file"),
            OpmlSkip("ftp://nimbus.test/feed", "not an http(s) address"),
            OpmlSkip("https://odd.test/rss", "role 'blog' is not one of status, news, eol"),
            OpmlSkip("No address", "the outline has no xmlUrl"),
        ),
    )


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<opml version="2.0"><head><title>&lol2;</title></head><body/></opml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE opml SYSTEM "file:///etc/passwd">
<opml version="2.0"><body/></opml>"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BILLION_LAUGHS, "the file declares a DOCTYPE, which exitplan refuses in OPML files"),
        (EXTERNAL, "the file declares a DOCTYPE, which exitplan refuses in OPML files"),
        (
            BILLION_LAUGHS.decode()
            .replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1)
            .encode("utf-16"),
            "the file declares a DOCTYPE, which exitplan refuses in OPML files",
        ),
        (b"<rss version='2.0'><channel/></rss>", "the root element is <rss>, not <opml>"),
        (b"<opml version='2.0'><head/></opml>", "the document has no <body>"),
        (b"<opml><body>", "the file is not well-formed XML (no element found: line 1, column 12)"),
    ],
)
def test_read_opml_refuses_doctypes_and_documents_that_are_not_opml(
    body: bytes, message: str
) -> None:
    """Any DOCTYPE (entities, external ids), in any encoding, and non-OPML XML are refused."""
    with pytest.raises(OpmlError) as caught:
        read_opml(body)
    assert str(caught.value) == message


def test_written_opml_reads_back_as_the_same_providers_and_feeds() -> None:
    """write_opml keeps slug, name, aliases, homepage, category, roles and formats."""
    providers = [
        Provider(
            slug="acme-cloud",
            name="Acme Cloud",
            aliases=("acme", "Acme & Co"),
            homepage="https://acme.test/",
            category="object-storage",
            feeds=(
                FeedSpec("https://status.acme.test/history.atom", "status", "confirmed"),
                FeedSpec("https://acme.test/feed?x=1&y=2", "news", "unknown", "the blog"),
                FeedSpec(
                    "https://endoflife.date/api/acme-db.json", "eol", "likely", None, "endoflife"
                ),
            ),
            source="user",
        ),
        Provider(
            "nimbus",
            "nimbus",
            (),
            None,
            "custom",
            (FeedSpec("https://n.test/rss", "news", "unknown"),),
        ),
    ]
    text = write_opml(providers, title="exitplan providers", now=NOW)
    assert "<dateCreated>Mon, 01 Jun 2026 12:00:00 GMT</dateCreated>" in text
    assert read_opml(text.encode()) == OpmlDocument(
        title="exitplan providers",
        providers=(
            OpmlProvider(
                name="Acme Cloud",
                slug="acme-cloud",
                feeds=(
                    OpmlFeed("https://status.acme.test/history.atom", "status"),
                    OpmlFeed("https://acme.test/feed?x=1&y=2", "news"),
                    OpmlFeed("https://endoflife.date/api/acme-db.json", "eol", "endoflife"),
                ),
                aliases=("acme", "Acme & Co"),
                homepage="https://acme.test/",
                category="object-storage",
            ),
            OpmlProvider(
                name="nimbus",
                slug="nimbus",
                feeds=(OpmlFeed("https://n.test/rss", "news"),),
                category="custom",
            ),
        ),
        skipped=(),
    )


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Acme Cloud Storage (EU)", "acme-cloud-storage-eu"),
        ("Société Générale Cloud", "societe-generale-cloud"),
        ("  --Nimbus--  ", "nimbus"),
        ("云存储", ""),
    ],
)
def test_slug_from_folds_a_title_into_lowercase_words_and_dashes(title: str, slug: str) -> None:
    """Accents fold to ASCII, everything else becomes single dashes; no letters, no slug."""
    assert slug_from(title) == slug
