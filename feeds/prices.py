"""Read a per-unit storage price change from announcement text, and what it costs a given usage.

Providers bill storage per decimal gigabyte or terabyte per month (1 TB = 1000 GB). Only a
price stated per GB or TB counts: a plan price ("$9 per month"), a request price ("per 10,000
requests") or a yearly rate says nothing about what a team's stored bytes will cost, and the
extractor returns None so the caller can say plainly that the impact cannot be computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from feeds.sentences import split_sentences

#: Bytes in one billing unit, decimal as providers bill.
UNIT_BYTES: dict[str, int] = {"GB": 10**9, "TB": 10**12}

_SYMBOLS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP"}
_WORDS = {
    "usd": "USD", "eur": "EUR", "gbp": "GBP", "dollars": "USD", "euros": "EUR", "pounds": "GBP",
    "cents": "USD",
}  # fmt: skip
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_AMOUNT = (
    rf"(?:(?P<{{p}}sym>US\$|[$€£])\s?(?P<{{p}}n1>{_NUMBER})"
    rf"|(?P<{{p}}code1>USD|EUR|GBP)\s?(?P<{{p}}n2>{_NUMBER})"
    rf"|(?P<{{p}}n3>{_NUMBER})\s?(?P<{{p}}code2>USD|EUR|GBP|dollars|euros|pounds|cents)\b"
    rf"|(?P<{{p}}n4>{_NUMBER})\s?(?P<{{p}}sym2>[€£]))"
)
_UNIT = r"(?:GB|TB|gigabytes?|terabytes?)(?![a-z])"
_PER_UNIT = rf"\s*(?:/|per\s+|a\s+|each\s+)(?P<unit>{_UNIT})"
_PERIOD = (
    r"(?P<period>[\s/-]*(?:per\s+|a\s+|each\s+|/\s*)?"
    r"(?:month|mo|year|yr|annum|day|hour|hr)(?![a-z])|\s+(?:monthly|yearly|annually|daily|hourly))?"
)
#: A price per unit: "$7 per TB per month", "$0.005/GB/month", "5.99 USD per TB/month".
_UNIT_PRICE = re.compile(_AMOUNT.format(p="new") + _PER_UNIT + _PERIOD, re.IGNORECASE)
#: An earlier price just before the new one: "from $6 to", "from 5.99 USD per TB to".
_OLD_BEFORE = re.compile(
    r"\bfrom\s+" + _AMOUNT.format(p="old") + rf"(?:\s*(?:/|per\s+){_UNIT})?"
    r"(?:[\s/-]*(?:per\s+)?month)?\s+to\s*$",
    re.IGNORECASE,
)
#: The new price just before an earlier one that carries the unit: "$6 instead of $5 per TB".
_NEW_BEFORE = re.compile(_AMOUNT.format(p="old") + r"\s+instead\s+of\s+$", re.IGNORECASE)
#: How far before a unit price its "from <old> to" may start (characters).
_REACH = 60
#: An earlier price just after the new one: ", up from $0.004", "(currently $7.99)".
_OLD_AFTER = re.compile(
    r"[\s,;(]*(?:(?:up|down)\s+from|previously|formerly|currently|was|instead\s+of"
    r"|compared\s+(?:to|with)|from)\s+" + _AMOUNT.format(p="old") + r"\)?",
    re.IGNORECASE,
)
#: "Today it is $0.018." names the old price in another sentence.
_OLD_ELSEWHERE = re.compile(
    r"\b(?:today|currently|previously|until\s+now|at\s+present)\b[^.]{0,30}?\b(?:it\s+is|it's|is|was"
    r"|costs?|cost|were)\s+" + _AMOUNT.format(p="old"),
    re.IGNORECASE,
)
_MONTHLY = frozenset({"month", "mo", "monthly"})
#: Words before a unit price that make it a price for moving data, not for storing it.
_NOT_STORAGE = re.compile(
    r"\b(?:egress|transfer|bandwidth|retrievals?|downloads?|outbound|requests?|operations?)\b",
    re.IGNORECASE,
)
_STORAGE = re.compile(r"\bstor(?:age|ed|ing|e)\b", re.IGNORECASE)
#: A sentence that states today's price and announces nothing.
_CURRENT = re.compile(r"\b(?:today|currently|at\s+present|until\s+now|previously)\b", re.I)
_CHANGE = re.compile(
    r"\b(?:will|new|increas\w*|ris(?:e|es|ing)|go(?:es|ing)\s+up|chang\w*|effective|starting"
    r"|beginning|from|up|down|instead)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PriceChange:
    """A storage price per unit and period, with the earlier price when the text names it."""

    old: Decimal | None
    new: Decimal
    currency: str  # ISO 4217 code: "USD", "EUR", "GBP"
    unit: str  # "GB" or "TB" (decimal)
    period: str  # "month"
    phrase: str  # the words the prices were read from


def extract_price_change(text: str) -> PriceChange | None:
    """Return the per-GB or per-TB monthly price the text announces, or None if it names none.

    A text with several unit prices yields the first that names an earlier price too, else the
    first; amounts in another currency than the new price are not taken as its earlier price.
    """
    sentences = split_sentences(text)
    found: list[PriceChange] = []
    for index, sentence in enumerate(sentences):
        for match in _UNIT_PRICE.finditer(sentence):
            change = _read(sentence, match, sentences[index + 1 :] + sentences[:index])
            if change is not None:
                found.append(change)
    if not found:
        return None
    return max(found, key=lambda change: (change.old is not None, _announced(change, text)))


def monthly_difference(change: PriceChange, usage_bytes: int) -> Decimal | None:
    """Return what the change adds (or, negative, saves) per month for `usage_bytes` of storage.

    None when the text gave no earlier price to compare with.
    """
    if usage_bytes < 0:
        raise ValueError(f"usage_bytes must not be negative, got {usage_bytes}")
    if change.old is None:
        return None
    return (change.new - change.old) * Decimal(usage_bytes) / UNIT_BYTES[change.unit]


def _read(sentence: str, match: re.Match[str], others: list[str]) -> PriceChange | None:
    period = _period(match.group("period"))
    new = _money(match, "new")
    if period is None or new is None:
        return None
    start, end = match.span()
    lead = sentence[max(0, start - _REACH) : start]
    if _NOT_STORAGE.search(lead) and not _STORAGE.search(lead):
        return None  # a price per GB moved or requested says nothing about stored bytes
    old: tuple[Decimal, str] | None = None
    before = _OLD_BEFORE.search(sentence, max(0, start - _REACH), start)
    after = _OLD_AFTER.match(sentence, end)
    swapped = _NEW_BEFORE.search(sentence, max(0, start - _REACH), start)
    if swapped is not None:  # the unit price read is the earlier one
        old, new, start = new, _money(swapped, "old"), swapped.start()
        if new is None:
            return None
    elif before is not None:
        old, start = _money(before, "old"), before.start()
    elif after is not None:
        old, end = _money(after, "old"), after.end()
    else:
        old = _stated_elsewhere(others, _unit(match.group("unit")))
    if old is not None and old[1] != new[1]:
        old = None  # an amount in another currency is not the earlier price
    return PriceChange(
        old=old[0] if old else None,
        new=new[0],
        currency=new[1],
        unit=_unit(match.group("unit")),
        period=period,
        phrase=sentence[start:end].strip(" ,;("),
    )


def _stated_elsewhere(sentences: list[str], unit: str) -> tuple[Decimal, str] | None:
    """Return today's price from another sentence: "Today it is $0.018", "It is $6 per TB now"."""
    for sentence in sentences:
        stated = _OLD_ELSEWHERE.search(sentence)
        if stated is not None:
            return _money(stated, "old")
        if _CURRENT.search(sentence) and not _CHANGE.search(sentence):
            for match in _UNIT_PRICE.finditer(sentence):
                if _unit(match.group("unit")) == unit:
                    return _money(match, "new")
    return None


