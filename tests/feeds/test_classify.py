"""Tests for feeds.classify and its rules: kinds, other senses, negation, severity, evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from feeds.classify import classify
from feeds.evaluate import evaluate, load_corpus
from feeds.model import Classification, Deadline, Evidence
from feeds.rules import RULES, load_rules
from feeds.sentences import split_sentences

CORPUS = Path(__file__).parent.parent / "data" / "corpus.jsonl"
HOLDOUT = Path(__file__).parent.parent / "data" / "holdout.jsonl"
UNSEEN = Path(__file__).parent.parent / "data" / "unseen.jsonl"
PUBLISHED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def test_shutdown_with_near_deadline_is_critical_with_its_evidence() -> None:
    """A shutdown three weeks out is critical, names its phrases and reads its deadline."""
    result = classify(
        "Shutting down Photo Vault",
        "Photo Vault will be shut down on March 20, 2024. All albums will be deleted then.",
        PUBLISHED,
    )
    assert result == Classification(
        kinds=("shutdown",),
        severity="critical",
        evidence=(
            Evidence("shutdown", "Shutting down", "the service will be shut down"),
            Evidence("shutdown", "will be shut down", "the service will be shut down"),
            Evidence(
                "shutdown", "All albums will be deleted", "the product will no longer be available"
            ),
            Evidence("deadline", "on March 20, 2024", "the date readers must act by"),
        ),
        deadline=Deadline(date(2024, 3, 20), "on March 20, 2024"),
    )


def test_negated_data_loss_is_recorded_as_rejected() -> None:
    """'No customer data was lost' leaves an outage, with the rejected phrase kept as evidence."""
    result = classify(
        "Post-incident review: storage outage",
        "Object Storage was unavailable for 40 minutes. No customer data was lost.",
        PUBLISHED,
    )
    assert result == Classification(
        kinds=("outage",),
        severity="low",
        evidence=(
            Evidence("outage", "outage", "the service is unavailable"),
            Evidence("outage", "was unavailable", "the service is unavailable"),
            Evidence("not:data_loss", "data was lost", "negated in the same clause"),
        ),
        deadline=None,
    )


def test_unchanged_prices_are_not_a_price_change() -> None:
    """'We are not changing our prices' stays quiet and says why."""
    result = classify("Our prices for 2024", "We are not changing our prices this year.", PUBLISHED)
    assert result == Classification(
        kinds=(),
        severity="info",
        evidence=(
            Evidence("not:price_change", "changing our prices", "negated in the same clause"),
        ),
        deadline=None,
    )


def test_outage_that_destroyed_data_has_both_kinds() -> None:
    """An outage whose volumes cannot be restored is data_loss and outage, and critical."""
    result = classify(
        "Service disruption: EBS volumes",
        "Some volumes in the affected zone could not be restored and are unrecoverable.",
        PUBLISHED,
    )
    assert (result.kinds, result.severity) == (("data_loss", "outage"), "critical")
    assert [e.label for e in result.evidence] == ["data_loss", "data_loss", "outage"]


def test_kinds_follow_the_order_of_kinds() -> None:
    """A breach that deleted data and ended the company lists kinds in KINDS order."""
    result = classify(
        "We are ceasing operations",
        "An attacker gained unauthorized access to our control panel and deleted most of our "
        "data. The site is down and we are ceasing operations.",
        PUBLISHED,
    )
    assert result.kinds == ("shutdown", "data_loss", "security", "outage")


@pytest.mark.parametrize(
    ("title", "text", "kinds"),
    [
        (
            "Elevated errors for block storage",
            "We shut down the affected hosts to mitigate. No customer data was affected.",
            ("outage",),
        ),
        (
            "Network disruption in FSN1",
            "We shut down a faulty rack to protect the network.",
            ("outage",),
        ),
        (
            "How Acme shut down their file servers and moved to us",
            "Acme shut down their file servers and moved 80 TB to our cloud.",
            (),
        ),
        ("Customer spotlight", "Bolt discontinued their backup appliances and moved to us.", ()),
        ("End of life of our old blog theme", "We retired the old blog theme.", ()),
        ("Our founder is retiring", "Our CEO will retire at the end of the year.", ()),
        ("Why unlimited backup matters", "Unlimited storage! One flat price, no caps.", ()),
        ("New region now available", "Frankfurt is now available for Object Storage.", ()),
        (
            "Intermittent TLS handshake failures",
            "A push re-enabled a deprecated cipher suite ordering; some API requests failed.",
            ("outage",),
        ),
        ("How to protect yourself against data loss", "Data loss can happen to anyone.", ()),
        ("Beware of phishing", "Our systems were not compromised and no data was exposed.", ()),
        ("Holiday support hours", "The support desk will be closing early on December 31.", ()),
        ("Drive Stats", "A failed drive does not cause data loss; it is rebuilt.", ()),
        ("We are hiring", "Join us to work on our outage tooling.", ()),
        ("Sync servers down", "Our sync servers are down. Nothing is lost.", ("outage",)),
        ("Our prices for 2027", "Many providers are raising prices; ours stay the same.", ()),
        ("Passkeys", "Passkeys cannot be leaked in a breach of another site.", ()),
        ("xz", "We checked every system for the compromised xz versions.", ()),
        ("CLI 4.0", "The CLI no longer supports Python 3.8, which reached end of life.", ()),
        ("Brand refresh", "Say goodbye to the blue cloud: we're retiring our old logo.", ()),
        ("Chaos engineering", "We shut down racks weekly to prove that no data is lost.", ()),
        ("Release 2.1", "Fixed: intermittent failures when uploading large files.", ()),
        ("Mail archive", "Hoardly will go offline permanently in 60 days.", ("shutdown",)),
        (
            "Retirement: SMB 1.0",
            "After that date clients will be unable to mount shares with SMB 1.0; it is retired.",
            ("shutdown",),
        ),
    ],
)
def test_other_senses_and_negations_stay_quiet(
    title: str, text: str, kinds: tuple[str, ...]
) -> None:
    """Hard negatives get no kind beyond the one they really carry."""
    assert classify(title, text, PUBLISHED).kinds == kinds


@pytest.mark.parametrize(
    ("title", "text", "kinds"),
    [
        ("Legacy Backup shuts down", "Legacy Backup shuts down on 2024-04-30.", ("shutdown",)),
        ("Region news", "We will decommission the eu-north-2 region in May.", ("shutdown",)),
        ("Browser support", "The console is dropping support for IE11.", ("shutdown",)),
        (
            "Storage fees are going up",
            "Standard storage fees will rise by 15 percent.",
            ("price_change",),
        ),
        (
            "Egress is now free",
            "We have eliminated egress fees for all customers.",
            ("price_change",),
        ),
        ("Sync bug", "A bug deleted photos from some users' accounts.", ("data_loss",)),
        ("Array failure", "A storage array failed and volumes were lost.", ("data_loss", "outage")),
        ("Data incident", "An attacker had accessed a database of customer names.", ("security",)),
        (
            "Partial outage: dashboard",
            "The dashboard is experiencing a partial outage.",
            ("outage",),
        ),
        (
            "Unlimited plan ending",
            "Starting February 1, 2027 the unlimited plan ends and accounts move to 50 GB plans "
            "at a higher price.",
            ("price_change",),
        ),
        (
            "New pricing for B2",
            "Beginning October 3, 2026, B2 storage will cost $7 per TB per month.",
            ("price_change",),
        ),
        (
            "Hello",
            "We lost some customer files during the migration and cannot restore them.",
            ("data_loss",),
        ),
        ("Vault", "We're deprecating Vault; vaults are removed on 1 June.", ("shutdown",)),
        ("Goodbye", "We're saying goodbye to Snapshelf on 31 October.", ("shutdown",)),
        ("Tapes", "We misplaced a batch of archive tapes.", ("data_loss",)),
        ("Purge", "A lifecycle bug purged objects in 37 buckets.", ("data_loss",)),
        ("Leak", "The credentials leaked for six hours.", ("security",)),
        ("Bucket", "A support bucket was publicly readable for a week.", ("security",)),
        (
            "Snapshots",
            "Snapshots will no longer be free; we will charge a storage fee.",
            ("price_change",),
        ),
        ("DNS", "Some customers cannot resolve our endpoint hostnames.", ("outage",)),
        ("Listing", "We are seeing intermittent failures for ListBuckets.", ("outage",)),
    ],
)
def test_varied_phrasings_are_recognised(title: str, text: str, kinds: tuple[str, ...]) -> None:
    """Announcements worded unlike the corpus still get their kinds."""
    assert classify(title, text, PUBLISHED).kinds == kinds


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # Exposure: open to anyone, taken by an attacker, reached across customers.
        ("A backup bucket was left open to the public.", "security"),
        ("Customer files were readable by anyone with the link.", "security"),
        ("An internal dashboard was accessible without authentication for three days.", "security"),
        ("A misconfigured access policy made private buckets world-readable.", "security"),
        ("A configuration error left the search cluster exposed to the internet.", "security"),
        ("Password hashes for some accounts were obtained by an attacker.", "security"),
        ("Attackers took a copy of customer billing data.", "security"),
        ("Cybercriminals got hold of our customer list.", "security"),
        ("An API key was inadvertently published in a public GitHub repository.", "security"),
        ("A bug could have allowed session tokens to be reused by another user.", "security"),
        ("A cross-site scripting flaw made session hijacking possible.", "security"),
        ("Our corporate network was hit by ransomware.", "security"),
        ("A caching bug showed some users the dashboards of other users.", "security"),
        (
            "An access-control regression let users fetch objects from buckets they did not own.",
            "security",
        ),
        ("OAuth tokens were recorded in analytics events visible to our vendor.", "security"),
        # Outage: symptoms customers saw.
        ("Some requests timed out between 10:00 and 10:40 UTC.", "outage"),
        ("The API returned 502 Bad Gateway responses to some clients.", "outage"),
        ("A routing issue made our AMS location unreachable.", "outage"),
        ("Restores are running slower than normal.", "outage"),
        ("We are seeing impaired file system operations in one zone.", "outage"),
        ("The control panel is not responding.", "outage"),
        ("File sync is stuck for some customers.", "outage"),
        ("Service was restored after a two-hour interruption.", "outage"),
        ("Webhook notifications were not delivered between 09:00 and 09:45 UTC.", "outage"),
        ("API latency is above normal in ap-southeast.", "outage"),
        # Shutdown: the many ways a product ends.
        ("We've made the hard call to stop offering Boxly Teams.", "shutdown"),
        ("Legacy nodes will be powered down on 1 March 2027.", "shutdown"),
        ("The v1 upload endpoint goes dark on 2027-01-20.", "shutdown"),
        ("We're shutting down Boxly on 1 May 2027.", "shutdown"),
        ("Boxly is being shut down.", "shutdown"),
        ("31 March 2027 will be the last day of the service.", "shutdown"),
        ("We are no longer selling the Pro appliance.", "shutdown"),
        ("The Vaultly service will terminate on 30 September 2027.", "shutdown"),
        ("Basic backups will no longer run after 30 June 2027.", "shutdown"),
        ("Customers must migrate to the new platform by 1 March 2027.", "shutdown"),
        # Price: bills, billing models, fees and allowances.
        ("Your bill will go up by 10% starting in March.", "price_change"),
        ("We're moving to usage-based pricing on 1 July 2027.", "price_change"),
        (
            "PUT requests will be charged $0.005 per 1,000 requests from 15 March 2027.",
            "price_change",
        ),
        ("You will be charged 129.00 EUR, reflecting our new annual price.", "price_change"),
        ("We're introducing a $1 monthly fee for inactive accounts.", "price_change"),
        ("Object storage will cost 20% more from 1 April 2027.", "price_change"),
        ("We're reducing the free allowance to 5 GB from 1 April 2027.", "price_change"),
        ("Legacy pricing ends on 1 January 2027.", "price_change"),
        ("Per-GB egress goes from 1 cent to 2 cents on 1 May.", "price_change"),
        # Data loss: gone, dropped, never kept.
        ("Some files written in the last hour before the failure are gone.", "data_loss"),
        ("Emails received between 09:00 and 10:00 were discarded.", "data_loss"),
        ("Writes acknowledged in that window were not persisted.", "data_loss"),
        ("A replication bug caused permanent loss of some objects.", "data_loss"),
        ("A faulty firmware update wiped the contents of 40 volumes.", "data_loss"),
        ("A replication bug caused some object versions to be overwritten.", "data_loss"),
    ],
)
def test_new_phrasings_of_each_kind_are_recognised(text: str, kind: str) -> None:
    """Phrasings beyond the corpus's wording still carry their kind."""
    assert kind in classify("Update", text, PUBLISHED).kinds


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("What happens to your data?", "Providers shut down more often than you think."),
        ("Exit planning", "Every provider eventually retires products; plan your exit."),
        ("Migration tool", "Move your data from another provider before their service shuts down."),
        (
            "Our commitment",
            "We will give you at least 12 months' notice before any price increase.",
        ),
        ("Our promise", "If prices change, we will tell you 30 days in advance."),
        ("Our promise", "Should we ever raise prices, existing plans keep their rate."),
        ("Budgets", "Set a budget and get an alert before your bill goes up."),
        ("FAQ", "Will my price change? No, your price is locked for your term."),
        ("Regions", "Replication keeps your data available even during a regional outage."),
        ("Bug bounty", "We pay for flaws that could let attackers access other customers' data."),
        ("Static sites", "Make your bucket publicly accessible to host a website."),
        ("Security tips", "Never leave a bucket open to the public."),
        ("New in the console", "Admins can now retire old API keys in one click."),
        ("Backup tips", "Data loss happens: keep three copies of everything."),
        ("Free tier", "The free tier includes 10 GB of storage."),
        ("Release notes 8.0", "Deprecated: the --old-auth option is deprecated."),
        ("Windows app 4.0", "Windows 8 is no longer supported by Microsoft."),
        ("Partner news", "Our partner Foo is closing its Paris data centre."),
        ("Status page explained", "An outage means the service is down."),
        (
            "Free plan changes",
            "The free plan drops to 5 GB; accounts over the limit become read-only.",
        ),
    ],
)
def test_general_conditional_and_feature_text_stays_quiet(title: str, text: str) -> None:
    """Text about providers in general, what might happen, a question or a feature has no
    kind (beyond price_change for the free plan that really shrinks)."""
    expected = ("price_change",) if title == "Free plan changes" else ()
    assert classify(title, text, PUBLISHED).kinds == expected


