"""Run a short Python program in another interpreter (the other venv, or a fresh process)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_python(python: str, code: str, env: dict[str, str]) -> str:
    """Run ``python -c code`` from the repository root and return its standard output.

    Args:
        python: The interpreter (``.venv`` or ``.venv-rasa``).
        code: The program.
        env: The whole environment of the process.

    Returns:
        What the program printed.
    """
    out = subprocess.run(
        [python, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
        env=env,
    )
    return out.stdout
