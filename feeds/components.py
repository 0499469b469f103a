"""Regions and components an entry names, so a subscription filter can match them.

Status feeds name what an incident touches in ways a title often does not: AWS puts
the service and region only in the item's guid (`#s3-us-east-1_1710463680`), Google
Cloud ends each update with "Affected products:" and "Affected locations:" lines,
Azure titles end with the region ("Virtual Machines - East US 2"), Statuspage pages
say "This incident affected: Spaces (NYC3, SFO2) and Droplets", FireHydrant pages list
"EU Central Region: Degraded". Pure functions of an entry's title, text and key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: At most this many tags per entry, each at most this long: feeds are untrusted.
MAX_TAGS = 40
MAX_TAG_LENGTH = 80

_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"
_DIRECTIONS = "northeast|northwest|southeast|southwest|central|north|south|east|west"
#: AWS region codes (`us-east-1`, `us-gov-west-1`), optionally an availability zone letter.
_AWS_REGION = re.compile(
    _EDGE_BEFORE
    + r"((?:us-gov|us-iso|us-isob|us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:"
    + _DIRECTIONS
    + r")-\d)[a-f]?"
    + _EDGE_AFTER,
    re.IGNORECASE,
)
#: Google Cloud region codes (`us-central1`, `europe-west4`), optionally a zone (`-a`).
_GCP_REGION = re.compile(
    _EDGE_BEFORE
    + r"((?:us|europe|asia|australia|northamerica|southamerica|me|africa)-(?:"
    + _DIRECTIONS
    + r")\d{1,2})(?:-[a-f])?"
    + _EDGE_AFTER,
    re.IGNORECASE,
)
#: The service in an AWS Health Dashboard guid anchor: `#s3-us-east-1_…`.
_AWS_ANCHOR = re.compile(r"#([a-z0-9]+)-[a-z]{2}(?:-[a-z]+)+-\d{1,2}_\d+$", re.IGNORECASE)
#: AWS region display names, as titles write them in parentheses: "(N. Virginia)".
_AWS_PLACES = {
    "n. virginia": "us-east-1",
    "ohio": "us-east-2",
    "n. california": "us-west-1",
    "oregon": "us-west-2",
    "ireland": "eu-west-1",
    "london": "eu-west-2",
    "paris": "eu-west-3",
    "frankfurt": "eu-central-1",
    "stockholm": "eu-north-1",
    "milan": "eu-south-1",
    "tokyo": "ap-northeast-1",
    "seoul": "ap-northeast-2",
    "osaka": "ap-northeast-3",
    "singapore": "ap-southeast-1",
    "sydney": "ap-southeast-2",
    "mumbai": "ap-south-1",
    "hong kong": "ap-east-1",
    "são paulo": "sa-east-1",
    "sao paulo": "sa-east-1",
    "bahrain": "me-south-1",
    "cape town": "af-south-1",
}
_AWS_PLACE = re.compile(
    r"\((" + "|".join(re.escape(place) for place in _AWS_PLACES) + r")\)", re.IGNORECASE
)
#: "Affected products: …" / "Affected locations: …" (Google Cloud) and Statuspage's
#: "This incident affected: …", up to the end of the line.
_AFFECTED = re.compile(
    r"(?:affected (?:products|locations|services|components|regions)|"
    r"this (?:incident|maintenance) (?:affected|will affect))\s*:\s*([^\n]+)",
    re.IGNORECASE,
)
#: FireHydrant and similar pages: "EU Central Region: Degraded".
_COMPONENT_STATE = re.compile(
    r"(?:^|\n|\.\s)\s*([A-Z0-9][\w .&/()+-]{1,60}?)\s*:\s*"
    r"(?:degraded(?: performance)?|partial(?:ly)? (?:outage|degraded)|major outage|"
    r"full outage|outage|under maintenance|maintenance|unavailable)\b",
    re.IGNORECASE,
)
#: An Azure title's region suffix: "Virtual Machines/VM Scale Sets - East US 2".
_AZURE_SUFFIX = re.compile(r"^(.+?)\s+[-\u2013]\s+([A-Z][A-Za-z]*(?: [A-Z0-9][A-Za-z0-9]*){0,4})$")
_AZURE_REGION_WORD = re.compile(r"\b(?:East|West|North|South|Central|Southeast|Northeast)\b")
_NAME_AND_DETAIL = re.compile(r"^(.+?)\s*\(([^()]+)\)$")
_LIST_END = re.compile(r"[.;]\s*$")


@dataclass(frozen=True)
class Mentions:
    """The regions and components an entry names, as short display strings."""

    regions: tuple[str, ...] = ()
    components: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[str, ...]:
        """Regions then components, without repeats (case-insensitive), capped."""
        return _unique((*self.regions, *self.components))


def find_mentions(title: str, text: str, key: str = "") -> Mentions:
    """Every region code and component name in an entry's title, text and key."""
    regions = [*region_codes(f"{title}\n{text}"), *region_codes(_anchor(key))]
    components: list[str] = []
    service = _AWS_ANCHOR.search(key)
    if service:
        components.append(service.group(1).lower())
    for line in _AFFECTED.findall(text):
        for item in _split_list(line):
            components.extend(_name_and_detail(item))
    components.extend(match.strip() for match in _COMPONENT_STATE.findall(text))
    azure = azure_title(title)
    if azure is not None:
        services, region = azure
        regions.extend((region, region.replace(" ", "").lower()))
        components.extend(services)
    return Mentions(regions=_unique(regions), components=_unique(components))


