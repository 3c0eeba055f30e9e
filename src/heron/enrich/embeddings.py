"""Sentence embeddings from wordllama's static token vectors, shipped in its wheel (no download).

256-dimensional, L2-normalised; loaded once per process (~110 MB). A text's
embedding is the mean of its tokens' vectors, as ``WordLlama.embed`` computes
it, but pooled with one sparse (texts x vocabulary) product instead of a
padded (texts x tokens x 256) array: ~5x faster, and equal to float32 rounding.

:class:`EmbeddingMemo` embeds each distinct text once and remembers the newest
rows; the enrichers of one pipeline share one, so a message that frustration
and topic detection both need (and that later turns of its conversation
repeat) is embedded once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 256
Embedder = Callable[[Sequence[str]], np.ndarray]
"""Texts in, one L2-normalised row per text out."""

_model: Any = None
_tokenizer: Any = None
_lock = threading.Lock()


def model() -> Any:
    """The wordllama model, loaded offline from the installed package on first use."""
    global _model, _tokenizer
    if _model is None:
        with _lock:
            if _model is None:
                import tokenizers

                root = logging.getLogger()
                handlers, level = list(root.handlers), root.level
                import wordllama  # calls logging.basicConfig(level=INFO) on import: undone below

                root.handlers[:] = handlers
                root.setLevel(level)
                loaded = wordllama.WordLlama.load(
                    cache_dir=Path(wordllama.__file__).parent, disable_download=True, dim=DIMENSIONS
                )
                # A copy without padding: pooling reads each text's own tokens, no pad columns to mask.
                tokenizer = tokenizers.Tokenizer.from_str(loaded.tokenizer.to_str())
                tokenizer.no_padding()
                tokenizer.no_truncation()
                _tokenizer, _model = tokenizer, loaded
    return _model


def embed(texts: Sequence[str], *, batch_size: int = 4096) -> np.ndarray:
    """(len(texts), 256) float32, rows L2-normalised; empty texts (and texts without tokens) give zero rows."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    keep = [i for i, text in enumerate(texts) if text and not text.isspace()]
    if not keep:
        return out
    import scipy.sparse as sp

    vectors = model().embedding
    for start in range(0, len(keep), batch_size):
        rows = keep[start : start + batch_size]
        encoded = _tokenizer.encode_batch_fast([_clean(texts[i]) for i in rows], add_special_tokens=False)
        ids = [e.ids for e in encoded]
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, ids), dtype=np.int64, count=len(ids)), out=indptr[1:])
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(indptr[-1]))
        np.clip(flat, 0, vectors.shape[0] - 1, out=flat)
        counts = sp.csr_matrix(
            (np.ones(len(flat), dtype=np.float32), flat, indptr), shape=(len(rows), vectors.shape[0])
        )
        sums = np.asarray(counts @ vectors, dtype=np.float32)  # the mean's direction; its length goes below
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        out[rows] = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    return out


def _clean(text: str) -> str:
    """Lone surrogates (broken UTF-16 from a client) would make the tokenizer raise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


class EmbeddingMemo:
    """An :data:`Embedder` that embeds each distinct text once and remembers the newest ``size`` rows.

    Called with texts, it embeds (in one call to ``embedder``, default
    :func:`embed`) only those it does not hold, shortest first. Rows live in
    one (size, dimensions) ring, the oldest overwritten first. One memo
    serves one thread (the enrichment worker); :attr:`embedded` counts the
    texts actually embedded.
    """

    __slots__ = ("_embed", "_slots", "_texts", "_matrix", "_next", "_size", "embedded")

    def __init__(self, embedder: Embedder | None = None, *, size: int = 20_000) -> None:
        self._embed: Embedder = embedder if embedder is not None else embed
        self._size = max(0, int(size))
        self._slots: dict[str, int] = {}
        self._texts: list[str | None] = [None] * self._size
        self._matrix: np.ndarray | None = None
        self._next = 0
        self.embedded = 0

    def __len__(self) -> int:
        return len(self._slots)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        slots = self._slots
        missing = sorted({t for t in texts if t not in slots}, key=len)  # an embedder that pads pads little
        if not missing:
            if self._matrix is None:  # nothing held, so nothing asked
                return np.zeros((0, DIMENSIONS), dtype=np.float32)
            return self._matrix[[slots[t] for t in texts]]
        fresh = np.asarray(self._embed(missing), dtype=np.float32).reshape(len(missing), -1)
        self.embedded += len(missing)
        index = dict(zip(missing, range(len(missing))))
        out = np.empty((len(texts), fresh.shape[1]), dtype=np.float32)
        hit = [(row, slots[t]) for row, t in enumerate(texts) if t in slots]
        if hit:
            assert self._matrix is not None
            rows, held = zip(*hit)
            out[list(rows)] = self._matrix[list(held)]
        new = [(row, index[t]) for row, t in enumerate(texts) if t in index]
        rows, made = zip(*new)
        out[list(rows)] = fresh[list(made)]
        self._remember(missing, fresh)
        return out

    def _remember(self, texts: list[str], rows: np.ndarray) -> None:
        if not self._size:
            return
        if self._matrix is None or self._matrix.shape[1] != rows.shape[1]:
            self._matrix = np.zeros((self._size, rows.shape[1]), dtype=np.float32)
            self._slots.clear()
            self._texts = [None] * self._size
        for text, row in zip(texts[-self._size :], rows[-self._size :], strict=True):
            slot = self._next
            old = self._texts[slot]
            if old is not None:
                del self._slots[old]
            self._texts[slot] = text
            self._slots[text] = slot
            self._matrix[slot] = row
            self._next = (slot + 1) % self._size
