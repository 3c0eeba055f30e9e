"""Drift between two windows (or versions) of one project: samples from the store, tests from heron.stats.drift.

``drift_report`` answers "what changed between these two slices of traffic?":
every numeric and categorical feature the store samples, and -- when an
``embed`` function is given -- the user messages' embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from heron.stats.drift import compare
from heron.stats.drift.result import DriftReport, DriftResult

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True, slots=True)
class Window:
    """A slice of one project's traffic: a time range, optionally narrowed to one value per dimension."""

    start: float
    end: float
    filters: Mapping[str, str] = field(default_factory=dict)


def drift_report(store: Any, project: str, reference: Window, current: Window, *, embed: Embed | None = None,
                 limit: int = 100_000, text_limit: int = 2_000, seed: int = 0) -> DriftReport:
    """Test every feature of a sample of each window; ``embed`` adds the ``user_message`` embedding feature."""
    ref = dict(store.drift_sample(project, reference.start, reference.end, filters=reference.filters, limit=limit, seed=seed))
    cur = dict(store.drift_sample(project, current.start, current.end, filters=current.filters, limit=limit, seed=seed))
    if embed is not None:
        ref_texts = store.drift_texts(project, reference.start, reference.end, filters=reference.filters, limit=text_limit, seed=seed)
        cur_texts = store.drift_texts(project, current.start, current.end, filters=current.filters, limit=text_limit, seed=seed)
        if ref_texts and cur_texts:
            ref["user_message"], cur["user_message"] = embed(ref_texts), embed(cur_texts)
    kinds = {name: ("embedding" if name == "user_message" else "categorical" if values.dtype == object else "numeric")
             for name, values in ref.items()}  # fmt: skip
    return compare(ref, cur, kinds, seed=seed)


def result_dict(result: DriftResult) -> dict[str, Any]:
    return {
        "feature": result.feature, "kind": result.kind, "test": result.test, "statistic": finite(result.statistic),
        "p_value": finite(result.p_value), "threshold": result.threshold, "drifted": result.drifted,
        "score": finite(result.score), "n_reference": result.n_reference, "n_current": result.n_current,
        "reason": result.reason,
    }  # fmt: skip


def report_dict(report: DriftReport) -> dict[str, Any]:
    """JSON-ready: per-feature results, most drifted first, and the dataset summary."""
    results = sorted(report.results, key=lambda r: (-(r.score if np.isfinite(r.score) else 0.0), r.feature))
    return {
        "drifted": report.dataset_drifted,
        "share_drifted": finite(report.share_drifted),
        "score": finite(report.mean_score),
        "drifted_features": list(report.drifted_features),
        "features": [result_dict(r) for r in results],
    }


def finite(value: float | None) -> float | None:
    """JSON-safe: NaN and infinities (an untestable feature, a p-value not defined) become None."""
    return None if value is None or not np.isfinite(value) else float(value)