def test_a_condition_before_a_match_is_recorded_as_rejected() -> None:
    """'Before any price increase' is a promise, kept as rejected evidence with its reason."""
    result = classify(
        "Our commitment",
        "We will give you at least 12 months' notice before any price increase.",
        PUBLISHED,
    )
    assert result == Classification(
        kinds=(),
        severity="info",
        evidence=(
            Evidence(
                "not:price_change",
                "price increase",
                "said of providers in general or of what might happen, not as news",
            ),
        ),
        deadline=None,
    )


def test_a_possible_breach_is_not_a_breach() -> None:
    """'Could let attackers read' is a possibility; 'could have let' reports one."""
    possible = classify(
        "Bounty", "A flaw that could let attackers read other users' files.", PUBLISHED
    )
    happened = classify(
        "Advisory", "A bug could have let attackers read other users' files.", PUBLISHED
    )
    assert (possible.kinds, happened.kinds) == ((), ("security",))


def test_typographic_apostrophes_and_contractions_are_read() -> None:
    """Curly apostrophes and "we'll" read like their plain forms."""
    result = classify(
        "Boxly", "We\u2019re shutting down Boxly. We\u2019ll charge $2 a month.", PUBLISHED
    )
    assert (result.kinds, [e.phrase for e in result.evidence]) == (
        ("shutdown", "price_change"),
        ["'re shutting down", "will charge"],
    )


