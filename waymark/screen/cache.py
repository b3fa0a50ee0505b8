"""A disk cache of the trained classifier, so that a restart does not train it again.

Training is deterministic (see model.py), so the weights are a function of the training data and
of the code that turns text into features and trains on them; the cache key hashes exactly those
files. A restarted API is ready to take webhooks in under a second instead of after ~15 s of
training. The cache holds numbers only and is read with ``allow_pickle=False``.

``WAYMARK_SCREEN_CACHE`` names the directory (default ``~/.cache/waymark/screen``); ``off``
turns the cache off, so every process trains.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from waymark.screen.model import N_FEATURES, Model

CACHE_ENV = "WAYMARK_SCREEN_CACHE"
_HERE = Path(__file__).parent
#: What the trained weights depend on: the examples, how they are read and expanded, how text
#: is normalised and featurised, and the trainer.
_INPUTS = ("data.py", "model.py", "normalise.py")

_log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """Return the cache directory, or None when the cache is turned off."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() == "off":
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "waymark" / "screen"


def cache_key() -> str:
    """Return a hash of every file the trained weights depend on."""
    digest = hashlib.sha256()
    paths = [_HERE / name for name in _INPUTS] + sorted((_HERE / "data").glob("*.yml"))
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _load(path: Path) -> Model | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            rows, values, bias = stored["rows"], stored["values"], stored["bias"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        _log.warning("screen model cache unreadable; training again")
        return None
    weights = np.zeros((N_FEATURES, bias.shape[0]), dtype=np.float64)
    weights[rows] = values
    return Model(weights, bias.astype(np.float64))


def _store(path: Path, model: Model) -> None:
    rows = np.flatnonzero(np.any(model.weights != 0.0, axis=1))
    # Written under a temporary name and renamed, so a reader never sees half a file.
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(temporary, rows=rows, values=model.weights[rows], bias=model.bias)
        os.replace(temporary, path)
    except OSError as exc:
        _log.warning("screen model cache not written (%s)", type(exc).__name__)
        temporary.unlink(missing_ok=True)


def load_or_train(train: Callable[[], Model]) -> Model:
    """Return the cached model for the current inputs, training and caching it if needed.

    Args:
        train: Trains the model from the bundled examples.

    Returns:
        The trained model (from the cache when its key matches).
    """
    directory = cache_dir()
    if directory is None:
        return train()
    key = cache_key()
    path = directory / f"{key}.npz"
    model = _load(path)
    if model is None:
        model = train()
        # Files edited while training would file these weights under the wrong key.
        if cache_key() == key:
            _store(path, model)
    return model
