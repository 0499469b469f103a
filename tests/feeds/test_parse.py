"""Parsing feed bodies into typed entries with plain text, UTC times and stable keys."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.model import Entry
from feeds.parse import MAX_TEXT, NotAFeed, ParsedFeed, html_to_text, parse_feed

DATA = Path(__file__).parent.parent / "data" / "feeds"
FETCHED_AT = datetime(2024, 6, 1, tzinfo=UTC)
STATUS = "https://status.example-storage.test/incidents/"


def parse(name: str, url: str = "https://feeds.example.test/feed") -> ParsedFeed:
    """Parse one fixture file as if fetched from `url`."""
    return parse_feed((DATA / name).read_bytes(), url=url, fetched_at=FETCHED_AT)


def parse_bytes(body: bytes, url: str = "https://feeds.example.test/blog/feed") -> ParsedFeed:
    """Parse an inline feed body."""
    return parse_feed(body, url=url, fetched_at=FETCHED_AT)


def rss(items: str) -> bytes:
    """A minimal RSS 2.0 document around `items`."""
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Inline</title>'
        f"<link>https://example.test/</link>{items}</channel></rss>"
    ).encode()


def at(text: str) -> datetime:
    """A UTC datetime from ISO text."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_statuspage_rss_gives_one_entry_per_incident() -> None:
    """Each Statuspage item is an incident keyed on its URL, dated by its newest update."""
    feed = parse("statuspage_history.rss")

    assert (feed.title, feed.link, feed.warning) == (
        "Example Storage Status - Incident History",
        "https://status.example-storage.test",
        None,
    )
    assert [(e.key, e.title, e.link, e.published, e.updated) for e in feed.entries] == [
        (
            STATUS + "k3v9q2m7x1pd",
            "Elevated error rates for object uploads in eu-west",
            STATUS + "k3v9q2m7x1pd",
            at("2024-03-12T08:41:17"),
            None,
        ),
        (
            STATUS + "8hw2c4r0n6ta",
            "Some backups may be unrecoverable after storage node failure",
            STATUS + "8hw2c4r0n6ta",
            at("2024-03-08T16:20:44"),
            None,
        ),
        (
            STATUS + "p5zt7y1e3bq0",
            "Scheduled maintenance of the control panel",
            STATUS + "p5zt7y1e3bq0",
            at("2024-03-02T03:00:09"),
            None,
        ),
    ]


def test_statuspage_escaped_html_becomes_plain_status_lines() -> None:
    """The entity-escaped update trail turns into one plain line per date and per update."""
    entry = parse("statuspage_history.rss").entries[0]

    assert entry.text == (
        "Mar 12, 08:41 UTC\n"
        "Resolved - Upload error rates have been back to normal for 30 minutes."
        " This incident has been resolved.\n"
        "Mar 12, 07:58 UTC\n"
        "Monitoring - A fix has been deployed & we are monitoring the results.\n"
        "Mar 12, 07:12 UTC\n"
        "Investigating - We are investigating elevated 5xx errors on PUT requests in eu-west."
    )
    assert entry.content_hash == hashlib.sha256(f"{entry.title}\n{entry.text}".encode()).hexdigest()


def test_statuspage_update_keeps_the_key_and_changes_the_hash() -> None:
    """An incident that gained an update keeps its key but not its hash; others stay equal."""
    before = {e.key: e for e in parse("statuspage_history.rss").entries}
    after = {e.key: e for e in parse("statuspage_history_updated.rss").entries}

    assert set(after) - set(before) == {STATUS + "r2d8f6g4h0jw"}
    changed = {key for key in before if before[key].content_hash != after[key].content_hash}
    assert changed == {STATUS + "8hw2c4r0n6ta"}
    assert after[STATUS + "8hw2c4r0n6ta"].text.splitlines()[:2] == [
        "Mar 9, 10:02 UTC",
        "Resolved - Recovery is complete. Backups from 41 customers could not be restored;"
        " those customers have been contacted.",
    ]