def test_scheduled_maintenance_is_other() -> None:
    """A maintenance notice is not an incident, even if a part will be briefly unavailable."""
    result = classify(
        "Scheduled maintenance: control panel",
        "Scheduled - During the maintenance window the control panel is unavailable.",
        PUBLISHED,
    )
    assert result == Classification(
        kinds=(),
        severity="info",
        evidence=(
            Evidence("not:outage", "is unavailable", "planned maintenance, not an incident"),
        ),
        deadline=None,
    )


@pytest.mark.parametrize(
    ("title", "text", "severity"),
    [
        ("Security incident", "An unauthorized party accessed customer records.", "critical"),
        ("Object corruption", "Some objects were corrupted and cannot be recovered.", "critical"),
        ("Retirement: Foo", "Foo will be retired on 30 September 2025.", "high"),
        ("Retirement: Foo", "Foo will be retired on 15 March 2024.", "critical"),
        ("Pricing update", "Storage goes from $5 to $6 per TB starting May 1.", "medium"),
        ("Service disruption: S3", "Requests to S3 are failing in us-east-1.", "medium"),
        ("Degraded performance", "Uploads in US West are degraded.", "low"),
        ("RESOLVED: S3 requests failing", "Requests were failing for 20 minutes.", "low"),
        ("Python SDK 3.0 released", "Version 3.0 adds async support.", "info"),
    ],
)
def test_severity_follows_kind_and_urgency(title: str, text: str, severity: str) -> None:
    """Data loss and breaches are critical, shutdowns high (critical within 30 days), and so on."""
    assert classify(title, text, PUBLISHED).severity == severity


