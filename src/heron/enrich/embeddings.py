"""Sentence embeddings from wordllama's static token vectors, shipped in its wheel (no download).

256-dimensional, L2-normalised, a few thousand texts per second on one core;
loaded once per process (~110 MB).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 256
_model: Any = None
_lock = threading.Lock()


def model() -> Any:
    """The wordllama model, loaded offline from the installed package on first use."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import wordllama

                _model = wordllama.WordLlama.load(
                    cache_dir=Path(wordllama.__file__).parent, disable_download=True, dim=DIMENSIONS
                )
    return _model


def embed(texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
    """(len(texts), 256) float32, rows L2-normalised; empty texts give zero rows."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    keep = [i for i, text in enumerate(texts) if text.strip()]
    if keep:
        vectors = model().embed([texts[i] for i in keep], norm=True, batch_size=batch_size)
        out[keep] = np.asarray(vectors, dtype=np.float32)
    return out