def test_statuspage_atom_has_published_and_updated() -> None:
    """Statuspage Atom entries are keyed on their tag id and carry both times in UTC."""
    feed = parse("statuspage_history.atom")

    assert [(e.key, e.link, e.published, e.updated) for e in feed.entries] == [
        (
            "tag:status.example-storage.test,2005:Incident/20418833",
            STATUS + "k3v9q2m7x1pd",
            at("2024-03-12T07:12:40"),
            at("2024-03-12T08:41:17"),
        ),
        (
            "tag:status.example-storage.test,2005:Incident/20397102",
            STATUS + "8hw2c4r0n6ta",
            at("2024-03-08T15:31:05"),
            at("2024-03-08T16:20:44"),
        ),
        (
            "tag:status.example-storage.test,2005:Incident/20355960",
            STATUS + "p5zt7y1e3bq0",
            at("2024-02-27T10:00:12"),
            at("2024-03-02T03:00:09"),
        ),
    ]
    assert feed.entries[0].text.splitlines()[1] == (
        "Resolved - Upload error rates have been back to normal for 30 minutes."
        " This incident has been resolved."
    )


def test_aws_pacific_dates_become_utc() -> None:
    """AWS items dated in PDT and PST come out in UTC, keyed on their non-permalink guid."""
    feed = parse("aws_status.rss")

    assert [(e.key, e.title, e.published) for e in feed.entries] == [
        (
            "https://status.aws.amazon.com/#s3-us-east-1_1710463680",
            "Service is operating normally: [RESOLVED] Increased PUT error rates",
            at("2024-03-15T00:48:00"),
        ),
        (
            "https://status.aws.amazon.com/#s3-us-east-1_1710454800",
            "Service disruption: Increased PUT error rates",
            at("2024-03-14T22:20:00"),
        ),
        (
            "https://status.aws.amazon.com/#s3-us-east-1_1708449000",
            "Informational message: Delayed storage metrics",
            at("2024-02-20T17:10:00"),
        ),
    ]
    assert [e.published.timestamp() for e in feed.entries if e.published] == [
        1710463680,
        1710454800,
        1708449000,
    ]


def test_gcp_atom_has_one_entry_per_update_with_affected_products() -> None:
    """GCP entries share their incident link, and the affected products are a line of text."""
    feed = parse("gcp_status.atom")
    incident = "https://status.cloud.google.com/incidents/Qx7tLm2VbN9cRf4HjK8s"

    assert [(e.title, e.link, e.updated) for e in feed.entries] == [
        (
            "RESOLVED: Cloud Storage requests in us-central1 returned elevated errors",
            incident,
            at("2024-04-03T21:30:00"),
        ),
        (
            "UPDATE: Cloud Storage requests in us-central1 returned elevated errors",
            incident,
            at("2024-04-03T20:20:00"),
        ),
        (
            "Persistent Disk snapshots may fail to restore",
            "https://status.cloud.google.com/incidents/Zp3WcY6nHq1sDk5TbGv0",
            at("2024-03-28T16:45:00"),
        ),
    ]
    assert [e.text.splitlines()[-2] for e in feed.entries] == [
        "Affected products: Cloud Storage",
        "Affected products: Cloud Storage",
        "Affected products: Persistent Disk",
    ]


def test_wordpress_post_uses_content_encoded_and_categories() -> None:
    """A WordPress post reads its full content:encoded as text, with its categories."""
    post = parse("wordpress_blog.rss").entries[1]
    text = (
        "Starting April 1, 2024, standard Object Storage costs $7 per TB per month, up from $6.\n"
        "Egress stays free up to three times your stored volume.\n"
        "Above that, egress costs $0.01 per GB."
    )

    assert post == Entry(
        key="https://blog.example-cloud.test/?p=4790",
        title="Changes to Object Storage pricing",
        link="https://blog.example-cloud.test/2024/02/object-storage-pricing/",
        published=at("2024-02-20T13:30:00"),
        updated=None,
        text=text,
        categories=("Pricing", "Object Storage"),
        content_hash=hashlib.sha256(
            f"Changes to Object Storage pricing\n{text}".encode()
        ).hexdigest(),
    )