def _announced(change: PriceChange, text: str) -> bool:
    """False when the price was read from a sentence that only states today's price."""
    sentence = next(s for s in split_sentences(text) if change.phrase in s)
    return not _CURRENT.search(sentence) or bool(_CHANGE.search(sentence))


def _money(match: re.Match[str], prefix: str) -> tuple[Decimal, str] | None:
    """Return the amount and currency code of the `prefix` amount in `match`."""
    symbol = match.group(f"{prefix}sym") or match.group(f"{prefix}sym2")
    code = match.group(f"{prefix}code1") or match.group(f"{prefix}code2")
    digits = next(match.group(f"{prefix}n{i}") for i in range(1, 5) if match.group(f"{prefix}n{i}"))
    value = _decimal(digits)
    if value is None:
        return None
    if symbol:
        return value, _SYMBOLS[symbol.lower()]
    word = code.lower()
    return (value / 100 if word == "cents" else value), _WORDS[word]


def _decimal(digits: str) -> Decimal | None:
    """Read "1,000.50" or "5,99" (a lone comma before two digits is a decimal comma)."""
    if re.fullmatch(r"\d+,\d{2}", digits):
        digits = digits.replace(",", ".")
    try:
        return Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return None


def _unit(word: str) -> str:
    return "TB" if word.lower().startswith(("tb", "tera")) else "GB"


def _period(words: str | None) -> str | None:
    """Return "month" for a monthly or unstated period (storage bills monthly), else None."""
    if not words:
        return "month"
    word = re.sub(r"^[\s/-]*(?:per\s+|a\s+|each\s+|/\s*)?", "", words.strip().lower())
    return "month" if word in _MONTHLY else None
