"""Tests for feeds.prices: reading per-unit price changes and what they cost a given usage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from feeds.prices import PriceChange, extract_price_change, monthly_difference

TB = 10**12
GB = 10**9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Starting October 3, 2023, B2 pricing will change from $6 to $7 per TB per month.",
            PriceChange(
                Decimal("6"), Decimal("7"), "USD", "TB", "month", "from $6 to $7 per TB per month"
            ),
        ),
        (
            "Archive storage is billed at $0.005/GB/month, up from $0.004.",
            PriceChange(
                Decimal("0.004"),
                Decimal("0.005"),
                "USD",
                "GB",
                "month",
                "$0.005/GB/month, up from $0.004",
            ),
        ),
        (
            "From 1 March, storage will cost €5.99 per TB.",
            PriceChange(None, Decimal("5.99"), "EUR", "TB", "month", "€5.99 per TB"),
        ),
        (
            "Object Storage increases from 5.99 USD to 6.99 USD per TB/month on 2027-04-01.",
            PriceChange(
                Decimal("5.99"),
                Decimal("6.99"),
                "USD",
                "TB",
                "month",
                "from 5.99 USD to 6.99 USD per TB/month",
            ),
        ),
        (
            "Hot Storage will cost £8.99 per TB/month (currently £7.99).",
            PriceChange(
                Decimal("7.99"),
                Decimal("8.99"),
                "GBP",
                "TB",
                "month",
                "£8.99 per TB/month (currently £7.99)",
            ),
        ),
        (
            "For most accounts this means paying $6 instead of $5 per TB.",
            PriceChange(
                Decimal("5"), Decimal("6"), "USD", "TB", "month", "$6 instead of $5 per TB"
            ),
        ),
        (
            "New rates: archive storage is $0.0012 per GB-month. Today it is $0.001.",
            PriceChange(
                Decimal("0.001"), Decimal("0.0012"), "USD", "GB", "month", "$0.0012 per GB-month"
            ),
        ),
        (
            "Standard storage will be 5,99 € per terabyte, down from 6,49 €.",
            PriceChange(
                Decimal("6.49"),
                Decimal("5.99"),
                "EUR",
                "TB",
                "month",
                "5,99 € per terabyte, down from 6,49 €",
            ),
        ),
        (
            "Storage is 0.5 cents per GB per month.",
            PriceChange(None, Decimal("0.005"), "USD", "GB", "month", "0.5 cents per GB per month"),
        ),
    ],
)
def test_price_statements_are_read(text: str, expected: PriceChange) -> None:
    """Each way of stating a per-unit price yields its old and new amount, currency and unit."""
    assert extract_price_change(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Our Computer Backup plan will go from $7 to $9 per month.",
        "Class B transactions will be billed at $0.004 per 10,000 requests.",
        "From 1 October, internet egress costs $0.005 per GB.",
        "Bulk retrievals will be billed at $0.0025 per GB.",
        "Storage costs $60 per TB per year.",
        "Prices will rise by 15 percent at your next renewal.",
        "The 200 GB plan goes from 2.49 to 2.99 pounds per month.",
        "We are moving you to 50 GB plans at a higher price.",
    ],
)
def test_texts_without_a_monthly_storage_price_per_unit_give_none(text: str) -> None:
    """Plan, request, transfer, yearly and amount-free prices are not a per-GB/TB storage price."""
    assert extract_price_change(text) is None


def test_a_currency_change_is_not_an_old_price() -> None:
    """An amount in another currency than the new price is not read as its earlier price."""
    change = extract_price_change("Storage moves from $6 to €7 per TB per month.")
    phrase = "from $6 to €7 per TB per month"
    assert change == PriceChange(None, Decimal("7"), "EUR", "TB", "month", phrase)


def test_an_announced_price_beats_todays_price() -> None:
    """With today's price in one sentence and the coming one in the next, the coming one is new."""
    change = extract_price_change("Storage is $6 per TB today. It will cost $7 per TB from May.")
    assert change == PriceChange(Decimal("6"), Decimal("7"), "USD", "TB", "month", "$7 per TB")


@pytest.mark.parametrize(
    ("change", "usage_bytes", "expected"),
    [
        (PriceChange(Decimal(6), Decimal(7), "USD", "TB", "month", ""), 12 * TB, Decimal(12)),
        (PriceChange(Decimal(6), Decimal(7), "USD", "TB", "month", ""), 500 * GB, Decimal("0.5")),
        (
            PriceChange(Decimal("0.004"), Decimal("0.005"), "USD", "GB", "month", ""),
            12 * TB,
            Decimal(12),
        ),
        (
            PriceChange(Decimal("7.99"), Decimal("6.99"), "EUR", "TB", "month", ""),
            3 * TB,
            Decimal(-3),
        ),
        (PriceChange(Decimal(6), Decimal(7), "USD", "TB", "month", ""), 0, Decimal(0)),
    ],
)
def test_monthly_difference_bills_decimal_units(
    change: PriceChange, usage_bytes: int, expected: Decimal
) -> None:
    """The difference is (new - old) per decimal GB or TB (1 TB = 1000 GB), negative for cuts."""
    assert monthly_difference(change, usage_bytes) == expected


def test_monthly_difference_needs_the_old_price() -> None:
    """Without an earlier price there is nothing to compare with, so the answer is None."""
    change = PriceChange(None, Decimal(7), "USD", "TB", "month", "$7 per TB")
    assert monthly_difference(change, 12 * TB) is None


def test_monthly_difference_refuses_negative_usage() -> None:
    """A negative byte count is a caller's mistake and is refused with the value."""
    change = PriceChange(Decimal(6), Decimal(7), "USD", "TB", "month", "")
    with pytest.raises(ValueError, match="must not be negative, got -1"):
        monthly_difference(change, -1)


def test_extracted_change_gives_the_impact_on_twelve_terabytes() -> None:
    """From text to impact: $6 -> $7 per TB costs 12 TB $12 more per month."""
    change = extract_price_change("B2 storage goes from $6 to $7 per TB per month on 1 May.")
    assert change is not None
    assert monthly_difference(change, 12 * TB) == Decimal(12)
