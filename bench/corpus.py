"""Feed files for the benchmarks: Atlassian Statuspage (RSS and Atom) and WordPress shapes.

Every feed is generated from its own seeded random generator, so feed `i` has the same
bytes whatever the corpus size. The text is written for the benchmark (incidents,
maintenance, launches, price changes, the odd shutdown) so the classifier does the work it
does on real announcements. File times are set explicitly, so nginx's ETag and
Last-Modified change exactly when a feed gains an entry.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

#: Newest entry of the original corpus; entries go back from here.
CORPUS_TIME = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
#: The poll cycles run at these times: (a) first, (b) an hour later, (c) another hour on.
FIRST_POLL = CORPUS_TIME + timedelta(hours=6)
#: When the grown feeds gained their entry (file times and the entry's date): between the
#: polls of cycles (b) and (c), as news arrives on the real web.
GROWTH_TIME = FIRST_POLL + timedelta(hours=1, minutes=30)
#: The file time of every feed before it grows.
_BASE_MTIME = (CORPUS_TIME - timedelta(days=1)).timestamp()

SHAPES = ("statuspage-rss", "wordpress", "statuspage-atom", "wordpress")
_EXTENSIONS = {"statuspage-rss": "rss", "statuspage-atom": "atom", "wordpress": "rss"}

_SERVICES = (
    "Object Storage",
    "Block Volumes",
    "the REST API",
    "the dashboard",
    "Backups",
    "Managed DNS",
    "Load Balancers",
    "the CDN",
    "Managed Databases",
    "Webhooks",
    "Cold Archive",
    "File Sync",
)
_REGIONS = ("eu-west", "us-east", "ap-south", "fra1", "nyc3", "sgp1", "ams2", "us-west-2")
_INCIDENTS = (
    ("Elevated error rates for {svc} in {region}", 6),
    ("Degraded performance of {svc}", 5),
    ("Increased latency on {svc} in {region}", 5),
    ("{svc} unavailable in {region}", 3),
    ("Scheduled maintenance of {svc}", 4),
    ("Delayed notifications from {svc}", 2),
    ("Some {svc} data may be unrecoverable after a storage node failure", 1),
    ("Unauthorized access to a support system", 1),
)
_UPDATES = {
    "Investigating": (
        "We are investigating reports of elevated error rates for {svc} in {region}.",
        "Some customers may see failed requests or timeouts when using {svc}.",
        "We are aware of an issue affecting {svc} and are looking into it.",
    ),
    "Identified": (
        "The issue has been identified as a faulty network switch in {region}; a fix is "
        "being rolled out.",
        "We identified a misconfiguration in a recent deployment and are reverting it.",
        "Two storage nodes failed at the same time; some objects written between 14:00 and "
        "15:10 UTC may be unrecoverable and affected customers will be contacted.",
    ),
    "Monitoring": (
        "A fix has been deployed and we are monitoring the results.",
        "Error rates are back to normal levels; we continue to monitor {svc}.",
    ),
    "Resolved": (
        "This incident has been resolved. No data was lost.",
        "The issue is resolved and {svc} is operating normally.",
        "This incident has been resolved; we will publish a post-incident review.",
    ),
    "Scheduled": ("Maintenance of {svc} in {region} is scheduled for 02:00 to 04:00 UTC.",),
    "Completed": ("The scheduled maintenance has been completed.",),
}

_PRODUCTS = (
    "Object Storage",
    "Cold Archive",
    "Block Volumes",
    "Managed Kubernetes",
    "File Sync",
    "Vault",
    "Spaces",
    "Backup Plus",
)
_POSTS = (
    ("Announcing {product} in {region}", 6),
    ("How we made {product} twice as fast", 5),
    ("Introducing {product} {version}", 5),
    ("Customer story: how a studio moved 2 PB to {product}", 4),
    ("Our {month} product roundup", 4),
    ("Changes to {product} pricing", 2),
    ("{product} is shutting down on {deadline}", 1),
    ("The unlimited {product} plan is ending", 1),
)
_PARAGRAPHS = (
    "Today we are happy to share what the {product} team has been working on. Over the last "
    "quarter we rebuilt the metadata layer, cut median latency by a third and added "
    "lifecycle rules that many of you asked for.",
    "{product} now stores three copies of every object across separate failure domains in "
    "{region}. You do not need to change anything: existing buckets are upgraded in place "
    "over the coming weeks.",
    "Starting {deadline}, {product} costs $7 per TB per month, up from $6. Egress stays free "
    "up to three times the data you store. Existing annual plans keep their price until "
    "renewal.",
    "After eight years we are retiring {product}. New uploads stop on {early}, and the "
    "service shuts down on {deadline}, when all remaining data is permanently deleted. "
    "Please export your data before the deadline.",
    'Our <a href="/docs/{slug}/">migration guide</a> explains how to move data to another '
    "region or to another provider with the command-line tool, including how to verify "
    "checksums after the copy.",
    "We also fixed a long-standing bug where <code>list</code> requests on very large "
    "buckets could time out, and the dashboard now shows usage per prefix.",
    "Thanks to everyone who joined the beta and sent feedback. As always, reach our support "
    "team through the dashboard or on the community forum if you have questions.",
    "The unlimited plan ends on {deadline}. After that date, accounts move to the new "
    "per-TB pricing, and backups above 5 TB must be reduced or moved.",
)
_PRICE_PARAGRAPH, _SHUTDOWN_PARAGRAPH, _PLAN_PARAGRAPH = (
    _PARAGRAPHS[2],
    _PARAGRAPHS[3],
    _PARAGRAPHS[7],
)
_ORDINARY = (_PARAGRAPHS[1], _PARAGRAPHS[4], _PARAGRAPHS[5], _PARAGRAPHS[6])
_CATEGORIES = ("Announcements", "Engineering", "Pricing", "Product", "Customers", "Security")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "September")


@dataclass(frozen=True)
class FeedFile:
    """One generated feed: its index, shape, provider slug and path under the corpus root."""

    index: int
    shape: str
    provider: str
    path: str

    @property
    def role(self) -> str:
        """The feed role exitplan gives it: status pages are `status`, blogs `news`."""
        return "news" if self.shape == "wordpress" else "status"


@dataclass(frozen=True)
class Corpus:
    """The generated feeds under `root`, with their total size."""

    root: Path
    feeds: tuple[FeedFile, ...]
    entries_per_feed: int
    total_bytes: int

    def shapes(self) -> dict[str, int]:
        """How many feeds of each shape."""
        counts: dict[str, int] = {}
        for feed in self.feeds:
            counts[feed.shape] = counts.get(feed.shape, 0) + 1
        return counts


def feed_file(index: int) -> FeedFile:
    """The name, shape and provider of feed number `index`."""
    shape = SHAPES[index % len(SHAPES)]
    path = f"{shape}/{index // 1000:03d}/{index:05d}.{_EXTENSIONS[shape]}"
    return FeedFile(index, shape, f"bench-{index:05d}", path)


def build_corpus(root: Path, count: int, entries_per_feed: int = 20) -> Corpus:
    """Write `count` feeds of `entries_per_feed` entries under `root`."""
    feeds = tuple(feed_file(index) for index in range(count))
    total = 0
    for feed in feeds:
        total += _write(root, feed, render_feed(feed, entries_per_feed), _BASE_MTIME)
    return Corpus(root, feeds, entries_per_feed, total)


def grow_feeds(corpus: Corpus, fraction: float, seed: int = 7) -> tuple[FeedFile, ...]:
    """Give a seeded `fraction` of the feeds one new entry each; return the grown feeds."""
    count = max(1, round(len(corpus.feeds) * fraction))
    chosen = random.Random(seed).sample(corpus.feeds, count)  # noqa: S311 - not security
    grown = tuple(sorted(chosen, key=lambda feed: feed.index))
    for feed in grown:
        body = render_feed(feed, corpus.entries_per_feed, grown=True)
        _write(corpus.root, feed, body, GROWTH_TIME.timestamp())
    return grown


def render_feed(feed: FeedFile, entries: int, *, grown: bool = False) -> bytes:
    """The bytes of one feed; `grown` adds one newer entry on top of the usual ones."""
    numbers = range(-1 if grown else 0, entries)
    if feed.shape == "wordpress":
        return _wordpress(feed, numbers)
    return _statuspage(feed, numbers, atom=feed.shape == "statuspage-atom")


def _write(root: Path, feed: FeedFile, body: bytes, mtime: float) -> int:
    target = root / feed.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    os.utime(target, (mtime, mtime))
    return len(body)


def _when(feed: FeedFile, number: int) -> datetime:
    """Entry `number` of a feed (0 newest, -1 the grown one) is this old."""
    if number < 0:
        return GROWTH_TIME
    return CORPUS_TIME - timedelta(hours=37 * number, minutes=feed.index % 600)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([text for text, _ in weighted], [weight for _, weight in weighted])[0]


def _entry_rng(feed: FeedFile, number: int) -> random.Random:
    """Each entry has its own generator: a grown feed keeps its other entries' bytes."""
    return random.Random(feed.index * 1000 + number + 1)  # noqa: S311 - deterministic text