def region_codes(text: str) -> tuple[str, ...]:
    """AWS and Google Cloud region codes in a text (zones folded into their region)."""
    found = [match.group(1).lower() for match in _AWS_REGION.finditer(text)]
    found += [match.group(1).lower() for match in _GCP_REGION.finditer(text)]
    found += [_AWS_PLACES[match.group(1).lower()] for match in _AWS_PLACE.finditer(text)]
    return _unique(found)


def azure_title(title: str) -> tuple[tuple[str, ...], str] | None:
    """The services and region of an Azure status title, or None for any other title."""
    match = _AZURE_SUFFIX.match(title.strip())
    if match is None or not _AZURE_REGION_WORD.search(match.group(2)):
        return None
    services = tuple(part.strip() for part in re.split(r"[/,]", match.group(1)) if part.strip())
    return services, match.group(2)


def _anchor(key: str) -> str:
    """The fragment of an entry key (where AWS puts service and region), or nothing."""
    return key.partition("#")[2]


def _split_list(line: str) -> list[str]:
    """Split "A, B (C, D) and E." at top-level commas and "and"s."""
    line = _LIST_END.sub("", line.strip())
    items: list[str] = []
    depth = 0
    current = ""
    at = 0
    while at < len(line):
        char = line[at]
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char == ",":
            items.append(current)
            current = ""
        elif depth == 0 and line.startswith(" and ", at):
            items.append(current)
            current = ""
            at += len(" and ") - 1
        else:
            current += char
        at += 1
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def _name_and_detail(item: str) -> list[str]:
    """ "Spaces (NYC3, SFO2)" gives Spaces, Spaces NYC3, Spaces SFO2, NYC3 and SFO2.

    A detail that is a region code is not joined to the name: "Iowa (us-central1)".
    """
    match = _NAME_AND_DETAIL.match(item)
    if match is None:
        return [item]
    name, details = match.group(1).strip(), _split_list(match.group(2))
    grouped = [f"{name} {detail}" for detail in details if not region_codes(detail)]
    return [name, *grouped, *details]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        tidy = " ".join(value.split())
        if not tidy or len(tidy) > MAX_TAG_LENGTH or tidy.casefold() in seen:
            continue
        seen.add(tidy.casefold())
        kept.append(tidy)
        if len(kept) == MAX_TAGS:
            break
    return tuple(kept)
