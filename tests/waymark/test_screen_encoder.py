"""Tests for the screen's sentence encoder (waymark.screen.encoder) and its fine-tuning.

The reference token ids and vector values were computed once with the Hugging Face tokenizer
and sentence-transformers (PyTorch) on the same packaged model, so these tests hold the numpy
port to the original implementation.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.support.processes import run_python
from waymark.screen import cache, encoder
from waymark.screen.core import Blend, default_model

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

REFERENCE = [
    (
        "im scared 2 go home, he said hed hurt me",
        [101, 10047, 6015, 1016, 2175, 2188, 1010, 2002, 2056, 2002, 2094, 3480, 2033, 102],
        [0.07958, -0.00518, -0.03987, 0.03969, 0.01546, -0.01473],
    ),
    (
        "Café, naïve!! kms lol",
        [101, 7668, 1010, 15743, 999, 999, 2463, 2015, 8840, 2140, 102],
        [0.09689, 0.00648, 0.01528, 0.0388, 0.02267, 0.00695],
    ),
]


@pytest.fixture(scope="module")
def pretrained() -> encoder.Encoder:
    model = encoder.pretrained()
    assert model is not None, f"{encoder.PACKAGE} is not installed (make setup)"
    return model


@pytest.mark.parametrize(("text", "ids", "vector"), REFERENCE)
def test_numpy_port_matches_the_reference_implementation(
    pretrained: encoder.Encoder, text: str, ids: list[int], vector: list[float]
) -> None:
    assert pretrained.tokenizer.encode(text) == ids
    # sentence-transformers ends this model with a unit-length normalisation; the screen's head
    # reads the mean-pooled vector itself, so the reference is compared after normalising.
    embedded = pretrained.embed(text)
    assert np.allclose((embedded / np.linalg.norm(embedded))[:6], vector, atol=2e-5)


def test_long_messages_are_truncated_not_rejected(pretrained: encoder.Encoder) -> None:
    ids = pretrained.tokenizer.encode("help " * 500)
    assert len(ids) == encoder.MAX_TOKENS
    assert pretrained.embed("help " * 500).shape == (encoder.HIDDEN,)
    assert pretrained.tokenizer.encode("") == [pretrained.tokenizer.cls, pretrained.tokenizer.sep]


def test_the_screen_uses_the_built_encoder() -> None:
    assert isinstance(default_model(), Blend), "the screen encoder is not built: make model"


def test_encoder_cache_key_follows_the_training_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    assert cache.load_encoder() is None
    path = cache.encoder_path()
    assert path is not None and path.parent == tmp_path
    cache.save_encoder(path, {"head.bias": np.ones(3, np.float32)})
    loaded = cache.load_encoder()
    assert loaded is not None and np.array_equal(loaded["head.bias"], np.ones(3))
    path.write_bytes(b"not an archive")
    assert cache.load_encoder() is None
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    assert cache.encoder_path() is None and cache.load_encoder() is None


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason=".venv-rasa is missing (make setup)")
def test_tensorflow_training_graph_computes_what_numpy_runs() -> None:
    # The encoder trains in TensorFlow and runs in numpy: the two forward passes must be the
    # same function, or the screen would run a model other than the one that was trained.
    built = cache.encoder_path()
    assert built is not None and built.exists(), "the screen encoder is not built: make model"
    texts = ["my stepdad hits me", "i could murder a pizza", "they said dont tell ur mum"]
    code = f"""
import json, numpy as np, tensorflow as tf
from waymark.screen import cache, encoder, finetune
weights = cache.load_encoder()
tok = encoder.WordPiece(encoder.package_dir() / "vocab.txt")
ids = [tok.encode(t) for t in {texts!r}]
width = max(map(len, ids))
b_ids = np.zeros((len(ids), width), np.int32)
mask = np.zeros((len(ids), width), np.float32)
for row, i in enumerate(ids):
    b_ids[row, :len(i)] = i
    mask[row, :len(i)] = 1.0
var = {{k: tf.constant(v) for k, v in weights.items()}}
z = finetune.forward(tf, var, b_ids, mask, training=False).numpy()
print(json.dumps(z.tolist()))
"""
    env = os.environ | {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = run_python(str(RASA_PYTHON), code, env)
    from_tf = np.array(json.loads(out.strip().splitlines()[-1]))
    fine_tuned = encoder.load_fine_tuned()
    assert fine_tuned is not None
    from_numpy = np.array([fine_tuned.logits(t) for t in texts])
    assert np.allclose(from_tf, from_numpy, atol=1e-3), np.abs(from_tf - from_numpy).max()