def _statuspage(feed: FeedFile, numbers: range, *, atom: bool) -> bytes:
    host = f"status.{feed.provider}.test"
    page = f"{feed.provider.replace('-', ' ').title()} Status"
    items = []
    for number in numbers:
        rng = _entry_rng(feed, number)
        svc, region = rng.choice(_SERVICES), rng.choice(_REGIONS)
        title = _pick(rng, _INCIDENTS).format(svc=svc, region=region)
        maintenance = title.startswith("Scheduled")
        flow = ["Scheduled", "Completed"] if maintenance else _incident_flow(rng)
        newest = _when(feed, number)
        paragraphs = []
        for step, status in enumerate(reversed(flow)):  # newest update first
            moment = newest - timedelta(minutes=41 * step)
            choices = _UPDATES[status]
            if status == "Identified":
                choices = choices[2:] if "unrecoverable" in title else choices[:2]
            text = rng.choice(choices).format(svc=svc, region=region)
            paragraphs.append(
                f"<p><small>{moment:%b} <var data-var='date'>{moment.day}</var>, "
                f"<var data-var='time'>{moment:%H:%M}</var> UTC</small><br>"
                f"<strong>{status}</strong> - {escape(text, quote=False)}</p>"
            )
        code = f"{feed.index:05d}{number + 1:03d}inc"
        link = f"https://{host}/incidents/{code}"
        html = escape("".join(paragraphs), quote=False)
        if atom:
            items.append(
                f"  <entry>\n    <id>tag:{host},2005:Incident/{feed.index * 1000 + number + 1}"
                f"</id>\n    <published>{_iso(newest - timedelta(hours=2))}</published>\n"
                f"    <updated>{_iso(newest)}</updated>\n"
                f'    <link rel="alternate" type="text/html" href="{link}"/>\n'
                f"    <title>{escape(title)}</title>\n"
                f'    <content type="html">{html}</content>\n  </entry>\n'
            )
        else:
            items.append(
                f"    <item>\n      <title>{escape(title)}</title>\n"
                f"      <description>{html}</description>\n"
                f"      <pubDate>{format_datetime(newest)}</pubDate>\n"
                f"      <link>{link}</link>\n      <guid>{link}</guid>\n    </item>\n"
            )
    built = _when(feed, numbers.start)
    if atom:
        head = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">\n'
            f"  <id>tag:{host},2005:/history</id>\n"
            f'  <link rel="alternate" type="text/html" href="https://{host}"/>\n'
            f'  <link rel="self" type="application/atom+xml" href="https://{host}/history.atom"/>'
            f"\n  <title>{page} - Incident History</title>\n"
            f"  <updated>{_iso(built)}</updated>\n"
        )
        return (head + "".join(items) + "</feed>\n").encode()
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n  <channel>\n'
        f"    <title>{page} - Incident History</title>\n    <link>https://{host}</link>\n"
        f"    <description>Statuspage</description>\n"
        f"    <pubDate>{format_datetime(built)}</pubDate>\n"
    )
    return (head + "".join(items) + "  </channel>\n</rss>\n").encode()


def _incident_flow(rng: random.Random) -> list[str]:
    flow = ["Investigating"]
    if rng.random() < 0.6:
        flow.append("Identified")
    if rng.random() < 0.7:
        flow.append("Monitoring")
    flow.append("Resolved")
    return flow


def _wordpress(feed: FeedFile, numbers: range) -> bytes:
    site = f"https://blog.{feed.provider}.test"
    name = f"{feed.provider.replace('-', ' ').title()} Blog"
    items = []
    for number in numbers:
        rng = _entry_rng(feed, number)
        published = _when(feed, number)
        product = rng.choice(_PRODUCTS)
        values = {
            "product": product,
            "region": rng.choice(_REGIONS),
            "version": f"v{rng.randint(2, 9)}",
            "month": rng.choice(_MONTHS),
            "deadline": f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, 2026",
            "early": f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, 2026",
            "slug": product.lower().replace(" ", "-"),
        }
        title = _pick(rng, _POSTS).format(**values)
        post_id = feed.index * 100 + number + 10
        permalink = f"{site}/{published:%Y/%m}/post-{post_id}/"
        chosen = [_PARAGRAPHS[0], *rng.sample(_ORDINARY, rng.randint(3, len(_ORDINARY)))]
        if "pricing" in title:
            chosen.insert(1, _PRICE_PARAGRAPH)
        elif "plan is ending" in title:
            chosen.insert(1, _PLAN_PARAGRAPH)
        elif "shutting down" in title:
            chosen.insert(1, _SHUTDOWN_PARAGRAPH)
        body = "\n".join(f"<p>{p.format(**values)}</p>" for p in chosen)
        if rng.random() < 0.3:
            body += '\n<script>trackPageView("post");</script>'
        excerpt = escape(chosen[0].format(**values)[:180], quote=False) + " &#8230;"
        tags = "".join(
            f"\t\t<category><![CDATA[{tag}]]></category>\n"
            for tag in rng.sample(_CATEGORIES, rng.randint(1, 3))
        )
        items.append(
            f"\t<item>\n\t\t<title>{escape(title)}</title>\n\t\t<link>{permalink}</link>\n"
            f"\t\t<comments>{permalink}#respond</comments>\n"
            f"\t\t<dc:creator><![CDATA[Author {post_id % 17}]]></dc:creator>\n"
            f"\t\t<pubDate>{format_datetime(published)}</pubDate>\n{tags}"
            f'\t\t<guid isPermaLink="false">{site}/?p={post_id}</guid>\n'
            f"\t\t<description><![CDATA[{excerpt}]]></description>\n"
            f"\t\t<content:encoded><![CDATA[{body}\n]]></content:encoded>\n"
            f"\t\t<wfw:commentRss>{permalink}feed/</wfw:commentRss>\n"
            f"\t\t<slash:comments>{number % 5}</slash:comments>\n\t</item>\n"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
        '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
        '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n\t>\n\n<channel>\n'
        f"\t<title>{name}</title>\n"
        f'\t<atom:link href="{site}/feed/" rel="self" type="application/rss+xml" />\n'
        f"\t<link>{site}</link>\n\t<description>News from the team</description>\n"
        f"\t<lastBuildDate>{format_datetime(_when(feed, numbers.start))}</lastBuildDate>\n"
        "\t<language>en-US</language>\n\t<sy:updatePeriod>hourly</sy:updatePeriod>\n"
        "\t<sy:updateFrequency>1</sy:updateFrequency>\n"
        "\t<generator>https://wordpress.org/?v=6.4.3</generator>\n"
    )
    return (head + "".join(items) + "</channel>\n</rss>\n").encode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
