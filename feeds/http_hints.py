"""What an HTTP answer tells the fetcher to do next: follow a redirect, or wait before retrying.

`redirect_target` resolves a Location header and checks the result like the feed URL
itself (`check_url`); `parse_retry_after` reads a Retry-After header. A URL that cannot
be used raises `BadURL`, which `feeds.fetch` reports as its "bad_url" error kind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from yarl import URL

#: Statuses that redirect when a Location header comes with them.
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
#: The redirects that move a feed for good, so its new address can be stored.
PERMANENT_STATUSES: Final = frozenset({301, 308})


class BadURL(Exception):
    """A feed URL or redirect target that is not a usable http(s) URL."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_url(text: str, what: str) -> URL:
    """Parse `text` as an http(s) URL with a host; `what` names it in the BadURL message."""
    try:
        url = URL(text)
    except (TypeError, ValueError) as exc:
        raise BadURL(f"{what} {text!r} is not a valid URL") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise BadURL(f"{what} {text!r} is not an http(s) URL")
    return url


def redirect_target(current: URL, location: str) -> URL:
    """Resolve a Location header against `current`, drop any fragment and check the result."""
    try:
        target = current.join(URL(location))
    except (TypeError, ValueError) as exc:
        raise BadURL(f"redirected to {location!r}, which is not a valid URL") from exc
    return check_url(str(target.with_fragment(None)), "redirected to")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
