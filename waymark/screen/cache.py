"""A disk cache of the trained classifier, so that a restart does not train it again.

Training is deterministic (see model.py), so the weights are a function of the training data and
of the code that turns text into features and trains on them; the cache key hashes exactly those
files. A restarted API is ready to take webhooks in under a second instead of after ~15 s of
training. The cache holds numbers only and is read with ``allow_pickle=False``.

The fine-tuned encoder (finetune.py) is kept in the same directory, under a key of its own
inputs; ``make model`` builds it, and the screen only reads it.

``WAYMARK_SCREEN_CACHE`` names the directory (default ``~/.cache/waymark/screen``); ``off``
turns the cache off, so every process trains the n-gram classifier and the screen runs without
the encoder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from waymark.screen.encoder import PACKAGE
from waymark.screen.model import N_FEATURES, Model

CACHE_ENV = "WAYMARK_SCREEN_CACHE"
_HERE = Path(__file__).parent
#: What the trained weights depend on: the examples, how they are read and expanded, how text
#: is normalised and featurised, and the trainer.
_INPUTS = ("data.py", "model.py", "normalise.py")
#: What the fine-tuned encoder depends on (with the examples and the base model's version).
_ENCODER_INPUTS = ("data.py", "normalise.py", "encoder.py", "finetune.py")
#: Fine-tuned encoders kept in the cache directory (older ones are deleted).
KEEP_ENCODERS = 3

_log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """Return the cache directory, or None when the cache is turned off."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() == "off":
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "waymark" / "screen"


def _digest(names: tuple[str, ...], prefix: bytes = b"") -> str:
    digest = hashlib.sha256(prefix)
    paths = [_HERE / name for name in names] + sorted((_HERE / "data").glob("*.yml"))
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def cache_key() -> str:
    """Return a hash of every file the trained weights depend on."""
    return _digest(_INPUTS)


def encoder_key() -> str:
    """Return a hash of every file the fine-tuned encoder depends on, and the base model's id."""
    try:
        base = f"{PACKAGE}=={metadata.version(PACKAGE.replace('_', '-'))}"
    except metadata.PackageNotFoundError:
        base = f"{PACKAGE} missing"
    return _digest(_ENCODER_INPUTS, base.encode("utf-8") + b"\0")


def _read(path: Path, rebuilt_by: str) -> dict[str, npt.NDArray[Any]] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        _log.warning("screen cache %s unreadable; %s", path.name, rebuilt_by)
        return None


def _write(path: Path, arrays: dict[str, Any]) -> None:
    # Written under a temporary name and renamed, so a reader never sees half a file.
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(temporary, **arrays)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def encoder_path() -> Path | None:
    """Return where the fine-tuned encoder for the current inputs lives (None: cache off)."""
    directory = cache_dir()
    return None if directory is None else directory / f"encoder-{encoder_key()}.npz"


def save_encoder(path: Path, weights: dict[str, npt.NDArray[np.float32]]) -> None:
    """Write fine-tuned encoder weights atomically (numbers only, no pickles).

    Args:
        path: Destination, from :func:`encoder_path`.
        weights: Arrays by name.
    """
    _write(path, {name: np.asarray(w, np.float32) for name, w in weights.items()})
    # Each is about 90 MB: keep the few most recently built, as scripts/model.sh does for Rasa.
    built = sorted(path.parent.glob("encoder-*.npz"), key=lambda p: p.stat().st_mtime)
    for old in built[:-KEEP_ENCODERS]:
        if old != path:
            old.unlink(missing_ok=True)


def load_encoder() -> dict[str, npt.NDArray[np.float32]] | None:
    """Return the fine-tuned encoder weights for the current inputs, or None if not built."""
    path = encoder_path()
    return None if path is None else _read(path, "run make model to build it again")


def _load(path: Path) -> Model | None:
    stored = _read(path, "training again")
    if stored is None:
        return None
    try:
        rows, values, bias = stored["rows"], stored["values"], stored["bias"]
    except KeyError:
        _log.warning("screen cache %s incomplete; training again", path.name)
        return None
    weights = np.zeros((N_FEATURES, bias.shape[0]), dtype=np.float64)
    weights[rows] = values
    return Model(weights, bias.astype(np.float64))


def _store(path: Path, model: Model) -> None:
    rows = np.flatnonzero(np.any(model.weights != 0.0, axis=1))
    try:
        _write(path, {"rows": rows, "values": model.weights[rows], "bias": model.bias})
    except OSError as exc:
        _log.warning("screen model cache not written (%s)", type(exc).__name__)


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
