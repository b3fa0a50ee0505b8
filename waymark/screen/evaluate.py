"""Measure the screen on the dev split (hand-written examples the dev model never trains on).

Run: ``python -m waymark.screen.evaluate [--show] [--cv | --by-writer]`` from the repository
root. ``--cv`` measures 5-fold cross-validation over all hand-written examples instead (each
example screened by a model that never trained on it). ``--by-writer`` holds out one writer at a
time: the figure that predicted how the screen does on people it never read, and the one the
thresholds were chosen on (with the development sets in eval/). These figures are for the lexicon
and the n-gram classifier: the fine-tuned encoder would need a fine-tune per held-out writer
(about 12 minutes each). ``--encoder-held W1,W2,...`` (in ``.venv-rasa``, which has TensorFlow)
fine-tunes once without those writers and screens their examples with the n-gram classifier
alone and with the encoder averaged in.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Iterable, Sequence

from waymark.screen import data
from waymark.screen.core import PURE_POLICY, Blend, Policy, Predictor, screen_with
from waymark.screen.model import Example, train
from waymark.screen.normalise import normalise
from waymark.screen.severity import is_paged, rank


def evaluate(
    model: Predictor,
    examples: Sequence[Example],
    *,
    show: bool = False,
    policy: Policy = PURE_POLICY,
) -> dict[str, float]:
    """Screen every example and compute the figures the targets are stated in.

    Args:
        model: Classifier to screen with.
        examples: Labelled examples (raw text).
        show: Print each mistake to stdout.
        policy: Thresholds to screen with.

    Returns:
        Figures: recall of urgent+emergency as paged, emergencies paged, concerns flagged,
        negatives paged and flagged (fractions), with counts.
    """
    paged_pos = flagged_concern = emerg_paged = neg_paged = neg_flagged = 0
    n_pos = n_concern = n_emerg = n_neg = 0
    for ex in examples:
        got = screen_with(ex.text, model, policy=policy)
        bad = False
        if ex.severity in ("urgent", "emergency"):
            n_pos += 1
            paged_pos += is_paged(got.severity)
            bad = not is_paged(got.severity)
            if ex.severity == "emergency":
                n_emerg += 1
                emerg_paged += is_paged(got.severity)
        elif ex.severity == "concern":
            n_concern += 1
            flagged_concern += got.disclosure
            bad = not got.disclosure
        else:
            n_neg += 1
            neg_paged += is_paged(got.severity)
            neg_flagged += got.disclosure
            bad = got.disclosure
        if show and (bad or rank(got.severity) != rank(ex.severity)):
            mark = "MISS" if bad else "sev "
            print(f"{mark} want={ex.severity:9} got={got.severity:9} {ex.text!r}")
            if bad:
                print("      ", "; ".join(got.evidence))
    return {
        "paged_recall": paged_pos / max(n_pos, 1),
        "n_urgent_emergency": n_pos,
        "emergency_paged": emerg_paged / max(n_emerg, 1),
        "n_emergency": n_emerg,
        "concern_flagged": flagged_concern / max(n_concern, 1),
        "n_concern": n_concern,
        "negatives_paged": neg_paged / max(n_neg, 1),
        "negatives_flagged": neg_flagged / max(n_neg, 1),
        "n_negatives": n_neg,
    }


#: Figures pooled across folds, each weighted by the count it is a fraction of.
_POOLED = (
    ("paged_recall", "n_urgent_emergency"),
    ("emergency_paged", "n_emergency"),
    ("concern_flagged", "n_concern"),
    ("negatives_paged", "n_negatives"),
    ("negatives_flagged", "n_negatives"),
)


def _pool(per_fold: Iterable[dict[str, float]]) -> dict[str, float]:
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for figures in per_fold:
        for key, n_key in _POOLED:
            sums[key] = sums.get(key, 0.0) + figures[key] * figures[n_key]
            counts[key] = counts.get(key, 0.0) + figures[n_key]
    return {key: sums[key] / max(counts[key], 1.0) for key in sums}


def cross_validate(folds: int = 5, *, policy: Policy = PURE_POLICY) -> dict[str, float]:
    """Screen every hand-written example with a model trained without its fold.

    Folds are chosen by CRC-32 of the text (deterministic); templates always train.

    Args:
        folds: Number of folds.
        policy: Thresholds to screen with.

    Returns:
        The figures of :func:`evaluate`, pooled over all folds.
    """
    hand = data.hand_written()
    templates = data.templated()
    fold_of = [zlib.crc32(ex.text.encode("utf-8")) % folds for ex in hand]

    def fold(k: int) -> dict[str, float]:
        held = [ex for ex, f in zip(hand, fold_of, strict=True) if f == k]
        rest = [ex for ex, f in zip(hand, fold_of, strict=True) if f != k]
        return evaluate(train(data.normalised(rest + templates)), held, policy=policy)

    return _pool(fold(k) for k in range(folds)) | {"n_examples": len(hand)}


def cross_validate_by_writer(*, policy: Policy = PURE_POLICY) -> dict[str, float]:
    """Screen each writer's examples with a model trained on every other writer's.

    Args:
        policy: Thresholds to screen with.

    Returns:
        The figures of :func:`evaluate`, pooled over all writers.
    """
    writers = data.by_writer()
    templates = data.templated()

    def fold(held: str) -> dict[str, float]:
        rest = [ex for name, exs in writers.items() if name != held for ex in exs]
        return evaluate(train(data.normalised(rest + templates)), writers[held], policy=policy)

    n_examples = sum(len(exs) for exs in writers.values())
    return _pool(fold(held) for held in writers) | {"n_examples": n_examples}


def _recall_at(model: Predictor, examples: Sequence[Example], harmless_paged: float) -> float:
    # Recall of urgent and emergency examples when the classifier alone ranks them, at the
    # threshold that pages this share of the harmless ones.
    score = {ex.text: model.predict(normalise(ex.text)).paged for ex in examples}
    harmless = sorted((score[ex.text] for ex in examples if ex.severity == "none"), reverse=True)
    threshold = harmless[int(harmless_paged * len(harmless))]
    paged = [score[ex.text] > threshold for ex in examples if is_paged(ex.severity)]
    return sum(paged) / max(len(paged), 1)


def compare_encoder(held: Sequence[str]) -> dict[str, dict[str, float]]:
    """Fine-tune without some writers; screen their examples without and with the encoder.

    Needs TensorFlow (``.venv-rasa``); takes about 12 minutes on two cores.

    Args:
        held: Writer names (data file stems, or ``original``) to hold out.

    Returns:
        For the n-gram classifier alone and for the blend: the figures of :func:`evaluate`,
        plus the classifier's own recall at 2% and 5% of harmless examples paged.

    Raises:
        ValueError: If a writer name is unknown.
    """
    from waymark.screen import finetune
    from waymark.screen.encoder import Encoder, WordPiece, package_dir

    # Both checks come before any training, which takes minutes.
    model_dir = package_dir()
    if model_dir is None:
        raise ValueError("the pretrained encoder package is not installed (make setup)")
    writers = data.by_writer()
    unknown = sorted(set(held) - set(writers))
    if unknown:
        raise ValueError(f"unknown writers {unknown}; known: {sorted(writers)}")
    rest = [ex for name, exs in writers.items() if name not in held for ex in exs]
    training = data.normalised(rest + data.templated())
    examples = [ex for name in held for ex in writers[name]]
    ngram = train(training)
    encoder = Encoder(finetune.train(training), WordPiece(model_dir / "vocab.txt"))
    out: dict[str, dict[str, float]] = {}
    for name, model in (("n-gram", ngram), ("n-gram + encoder", Blend(ngram, encoder))):
        out[name] = evaluate(model, examples) | {
            f"recall_at_{p:.0%}_harmless": _recall_at(model, examples, p) for p in (0.02, 0.05)
        }
    return out


def _print_figures(figures: dict[str, float], indent: str = "") -> None:
    for key, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{indent}{key:26} {shown}")


def main(argv: Sequence[str] | None = None) -> int:
    """Train on the train split, report figures on the dev split (or cross-validate)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--show", action="store_true", help="print every mistake")
    parser.add_argument("--cv", action="store_true", help="5-fold cross-validation instead")
    parser.add_argument(
        "--by-writer", action="store_true", help="hold out one writer at a time instead"
    )
    parser.add_argument(
        "--encoder-held",
        metavar="WRITERS",
        help="comma-separated writers to hold out while fine-tuning the encoder (.venv-rasa)",
    )
    args = parser.parse_args(argv)
    if args.encoder_held:
        for name, figures in compare_encoder(args.encoder_held.split(",")).items():
            print(name)
            _print_figures(figures, indent="  ")
        return 0
    if args.cv or args.by_writer:
        _print_figures(cross_validate_by_writer() if args.by_writer else cross_validate())
        return 0
    train_set, dev = data.split()
    model = train(data.normalised(train_set))
    figures = evaluate(model, dev, show=args.show)
    print(f"train {len(train_set)} examples, dev {len(dev)} examples")
    _print_figures(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
