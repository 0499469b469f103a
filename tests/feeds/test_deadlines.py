"""Tests for feeds.deadlines: each date form, the date that matters, and what is not a deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from feeds.deadlines import extract_deadline
from feeds.model import Deadline

PUBLISHED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The service closes on March 31, 2025.", Deadline(date(2025, 3, 31), "on March 31, 2025")),
        (
            "Files stay available until July 31, 2024.",
            Deadline(date(2024, 7, 31), "until July 31, 2024"),
        ),
        (
            "The API will be retired on 31 March 2026.",
            Deadline(date(2026, 3, 31), "on 31 March 2026"),
        ),
        ("Support ends 2026-03-31.", Deadline(date(2026, 3, 31), "ends 2026-03-31")),
        ("The deadline is 1 May 2024.", Deadline(date(2024, 5, 1), "deadline is 1 May 2024")),
        (
            "Effective Sept. 1st, 2024, prices rise.",
            Deadline(date(2024, 9, 1), "Effective Sept. 1st, 2024"),
        ),
        ("The service will be turned off on May 20.", Deadline(date(2024, 5, 20), "on May 20")),
        ("Prices change from 1 June.", Deadline(date(2024, 6, 1), "from 1 June")),
        ("The new price applies in 30 days.", Deadline(date(2024, 3, 31), "in 30 days")),
        (
            "The v1 API turns off two weeks from today.",
            Deadline(date(2024, 3, 15), "two weeks from today"),
        ),
        ("Export your albums within 90 days.", Deadline(date(2024, 5, 30), "within 90 days")),
        ("You have 14 days to retrieve your data.", Deadline(date(2024, 3, 15), "have 14 days to")),
        (
            "Backups stay available until the end of the month.",
            Deadline(date(2024, 3, 31), "until the end of the month"),
        ),
        (
            "Legacy endpoints stop responding by the end of next month.",
            Deadline(date(2024, 4, 30), "by the end of next month"),
        ),
        (
            "All stored data will be deleted on 31.12.2026.",
            Deadline(date(2026, 12, 31), "on 31.12.2026"),
        ),
        (
            "The last day to access your files is Friday, 13 November 2026.",
            Deadline(
                date(2026, 11, 13), "last day to access your files is Friday, 13 November 2026"
            ),
        ),
        (
            "The rate rises to $0.0125 on the 1st of next month.",
            Deadline(date(2024, 4, 1), "on the 1st of next month"),
        ),
        (
            "We will retire the app at the end of March 2025.",
            Deadline(date(2025, 3, 31), "at the end of March 2025"),
        ),
        (
            "The service closes by the end of Q2 2025.",
            Deadline(date(2025, 6, 30), "by the end of Q2 2025"),
        ),
        ("Support ends at the end of 2025.", Deadline(date(2025, 12, 31), "at the end of 2025")),
        (
            "The old tier goes away at the end of June.",
            Deadline(date(2024, 6, 30), "at the end of June"),
        ),
        ("The plan will cost $12 from 2025/01/01.", Deadline(date(2025, 1, 1), "from 2025/01/01")),
    ],
)
def test_each_date_form_is_read(text: str, expected: Deadline) -> None:
    """Absolute, yearless and relative dates resolve against the publication date."""
    assert extract_deadline(text, PUBLISHED) == expected


def test_yearless_date_before_publication_is_next_year() -> None:
    """'January 15' in a November post means the coming January."""
    published = datetime(2020, 11, 20, tzinfo=UTC)
    text = "Vault Sync will close on January 15."
    assert extract_deadline(text, published) == Deadline(date(2021, 1, 15), "on January 15")


def test_deletion_date_beats_read_only_date() -> None:
    """Read-only from one date and deletion on a later one: the deletion date matters."""
    text = (
        "The service will switch to read-only mode on 1 June 2024, and all files will be "
        "deleted on 30 September 2024."
    )
    assert extract_deadline(text, PUBLISHED) == Deadline(date(2024, 9, 30), "on 30 September 2024")


def test_service_end_beats_a_later_sign_up_cut_off() -> None:
    """A sign-up cut-off is not the deadline even when it comes after the shutdown date."""
    text = (
        "Foo will be shut down on 1 May 2024. New sign-ups will no longer be accepted after "
        "1 June 2024."
    )
    assert extract_deadline(text, PUBLISHED) == Deadline(date(2024, 5, 1), "on 1 May 2024")


def test_fronted_new_customer_date_loses_to_retirement() -> None:
    """'Starting <date>, new customers can't …' yields to the retirement date."""
    text = (
        "Starting 30 September 2025, new customers won't be able to create disks. Disks "
        "will be retired on 30 September 2024."
    )
    assert extract_deadline(text, PUBLISHED) == Deadline(date(2024, 9, 30), "on 30 September 2024")


def test_decommissioning_beats_an_order_cut_off() -> None:
    """The date the service is decommissioned matters more than the last day to order."""
    text = (
        "Orders will no longer be accepted after 2024-11-30, and the service will be fully "
        "decommissioned on 2025-02-28."
    )
    assert extract_deadline(text, PUBLISHED) == Deadline(date(2025, 2, 28), "on 2025-02-28")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The service shuts down on 1 May 2024, and data will be deleted 30 days later.",
            Deadline(date(2024, 5, 31), "30 days later"),
        ),
        (
            "Your files will be erased two weeks after the shutdown on 1 May 2024.",
            Deadline(date(2024, 5, 15), "two weeks after the shutdown"),
        ),
    ],
)
def test_a_delay_counts_from_the_date_in_its_sentence(text: str, expected: Deadline) -> None:
    """'30 days later' after a named date is that date plus 30 days, and deletion wins."""
    assert extract_deadline(text, PUBLISHED) == expected


def test_a_delay_without_a_date_is_no_deadline() -> None:
    """'30 days later' with no date in its sentence names no day."""
    assert extract_deadline("Deleted files are purged 30 days later.", PUBLISHED) is None


def test_no_later_than_is_the_act_by_date() -> None:
    """An explicit 'no later than' beats the later end-of-service date."""
    text = (
        "Tape Vault reaches end of service on 31 January 2026. Retrieve archives no later "
        "than 15 January 2026."
    )
    expected = Deadline(date(2026, 1, 15), "no later than 15 January 2026")
    assert extract_deadline(text, PUBLISHED) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We have stored your files since 2011.",
        "The old plan was discontinued on March 1, 2010.",
        "Jun 5, 17:25 UTC - Resolved - the incident is over.",
        "Update on Mar 12, 14:00 UTC: we are investigating.",
        "Version 2 shipped March 31, 2025 with new features.",
        "Between 09:12 and 11:40 UTC on 28 February, some uploads failed.",
        "It will not be available on February 30.",
        "It will not be available on 31.02.2025.",
        "More details in the coming weeks.",
    ],
)
def test_non_deadlines_are_ignored(text: str) -> None:
    """Past dates, timestamps, dates without a cue word and impossible dates give no deadline."""
    assert extract_deadline(text, PUBLISHED) is None
