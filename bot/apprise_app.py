"""More channels through Apprise: Teams, email, Matrix, ntfy, Telegram, JSON webhooks…

The only module that imports apprise. A subscription with platform `apprise` names a
stored target (`target:<id>`); the notifier reads the target's URL from the database
when it sends, so the URL (which may hold a token or password) never travels through
the outbox, subscription lists or logs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import apprise

from bot.alerts import Alert
from bot.apprise_render import render_alert_markdown
from bot.logs import SecretFilter, mask_secrets, url_secrets
from bot.notify import DeliveryError, Target
from storage import open_db
from storage.apprise_targets import APPRISE_PLATFORM, target_for_channel

log = logging.getLogger(__name__)

#: Seconds one Apprise send may take before it counts as failed (and is retried).
SEND_TIMEOUT = 30.0
_FAILURE_LEVELS = {"WARNING", "ERROR", "CRITICAL"}


def _asset() -> apprise.AppriseAsset:
    # Keep Apprise's persistent store in memory: the unit runs with a read-only home.
    return apprise.AppriseAsset(storage_mode="memory")


def _service(url: str) -> apprise.NotifyBase | None:
    # Whatever Apprise logs about the URL from here on is masked.
    mask_secrets(url_secrets(url))
    return apprise.Apprise.instantiate(url, asset=_asset())


def check_url(url: str) -> str | None:
    """Why Apprise cannot use this URL, or None when it can."""
    if "://" not in url:
        return (
            "That is not an Apprise URL; one looks like SCHEME://…, for example "
            "json://host/path, msteams://…, mailto://…, ntfy://topic"
        )
    if _service(url) is None:
        scheme = url.split("://", 1)[0]
        return (
            f"Apprise does not accept this {scheme}:// URL (an unknown scheme, or a part "
            "missing); see https://github.com/caronc/apprise/wiki for each service's form"
        )
    return None


def mask_url(url: str) -> str:
    """A URL safe to show: scheme and host only, with Apprise's own masking of the host.

    Some services keep a token where a host would be (Telegram's `tgram://TOKEN/…`), so
    the host shown is the one Apprise prints in its privacy mode.
    """
    service = _service(url) if "://" in url else None
    shown = url
    if service is not None:
        # NotifyBase.url has no annotations; it returns the URL as text.
        shown = str(service.url(privacy=True))  # type: ignore[no-untyped-call]
    try:
        parts = urlsplit(shown)
        host = parts.hostname or ""
    except ValueError:
        return "(unreadable URL)"
    if not parts.scheme:
        return "(not a URL)"
    if service is None and host and "." not in host:
        host = "…"  # not one Apprise knows, so no telling which part is secret
    return f"{parts.scheme}://{host}"


class AppriseNotifier:
    """Sends alerts to Apprise targets as Markdown; failures are retried by the outbox."""

    platform = APPRISE_PLATFORM

    def __init__(self, db_path: Path | str, *, timeout: float = SEND_TIMEOUT) -> None:
        self._db_path = db_path
        self._timeout = timeout

    def _url(self, channel: str) -> str:
        # A short-lived connection of the sending thread's own (connections are per thread).
        db = open_db(self._db_path)
        try:
            target = target_for_channel(db, channel)
        finally:
            db.close()
        if target is None:
            raise DeliveryError(f"apprise target {channel} is no longer stored", permanent=True)
        return target.url

    def send(self, alert: Alert, target: Target, *, reply_to: str | None) -> str:
        """Send the alert to the target's URL; raise DeliveryError when Apprise fails.

        Apprise cannot thread, so `reply_to` is unused: an update or a reminder says what
        it is in its headline.
        """
        url = self._url(target.channel)
        service = _service(url)
        if service is None:
            raise DeliveryError(
                f"Apprise no longer accepts the URL of {target.channel} "
                f"({mask_url(url)}); subscribe again with a corrected --to URL",
                permanent=True,
            )
        message = render_alert_markdown(alert)
        sender = apprise.Apprise(asset=_asset())
        sender.add(service)
        with sender.notify(
            body=message.body,
            title=message.title,
            body_format=apprise.NotifyFormat.MARKDOWN,
            timeout=self._timeout,
        ) as result:
            if result:
                return f"apprise:{target.channel}:{alert.event_id}"
            said = [entry.message for entry in result.logs() if entry.level in _FAILURE_LEVELS]
            status = result.status.name.lower()
        reason = SecretFilter(url_secrets(url)).mask("; ".join(said[-3:]) or "no reason given")
        raise DeliveryError(f"apprise send to {mask_url(url)} failed ({status}): {reason}")
