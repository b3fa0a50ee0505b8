"""The core imports neither FastAPI nor rasa_sdk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_waymark_imports_neither_fastapi_nor_rasa_sdk() -> None:
    script = """
import importlib, pkgutil, sys
import waymark
for info in pkgutil.walk_packages(waymark.__path__, "waymark."):
    if ".migrations" in info.name:
        continue
    importlib.import_module(info.name)
banned = ("fastapi", "rasa_sdk", "starlette", "rasa")
bad = sorted(m for m in sys.modules if m.split(".")[0] in banned)
print(",".join(bad))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
