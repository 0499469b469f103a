"""The dispatcher: sends due outbox rows through the notifiers, once each."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlite_utils import Database

from bot.alerts import build_alert
from bot.checklists import Checklist
from bot.notify import DeliveryError, Notifier, Target
from storage import Event
from storage.db import deferred_sync
from storage.deliveries import (
    DeliveryJob,
    alert_ref,
    due_deliveries,
    mark_failed,
    mark_retry,
    mark_sent,
)
from storage.subscriptions import pause_subscription

log = logging.getLogger(__name__)

ChecklistLookup = Callable[[Event, Target], Checklist | None]
ImpactLookup = Callable[[Event, Target], str | None]
#: Messages that carry the channel's checklist (updates are short thread replies).
WITH_CHECKLIST = ("alert", "reminder", "final")

#: First retry delay in seconds; each later one doubles, with jitter, up to MAX_RETRY_DELAY.
BASE_RETRY_DELAY = 30.0
MAX_RETRY_DELAY = 3600.0


@dataclass(frozen=True)
class DispatchSummary:
    """What one dispatcher pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    paused: int = 0
    #: The same outcomes per platform: (platform, outcome) -> count; left out of equality.
    by_platform: Mapping[tuple[str, str], int] = field(default_factory=dict, compare=False)


def retry_delay(attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Seconds to wait before the next attempt.

    The platform's own hint (Retry-After on a 429) is followed as given: it knows when the
    channel can take the message again, and waiting longer only delays the alert. Without
    a hint, the wait grows exponentially with jitter.
    """
    if retry_after is not None and retry_after > 0:
        return min(retry_after, MAX_RETRY_DELAY)
    backoff = min(MAX_RETRY_DELAY, BASE_RETRY_DELAY * 2.0 ** max(0, attempt - 1))
    return backoff * rng.uniform(0.5, 1.0)


def dispatch_due(
    db: Database,
    notifiers: Mapping[str, Notifier],
    now: datetime,
    *,
    provider_name: Callable[[str], str],
    max_attempts: int = 8,
    rng: random.Random | None = None,
    limit: int = 200,
    checklist_for: ChecklistLookup | None = None,
    impact_for: ImpactLookup | None = None,
) -> DispatchSummary:
    """Send every due delivery whose platform has a notifier; record each outcome.

    `checklist_for` gives the channel's checklist for an event, shown with alerts and
    reminders; `impact_for` what a price change costs the channel.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    outcomes: Counter[str] = Counter()
    by_platform: Counter[tuple[str, str]] = Counter()
    # Each outcome is committed as soon as its send returns, so a crash of exitplan resends
    # at most the one message in flight. Waiting for the disk at every one of those commits
    # cost more than the rest of a delivery; `deferred_sync` waits once, after the pass. The
    # price: a power cut or kernel crash during a pass can undo that pass's marks, and those
    # messages (at most `limit`) go out again after the restart.
    with deferred_sync(db):
        for job in due_deliveries(db, now, limit=limit):
            notifier = notifiers.get(job.subscription.platform)
            if notifier is None:
                continue
            subscription = job.subscription
            target = Target(subscription.platform, subscription.workspace, subscription.channel)
            checklist = None
            if checklist_for is not None and job.delivery.purpose in WITH_CHECKLIST:
                checklist = checklist_for(job.event, target)
            alert = build_alert(
                job.event,
                provider_name=provider_name(job.event.provider),
                purpose=job.delivery.purpose,
                today=now.date(),
                checklist=checklist,
                impact=impact_for(job.event, target) if impact_for is not None else None,
            )
            reply_to = None
            if job.delivery.purpose != "alert":
                reply_to = alert_ref(db, job.event.id, subscription.id)
            try:
                ref = notifier.send(alert, target, reply_to=reply_to)
            except DeliveryError as error:
                outcome = _record_failure(
                    db, job, target, error, now=now, max_attempts=max_attempts, rng=rng
                )
                outcomes[outcome] += 1
                by_platform[subscription.platform, outcome] += 1
                continue
            mark_sent(db, job.delivery.id, now, ref)
            outcomes["sent"] += 1
            by_platform[subscription.platform, "sent"] += 1
    return DispatchSummary(
        sent=outcomes["sent"],
        retried=outcomes["retried"],
        failed=outcomes["failed"],
        paused=outcomes["paused"],
        by_platform=dict(by_platform),
    )


def _record_failure(
    db: Database,
    job: DeliveryJob,
    target: Target,
    error: DeliveryError,
    *,
    now: datetime,
    max_attempts: int,
    rng: random.Random,
) -> str:
    """Pause, give up or schedule a retry after a failed send; return which."""
    attempt = job.delivery.attempts + 1
    where = f"{target.platform}:{target.workspace}/{target.channel}"
    if error.channel_gone:
        reason = f"{error} (subscribe again once the bot can post there)"
        pause_subscription(db, job.subscription.id, reason, now)
        mark_failed(db, job.delivery.id, str(error))
        log.warning("subscription paused channel=%s reason=%s", where, error)
        return "paused"
    if error.permanent or attempt >= max_attempts:
        mark_failed(db, job.delivery.id, str(error))
        log.warning(
            "delivery failed delivery=%s channel=%s error=%s", job.delivery.id, where, error
        )
        return "failed"
    delay = retry_delay(attempt, rng, error.retry_after)
    mark_retry(db, job.delivery.id, str(error), now + timedelta(seconds=delay))
    log.warning(
        "delivery failed, retrying delivery=%s channel=%s attempt=%s in=%.0fs error=%s",
        job.delivery.id,
        where,
        attempt,
        delay,
        error,
    )
    return "retried"
