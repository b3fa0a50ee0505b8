"""Checks on every piece of user- and staff-facing copy (bot/domain/*.yml, bot/gateway_copy.yml).

SMS limits: GSM-7 only (one curly quote or emoji turns the whole message into UCS-2 and cuts
each segment to 70 characters), at most 3 segments (459 characters) after template values,
staff pages at most 160 characters. Language: safeguarding.md §1-§3.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = ROOT / "bot" / "domain"
GATEWAY_COPY = ROOT / "bot" / "gateway_copy.yml"

# GSM 03.38 default alphabet and its extension table (extension characters cost two).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

MAX_USER_CHARS = 459  # 3 concatenated segments of 153
MAX_STAFF_PAGE_CHARS = 160  # one segment: a page must arrive whole

# Realistic worst cases for every template value that can appear in copy.
SERVICES_LIST = (
    "Childline: 0800 1111 (24 hours)\n"
    "Shout: text SHOUT to 85258 (24/7)\n"
    "Fearless: 0800 555 111 (anonymous)\n"
    "Missing People: call or text 116 000\n"
    "Local exploitation team: 0121 303 1234 (Mon-Fri 9am-5pm)\n"
    "Youth service drop-in: 0121 464 5555 (Tue 4pm-8pm)\n"
    "Samaritans: 116 123 (24/7)\n"
    "Report Remove: childline.org.uk"
)
WORST_CASE_VALUES: dict[str, str] = {
    "duty_next": "Wednesday 24 December at 9am",  # 30 characters with padding below
    "services_list": SERVICES_LIST,
    "alert_reference": "WM-2026-0001",
    "alert_severity": "emergency",
    "role": "young_person",
    "reference": "WM-2026-0001",
    "severity": "emergency",
    "category": "self_harm_suicide, sexual_abus",
    "url": "https://waymark.example.org.uk/a/WM-0001",
    # The concern digest lists at most five references, then "and N more".
    "count": "123",
    "references": "WM-ABCDE, WM-ABCDE, WM-ABCDE, WM-ABCDE, WM-ABCDE and 118 more",
}
WORST_CASE_VALUES["duty_next"] = WORST_CASE_VALUES["duty_next"].ljust(30, "x")

VICTIM_BLAMING = (
    "involved in",
    "putting themselves at risk",
    "putting yourself at risk",
    "risky choices",
    "lifestyle choice",
    "promiscuous",
    "prostitut",
    "child prostitution",
    "money mule",
    "runner",
    "gang member",
    "snitch",
    "recruited",
    "associating with",
    "in a relationship with",
    "keeps going missing",
    "going back to",
    "working for",
)

SECRECY_PROMISES = (
    "keep this secret",
    "keep it secret",
    "keep your secret",
    "won't tell anyone",
    "wont tell anyone",
    "will not tell anyone",
    "won't tell anybody",
    "completely confidential",
    "totally confidential",
    "strictly confidential",
    "100% confidential",
    "just between us",
    "between you and me",
    "nobody will know",
    "no one will know",
    "nobody else will know",
    "stays between",
    "promise not to tell",
    "it's anonymous",
)

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def _domain_files() -> list[Path]:
    return sorted(DOMAIN_DIR.glob("*.yml"))


def _responses(path: Path) -> dict[str, list[dict[str, Any]]]:
    responses = _load(path).get("responses") or {}
    assert isinstance(responses, dict)
    return responses


def _all_variations() -> Iterator[tuple[str, str, int, str]]:
    """Yield (file, response name, variation index, text) for every response variation."""
    for path in [*_domain_files(), GATEWAY_COPY]:
        for name, variations in _responses(path).items():
            for index, variation in enumerate(variations):
                yield path.name, name, index, str(variation.get("text", ""))


def _variations_of(name: str) -> list[dict[str, Any]]:
    for path in [*_domain_files(), GATEWAY_COPY]:
        responses = _responses(path)
        if name in responses:
            return list(responses[name])
    raise AssertionError(f"response {name} not found")


def _fill(text: str) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        assert key in WORST_CASE_VALUES, f"no worst-case value for placeholder {{{key}}}"
        return WORST_CASE_VALUES[key]

    return PLACEHOLDER.sub(value, text)


def _gsm7_length(text: str) -> int:
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def _segments(text: str) -> int:
    length = _gsm7_length(text)
    return 1 if length <= 160 else math.ceil(length / 153)


VARIATIONS = list(_all_variations())
IDS = [f"{name}[{index}]" for _, name, index, _ in VARIATIONS]


def test_copy_found() -> None:
    names = {name for _, name, _, _ in VARIATIONS}
    assert "utter_first_contact" in names
    assert "utter_staff_page" in names
    assert len(VARIATIONS) > 40
    # Keep the worst cases worst: ~300 characters of services, 30 of duty_next.
    assert len(SERVICES_LIST) >= 300
    assert len(WORST_CASE_VALUES["duty_next"]) >= 30


@pytest.mark.parametrize(("file", "name", "index", "text"), VARIATIONS, ids=IDS)
def test_gsm7_only(file: str, name: str, index: int, text: str) -> None:
    assert text.strip(), f"{file}: {name}[{index}] has no text"
    bad = sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
    assert not bad, f"{file}: {name}[{index}] has non-GSM-7 characters {bad!r}"


@pytest.mark.parametrize(("file", "name", "index", "text"), VARIATIONS, ids=IDS)
def test_fits_three_segments_with_worst_case_values(
    file: str, name: str, index: int, text: str
) -> None:
    filled = _fill(text)
    length = _gsm7_length(filled)
    assert length <= MAX_USER_CHARS, f"{file}: {name}[{index}] is {length} characters filled"
    assert _segments(filled) <= 3


def test_staff_pages_fit_one_sms() -> None:
    pages = [n for _, n, _, _ in VARIATIONS if n.startswith("utter_staff_page")]
    assert set(pages) >= {"utter_staff_page", "utter_staff_page_escalated"}
    for name in pages:
        for variation in _variations_of(name):
            text = str(variation["text"])
            assert set(PLACEHOLDER.findall(text)) >= {"reference", "severity", "category", "url"}
            filled = _fill(text)
            assert _gsm7_length(filled) <= MAX_STAFF_PAGE_CHARS, (name, len(filled), filled)


def test_the_concern_digest_fits_one_sms() -> None:
    for variation in _variations_of("utter_staff_digest"):
        filled = _fill(str(variation["text"]))
        assert _gsm7_length(filled) <= MAX_STAFF_PAGE_CHARS, (len(filled), filled)


def test_staff_copy_carries_no_message_text() -> None:
    # Pages go to phones: they may carry the category and reference, never the child's words.
    allowed = {"reference", "severity", "category", "url", "count", "references"}
    for name in [n for _, n, _, _ in VARIATIONS if n.startswith("utter_staff_")]:
        for variation in _variations_of(name):
            assert set(PLACEHOLDER.findall(str(variation["text"]))) <= allowed, name


@pytest.mark.parametrize(("file", "name", "index", "text"), VARIATIONS, ids=IDS)
def test_no_victim_blaming_language(file: str, name: str, index: int, text: str) -> None:
    lowered = text.lower()
    for term in VICTIM_BLAMING:
        # Whole words ("runner" must not match "frontrunner"), except the "prostitut" stem.
        pattern = re.escape(term) if term == "prostitut" else rf"\b{re.escape(term)}\b"
        assert not re.search(pattern, lowered), f"{file}: {name}[{index}] says {term!r}"


@pytest.mark.parametrize(("file", "name", "index", "text"), VARIATIONS, ids=IDS)
def test_never_promises_secrecy(file: str, name: str, index: int, text: str) -> None:
    lowered = text.lower()
    for phrase in SECRECY_PROMISES:
        assert phrase not in lowered, f"{file}: {name}[{index}] promises secrecy: {phrase!r}"


WHO_IS_TOLD = re.compile(r"safeguarding (worker|team)", re.IGNORECASE)


@pytest.mark.parametrize("name", ["utter_alert_raised", "utter_failsafe_alert"])
def test_alert_copy_says_999_and_who_is_told(name: str) -> None:
    for variation in _variations_of(name):
        text = str(variation["text"])
        assert "999" in text, (name, variation.get("condition"))
        assert WHO_IS_TOLD.search(text), (name, variation.get("condition"))


def test_alert_copy_covers_every_severity() -> None:
    severities = {
        condition["value"]
        for variation in _variations_of("utter_alert_raised")
        for condition in variation.get("condition") or []
        if condition.get("name") == "alert_severity"
    }
    assert severities == {"emergency", "urgent", "concern"}
    assert any(not v.get("condition") for v in _variations_of("utter_alert_raised"))


def test_emergency_alert_puts_999_first() -> None:
    for variation in _variations_of("utter_alert_raised"):
        values = {c.get("value") for c in variation.get("condition") or []}
        if "emergency" in values:
            first_line = str(variation["text"]).splitlines()[0]
            assert "999" in first_line


@pytest.mark.parametrize("name", ["utter_first_contact", "utter_privacy"])
def test_first_contact_and_privacy_are_honest(name: str) -> None:
    for variation in _variations_of(name):
        text = str(variation["text"]).lower()
        assert "999" in text
        assert "have to tell" in text
        assert "not an emergency service" in text or name == "utter_privacy"


def test_domain_placeholders_are_slots() -> None:
    # Rasa fills {x} in domain responses from slots only: an unknown name would be sent literally.
    slots: set[str] = set()
    for path in _domain_files():
        slots.update((_load(path).get("slots") or {}).keys())
    for path in _domain_files():
        for name, variations in _responses(path).items():
            for variation in variations:
                unknown = set(PLACEHOLDER.findall(str(variation.get("text", "")))) - slots
                assert not unknown, f"{path.name}: {name} uses {unknown}"


def test_role_variations_exist() -> None:
    roles = set()
    for path in _domain_files():
        for variations in _responses(path).values():
            for variation in variations:
                for condition in variation.get("condition") or []:
                    if condition.get("name") == "role":
                        roles.add(condition.get("value"))
    assert roles == {"young_person", "parent"}


def test_gsm7_alphabet_sanity() -> None:
    # Guard the table itself: plain ASCII letters and digits are in, curly quotes are not.
    assert set(string.ascii_letters + string.digits) <= GSM7_BASIC
    assert "\u2019" not in GSM7_BASIC and "\u2013" not in GSM7_BASIC


def test_no_slot_mapping_names_a_custom_action() -> None:
    # Rasa 3.6 runs the action named in a custom slot mapping on *every* user turn (from
    # action_extract_slots): an alert action there would raise a record for every message.
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, slot in (domain.get("slots") or {}).items():
            for mapping in slot.get("mappings") or []:
                assert "action" not in mapping, f"{path.name}: slot {name} maps from an action"
