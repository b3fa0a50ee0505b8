"""Run the held-out sets through the whole assistant: signed webhooks into the gateway, Rasa
with the trained model, the action server, the worker, the Twilio stand-in. A message counts
as paged when an alert covering its MessageSid paged the duty worker, and as recorded when
any alert covers it.

Usage: .venv/bin/python -m eval.assistant_eval [--json] [--limit N] [--use dev|held-out]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bench.harness import Running, running_assistant
from eval.metrics import Pair, evaluate, format_report, make_prediction
from eval.screen_eval import load_sets
from waymark.models import Alert, AlertMessage, InboundMessage, Page


def _phone(item_id: str) -> str:
    return f"+447700{zlib.crc32(item_id.encode()) % 10**6:06d}"


def _wait_until_processed(running: Running, expected: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with running.sessions() as session:
            done = session.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.status != "received")
            )
        if done is not None and done >= expected:
            return
        time.sleep(0.5)
    raise TimeoutError("the assistant did not process every message in time")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--limit", type=int, default=0, help="only the first N messages")
    parser.add_argument(
        "--use", choices=("dev", "held-out"), default="held-out", help="which sets to send"
    )
    args = parser.parse_args(argv)
    items = [item for items in load_sets(args.use).values() for item in items]
    if args.limit:
        items = items[: args.limit]

    with running_assistant("eval", RECONCILE_AFTER_SECONDS="2") as running:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as pool:
            sids = list(pool.map(lambda item: running.text(_phone(item.id), item.text), items))
        _wait_until_processed(running, len(items))
        time.sleep(3)  # the reconciler's grace period, then one pass
        elapsed = time.monotonic() - started
        pairs: list[Pair] = []
        with running.sessions() as session:
            for item, sid in zip(items, sids, strict=True):
                alert = session.scalar(
                    select(Alert)
                    .join(AlertMessage, AlertMessage.alert_id == Alert.id)
                    .join(InboundMessage, InboundMessage.id == AlertMessage.inbound_message_id)
                    .where(InboundMessage.message_sid == sid)
                )
                if alert is None:
                    pairs.append((item, make_prediction("none", [])))
                    continue
                paged = session.scalar(
                    select(func.count()).select_from(Page).where(Page.alert_id == alert.id)
                )
                severity = alert.severity
                if severity in ("emergency", "urgent") and not paged:
                    severity = "concern"  # recorded but nobody was paged
                pairs.append((item, make_prediction(severity, alert.categories)))
    report = evaluate(pairs)
    if args.json:
        print(json.dumps({**report.to_dict(), "seconds": round(elapsed, 1)}, indent=2))
    else:
        print(
            f"The whole assistant on {len(items)} messages of the {args.use} sets "
            f"({elapsed:.0f} s through the gateway)"
        )
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
