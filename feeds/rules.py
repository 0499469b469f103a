"""The phrase rules behind `feeds.classify`: loaded once from rules.toml, validated on load."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from feeds.model import KINDS, Kind

_FLAGS = re.IGNORECASE | re.MULTILINE
_RULE_KEYS = frozenset(
    {"kind", "reason", "patterns", "veto", "major", "negatable_inside", "weak", "needs"}
)
#: A `{name}` in a pattern or veto stands for the [macros] entry of that name.
_MACRO = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Rule:
    """A phrase that signals a kind, with the reason shown as evidence."""

    kind: Kind
    pattern: re.Pattern[str]
    reason: str
    major: bool = True  # outages only: False marks a minor symptom (degraded, slow)
    veto: re.Pattern[str] | None = None  # a sentence matching this reads in another sense
    #: False when the phrase itself holds a "not" ("cannot be restored").
    negatable_inside: bool = True
    #: Lower-case literals of which the text must hold one for the pattern to match; empty
    #: when some alternative requires no literal, and the pattern must always run.
    triggers: tuple[str, ...] = ()
    #: True when the phrase says only that something happened ("we are investigating"): it
    #: counts for its kind only when the text shows no other kind.
    weak: bool = False
    #: The same pattern for lower-cased text, without case folding (about twice as fast);
    #: None when the pattern holds escapes that lowering could change.
    lowered: re.Pattern[str] | None = None


def load_rules(text: str, source: str) -> tuple[Rule, ...]:
    """Build the rules from TOML text; raise ValueError naming `source`, the rule and the fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{source}: not valid TOML ({error})") from None
    vetoes, macros = data.get("vetoes", {}), data.get("macros", {})
    rules = data.get("rule")
    if not isinstance(vetoes, dict) or not isinstance(rules, list) or not rules:
        raise ValueError(f"{source}: expected a [vetoes] table and at least one [[rule]]")
    if not isinstance(macros, dict) or not all(isinstance(v, str) for v in macros.values()):
        raise ValueError(f"{source}: [macros] must map names to pattern strings")
    return tuple(
        _build(raw, vetoes, macros, f"{source}: rule {n}") for n, raw in enumerate(rules, 1)
    )


