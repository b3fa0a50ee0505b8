"""Line-in, JSON-out front end to the screen: one message per line in, one JSON line out.

Run: ``python -m waymark.screen.cli < messages.txt``.
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

from waymark.screen.core import screen


def run(stdin: TextIO, stdout: TextIO) -> int:
    """Screen each line of ``stdin`` and write one JSON object per line to ``stdout``.

    Blank lines give a ``none`` result, so output line N always answers input line N.

    Args:
        stdin: Messages, one per line.
        stdout: Where the JSON lines go.

    Returns:
        The process exit code (0).
    """
    for line in stdin:
        result = screen(line.rstrip("\r\n"))
        stdout.write(json.dumps(result.to_dict(), ensure_ascii=True) + "\n")
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.stdin, sys.stdout))