def test_status_timestamps_are_not_deadlines() -> None:
    """An incident update's times never become a deadline."""
    result = classify(
        "Degraded performance for Spaces",
        "Mar 5, 17:25 UTC\nResolved - Fixed on Mar 5.\nInvestigating - Spaces is degraded.",
        PUBLISHED,
    )
    assert (result.kinds, result.deadline) == (("outage",), None)


def test_investigating_alone_yields_to_the_kind_investigated() -> None:
    """'We are investigating' counts as an outage only when the text shows no other kind."""
    result = classify(
        "Reports of missing files",
        "Investigating - Some users report missing files. We are investigating whether data "
        "was lost.",
        PUBLISHED,
    )
    assert (result.kinds, [e for e in result.evidence if e.label == "not:outage"]) == (
        ("data_loss",),
        [
            Evidence(
                "not:outage",
                "Investigating -",
                "says only that something is looked into; the text is about data_loss",
            )
        ],
    )
    alone = classify("Elevated API errors", "Investigating - API calls fail.", PUBLISHED)
    assert alone.kinds == ("outage",)


def test_rule_triggers_never_hide_a_match() -> None:
    """Every match of a rule in the labelled sets holds a literal used to skip it."""
    missed = []
    for item in [*load_corpus(CORPUS), *load_corpus(HOLDOUT), *load_corpus(UNSEEN)]:
        for sentence in split_sentences(item.title) + split_sentences(item.text):
            for rule in RULES:
                hidden = not any(word in sentence.lower() for word in rule.triggers)
                if rule.triggers and hidden and rule.pattern.search(sentence):
                    missed.append((item.id, rule.reason))
    assert missed == []


