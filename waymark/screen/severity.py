"""Severity levels of the disclosure screen and the paging policy.

Severity is a separate axis from category: a category says what kind of harm a message is
about, severity says how quickly a person must act on it.
"""

from __future__ import annotations

from typing import Final

#: Severity levels, lowest first.
SEVERITIES: Final[tuple[str, ...]] = ("none", "concern", "urgent", "emergency")

_RANK: Final[dict[str, int]] = {name: rank for rank, name in enumerate(SEVERITIES)}


def rank(severity: str) -> int:
    """Return the position of a severity in :data:`SEVERITIES` (none = 0).

    Args:
        severity: One of ``none``, ``concern``, ``urgent``, ``emergency``.

    Returns:
        0 for none up to 3 for emergency.

    Raises:
        ValueError: If ``severity`` is not a known level.
    """
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(f"unknown severity: {severity!r}") from None


def highest(*severities: str) -> str:
    """Return the most severe of the given levels (``none`` when given nothing)."""
    return max(severities, key=rank, default="none")


def is_paged(severity: str) -> bool:
    """Say whether a severity pages the duty worker.

    Emergency and urgent are paged; concern is recorded for the next working day's digest;
    none is nothing.

    Args:
        severity: One of ``none``, ``concern``, ``urgent``, ``emergency``.

    Returns:
        True for ``emergency`` and ``urgent``.
    """
    return rank(severity) >= _RANK["urgent"]
