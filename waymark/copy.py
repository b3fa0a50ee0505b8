"""The copy: every message text lives in Rasa's response format under `bot/`, never in Python."""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from waymark.settings import ROOT

DOMAIN_DIR = ROOT / "bot" / "domain"
GATEWAY_COPY = ROOT / "bot" / "gateway_copy.yml"


def _load(path: Path) -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    responses: dict[str, list[dict[str, Any]]] = data.get("responses") or {}
    return responses


@lru_cache
def all_responses() -> dict[str, list[dict[str, Any]]]:
    """Every response in the domain and the gateway copy, by name."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        merged.update(_load(path))
    if GATEWAY_COPY.exists():
        merged.update(_load(GATEWAY_COPY))
    return merged


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(name: str, **values: Any) -> str:
    """Render a response's first unconditional variation with its `{placeholders}` filled.

    Raises:
        KeyError: no response has that name.
    """
    variations = all_responses()[name]
    chosen = next((v for v in variations if not v.get("condition")), variations[0])
    text = str(chosen.get("text", ""))
    return string.Formatter().vformat(text, (), _Blank(values))
