"""Signposting: the service directory (national services as data, local ones as configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

NATIONAL = Path(__file__).resolve().parent.parent / "data" / "national_services.yml"
MAX_SERVICES = 4


@dataclass(frozen=True)
class Service:
    """One service in the directory."""

    id: str
    name: str
    contact: str
    audience: str
    topics: tuple[str, ...]

    def line(self) -> str:
        """The service as one line of a text message."""
        return f"{self.name}: {self.contact}"


@lru_cache
def load_directory(local_file: Path | None) -> tuple[Service, ...]:
    """Local services first (they are closest), then national ones."""
    entries = []
    paths = [p for p in (local_file, NATIONAL) if p is not None and p.exists()]
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for raw in data.get("services", []):
            entries.append(
                Service(
                    id=str(raw["id"]),
                    name=str(raw["name"]),
                    contact=str(raw["contact"]),
                    audience=str(raw.get("audience", "both")),
                    topics=tuple(raw.get("topics", [])),
                )
            )
    return tuple(entries)


def services_for(
    *, topic: str, role: str | None, local_file: Path | None = None, limit: int = MAX_SERVICES
) -> list[Service]:
    """The services for a topic and a role (young_person, parent or unknown)."""
    audiences = {"both", "parent"} if role == "parent" else {"both", "young_person"}
    if role not in ("parent", "young_person"):
        audiences = {"both", "young_person", "parent"}
    found = [s for s in load_directory(local_file) if topic in s.topics and s.audience in audiences]
    return found[:limit]


def services_text(*, topic: str, role: str | None, local_file: Path | None = None) -> str:
    """The services for a topic as lines of a text message."""
    return "\n".join(s.line() for s in services_for(topic=topic, role=role, local_file=local_file))