def _expand(pattern: str, macros: dict[str, str], where: str) -> str:
    """Replace each `{name}` with its macro, as a non-capturing group."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise ValueError(f"{where}: unknown macro {{{name}}}; define it under [macros]")
        return f"(?:{macros[name]})"

    return _MACRO.sub(one, pattern)


def _build(raw: dict[str, Any], vetoes: dict[str, Any], macros: dict[str, str], where: str) -> Rule:
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed are {sorted(_RULE_KEYS)}")
    kind, reason, patterns = raw.get("kind"), raw.get("reason"), raw.get("patterns")
    if kind not in KINDS:
        raise ValueError(f"{where}: kind {kind!r} must be one of {', '.join(KINDS)}")
    if not isinstance(reason, str) or not reason:
        raise ValueError(f"{where}: reason must be a non-empty string")
    if (
        not isinstance(patterns, list)
        or not patterns
        or not all(isinstance(p, str) for p in patterns)
    ):
        raise ValueError(f"{where}: patterns must be a non-empty list of strings")
    needs = raw.get("needs", [])
    if not isinstance(needs, list) or not all(
        isinstance(word, str) and word and word == word.lower() for word in needs
    ):
        raise ValueError(f"{where}: needs must be a list of non-empty lower-case literals")
    veto = raw.get("veto")
    if isinstance(veto, str):
        veto = _expand(vetoes.get(veto, veto), macros, where)
    patterns = [_expand(alternative, macros, where) for alternative in patterns]
    # Sentences are matched one per line: a `[^.]` window must not run into the next one.
    pattern = "|".join(patterns).replace("[^.]", "[^.\\n]")
    try:
        return Rule(
            kind=kind,
            pattern=re.compile(pattern, _FLAGS),
            reason=reason,
            major=bool(raw.get("major", True)),
            veto=re.compile(veto, _FLAGS) if veto else None,
            negatable_inside=bool(raw.get("negatable_inside", True)),
            triggers=tuple(sorted(needs)) or _triggers(patterns),
            weak=bool(raw.get("weak", False)),
            lowered=_lowered(pattern),
        )
    except re.error as error:
        raise ValueError(f"{where}: bad regular expression ({error})") from None


#: Escapes whose meaning lowering could change: characters by code or name, octal, \\p.
_UNLOWERABLE = re.compile(r"\\(?:[NpPuUx]|[0-7]{2})|\(\?[a-zA-Z]")


def _lowered(pattern: str) -> re.Pattern[str] | None:
    """Compile `pattern` for lower-cased text: letters lowered except in escapes (\\b, \\S)."""
    if _UNLOWERABLE.search(pattern):
        return None
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern[index] == "\\":
            parts.append(pattern[index : index + 2])
            index += 2
        else:
            parts.append(pattern[index].lower())
            index += 1
    return re.compile("".join(parts), re.MULTILINE)


def _triggers(alternatives: list[str]) -> tuple[str, ...]:
    """Return literals of which any match must hold one, or () when an alternative needs none."""
    needed = [_required_words(alternative) for alternative in alternatives]
    if not all(needed):
        return ()
    return tuple(sorted({word for words in needed for word in words}))


def _required_words(alternative: str) -> frozenset[str]:
    """Return words one of which the alternative requires: a plain run outside any group and
    quantifier, or a group of plain words; prefer the option whose shortest word is longest."""
    options: list[frozenset[str]] = []
    run, index = "", 0
    while index < len(alternative):
        char = alternative[index]
        escaped = alternative[index + 1 : index + 2] if char == "\\" else ""
        if escaped in _ESCAPED_LITERALS and escaped:
            run += escaped
            index += 2
            continue
        if char.isalnum() or char in " '-":
            run += char
            index += 1
            continue
        quantified = char in "?*{"
        options.append(frozenset({(run[:-1] if quantified else run).strip().lower()}))
        run = ""
        if char == "[":
            index = alternative.index("]", index + 2)
        elif char == "(":
            close = _closing(alternative, index)
            group = alternative[index + 1 : close]
            after = alternative[close + 1 : close + 2]
            if after not in ("?", "*", "{") and not group.startswith(("?=", "?!", "?<")):
                words = group.removeprefix("?:").split("|")
                if all(word and all(c.isalnum() or c in " '-" for c in word) for word in words):
                    options.append(frozenset(word.lower() for word in words))
            index = close
        index += 2 if escaped else 1
    options.append(frozenset({run.strip().lower()}))
    usable = [words for words in options if min(len(word) for word in words) >= 3]
    return max(usable, key=lambda words: min(len(word) for word in words), default=frozenset())


def _closing(pattern: str, start: int) -> int:
    depth, index = 0, start
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 1
        elif char == "[":
            index = pattern.index("]", index + 2)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unbalanced parenthesis in {pattern!r}")


_ESCAPED_LITERALS = frozenset("$.'()[]")

RULES: tuple[Rule, ...] = load_rules(
    resources.files("feeds").joinpath("rules.toml").read_text(encoding="utf-8"), "feeds/rules.toml"
)

#: A negation in the clause before or inside a match turns it down ("no data was lost").
NEGATION = re.compile(
    # "no longer" and "could not be restored" are statements, not negations.
    r"\b(?:no(?!\s+longer)|(?:can)?not(?!\s+be\s+(?:fully\s+)?(?:recover|restor|rebuil|retriev))"
    r"|never|none|nor|nothing|nobody|without|neither)\b|n't\b",
    _FLAGS,
)
#: Words before a match that make it general or conditional rather than news: a generic subject
#: ("providers shut down", "every provider retires"), a condition ("if prices change", "should we
#: raise prices", "even during an outage", "before your bill goes up"), a policy ("notice before
#: we retire"), "any" just before it ("before any price increase") or a feature ("admins can now
#: retire keys").
GENERAL = re.compile(
    r"\b(?:if|unless|whenever|even\s+(?:during|if|when|in)|in\s+(?:the\s+)?(?:event|case)\s+of"
    r"|should\s+(?:we|they|prices?|costs?|rates?|fees|a|an|any|the|our)"
    r"|(?:when|before|once)\s+(?:your|you|their)|notice\s+before"
    r"|when\s+(?:your|a|an)\s+(?:[\w-]+\s+)?(?:provider|vendor|cloud|host|company|supplier)"
    r"|(?:a|an|any|another|every|each)\s+(?:cloud\s+|storage\s+|backup\s+|hosting\s+|saas\s+)?"
    r"(?:provider|vendor|supplier|company)(?!\s+(?:that\s+|which\s+)?we\b)"
    r"|(?:cloud\s+|storage\s+|backup\s+|saas\s+|hosting\s+|other\s+|many\s+|most\s+)?"
    r"(?:providers|vendors|companies|startups|businesses|suppliers)"
    r"|(?:our\s+)?(?:partners?|competitors?))\b"
    r"|\bany\s+(?:future\s+|further\s+|potential\s+|possible\s+)?\Z"
    r"|\b(?:can|lets?\s+you|allows?\s+you\s+to)\s+(?:now\s+)?\Z",
    _FLAGS,
)
#: A modal before a breach or a loss makes it a possibility, not a report ("a flaw that could let
#: attackers read files"); "could have" and "may find" still report one.
HYPOTHETICAL = re.compile(
    # Case matters: "May" is more often the month than the modal.
    r"\b(?:[Cc]ould|[Cc]an|[Ww]ould|[Mm]ight|may|[Ss]hould)\b"
    r"(?!\s+(?:\w+\s+)?have\b|\s+(?:not|only|no\s+longer)\b|n't"
    r"|\s+(?:find|notice|see|experience|observe|discover)\b)",
)
#: How far before a match a negation still reaches (characters, within the clause).
NEGATION_REACH = 40
#: Where a clause starts, for the negation window.
CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:but|however|while|whereas)\b", _FLAGS)
#: Titles of stories, guides and events: their words describe others, not this provider's news.
STORY_TITLE = re.compile(
    r"^\s*(?:how\s+to\b|how\s+(?!we\b|our\b)[A-Z][\w.-]*\s|webinar\b|case\s+study\b"
    r"|customer\s+(?:story|spotlight)\b|success\s+story\b|join\s+us\b|see\s+us\b"
    r"|(?:our\s+)?(?:\d{4}\s+)?year\s+in\s+review\b|looking\s+back\b|tech\s+talk\b"
    r"|glossary\b|explainer\b|primer\b|.*\bexplained\s*$)",
    re.IGNORECASE,
)
#: A planned maintenance notice is not an incident.
MAINTENANCE = re.compile(
    r"\b(?:scheduled|planned)\s+(?:\w+\s+){0,2}?maintenance\b|\bmaintenance\s+window\b"
    r"|\bwill\s+perform\s+(?:\w+\s+){0,2}?maintenance\b|^[^\S\n]*maintenance\b"
    r"|^[^\S\n]*(?:scheduled|in\s+progress|verifying|completed)\s+-",
    re.IGNORECASE | re.MULTILINE,
)
#: The incident is over: status prefixes and resolution phrases.
RESOLVED = re.compile(
    r"^\s*(?:resolved|postmortem)\b|\[resolved\]|^\s*service\s+is\s+operating\s+normally\b"
    r"|\bpost-?incident\s+(?:review|report)\b|\bpostmortem\b|^\s*summary\s+of\b",
    re.IGNORECASE,
)
#: A shutdown word followed by someone else's possessions ("retired their file servers") or
#: maker ("no longer supported by Microsoft").
SOMEONE_ELSES = re.compile(
    r"\s+(?:their|his|her)\b|\s+by\s+(?:microsoft|apple|google|mozilla|oracle|canonical|red\s+hat"
    r"|the\s+(?:vendor|manufacturer|maker|upstream\s+project))\b",
    re.IGNORECASE,
)