def test_rule_file_errors_name_the_rule_and_fix() -> None:
    """A rule with an unknown kind is refused with its position and the allowed kinds."""
    text = '[vetoes]\n[[rule]]\nkind = "outrage"\nreason = "x"\npatterns = ["a"]\n'
    with pytest.raises(ValueError, match=r"^rules\.toml: rule 1: kind 'outrage' must be one of"):
        load_rules(text, "rules.toml")


def test_rule_macros_expand_and_unknown_ones_are_named() -> None:
    """A {name} in a pattern is replaced by its [macros] entry; an undefined one is refused."""
    text = (
        '[macros]\nmoney = "\\\\$\\\\d+"\n[vetoes]\n[[rule]]\nkind = "price_change"\n'
        'reason = "x"\npatterns = ["costs {money}"]\n'
    )
    (rule,) = load_rules(text, "rules.toml")
    assert (rule.pattern.pattern, bool(rule.pattern.search("now costs $7"))) == (
        r"costs (?:\$\d+)",
        True,
    )
    with pytest.raises(ValueError, match=r"^rules\.toml: rule 1: unknown macro \{cash\}"):
        load_rules(text.replace("{money}", "{cash}"), "rules.toml")


def test_rule_needs_must_be_lower_case_literals() -> None:
    """A `needs` list the classifier could never find in lower-cased text is refused."""
    text = '[vetoes]\n[[rule]]\nkind = "outage"\nreason = "x"\npatterns = ["a"]\nneeds = ["HTTP"]\n'
    with pytest.raises(
        ValueError, match=r"^rules\.toml: rule 1: needs must be a list of non-empty"
    ):
        load_rules(text, "rules.toml")


def test_corpus_meets_the_bar() -> None:
    """On the labelled corpus: shutdown and data_loss recall 1.0, precision >= 0.9 for every
    kind, deadline exact-date accuracy >= 0.9."""
    report = evaluate(load_corpus(CORPUS))
    assert report.items >= 110
    assert (report.score("shutdown").recall, report.score("data_loss").recall) == (1.0, 1.0)
    assert {s.kind: s.precision >= 0.9 for s in report.scores} == {
        "shutdown": True,
        "data_loss": True,
        "security": True,
        "price_change": True,
        "outage": True,
    }
    assert report.deadline_accuracy >= 0.9


def test_holdout_meets_the_bar() -> None:
    """On the held-out set (written before the rules were tuned on it): shutdown and data_loss
    recall >= 0.9, precision >= 0.85 for every kind, deadline exact-date accuracy >= 0.85."""
    report = evaluate(load_corpus(HOLDOUT))
    assert report.items >= 90
    assert (report.score("shutdown").recall >= 0.9, report.score("data_loss").recall >= 0.9) == (
        True,
        True,
    )
    assert {s.kind: s.precision >= 0.85 for s in report.scores} == {
        "shutdown": True,
        "data_loss": True,
        "security": True,
        "price_change": True,
        "outage": True,
    }
    assert report.deadline_accuracy >= 0.85


def test_unseen_meets_the_bar() -> None:
    """On the unseen set (written after the rules, then used to generalise them): recall and
    precision >= 0.85 for every kind, deadline exact-date accuracy >= 0.85."""
    report = evaluate(load_corpus(UNSEEN))
    assert report.items >= 40
    assert {s.kind: (s.recall >= 0.85, s.precision >= 0.85) for s in report.scores} == {
        "shutdown": (True, True),
        "data_loss": (True, True),
        "security": (True, True),
        "price_change": (True, True),
        "outage": (True, True),
    }
    assert report.deadline_accuracy >= 0.85
