"""Splitting to Twilio's limits."""

from __future__ import annotations

from waymark.queue import TWILIO_MAX_BODY, split_message


def test_short_messages_are_one_part() -> None:
    assert split_message("hello there") == ["hello there"]
    assert split_message("   ") == []


def test_long_messages_split_on_sentences_within_the_limit() -> None:
    text = " ".join(f"This is sentence number {n}." for n in range(200))
    parts = split_message(text)
    assert len(parts) > 1
    assert all(len(p) <= TWILIO_MAX_BODY for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == text


def test_a_single_enormous_word_is_still_split() -> None:
    parts = split_message("x" * 4000)
    assert [len(p) for p in parts] == [1600, 1600, 800]
