"""Concept drift: the same kind of traffic getting worse outcomes.

Turns' outcomes (satisfaction, frustrated, thumbs up where given) stream, once their session has
settled (an hour: later turns can no longer revise them), through detectors
per outcome and segment (total, model, prompt version, topic): ADWIN on each,
Page-Hinkley on satisfaction, HDDM_A on the binary ones; a change for the
worse is stored as an anomaly of kind ``concept:<detector>`` when the level moved enough to act
on (heron.stats.support: 0.05 of an outcome in [0, 1]; 0.0394 against 0.0392 is not news). With each
drift run, segments whose outcome degraded while their share of traffic held
(heron.stats.segments) are stored as drift rows: feature
``concept:<dim>=<value>:<outcome>``, test ``segment``. Accuracy, precision and
recall join the outcomes once labels arrive.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from heron.analytics.drift import finite
from heron.stats.detectors import ADWIN, HDDM_A, DriftDetector, PageHinkley
from heron.stats.segments import compare_segments
from heron.stats.support import judge
from heron.store.base import Store

DAY = 86400.0

OUTCOMES = {"satisfaction": True, "frustrated": False, "thumbs_up": True}
"""Outcome streams, and whether higher is better."""
SEGMENT_DIMS = ("model", "prompt_version", "topic_id")
SETTLE = 3600.0
"""A turn's satisfaction is final once its session could no longer continue (the session gap)."""


def watch(store: Store, project: str, now: float) -> list[dict[str, Any]]:
    """Stream settled turns' outcomes through the detectors of each (outcome, segment); store changes for the worse."""
    state_name = f"concept:{project}"
    saved = store.load_state(state_name)  # type: ignore[attr-defined]
    state: dict[str, Any] = {"last": now - 8 * DAY, "detectors": {}}
    if saved:
        try:
            state = pickle.loads(saved)
        except Exception:  # state from an older Heron's detectors: start afresh rather than stop watching
            pass
    until = now - SETTLE
    if until <= state["last"]:
        return []
    rows = store.outcome_rows(project, state["last"], until)  # type: ignore[attr-defined]
    found: list[dict[str, Any]] = []
    detectors: dict[tuple[str, str, str], dict[str, DriftDetector]] = state["detectors"]
    for outcome, better_high in OUTCOMES.items():
        values = rows[outcome].astype(np.float64)
        segments = [("", "", np.ones(len(values), dtype=bool))]
        for dim in SEGMENT_DIMS:
            column = rows[dim]
            segments += [(dim, str(v), column == v) for v in np.unique(column) if v != ""]
        for dim, value, mask in segments:
            keep = mask & np.isfinite(values)
            if not keep.any():
                continue
            watching = detectors.setdefault((outcome, dim, value), _detectors(outcome))
            for which, detector in watching.items():
                # ADWIN sees the outcome and reports changes either way; the one-sided detectors see "badness".
                stream = values[keep] if which == "adwin" or outcome == "satisfaction" else (1.0 - values[keep] if better_high else values[keep])
                for when, x in zip(rows["t"][keep].tolist(), stream.tolist(), strict=True):
                    before = detector.get()  # the level the new value is judged against
                    detector.update(x)
                    worse = which != "adwin" or (detector.get() < before) == better_high
                    if detector.drift_detected and worse and judge(outcome, detector.get(), before).matters:
                        found.append({"t": when, "bucket_s": 0, "metric": outcome, "dim": dim, "value": value,
                                      "observed": detector.get(), "expected": before, "low": None, "high": None,
                                      "score": abs(detector.get() - before), "kind": f"concept:{which}",
                                      "detected_at": now})  # fmt: skip
    state["last"] = until
    store.write_anomalies(project, found)  # type: ignore[attr-defined]
    store.save_state(state_name, pickle.dumps(state))  # type: ignore[attr-defined]
    return found


def _detectors(outcome: str) -> dict[str, DriftDetector]:
    """ADWIN on every outcome; Page-Hinkley for a falling satisfaction; HDDM_A for a rising share of bad binary outcomes.

    Page-Hinkley is scaled to satisfaction's spread (about 0.3: threshold 50 sigma, delta sigma/4,
    docs/concept-drift.md); HDDM_A rather than DDM for binary outcomes, which false-alarmed
    on 2 of 50 stationary streams against DDM's 19.
    """
    if outcome == "satisfaction":
        return {"adwin": ADWIN(), "page_hinkley": PageHinkley(threshold=15.0, delta=0.075, direction="down")}
    return {"adwin": ADWIN(), "hddm_a": HDDM_A(direction="up")}


def segments(store: Store, project: str, now: float) -> list[dict[str, Any]]:
    """Segments whose outcome got worse while their share of traffic held: the last day vs the week before."""
    reference, current = (now - 8 * DAY, now - DAY), (now - DAY, now)
    rows: list[dict[str, Any]] = []
    for dim in SEGMENT_DIMS:
        ref = store.ux_summary(project, *reference, group_by=dim)  # type: ignore[attr-defined]
        cur = store.ux_summary(project, *current, group_by=dim)  # type: ignore[attr-defined]
        for outcome, column, better_high in (("satisfaction", "satisfaction_avg", True), ("frustrated", "frustration_rate", False)):
            shifts = compare_segments(_rates(ref, column), _rates(cur, column), higher_is_better=better_high)
            for shift in shifts:
                rows.append({"computed_at": now, "reference_start": reference[0], "reference_end": reference[1],
                             "current_start": current[0], "current_end": current[1],
                             "feature": f"concept:{dim}={shift.segment}:{outcome}", "kind": shift.kind, "test": "segment",
                             "statistic": finite(shift.outcome_cur - shift.outcome_ref), "p_value": finite(shift.p_value),
                             "threshold": 0.01, "score": finite(1.0 - shift.p_value) if shift.p_value == shift.p_value else None,
                             "drifted": shift.kind in ("concept", "both"), "n_reference": 0, "n_current": 0})  # fmt: skip
    store.write_drift(project, rows)  # type: ignore[attr-defined]
    return rows


def _rates(rows: list[dict[str, Any]], column: str) -> dict[str, tuple[float, float]]:
    return {str(r["group"]): (float(r["interactions"]), float(r[column])) for r in rows
            if r["group"] is not None and r[column] is not None}  # fmt: skip

