"""Price-change impact: what a new price costs the data a channel keeps at a provider."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from feeds.prices import PriceChange, extract_price_change, monthly_difference

_AMOUNT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([kmgtp]i?b?|b|bytes?)\s*$", re.IGNORECASE)
_FACTORS = {
    "b": 1, "byte": 1, "bytes": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
}  # fmt: skip
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def parse_size(text: str) -> int:
    """Read a size like "12TB", "500 GB" or "1.5 TiB" as bytes (TB = 10^12, TiB = 2^40)."""
    match = _AMOUNT.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a size; write a number and a unit, like 12TB, 500GB or 1.5TiB"
        )
    unit = match.group(2).lower()
    unit = unit if unit.endswith("b") or unit.startswith("byte") else unit + "b"
    factor = _FACTORS.get(unit)
    if factor is None:
        raise ValueError(f"unknown unit in {text!r}; use GB, TB, GiB or TiB")
    try:
        number = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not a size") from error
    return int(number * factor)


def format_size(size_bytes: int) -> str:
    """Bytes as a short decimal size: 12 TB, 750 GB."""
    for unit, factor in (("PB", 10**15), ("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if size_bytes >= factor:
            value = Decimal(size_bytes) / factor
            text = f"{value:.2f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{size_bytes} bytes"


def _money(amount: Decimal, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    text = f"{abs(amount):,.2f}"
    sign = "-" if amount < 0 else "+"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def _price(amount: Decimal, change: PriceChange) -> str:
    symbol = _SYMBOLS.get(change.currency)
    value = f"{symbol}{amount}" if symbol else f"{amount} {change.currency}"
    return f"{value} per {change.unit} per {change.period}"


def describe_impact(text: str, usage_bytes: int | None, provider: str) -> str:
    """One sentence on what a price change costs a channel, or why it cannot be computed."""
    if usage_bytes is None:
        return (
            f"Record what you keep there (`usage set {provider} 12TB`) and price-change "
            "alerts will say what the change costs you."
        )
    size = format_size(usage_bytes)
    change = extract_price_change(text)
    if change is None:
        return (
            f"The announcement does not state per-GB or per-TB prices, so exitplan cannot "
            f"compute what it costs your {size}."
        )
    difference = monthly_difference(change, usage_bytes)
    if difference is None or change.old is None:
        return (
            f"New price {_price(change.new, change)}; the announcement gives no earlier "
            f"price, so exitplan cannot compute the difference for your {size}."
        )
    monthly = difference.quantize(Decimal("0.01"))
    yearly = (difference * 12).quantize(Decimal("0.01"))
    return (
        f"For your {size}: {_money(monthly, change.currency)} a month, "
        f"{_money(yearly, change.currency)} a year "
        f"(from {_price(change.old, change)} to {_price(change.new, change)})."
    )
