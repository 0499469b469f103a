"""Find the date an announcement asks a team to act by, tied to the words that introduce it."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from feeds.model import Deadline
from feeds.sentences import clause_spans, split_sentences

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_NUMBERS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30,
    "sixty": 60, "ninety": 90,
}  # fmt: skip
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?)(?![a-z])"
)
_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
_CUE = (
    r"(?:on|until|till|by|before|after|from|through|starting|beginning|effective|as\s+of"
    r"|no\s+later\s+than|ends?|ending|deadline(?::|\s+is)?"
    r"|last\s+day\s+(?:[a-z]+\s+){0,6}?(?:is|will\s+be))\s+(?:(?:on|the)\s+)?"
)
_NOT_A_TIME = r"(?![\d:])(?!,?\s*(?:at\s+)?\d{1,2}:\d{2})"
_ABSOLUTE = re.compile(
    rf"\b{_CUE}{_WEEKDAY}(?:"
    rf"(?P<iso>\d{{4}}(?P<sep>[-/])\d{{2}}(?P=sep)\d{{2}})"
    rf"|(?P<dd>\d{{1,2}})\.(?P<dm>\d{{1,2}})\.(?P<dy>\d{{4}})"
    rf"|(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH})(?:,?\s+(?P<y2>\d{{4}}))?"
    rf"){_NOT_A_TIME}",
    re.IGNORECASE,
)
_AMOUNT = r"(?:\d{1,3}|" + "|".join(_NUMBERS) + r")"
_UNITS = r"(?:days?|weeks?|months?)"
_RELATIVE = re.compile(
    rf"\b(?:in|within)\s+(?P<n1>{_AMOUNT})\s+(?P<u1>{_UNITS})\b"
    rf"|\b(?P<n2>{_AMOUNT})\s+(?P<u2>{_UNITS})\s+from\s+"
    r"(?:today|now|this\s+notice|the\s+date\s+of\s+this\s+\w+)\b"
    rf"|\b(?:have|has|get)\s+(?P<n3>{_AMOUNT})\s+(?P<u3>{_UNITS})\s+to\b",
    re.IGNORECASE,
)
#: "30 days later", "60 days after the shutdown": counted from the date the sentence names.
_LATER = re.compile(
    rf"\b(?P<n>{_AMOUNT})\s+(?P<u>{_UNITS})\s+(?:later|after\s+(?:that|this|the\s+[\w-]+))\b",
    re.IGNORECASE,
)
_PERIOD_END = re.compile(
    r"\b(?:(?:by|until|till|through|before|at|on)\s+)?(?:the\s+)?end\s+of\s+"
    r"(?P<which>the|this|next)\s+(?P<period>month|year)\b",
    re.IGNORECASE,
)
#: "the end of March 2027", "the end of Q2 2027", "the end of 2026": the last day of the period.
_NAMED_END = re.compile(
    r"\b(?:(?:by|until|till|through|before|at|on)\s+)?(?:the\s+)?end\s+of\s+(?:"
    rf"(?P<month>{_MONTH})(?:\s+(?P<month_year>\d{{4}}))?"
    r"|(?:q|quarter\s+)(?P<quarter>[1-4])\s+(?P<quarter_year>\d{4})"
    r"|(?P<year>\d{4}))\b",
    re.IGNORECASE,
)
#: "on the 1st of next month", "from the start of next year": the first day of the period.
_PERIOD_START = re.compile(
    r"\b(?:(?:on|from|starting|beginning|by|as\s+of)\s+)?(?:the\s+)?"
    r"(?:1st|first|start|beginning)\s+(?:day\s+)?of\s+(?:the\s+)?next\s+(?P<period>month|year)\b",
    re.IGNORECASE,
)
# How much a date matters, read from its clause: an explicit "no later than" beats deletion,
# which beats the end of service, which beats any other date with a cue; read-only, sign-up
# and upload cut-offs matter least.
_LOW = re.compile(
    r"\bread[\s-]only\b|\bnew\s+(?:sign-?ups|signups|customers|subscriptions|accounts|projects)\b"
    r"|\bupload|\bannounc|\bcan\s+no\s+longer\s+be\s+created\b|\bonly\s+be\s+available\b"
    r"|\bbuy\b|\bpurchas|\bno\s+longer\s+be\s+accepted\b|\borders?\b",
    re.IGNORECASE,
)
_EXPLICIT = re.compile(r"\bno\s+later\s+than\b|\bdeadline\b|\blast\s+day\b", re.IGNORECASE)
_DELETION = re.compile(
    r"\bdelet|\beras|\bpurg|\bdestroy|\bpermanently\b|\bwill\s+not\s+be\s+kept\b", re.IGNORECASE
)
_END = re.compile(
    r"\bshut(?:ting)?\s*down|\b(?:turned|switched)\s+off|\bretir|\bdiscontinu|\bend\s+of\s+"
    r"(?:life|support)|\bstop\s+(?:working|syncing|responding|supporting)|\bwill\s+end\b"
    r"|\bno\s+longer\b|\bclos(?:e|ing)\b|\buntil\b|\bthrough\b|\bsunset|\breject|\bends?\b"
    r"|\bdecommission|\boffline\b|\bremoved\b|\bdeprecat|\bceas",
    re.IGNORECASE,
)
_FOLLOW_ON = re.compile(r"^\s*(?:at\s+which\s+point|after\s+which|when|whereupon|then)\b", re.I)
#: A month and day without a year this far ahead was most likely a recent past date.
_NO_YEAR_HORIZON = timedelta(days=270)


@dataclass(frozen=True)
class _Candidate:
    when: date
    phrase: str
    weight: int


def extract_deadline(text: str, published: datetime) -> Deadline | None:
    """Return the date the text asks readers to act by (after `published`), or None."""
    today = published.date()
    best: _Candidate | None = None
    for sentence in split_sentences(text):
        for candidate in _candidates(sentence, today):
            if best is None or (candidate.weight, candidate.when) > (best.weight, best.when):
                best = candidate
    return Deadline(best.when, best.phrase) if best else None


def _candidates(sentence: str, today: date) -> list[_Candidate]:
    found: list[_Candidate] = []
    spans = clause_spans(sentence)
    named: list[date] = []
    for match in _ABSOLUTE.finditer(sentence):
        when = _absolute_date(match, today)
        if when is not None:
            named.append(when)
            found.append(_Candidate(when, match.group(0), _weight(sentence, spans, match)))
    for match in _RELATIVE.finditer(sentence):
        count = match.group("n1") or match.group("n2") or match.group("n3")
        unit = match.group("u1") or match.group("u2") or match.group("u3")
        when = _after(today, count, unit)
        found.append(_Candidate(when, match.group(0), _weight(sentence, spans, match)))
    if named:  # "shuts down on 1 March, and data is deleted 30 days later"
        for match in _LATER.finditer(sentence):
            when = _after(named[0], match.group("n"), match.group("u"))
            found.append(_Candidate(when, match.group(0), _weight(sentence, spans, match)))
    for when, match in _period_dates(sentence, today):
        found.append(_Candidate(when, match.group(0), _weight(sentence, spans, match)))
    return [candidate for candidate in found if candidate.when > today]


def _after(start: date, count: str, unit: str) -> date:
    """Return the date `count` days, weeks or months after `start`."""
    amount = int(count) if count.isdigit() else _NUMBERS[count.lower()]
    if unit.lower().startswith("day"):
        return start + timedelta(days=amount)
    if unit.lower().startswith("week"):
        return start + timedelta(weeks=amount)
    return _add_months(start, amount)


def _period_dates(sentence: str, today: date) -> list[tuple[date, re.Match[str]]]:
    """Dates named as the end or start of a period: "the end of next month", "end of Q2 2027"."""
    dates: list[tuple[date, re.Match[str]]] = []
    for match in _PERIOD_END.finditer(sentence):
        ahead = 1 if match.group("which").lower() == "next" else 0
        if match.group("period").lower() == "month":
            dates.append((_month_end(_add_months(today.replace(day=1), ahead)), match))
        else:
            dates.append((date(today.year + ahead, 12, 31), match))
    dates.extend((_named_end(match, today), match) for match in _NAMED_END.finditer(sentence))
    for match in _PERIOD_START.finditer(sentence):
        if match.group("period").lower() == "month":
            dates.append((_add_months(today.replace(day=1), 1), match))
        else:
            dates.append((date(today.year + 1, 1, 1), match))
    return dates


def _absolute_date(match: re.Match[str], today: date) -> date | None:
    try:
        if match.group("iso"):
            return date.fromisoformat(match.group("iso").replace("/", "-"))
        if match.group("dd"):  # 31.12.2026: day first, as everywhere the dotted form is used
            return date(int(match.group("dy")), int(match.group("dm")), int(match.group("dd")))
        month_name = (match.group("m1") or match.group("m2")).rstrip(".").lower()
        day = int(match.group("d1") or match.group("d2"))
        year = match.group("y1") or match.group("y2")
        month = _MONTHS[month_name]
        if year:
            return date(int(year), month, day)
        when = date(today.year, month, day)
        if when < today:
            when = date(today.year + 1, month, day)
    except ValueError:  # 31 April, 30 February and the like
        return None
    return when if when - today <= _NO_YEAR_HORIZON else None


def _weight(sentence: str, spans: list[tuple[int, int]], match: re.Match[str]) -> int:
    inside = (i for i, (start, end) in enumerate(spans) if start <= match.start() <= end)
    index = next(inside, len(spans) - 1)
    start, end = spans[index]
    context = sentence[start:end]
    leftover = context.replace(match.group(0), " ").split()
    if index + 1 < len(spans):
        following = sentence[spans[index + 1][0] : spans[index + 1][1]]
        # "Starting May 15, 2024, new projects ..." or "until July 31, at which point ..."
        if len(leftover) < 3 or _FOLLOW_ON.search(following):
            context = f"{context} {following}"
    if _EXPLICIT.search(match.group(0)):
        return 4
    if _LOW.search(context):
        return 0
    if _DELETION.search(context):
        return 3
    return 2 if _END.search(context) else 1


def _named_end(match: re.Match[str], today: date) -> date:
    """Return the last day of the month, quarter or year a `_NAMED_END` match names."""
    if match.group("year"):
        return date(int(match.group("year")), 12, 31)
    if match.group("quarter"):
        quarter_end = int(match.group("quarter")) * 3
        return _month_end(date(int(match.group("quarter_year")), quarter_end, 1))
    month = _MONTHS[match.group("month").rstrip(".").lower()]
    named_year = match.group("month_year")
    first = date(int(named_year) if named_year else today.year, month, 1)
    if not named_year and _month_end(first) < today:
        first = first.replace(year=today.year + 1)
    return _month_end(first)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )
