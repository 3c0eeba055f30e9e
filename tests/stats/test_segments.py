"""Concept versus data drift per segment, on hand-made windows."""

from __future__ import annotations

import dataclasses
import math

import pytest
from scipy import stats

from heron.stats.segments import SegmentShift, compare_segments

# segment -> (count, thumbs-up rate); 2,000 interactions per window
REFERENCE = {"billing": (500, 0.80), "coding": (500, 0.70), "travel": (500, 0.75), "other": (500, 0.60)}


def by_segment(found: list[SegmentShift]) -> dict[str, SegmentShift]:
    return {f.segment: f for f in found}


def test_stable_windows_flag_nothing() -> None:
    current = {"billing": (510, 0.79), "coding": (490, 0.71), "travel": (505, 0.74), "other": (495, 0.61)}
    assert compare_segments(REFERENCE, current) == []


def test_same_share_worse_outcome_is_concept_drift() -> None:
    current = {**REFERENCE, "billing": (500, 0.62)}
    (found,) = compare_segments(REFERENCE, current)
    assert (found.segment, found.kind) == ("billing", "concept")
    assert (found.outcome_ref, found.outcome_cur, found.share_ref, found.share_cur) == (0.80, 0.62, 0.25, 0.25)
    assert found.p_value < 1e-6


def test_moved_share_same_outcome_is_data_drift() -> None:
    current = {"billing": (500, 0.80), "coding": (1200, 0.70), "travel": (200, 0.75), "other": (100, 0.60)}
    found = by_segment(compare_segments(REFERENCE, current))
    assert {name: f.kind for name, f in found.items()} == {"coding": "data", "travel": "data", "other": "data"}
    assert found["coding"].share_cur == pytest.approx(0.6)


def test_moved_share_and_worse_outcome_is_both() -> None:
    current = {"billing": (500, 0.80), "coding": (1000, 0.55), "travel": (300, 0.75), "other": (200, 0.60)}
    found = by_segment(compare_segments(REFERENCE, current))
    assert found["coding"].kind == "both"
    assert compare_segments(REFERENCE, current)[0].segment == "coding"  # ordered concept, both, data


def test_an_improvement_is_not_flagged_unless_lower_is_better() -> None:
    current = {**REFERENCE, "other": (500, 0.75)}
    assert compare_segments(REFERENCE, current) == []
    (found,) = compare_segments(REFERENCE, current, higher_is_better=False)  # e.g. a frustration rate
    assert (found.segment, found.kind) == ("other", "concept")


def test_small_segments_are_not_tested_for_outcome() -> None:
    reference = {**REFERENCE, "rare": (20, 0.9)}
    current = {**REFERENCE, "rare": (20, 0.1)}
    assert compare_segments(reference, current) == []
    (found,) = compare_segments(reference, current, min_count=10)
    assert (found.segment, found.kind) == ("rare", "concept")


def test_a_significant_but_small_share_wobble_is_not_data_drift() -> None:
    reference = {"a": (500_000, 0.8), "b": (500_000, 0.8)}
    current = {"a": (520_000, 0.8), "b": (480_000, 0.8)}  # p ~ 1e-140, log ratio 0.04
    assert compare_segments(reference, current) == []
    assert by_segment(compare_segments(reference, current, share_band=0.01))["a"].kind == "data"


def test_min_drop_ignores_significant_but_tiny_degradations() -> None:
    reference = {"a": (500_000, 0.800), "b": (500_000, 0.8)}
    current = {"a": (500_000, 0.795), "b": (500_000, 0.8)}
    assert [f.segment for f in compare_segments(reference, current)] == ["a"]
    assert compare_segments(reference, current, min_drop=0.01) == []


def test_new_and_vanished_segments_are_data_drift() -> None:
    current = {"billing": (500, 0.80), "coding": (500, 0.70), "travel": (500, 0.75), "agents": (500, 0.5)}
    found = by_segment(compare_segments(REFERENCE, current))
    assert found["agents"].kind == "data" and found["agents"].share_ref == 0.0
    assert math.isnan(found["agents"].outcome_ref) and math.isnan(found["agents"].p_value)
    assert found["other"].kind == "data" and found["other"].share_cur == 0.0
    assert math.isnan(found["other"].outcome_cur)


def test_p_values_are_holm_adjusted_z_tests() -> None:
    current = {"billing": (500, 0.74), "coding": (500, 0.63), "travel": (500, 0.75), "other": (500, 0.60)}
    found = by_segment(compare_segments(REFERENCE, current, alpha=0.5))

    def one_sided(n1: int, r1: float, n2: int, r2: float) -> float:
        pooled = (n1 * r1 + n2 * r2) / (n1 + n2)
        z = (r2 - r1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return float(stats.norm.cdf(z))

    raw = {name: one_sided(*REFERENCE[name], *current[name]) for name in REFERENCE}
    ranked = sorted(raw, key=raw.__getitem__)
    assert found["coding"].p_value == pytest.approx(4 * raw[ranked[0]])
    assert found["billing"].p_value == pytest.approx(max(4 * raw[ranked[0]], 3 * raw[ranked[1]]))


def test_share_p_value_is_the_holm_adjusted_chi_square_test_of_the_share() -> None:
    current = {"billing": (560, 0.80), "coding": (440, 0.70), "travel": (500, 0.75), "other": (500, 0.60)}
    found = by_segment(compare_segments(REFERENCE, current, alpha=0.99, share_band=0.0))
    raw = {
        name: stats.chi2_contingency([[REFERENCE[name][0], 1500], [current[name][0], 2000 - current[name][0]]], correction=False).pvalue
        for name in ("billing", "coding")
    }
    low, high = sorted(raw, key=raw.__getitem__)
    assert found[low].share_p_value == pytest.approx(4 * raw[low])
    assert found[high].share_p_value == pytest.approx(max(4 * raw[low], 3 * raw[high]))
    assert set(found) == {"billing", "coding"}  # equal shares give p = 1


def test_records_are_frozen_and_slotted() -> None:
    (found,) = compare_segments(REFERENCE, {**REFERENCE, "billing": (500, 0.5)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.kind = "data"  # type: ignore[misc]
    assert not hasattr(found, "__dict__")


def test_empty_windows_and_bad_input() -> None:
    assert compare_segments({}, REFERENCE) == []
    assert compare_segments(REFERENCE, {"billing": (0, 0.0)}) == []
    with pytest.raises(ValueError, match="billing"):
        compare_segments(REFERENCE, {"billing": (-1, 0.5)})
    with pytest.raises(ValueError, match="billing"):
        compare_segments(REFERENCE, {"billing": (10, 1.5)})
    with pytest.raises(ValueError):
        compare_segments(REFERENCE, REFERENCE, alpha=0.0)
