"""Settings: one class, every variable documented in .env.example."""

from __future__ import annotations

from pathlib import Path

from waymark.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [f.upper() for f in Settings.model_fields if f"{f.upper()}=" not in example]
    assert missing == []
