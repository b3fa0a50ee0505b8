"""The directory covers every topic the assistant offers, for the right audience."""

from __future__ import annotations

from pathlib import Path

import yaml

from waymark.services.signposting import services_for

ROOT = Path(__file__).resolve().parents[3]


def _topic_intents() -> list[str]:
    domain = yaml.safe_load((ROOT / "bot" / "domain" / "signposting.yml").read_text())
    return [i for i in domain["intents"] if i.startswith(("topic_", "parent_"))]


def test_every_topic_has_services_for_young_people_and_parents() -> None:
    topics = _topic_intents()
    assert len(topics) >= 16
    for topic in topics:
        role = "parent" if topic.startswith("parent_") else "young_person"
        assert services_for(topic=topic, role=role), topic


def test_local_services_come_first(tmp_path: Path) -> None:
    local = tmp_path / "local.yml"
    local.write_text(
        "services:\n  - id: x\n    name: Anytown Youth\n    contact: '01632 960000'\n"
        "    audience: young_person\n    topics: [topic_bullying]\n"
    )
    found = services_for(topic="topic_bullying", role="young_person", local_file=local)
    assert found[0].name == "Anytown Youth"
    assert any(s.name == "Childline" for s in found)
