"""Regions and components recognised in entries, from each provider's way of naming them."""

from __future__ import annotations

from feeds.components import MAX_TAGS, Mentions, azure_title, find_mentions, region_codes


def test_aws_guid_anchor_gives_the_service_and_region() -> None:
    """An AWS Health Dashboard item names its service and region only in the guid."""
    found = find_mentions(
        "Service disruption: Increased PUT error rates",
        "We are investigating increased error rates for PUT requests.",
        "https://status.aws.amazon.com/#s3-us-east-1_1710454800",
    )
    assert found == Mentions(regions=("us-east-1",), components=("s3",))


def test_aws_govcloud_anchor_keeps_the_whole_region() -> None:
    """`us-gov-west-1` is one region, not `us-gov` plus something."""
    key = "https://status.aws.amazon.com/#internetconnectivity-us-gov-west-1_1639598192"
    assert find_mentions("[RESOLVED] Internet Connectivity", "", key) == Mentions(
        regions=("us-gov-west-1",), components=("internetconnectivity",)
    )


def test_region_codes_fold_zones_and_respect_word_edges() -> None:
    """Zones count as their region; a longer code or a prefix is not a match."""
    text = (
        "Instances in us-east-1a and US-WEST-2 (Oregon), volumes in eu-central-1; "
        "not us-east-10, nor xus-east-2; GCP us-central1-f and europe-west4."
    )
    assert region_codes(text) == (
        "us-east-1",
        "us-west-2",
        "eu-central-1",
        "us-central1",
        "europe-west4",
    )


def test_aws_place_names_in_parentheses_become_codes() -> None:
    """ "(N. Virginia)" in an AWS title means us-east-1."""
    found = find_mentions("Increased API error rates (N. Virginia)", "")
    assert found.regions == ("us-east-1",)


def test_google_cloud_affected_lines() -> None:
    """ "Affected products:" and "Affected locations:" lines list components and regions."""
    text = (
        "Mitigation work is under way.\n"
        "Affected products: Cloud Storage, Persistent Disk\n"
        "Affected locations: Iowa (us-central1), Multi-region: us"
    )
    found = find_mentions("UPDATE: Cloud Storage requests returned errors", text)
    assert found == Mentions(
        regions=("us-central1",),
        components=("Cloud Storage", "Persistent Disk", "Iowa", "us-central1", "Multi-region: us"),
    )


def test_azure_title_suffix_is_the_region() -> None:
    """ "Virtual Machines/VM Scale Sets - East US 2" names two services and a region."""
    found = find_mentions("Virtual Machines/VM Scale Sets - East US 2", "Summary of impact: …")
    assert found == Mentions(
        regions=("East US 2", "eastus2"), components=("Virtual Machines", "VM Scale Sets")
    )


def test_a_title_with_a_dash_but_no_region_is_not_azure() -> None:
    """ "Scheduled maintenance - Dashboard" has no compass word: no region."""
    assert azure_title("Scheduled maintenance - Dashboard") is None


def test_statuspage_affected_components_with_groups() -> None:
    """ "Spaces (NYC3, SFO2) and Droplets" gives each grouped component by its full name."""
    text = "We are investigating.\nThis incident affected: Spaces (NYC3, SFO2) and Droplets."
    assert find_mentions("Degraded object storage", text).components == (
        "Spaces",
        "Spaces NYC3",
        "Spaces SFO2",
        "NYC3",
        "SFO2",
        "Droplets",
    )


def test_firehydrant_component_states() -> None:
    """Components listed with an impaired state are tagged; operational ones are not."""
    text = "Elevated errors.\nEU Central Region: Degraded\nUS West Region: Operational"
    assert find_mentions("Elevated errors", text).components == ("EU Central Region",)


def test_plain_news_has_no_tags() -> None:
    """A blog post naming no region or component gets nothing."""
    found = find_mentions("B2 price change", "Storage will cost $6/TB per month from May 1.")
    assert found.tags == ()


def test_tags_are_capped_and_long_ones_dropped() -> None:
    """A hostile feed cannot attach hundreds of tags or a very long one."""
    many = ", ".join(f"Component {n}" for n in range(200))
    text = f"Affected products: {'x' * 300}, {many}"
    tags = find_mentions("t", text).tags
    assert (len(tags), tags[0], max(len(tag) for tag in tags) <= 80) == (
        MAX_TAGS,
        "Component 0",
        True,
    )
