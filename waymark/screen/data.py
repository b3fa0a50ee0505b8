"""Loads the labelled examples the classifier is trained on, and the dev split."""

from __future__ import annotations

import itertools
import re
import zlib
from pathlib import Path
from typing import Any

import yaml

from waymark.screen.model import CATEGORIES, Example
from waymark.screen.normalise import normalise
from waymark.screen.severity import SEVERITIES

DATA_DIR = Path(__file__).with_name("data")
_HAND_WRITTEN = ("disclosures.yml", "negatives.yml")
#: More hand-written sets, each by a different writer, so the classifier meets many voices.
_EXTRA_GLOB = "extra_*.yml"
_SLOT = re.compile(r"\{([a-z_]+)\}")
#: One hand-written example in DEV_MODULUS goes to the dev split (chosen by CRC-32 of the text).
DEV_MODULUS = 5


def _check(sev: str, cats: list[str], where: str) -> None:
    if sev not in SEVERITIES:
        raise ValueError(f"{where}: unknown severity {sev!r}")
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"{where}: unknown categories {unknown}")
    if (sev == "none") != (not cats):
        raise ValueError(f"{where}: severity none goes with no categories, and only then")


def _read(name: str) -> Any:
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))


def by_writer() -> dict[str, list[Example]]:
    """Return the hand-written examples (raw text) grouped by the writer who wrote them.

    Each data file is one writer's work, except that the first writer's disclosures and
    negatives are two files. Holding out one writer at a time measures how the screen does on
    people it never read, which a random split overstates.
    """
    out: dict[str, list[Example]] = {}
    names = [*_HAND_WRITTEN, *sorted(p.name for p in DATA_DIR.glob(_EXTRA_GLOB))]
    for name in names:
        writer = "original" if name in _HAND_WRITTEN else Path(name).stem
        for group in _read(name):
            _check(group["sev"], group["cat"], name)
            out.setdefault(writer, []).extend(
                Example(text=str(t), severity=group["sev"], categories=tuple(group["cat"]))
                for t in group["text"]
            )
    return out


def hand_written() -> list[Example]:
    """Return the hand-written examples (raw text, not normalised)."""
    return [ex for examples in by_writer().values() for ex in examples]


def templated() -> list[Example]:
    """Return the template expansions from ``templates.yml`` (raw text)."""
    spec = _read("templates.yml")
    slots: dict[str, list[str]] = spec["slots"]
    out: list[Example] = []
    for group in spec["groups"]:
        _check(group["sev"], group["cat"], "templates.yml")
        filled: list[str] = []
        for template in group["templates"]:
            names = _SLOT.findall(template)
            for combo in itertools.product(*(slots[n] for n in names)):
                text = template
                for value in combo:
                    text = _SLOT.sub(value, text, count=1)
                filled.append(text)
        limit = int(group["limit"])
        # A fixed stride keeps the choice spread across all slot values and deterministic.
        stride = max(1, len(filled) // limit)
        chosen = filled[::stride][:limit]
        out.extend(
            Example(text=t, severity=group["sev"], categories=tuple(group["cat"])) for t in chosen
        )
    return out


def is_dev(text: str) -> bool:
    """Say whether a hand-written example belongs to the dev split."""
    return zlib.crc32(text.encode("utf-8")) % DEV_MODULUS == 0


def split() -> tuple[list[Example], list[Example]]:
    """Return (train, dev): dev is one in five hand-written examples; templates only train."""
    hand = hand_written()
    dev = [ex for ex in hand if is_dev(ex.text)]
    train = [ex for ex in hand if not is_dev(ex.text)] + templated()
    return train, dev


def all_examples() -> list[Example]:
    """Return every example (the shipped model trains on all of them)."""
    return hand_written() + templated()


def normalised(examples: list[Example]) -> list[Example]:
    """Return the examples with their text normalised, ready for training."""
    return [Example(normalise(ex.text), ex.severity, ex.categories) for ex in examples]
