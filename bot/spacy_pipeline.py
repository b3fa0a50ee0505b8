"""Build the small spaCy pipeline that Rasa's SpacyNLP loads.

The official en_core_web_* packages cannot be downloaded here, so the pipeline is a blank English
tokenizer plus the lookup lemmatizer from spacy-lookups-data (MIT). Lemmas let the word
CountVectorsFeaturizer treat "hitting", "hits" and "hit" as one feature.

Usage: python bot/spacy_pipeline.py var/spacy/en_waymark
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy


def build(out_dir: Path) -> Path:
    """Create the pipeline and save it to disk.

    Args:
        out_dir: Directory to write the pipeline to (created if missing).

    Returns:
        The directory the pipeline was written to.
    """
    nlp = spacy.blank("en")
    # Rasa's SpacyNLP wants a named model; the name appears in the model's meta.json.
    nlp.meta["name"] = "waymark"
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # initialize() loads the lookup tables from spacy-lookups-data into the pipeline, so the saved
    # directory is self-contained and does not need spacy-lookups-data at load time.
    nlp.initialize()
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    return out_dir


def main(argv: list[str]) -> int:
    """Command-line entry point.

    Args:
        argv: Command-line arguments; argv[1] is the output directory.

    Returns:
        Process exit status.
    """
    if len(argv) != 2:
        print("usage: python bot/spacy_pipeline.py OUT_DIR", file=sys.stderr)
        return 2
    out = build(Path(argv[1]))
    check = spacy.load(out)
    lemmas = [t.lemma_ for t in check("he keeps hitting me")]
    print(f"saved spaCy pipeline to {out}; lemmas check: {lemmas}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
