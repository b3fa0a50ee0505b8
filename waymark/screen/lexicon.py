"""The reviewed lexicon: phrase patterns with category and severity, guards and contexts.

The patterns live in ``lexicon.yml`` next to this module so that the safeguarding team can review
them without reading Python. They are compiled once, on first use.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_LEXICON_PATH = Path(__file__).with_name("lexicon.yml")
_MACRO = re.compile(r"\{([A-Z_]+)\}")
_MASK = " | "


@dataclass(frozen=True)
class Entry:
    """One group of patterns that share a category and severity."""

    category: str
    severity: str
    patterns: tuple[re.Pattern[str], ...]
    topic: bool = False
    sign: str | None = None
    #: The words say it plainly ("my daughter is missing"): pages without the classifier's consent.
    firm: bool = False


@dataclass(frozen=True)
class Hit:
    """A lexicon match in a message."""

    category: str
    severity: str
    text: str
    topic: bool
    sign: str | None
    pattern_id: int
    firm: bool = False


@dataclass(frozen=True)
class Lexicon:
    """All compiled lexicon parts."""

    entries: tuple[Entry, ...]
    guards: dict[str, tuple[re.Pattern[str], ...]]
    info_seeking: tuple[re.Pattern[str], ...]
    reassurance: tuple[re.Pattern[str], ...]
    immediacy: tuple[re.Pattern[str], ...]
    immediacy_categories: frozenset[str]
    contexts: dict[str, tuple[re.Pattern[str], ...]]
    speaker: dict[str, tuple[re.Pattern[str], ...]]


def _expand(pattern: str, macros: dict[str, str]) -> str:
    # Macros may use other macros (PERP uses FAM), so expand until nothing changes.
    for _ in range(5):
        expanded = _MACRO.sub(lambda m: macros[m.group(1)], pattern)
        if expanded == pattern:
            break
        pattern = expanded
    return pattern


def _compile(pattern: str, macros: dict[str, str], *, flags: int = 0) -> re.Pattern[str]:
    body = _expand(str(pattern), macros)
    # A space may also be missing: spaced-out letters are joined by the normaliser
    # ("k i l l m y s e l f" -> "killmyself").
    body = body.replace(" ", r"\s?")
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])", flags)


def _compile_all(
    patterns: list[Any], macros: dict[str, str], *, flags: int = 0
) -> tuple[re.Pattern[str], ...]:
    return tuple(_compile(p, macros, flags=flags) for p in patterns)


@functools.cache
def load() -> Lexicon:
    """Read and compile ``lexicon.yml`` (cached after the first call).

    Returns:
        The compiled lexicon.
    """
    data = yaml.safe_load(_LEXICON_PATH.read_text(encoding="utf-8"))
    macros: dict[str, str] = {k: str(v) for k, v in data["macros"].items()}
    entries = tuple(
        Entry(
            category=e["category"],
            severity=e["severity"],
            patterns=_compile_all(e["patterns"], macros),
            topic=bool(e.get("topic", False)),
            sign=e.get("sign"),
            firm=bool(e.get("firm", False)),
        )
        for e in data["entries"]
    )
    contexts = {name: _compile_all(pats, macros) for name, pats in data["contexts"].items()}
    # Place names are matched case-sensitively on the original text ("in Walsall"), so that
    # "in Town" style capitalised words are caught as well as the listed names.
    return Lexicon(
        entries=entries,
        guards={name: _compile_all(pats, macros) for name, pats in data["guards"].items()},
        info_seeking=_compile_all(data["info_seeking"], macros),
        reassurance=_compile_all(data["reassurance"], macros),
        immediacy=_compile_all(data["immediacy"]["patterns"], macros),
        immediacy_categories=frozenset(data["immediacy"]["categories"]),
        contexts=contexts,
        speaker={name: _compile_all(pats, macros) for name, pats in data["speaker"].items()},
    )


def mask_guards(text: str, lexicon: Lexicon) -> tuple[str, list[str]]:
    """Blank out hyperbole and negated phrases so the harm patterns cannot match inside them.

    Args:
        text: Normalised message text.
        lexicon: The compiled lexicon.

    Returns:
        The text with guarded spans replaced by a separator, and ``"<guard>: <span>"`` reasons.
    """
    reasons: list[str] = []
    for name, patterns in lexicon.guards.items():
        for pattern in patterns:
            for match in pattern.finditer(text):
                span = match.group(0).strip()
                if span:
                    reasons.append(f"{name}: '{span}'")
            text = pattern.sub(_MASK, text)
    return text, reasons


def find_hits(text: str, lexicon: Lexicon) -> list[Hit]:
    """Return every lexicon entry that matches the (guard-masked) normalised text.

    Args:
        text: Normalised text, with guards already masked.
        lexicon: The compiled lexicon.

    Returns:
        One hit per matching pattern (first match of each pattern).
    """
    hits: list[Hit] = []
    pattern_id = 0
    for entry in lexicon.entries:
        for pattern in entry.patterns:
            match = pattern.search(text)
            if match is not None:
                hits.append(
                    Hit(
                        category=entry.category,
                        severity=entry.severity,
                        text=match.group(0).strip(),
                        topic=entry.topic,
                        sign=entry.sign,
                        pattern_id=pattern_id,
                        firm=entry.firm,
                    )
                )
            pattern_id += 1
    return hits


def any_match(text: str, patterns: tuple[re.Pattern[str], ...]) -> str | None:
    """Return the first span any of ``patterns`` matches in ``text``, or None."""
    for pattern in patterns:
        match = pattern.search(text)
        if match is not None:
            return match.group(0).strip()
    return None


def find_contexts(text: str, lexicon: Lexicon) -> dict[str, list[str]]:
    """Collect places, platforms and people named in the message.

    Args:
        text: Normalised message text.
        lexicon: The compiled lexicon.

    Returns:
        ``{"places": [...], "platforms": [...], "people": [...]}``, each in order of appearance
        without duplicates.
    """
    found: dict[str, list[str]] = {}
    for name, patterns in lexicon.contexts.items():
        spans: list[tuple[int, str]] = []
        for pattern in patterns:
            spans.extend((m.start(), m.group(0).strip()) for m in pattern.finditer(text))
        seen: list[str] = []
        for _, span in sorted(spans):
            if span and span not in seen:
                seen.append(span)
        found[name] = seen
    return found
