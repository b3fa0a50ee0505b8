"""Fine-tune the MiniLM encoder on the screen's labelled examples (TensorFlow, ``.venv-rasa``).

Run by ``make model`` (scripts/model.sh) as ``.venv-rasa/bin/python -m waymark.screen.finetune``:
TensorFlow is already in the Rasa environment, so the gateway's environment needs no deep
learning framework at all; both run the result with the numpy forward pass in
:mod:`waymark.screen.encoder`. The weights are written to the screen's disk cache under a key of
the training data and the code (:func:`waymark.screen.cache.encoder_path`), so this only trains
when either changed (about 12 minutes on two cores for 13,500 examples; the same data gives
the same weights).

The recipe is measured by holding out whole training writers (the examples of people the
model never read): ``python -m waymark.screen.evaluate --encoder-held W1,W2,...`` (in
.venv-rasa) fine-tunes without them and screens their examples with the n-gram classifier alone
and with this encoder averaged in; the figures are in the comment on ``ENCODER_SHARE`` in
core.py. The learning rate is 1e-4, not the 5e-5 first used. On two groups of three held-out
writers (extra_in_passing, extra_minimising and extra_boys, 1,368 examples;
extra_parents_everyday, extra_many_lives and extra_banter, 1,385; a scratch measurement), it
ranked their urgent and emergency examples better, alone (recall at 2% of harmless examples
paged 0.83 -> 0.86 and 0.79 -> 0.87) and averaged 3:7 with the n-gram classifier (0.92 -> 0.94
and 0.91 -> 0.94).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from waymark.screen import cache, data, encoder
from waymark.screen.model import CATEGORIES, Example
from waymark.screen.severity import SEVERITIES

EPOCHS = 3
BATCH = 32
LEARNING_RATE = 1e-4
WEIGHT_DECAY = 0.01
WARMUP = 0.1
DROPOUT = 0.1
#: Harmless messages count double, as in the n-gram classifier.
NONE_WEIGHT = 2.0
SEED = 20261128


def _batches(texts: Sequence[str], lengths: Sequence[int], epoch: int) -> list[list[int]]:
    # A fixed pseudo-random order per epoch (CRC-32, as in model.py), then batches of similar
    # length within each window of 50 batches, so little time goes on padding (about half).
    def key(i: int) -> int:
        return zlib.crc32(f"{epoch}:{texts[i]}".encode())

    order = sorted(range(len(texts)), key=key)
    window = BATCH * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: (lengths[i], key(i)))
        batches.extend(chunk[k : k + BATCH] for k in range(0, len(chunk), BATCH))
    return sorted(batches, key=lambda b: zlib.crc32(f"{epoch}:{b}".encode()))


def forward(tf: Any, var: dict[str, Any], ids: Any, mask: Any, *, training: bool) -> Any:
    """The encoder and head in TensorFlow: the same computation as :mod:`waymark.screen.encoder`.

    Args:
        tf: The ``tensorflow`` module (imported by the caller, so this module imports without it).
        var: Weights by Hugging Face name, plus ``head.weight`` and ``head.bias``.
        ids: ``(batch, width)`` token ids, padded with 0.
        mask: ``(batch, width)`` 1.0 for real tokens, 0.0 for padding.
        training: Apply dropout.

    Returns:
        ``(batch, 4 + len(CATEGORIES))`` logits: severities, then categories.
    """
    head_size = encoder.HIDDEN // encoder.N_HEADS

    def dense(x: Any, name: str) -> Any:
        return tf.matmul(x, var[name + ".weight"], transpose_b=True) + var[name + ".bias"]

    def layer_norm(x: Any, name: str) -> Any:
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        normed = (x - mean) * tf.math.rsqrt(variance + 1e-12)
        return normed * var[name + ".weight"] + var[name + ".bias"]

    def drop(x: Any) -> Any:
        return tf.nn.dropout(x, rate=DROPOUT) if training else x

    n = tf.shape(ids)[1]

    def heads(t: Any) -> Any:
        return tf.transpose(
            tf.reshape(t, [tf.shape(t)[0], n, encoder.N_HEADS, head_size]), [0, 2, 1, 3]
        )

    x = (
        tf.gather(var["embeddings.word_embeddings.weight"], ids)
        + var["embeddings.position_embeddings.weight"][:n]
        + var["embeddings.token_type_embeddings.weight"][0]
    )
    x = drop(layer_norm(x, "embeddings.LayerNorm"))
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for i in range(encoder.N_LAYERS):
        p = f"encoder.layer.{i}."
        q = heads(dense(x, p + "attention.self.query"))
        k = heads(dense(x, p + "attention.self.key"))
        v = heads(dense(x, p + "attention.self.value"))
        scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(head_size) + bias
        att = drop(tf.nn.softmax(scores, axis=-1))
        ctx = tf.reshape(tf.transpose(tf.matmul(att, v), [0, 2, 1, 3]), tf.shape(x))
        x = layer_norm(
            x + drop(dense(ctx, p + "attention.output.dense")), p + "attention.output.LayerNorm"
        )
        hidden = tf.nn.gelu(dense(x, p + "intermediate.dense"), approximate=False)
        x = layer_norm(x + drop(dense(hidden, p + "output.dense")), p + "output.LayerNorm")
    m = mask[:, :, None]
    pooled = tf.reduce_sum(x * m, axis=1) / tf.reduce_sum(m, axis=1)
    return dense(drop(pooled), "head")


def train(examples: Sequence[Example], *, epochs: int = EPOCHS, log: bool = True) -> dict[str, Any]:
    """Fine-tune the pretrained encoder and a severity/category head on normalised examples.

    Args:
        examples: Labelled examples whose text is already normalised.
        epochs: Passes over the examples.
        log: Print progress to stderr.

    Returns:
        The weights by name (the encoder's Hugging Face names, plus ``head.weight`` and
        ``head.bias``), as float32 numpy arrays.

    Raises:
        RuntimeError: If the pretrained model package is not installed.
    """
    import tensorflow as tf

    model_dir = encoder.package_dir()
    if model_dir is None:
        raise RuntimeError(f"the {encoder.PACKAGE} package is not installed")
    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    base = encoder.read_safetensors(model_dir / "model.safetensors")
    tokenizer = encoder.WordPiece(model_dir / "vocab.txt")
    names = [k for k in base if k != "pooler.dense.weight" and not k.startswith("pooler.")]
    var = {k: tf.Variable(base[k], name=k.replace(".", "_")) for k in names}
    n_out = len(SEVERITIES) + len(CATEGORIES)
    rng = np.random.default_rng(SEED)
    var["head.weight"] = tf.Variable(
        rng.normal(0.0, 0.02, (n_out, encoder.HIDDEN)).astype(np.float32), name="head_weight"
    )
    var["head.bias"] = tf.Variable(np.zeros(n_out, np.float32), name="head_bias")
    texts = [ex.text for ex in examples]
    ids = [tokenizer.encode(t) for t in texts]
    sev = np.array([SEVERITIES.index(ex.severity) for ex in examples], np.int32)
    cats = np.array(
        [[1.0 if c in ex.categories else 0.0 for c in CATEGORIES] for ex in examples], np.float32
    )
    weights = np.where(sev == 0, NONE_WEIGHT, 1.0).astype(np.float32)
    steps = epochs * math.ceil(len(texts) / BATCH)
    warm = max(1, int(WARMUP * steps))

    def rate(step: int) -> float:
        if step < warm:
            return LEARNING_RATE * (step + 1) / warm
        return LEARNING_RATE * max(0.0, (steps - step) / (steps - warm))

    optimizer = tf.keras.optimizers.AdamW(
        learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, epsilon=1e-8
    )
    no_decay = {k for k in var if "LayerNorm" in k or k.endswith(".bias")}
    optimizer.exclude_from_weight_decay(var_names=[var[k].name for k in no_decay])
    trainable = list(var.values())

    @tf.autograph.experimental.do_not_convert
    def pairs(grads: Any) -> list[tuple[Any, Any]]:
        # Outside autograph, which rewrites zip() without its strict argument.
        return list(zip(grads, trainable, strict=True))

    # One signature for every batch width, so the graph is traced once.
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, len(CATEGORIES)], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ]
    )
    def step_fn(b_ids: Any, b_mask: Any, b_sev: Any, b_cats: Any, b_w: Any) -> Any:
        with tf.GradientTape() as tape:
            z = forward(tf, var, b_ids, b_mask, training=True)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=b_sev, logits=z[:, : len(SEVERITIES)]
            )
            bce = tf.nn.sigmoid_cross_entropy_with_logits(
                labels=b_cats, logits=z[:, len(SEVERITIES) :]
            )
            loss = tf.reduce_sum(ce * b_w) / tf.reduce_sum(b_w) + tf.reduce_mean(bce)
        grads = tape.gradient(loss, trainable)
        optimizer.apply_gradients(pairs(grads))
        return loss

    start = time.monotonic()
    step = 0
    for epoch in range(epochs):
        for batch in _batches(texts, [len(i) for i in ids], epoch):
            width = max(len(ids[i]) for i in batch)
            b_ids = np.zeros((len(batch), width), np.int32)
            b_mask = np.zeros((len(batch), width), np.float32)
            for row, i in enumerate(batch):
                b_ids[row, : len(ids[i])] = ids[i]
                b_mask[row, : len(ids[i])] = 1.0
            optimizer.learning_rate.assign(rate(step))
            loss = step_fn(b_ids, b_mask, sev[batch], cats[batch], weights[batch])
            step += 1
        if log:
            print(
                f"epoch {epoch + 1}/{epochs}: loss {float(loss):.3f}, "
                f"{time.monotonic() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    return {k: v.numpy() for k, v in var.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Train and cache the fine-tuned encoder unless the cache already holds it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="train even when cached")
    args = parser.parse_args(argv)
    path = cache.encoder_path()
    if path is None:
        print("screen encoder: WAYMARK_SCREEN_CACHE=off, nothing to build", file=sys.stderr)
        return 0
    if path.exists() and not args.force:
        print(f"screen encoder: cached at {path}", file=sys.stderr)
        return 0
    weights = train(data.normalised(data.all_examples()))
    if cache.encoder_path() != path:
        # The data or code changed while training: these weights belong to neither version.
        print("screen encoder: inputs changed while training; run again", file=sys.stderr)
        return 1
    cache.save_encoder(path, weights)
    print(f"screen encoder: trained and cached at {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
