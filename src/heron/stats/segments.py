"""Per-segment concept drift versus data drift between a reference and a current window.

Concept drift is "same inputs, worse outcomes": a segment (topic, model, user
cohort) keeps its share of traffic while its outcome rate (thumbs-up,
satisfaction, frustration) degrades significantly. Data drift is the share
itself moving. Telling them apart matters because the fixes differ: a worse
answer to the same question is a model or prompt problem, more traffic of a
hard kind is not.

Both tests are two-proportion z-tests with Holm's correction across segments,
so ``alpha`` bounds the chance of flagging any segment by luck; a share counts
as moved only when the change is also large (``|log ratio| >= share_band``),
since with enough traffic every tiny wobble is significant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["SegmentShift", "compare_segments"]

Kind = Literal["concept", "data", "both"]
_ORDER: dict[str, int] = {"concept": 0, "both": 1, "data": 2}


@dataclass(frozen=True, slots=True)
class SegmentShift:
    """One flagged segment. Rates are NaN where a window has no traffic for it."""

    segment: str
    outcome_ref: float
    outcome_cur: float
    share_ref: float
    share_cur: float
    p_value: float
    """Holm-adjusted one-sided p of "the outcome got worse"; NaN when a window had < min_count."""
    share_p_value: float
    """Holm-adjusted two-sided p of "the share changed"."""
    kind: Kind


def compare_segments(
    reference: Mapping[str, tuple[float, float]],
    current: Mapping[str, tuple[float, float]],
    *,
    higher_is_better: bool = True,
    alpha: float = 0.01,
    min_count: int = 30,
    share_band: float = 0.2,
    min_drop: float = 0.0,
) -> list[SegmentShift]:
    """Segments whose outcome degraded (concept), whose share moved (data), or both.

    ``reference`` and ``current`` map segment -> (count, outcome rate in [0, 1]),
    e.g. ``count(*), avg(thumbs_up)`` grouped by topic. Shares are count / window
    total. The outcome is tested only where both windows hold ``min_count``; a
    drop must also reach ``min_drop`` (absolute rate). Set ``higher_is_better``
    False for rates where up is bad (frustration, errors). Sorted concept, both,
    data; most significant first within each.
    """
    if not 0 < alpha < 1 or min_count < 1 or share_band < 0 or min_drop < 0:
        raise ValueError("compare_segments needs 0 < alpha < 1, min_count >= 1, share_band >= 0, min_drop >= 0")
    names = list(dict.fromkeys([*reference, *current]))
    ref = [_checked(reference.get(s, (0, math.nan)), s) for s in names]
    cur = [_checked(current.get(s, (0, math.nan)), s) for s in names]
    total_ref = sum(n for n, _ in ref)
    total_cur = sum(n for n, _ in cur)
    if total_ref == 0 or total_cur == 0:
        return []

    sign = 1.0 if higher_is_better else -1.0
    outcome_p: list[float] = []
    share_p: list[float] = []
    for (n_ref, r_ref), (n_cur, r_cur) in zip(ref, cur):
        testable = n_ref >= min_count and n_cur >= min_count
        outcome_p.append(_worse_p(n_ref, r_ref, n_cur, r_cur, sign) if testable else math.nan)
        share_p.append(_share_p(n_ref, total_ref, n_cur, total_cur) if n_ref + n_cur >= min_count else math.nan)
    outcome_adj, share_adj = _holm(outcome_p), _holm(share_p)

    found: list[SegmentShift] = []
    for i, name in enumerate(names):
        (n_ref, r_ref), (n_cur, r_cur) = ref[i], cur[i]
        s_ref, s_cur = n_ref / total_ref, n_cur / total_cur
        degraded = outcome_adj[i] < alpha and sign * (r_ref - r_cur) >= min_drop
        moved = share_adj[i] < alpha and _log_ratio(s_ref, s_cur) >= share_band
        if degraded or moved:
            kind: Kind = "both" if degraded and moved else "concept" if degraded else "data"
            found.append(SegmentShift(name, r_ref, r_cur, s_ref, s_cur, outcome_adj[i], share_adj[i], kind))
    found.sort(key=lambda f: (_ORDER[f.kind], f.p_value if f.kind != "data" else f.share_p_value, f.segment))
    return found


def _checked(stats: tuple[float, float], segment: str) -> tuple[float, float]:
    n, rate = stats
    if not (math.isfinite(n) and n >= 0):
        raise ValueError(f"segment {segment!r}: count must be finite and >= 0, got {n!r}")
    if n > 0 and not 0.0 <= rate <= 1.0:
        raise ValueError(f"segment {segment!r}: outcome rate must be in [0, 1], got {rate!r}")
    return float(n), float(rate) if n > 0 else math.nan


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _worse_p(n_ref: float, r_ref: float, n_cur: float, r_cur: float, sign: float) -> float:
    """One-sided pooled two-proportion z-test of "current is worse than reference"."""
    pooled = (n_ref * r_ref + n_cur * r_cur) / (n_ref + n_cur)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur))
    if se == 0.0:
        return 1.0
    return _normal_cdf(sign * (r_cur - r_ref) / se)


def _share_p(n_ref: float, total_ref: float, n_cur: float, total_cur: float) -> float:
    """Two-sided two-proportion z-test of the segment's share (the 2x2 chi-square test)."""
    pooled = (n_ref + n_cur) / (total_ref + total_cur)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / total_ref + 1.0 / total_cur))
    if se == 0.0:
        return 1.0
    return math.erfc(abs(n_cur / total_cur - n_ref / total_ref) / se / math.sqrt(2.0))


def _log_ratio(s_ref: float, s_cur: float) -> float:
    if s_ref == s_cur:
        return 0.0
    if s_ref == 0.0 or s_cur == 0.0:
        return math.inf
    return abs(math.log(s_cur / s_ref))


def _holm(p: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values over the non-NaN entries (NaN stays NaN)."""
    tested = sorted((v, i) for i, v in enumerate(p) if not math.isnan(v))
    out = [math.nan] * len(p)
    running = 0.0
    for rank, (v, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * v))
        out[i] = running
    return out