def test_wordpress_shutdown_post_keeps_dates_and_drops_scripts() -> None:
    """The shutdown post keeps its list of dates as lines and loses its tracking script."""
    post = parse("wordpress_blog.rss").entries[0]

    assert post.text.splitlines() == [
        "After eight years we are retiring Example Cloud Vault, our archive storage service.",
        "Key dates",
        "June 1, 2024: new uploads are disabled.",
        "September 30, 2024: the service shuts down and all remaining data is permanently deleted.",
        "Please export your archives before the deadline. Our export guide explains how to move"
        " data to Example Cloud Object Storage or to another provider.",
    ]


def test_empty_azure_feed_has_no_entries_and_no_warning() -> None:
    """An empty status channel is a valid answer: no entries, no error, no warning."""
    assert parse("azure_status_empty.rss") == ParsedFeed(
        title="Azure Status",
        link="https://azure.status.microsoft/en-us/status/",
        entries=(),
        warning=None,
    )


def test_broken_xml_keeps_the_readable_entry_with_a_warning() -> None:
    """Malformed XML keeps the entry feedparser recovered and says what was wrong."""
    feed = parse("broken.xml")

    assert [(e.key, e.text) for e in feed.entries] == [
        (
            "https://news.example-hosting.test/posts/cold-storage-retirement",
            "The cold storage tier will be retired on 30 June 2024."
            " Please move your archives & snapshots before then.",
        )
    ]
    assert feed.warning == (
        "the feed is malformed (<unknown>:12:101: not well-formed (invalid token));"
        " kept the 1 entries it could read"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            (DATA / "not_a_feed.html").read_bytes(),
            "the server sent an HTML page, not a feed:"
            " look for a <link rel=alternate> feed URL on it",
        ),
        (b'{"incidents": []}', "the server sent JSON, not a feed"),
        (b" \r\n", "the server sent an empty body, not a feed"),
        (
            b"<?xml version='1.0'?><note><to>ops</to></note>",
            "the body is neither RSS nor Atom (its root element is <note>)",
        ),
        (
            b"Service is up",
            "the body is neither RSS nor Atom (not well-formed XML: <unknown>:2:0: syntax error)",
        ),
    ],
    ids=["html", "json", "empty", "other-xml", "text"],
)
def test_non_feeds_raise_not_a_feed(body: bytes, message: str) -> None:
    """Bodies that are not feeds raise NotAFeed with a message saying what they are."""
    with pytest.raises(NotAFeed) as raised:
        parse_bytes(body)

    assert str(raised.value) == message


def test_entry_without_guid_or_link_gets_a_stable_hash_key() -> None:
    """An Azure-style item with neither guid nor link is keyed on a hash that parsing repeats."""
    body = rss(
        "<item><title>Storage - West Europe</title>"
        "<description>Summary of impact: some requests failed.</description></item>"
        "<item><title>Storage - North Europe</title>"
        "<description>Summary of impact: some requests failed.</description></item>"
    )
    seed = "Storage - West Europe\nSummary of impact: some requests failed."

    first = [e.key for e in parse_bytes(body).entries]
    again = [e.key for e in parse_bytes(body, url="https://moved.example.test/feed").entries]

    assert first == again
    assert first[0] == "hash:" + hashlib.sha256(seed.encode()).hexdigest()
    assert first[0] != first[1]


