"""Run the disclosure screen over the held-out evaluation set and print how it did.

Usage (from the repository root)::

    .venv/bin/python -m eval.screen_eval            # every set: headline figures, then the
                                                    # held-out sets' tables (no message texts)
    .venv/bin/python -m eval.screen_eval --set eval/fresh_a.yml   # one set: tables, misses,
                                                    # false alarms with their texts
    .venv/bin/python -m eval.screen_eval --json     # the same figures as JSON
    .venv/bin/python -m eval.screen_eval --counts   # what is in a set (no screen needed)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from eval.metrics import (
    Expected,
    Pair,
    Predicted,
    composition,
    evaluate,
    false_alarms,
    format_composition,
    format_report,
    format_summary,
    make_prediction,
    misses,
    parse_items,
)

EVAL_DIR = Path(__file__).parent
DEFAULT_SET = EVAL_DIR / "messages.yml"
#: Every evaluation set and how it may be used (eval/README.md). "dev" sets have been read and
#: tuned on; "held-out" sets are only ever scored in aggregate, so their figures still predict
#: how the screen does on people it never read.
SETS: dict[str, str] = {
    "messages.yml": "dev",
    "fresh_a.yml": "dev",
    "fresh_b.yml": "dev",
    "fresh_c.yml": "held-out",
    "fresh_d.yml": "held-out",
    "fresh_e.yml": "held-out",
    "fresh_f.yml": "held-out",
    "fresh_g.yml": "held-out",
    "fresh_h.yml": "held-out",
}


def load_set(path: Path = DEFAULT_SET) -> list[Expected]:
    """Load and validate the evaluation set.

    Args:
        path: A YAML file holding a list of items (see eval/README.md for the schema).

    Returns:
        The validated items.

    Raises:
        ValueError: If the file is not a list of valid items.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of items")
    return parse_items(raw)


def screen_predictor() -> Callable[[str], Predicted]:
    """Return a function that runs ``waymark.screen.screen`` and keeps severity and categories."""
    # Imported here so --counts works before the screen exists.
    from waymark.screen import screen

    def predict(text: str) -> Predicted:
        result = screen(text)
        return make_prediction(str(result.severity), [str(c) for c in result.categories])

    return predict


def run(items: Sequence[Expected], predict: Callable[[str], Predicted]) -> tuple[list[Pair], float]:
    """Predict every item.

    Args:
        items: The evaluation set.
        predict: The detector under test.

    Returns:
        The pairs, in order, and the mean seconds per message.
    """
    start = time.perf_counter()
    pairs = [(item, predict(item.text)) for item in items]
    elapsed = time.perf_counter() - start
    return pairs, elapsed / max(len(items), 1)


def _describe(pair: Pair) -> str:
    e, p = pair
    expected = f"{e.severity} {','.join(e.categories) or '-'}"
    got = f"{p.severity} {','.join(p.categories) or '-'}"
    return f"  {e.id} [{e.speaker}/{e.about}] expected {expected}; got {got}\n      {e.text}"


def load_sets(use: str | None = None) -> dict[str, list[Expected]]:
    """Load every registered evaluation set, or only those of one use.

    Args:
        use: ``"dev"`` or ``"held-out"`` to load only those; None for all.

    Returns:
        The items of each set, by file name, in registry order.
    """
    return {name: load_set(EVAL_DIR / name) for name, how in SETS.items() if use in (None, how)}


def run_all(as_json: bool) -> int:
    """Score the screen on every set; print headline figures and the held-out tables.

    Args:
        as_json: Print JSON instead of tables.

    Returns:
        The process exit code.
    """
    predict = screen_predictor()
    by_set = {name: run(items, predict)[0] for name, items in load_sets().items()}
    pooled = {
        use: [pair for name, pairs in by_set.items() if SETS[name] == use for pair in pairs]
        for use in ("dev", "held-out")
    }
    reports = {name: evaluate(pairs) for name, pairs in by_set.items()}
    pooled_reports = {use: evaluate(pairs) for use, pairs in pooled.items() if pairs}
    if as_json:
        out = {name: r.to_dict() for name, r in reports.items()}
        out |= {f"all {use}": r.to_dict() for use, r in pooled_reports.items()}
        print(json.dumps(out, indent=2))
        return 0
    rows = [(name, SETS[name], r.overall) for name, r in reports.items()]
    rows += [(f"all {use}", use, r.overall) for use, r in pooled_reports.items()]
    print("waymark.screen on every evaluation set (targets: paged recall >= 97%, no emergency")
    print("missed, hard negatives paged <= 2% and recorded <= 10%)\n")
    print(format_summary(rows))
    if "held-out" in pooled_reports:
        print("\nALL HELD-OUT SETS (read in aggregate only; see eval/README.md)\n")
        print(format_report(pooled_reports["held-out"]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", type=Path, default=None, help="one evaluation set YAML (default: every set)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--counts", action="store_true", help="describe the set only; do not run the screen"
    )
    args = parser.parse_args(argv)
    if args.set is None and not args.counts:
        return run_all(args.json)

    items = load_set(args.set or DEFAULT_SET)
    if args.counts:
        if args.json:
            print(json.dumps(composition(items), indent=2))
        else:
            print(format_composition(items))
        return 0

    pairs, seconds_each = run(items, screen_predictor())
    report = evaluate(pairs)
    missed = misses(pairs)
    alarms = false_alarms(pairs)
    if args.json:
        out = report.to_dict()
        out["n_messages"] = len(items)
        out["mean_ms_per_message"] = round(1000 * seconds_each, 3)
        out["misses"] = [e.id for e, _ in missed]
        out["false_alarms"] = [e.id for e, _ in alarms]
        print(json.dumps(out, indent=2))
        return 0

    print(f"waymark.screen on {len(items)} messages from {args.set or DEFAULT_SET}")
    print(f"mean {1000 * seconds_each:.2f} ms per message\n")
    print(format_report(report))
    print(f"\nMISSES: expected emergency/urgent, not paged ({len(missed)})")
    # Emergencies first: those are the misses that matter most.
    for pair in sorted(missed, key=lambda pr: (pr[0].severity != "emergency", pr[0].id)):
        print(_describe(pair))
    print(f"\nFALSE ALARMS: hard negatives recorded or paged ({len(alarms)})")
    for pair in sorted(
        alarms, key=lambda pr: (pr[1].severity not in ("emergency", "urgent"), pr[0].id)
    ):
        print(_describe(pair))
    return 0


if __name__ == "__main__":
    sys.exit(main())