def test_bare_guid_does_not_depend_on_the_feed_url() -> None:
    """A guid that is not a URL stays as written, so a moved feed keeps its entry keys."""
    body = rss('<item><title>Post</title><guid isPermaLink="false">4821</guid></item>')

    keys = {
        parse_bytes(body, url=url).entries[0].key
        for url in ("https://a.test/f", "https://b.test/g")
    }

    assert keys == {"4821"}


def test_links_are_absolute_http_or_dropped() -> None:
    """Relative links resolve against the feed URL; javascript: and mailto: links are dropped."""
    body = rss(
        "<item><title>a</title><guid>g-a</guid><link>/2024/03/post/</link></item>"
        "<item><title>b</title><guid>g-b</guid><link>javascript:alert(1)</link></item>"
        "<item><title>c</title><guid>g-c</guid><link>mailto:ops@example.test</link></item>"
    )

    links = [e.link for e in parse_bytes(body).entries]

    assert links == ["https://feeds.example.test/2024/03/post/", None, None]


def test_html_titles_are_plain_and_empty_titles_named() -> None:
    """Titles lose markup, entities and extra spaces; a missing title reads "(untitled)"."""
    body = rss(
        "<item><guid>t1</guid>"
        "<title><![CDATA[Fish &amp; <b>Chips</b>\n  price   rise]]></title></item>"
        "<item><guid>t2</guid><description>only a body</description></item>"
    )

    titles = [e.title for e in parse_bytes(body).entries]

    assert titles == ["Fish & Chips price rise", "(untitled)"]


def test_dates_far_after_the_fetch_are_dropped() -> None:
    """A publication date years after the fetch is bogus and becomes None."""
    body = rss(
        "<item><guid>d1</guid><title>t</title>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate></item>"
    )

    assert parse_bytes(body).entries[0].published is None


def test_long_text_is_capped() -> None:
    """Entry text stops at MAX_TEXT characters."""
    body = rss(
        "<item><guid>long</guid><title>t</title>"
        f"<description>{'word ' * 10_000}</description></item>"
    )

    assert len(parse_bytes(body).entries[0].text) == MAX_TEXT


def test_empty_items_are_skipped() -> None:
    """An item with no title, link, guid or text carries nothing and is left out."""
    body = rss("<item></item><item><guid>kept</guid><title>kept</title></item>")

    assert [e.key for e in parse_bytes(body).entries] == ["kept"]


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>one</p><p>two<br>three</p>", "one\ntwo\nthree"),
        ("<div>a\n   b</div>", "a b"),
        ("x<script>alert('no')</script>y<style>p{}</style>z", "x y z"),
        (
            "<strong>Resolved</strong> - done &amp; dusted&nbsp;today",
            "Resolved - done & dusted today",
        ),
        ("<ul><li>first</li><li>second</li></ul>", "first\nsecond"),
        ("5 &lt; 6 and <!-- hidden --> 7 &gt; 2", "5 < 6 and 7 > 2"),
        ("plain\ttext  with   spaces", "plain text with spaces"),
    ],
)
def test_html_to_text(markup: str, text: str) -> None:
    """HTML fragments become plain text: blocks on lines, scripts gone, entities decoded."""
    assert html_to_text(markup) == text


def test_content_html_keeps_its_text_and_drops_code_comments_and_applets() -> None:
    """Unsanitised HTML gives the text feedparser's sanitiser would leave: no code, no comments."""
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>
<title>A &amp; B</title><guid>1</guid><description><![CDATA[<p>Hello <applet code="x">applet
text</applet><script>bad()</script><style>p{}</style><!-- hidden --><a href="/rel">link</a>
&amp; more&nbsp;here</p><iframe src="/f">frame text</iframe><p onclick="x()">2 &lt; 3</p>]]>
</description></item></channel></rss>"""
    (entry,) = parse_feed(body, url="https://x.test/", fetched_at=FETCHED_AT).entries
    assert (entry.title, entry.text) == ("A & B", "Hello link & more here\nframe text\n2 < 3")
