"""Streaming drift detectors against their published behaviour, their batch counterparts and river."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from heron.stats.detectors import ADWIN, DDM, HDDM_A, DriftDetector, PageHinkley

CHANGE = 1000
SEEDS = range(50)


def bernoulli(seed: int, p0: float = 0.2, p1: float = 0.6, n: int = 3000, change: int = CHANGE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.random(change) < p0, rng.random(n - change) < p1]).astype(float)


def gaussian(seed: int, m0: float = 0.0, m1: float = 1.0, n: int = 3000, change: int = CHANGE) -> np.ndarray:
    rng = np.random.default_rng(1000 + seed)
    return np.concatenate([rng.normal(m0, 1.0, change), rng.normal(m1, 1.0, n - change)])


def loop(detector: DriftDetector, xs: np.ndarray) -> list[int]:
    hits = []
    for i, x in enumerate(xs):
        detector.update(float(x))
        if detector.drift_detected:
            hits.append(i)
    return hits


def delay(hits: np.ndarray | list[int], change: int = CHANGE) -> int | None:
    after = [h for h in hits if h >= change]
    return after[0] - change if after else None


def tuned_ph() -> PageHinkley:
    """PageHinkley scaled for a unit-variance stream (river's defaults false-alarm there)."""
    return PageHinkley(threshold=50.0, delta=0.25)


DETECTORS: dict[str, Callable[[], DriftDetector]] = {
    "adwin": ADWIN,
    "adwin_clock1": lambda: ADWIN(clock=1),
    "ddm": DDM,
    "hddm_a": HDDM_A,
    "hddm_a_both": lambda: HDDM_A(direction="both"),
    "page_hinkley": PageHinkley,
    "page_hinkley_faded": lambda: PageHinkley(alpha=0.9, threshold=3.0, direction="down"),
    "page_hinkley_up": lambda: PageHinkley(alpha=1.0, threshold=10.0, direction="up"),
}


# --- published behaviour ------------------------------------------------------------------


@pytest.mark.parametrize("make", [DDM, ADWIN, HDDM_A], ids=["ddm", "adwin", "hddm_a"])
def test_bernoulli_rise_is_found_within_a_few_hundred_samples(make: Callable[[], DriftDetector]) -> None:
    delays = [delay(make().update_many(bernoulli(seed))) for seed in SEEDS]
    assert all(d is not None and d < 400 for d in delays), delays
    assert np.median([d for d in delays if d is not None]) < 100


def test_adwin_never_alarms_before_the_change_and_then_tracks_the_new_mean() -> None:
    for seed in range(10):
        xs = bernoulli(seed)
        adwin = ADWIN()
        hits = adwin.update_many(xs)
        assert hits.size and hits[0] >= CHANGE
        assert adwin.width < xs.size - CHANGE + 100  # the old regime was cut away
        assert adwin.get() == pytest.approx(0.6, abs=0.05)


def test_page_hinkley_finds_a_gaussian_mean_shift() -> None:
    delays = [delay(tuned_ph().update_many(gaussian(seed))) for seed in SEEDS]
    assert all(d is not None and d < 150 for d in delays), delays
    assert all(not (tuned_ph().update_many(gaussian(seed)) < CHANGE).any() for seed in SEEDS)


def test_page_hinkley_direction() -> None:
    up, down = gaussian(0, 0.0, 1.0), gaussian(0, 0.0, -1.0)
    assert delay(PageHinkley(threshold=50, delta=0.25, direction="up").update_many(up)) is not None
    assert PageHinkley(threshold=50, delta=0.25, direction="up").update_many(down).size == 0
    assert delay(PageHinkley(threshold=50, delta=0.25, direction="down").update_many(down)) is not None
    assert PageHinkley(threshold=50, delta=0.25, direction="down").update_many(up).size == 0


def test_one_sided_binary_detectors_ignore_a_falling_error_rate() -> None:
    for seed in range(10):
        xs = bernoulli(seed, 0.6, 0.2)
        assert delay(HDDM_A().update_many(xs)) is None
        assert delay(HDDM_A(direction="both").update_many(xs)) is not None


def test_ddm_warns_before_it_detects_a_gradual_rise() -> None:
    rng = np.random.default_rng(7)
    xs = (rng.random(6000) < np.r_[np.full(2000, 0.1), np.linspace(0.1, 0.5, 4000)]).astype(float)
    ddm = DDM()
    first_warning = first_drift = None
    for i, x in enumerate(xs):
        ddm.update(x)
        assert not (ddm.warning_detected and ddm.drift_detected)
        if ddm.warning_detected and first_warning is None:
            first_warning = i
        if ddm.drift_detected and first_drift is None:
            first_drift = i
    assert first_warning is not None and first_drift is not None and first_warning < first_drift


# Seeds out of 50 with any alarm on 10,000 stationary samples; measured counts are in docs/concept-drift.md.
FALSE_ALARM_BOUNDS: list[tuple[str, Callable[[], DriftDetector], Callable[[int], np.ndarray], int]] = [
    ("adwin", ADWIN, lambda s: bernoulli(500 + s, 0.2, 0.2, n=10_000), 2),
    ("hddm_a", HDDM_A, lambda s: bernoulli(500 + s, 0.2, 0.2, n=10_000), 5),
    ("ddm", DDM, lambda s: bernoulli(500 + s, 0.2, 0.2, n=10_000), 25),
    ("page_hinkley", tuned_ph, lambda s: gaussian(900 + s, 0.0, 0.0, n=10_000), 2),
]


@pytest.mark.parametrize(("make", "stream", "bound"), [c[1:] for c in FALSE_ALARM_BOUNDS], ids=[c[0] for c in FALSE_ALARM_BOUNDS])
def test_false_alarm_rate_on_stationary_streams(
    make: Callable[[], DriftDetector], stream: Callable[[int], np.ndarray], bound: int
) -> None:
    alarmed = sum(make().update_many(stream(seed)).size > 0 for seed in SEEDS)
    assert alarmed <= bound


# --- streaming against batch ---------------------------------------------------------------


def streams(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(500, 8000))
    return {
        "bits_ramp": (rng.random(n) < np.linspace(0.05, 0.9, n)).astype(float),
        "bits_flat": (rng.random(n) < 0.3).astype(float),
        "unit_noise": np.clip(np.abs(rng.standard_cauchy(n)), 0.0, 1.0),
        "normal": rng.normal(0.0, 1.0, n),  # PageHinkley with defaults alarms often here
    }


@pytest.mark.parametrize("name", DETECTORS)
@pytest.mark.parametrize("seed", range(4))
def test_update_many_matches_update(name: str, seed: int) -> None:
    for label, xs in streams(seed).items():
        one = DETECTORS[name]()
        if isinstance(one, (DDM, HDDM_A)) and label == "normal":
            continue
        expected = loop(one, xs)
        many = DETECTORS[name]()
        cut = xs.size // 3
        got = [*many.update_many(xs[:cut]).tolist(), *(i + cut for i in many.update_many(xs[cut:]).tolist())]
        assert got == expected, label
        assert many.get() == pytest.approx(one.get(), rel=1e-9, abs=1e-12)
        assert many.drift_detected == one.drift_detected
        assert getattr(many, "warning_detected", None) == getattr(one, "warning_detected", None)


@pytest.mark.parametrize("make", [PageHinkley, DDM, HDDM_A], ids=["page_hinkley", "ddm", "hddm_a"])
def test_get_is_the_mean_since_the_last_reset(make: Callable[[], DriftDetector]) -> None:
    xs = bernoulli(3, 0.1, 0.7)
    detector, start = make(), 0
    for i, x in enumerate(xs):
        detector.update(x)
        assert detector.get() == pytest.approx(xs[start : i + 1].mean(), rel=1e-12)
        if detector.drift_detected:
            start = i + 1


def test_adwin_get_is_the_mean_of_its_window_a_suffix_of_the_stream() -> None:
    xs = bernoulli(4, 0.2, 0.8) * 3.0 - 1.0
    adwin = ADWIN(clock=4)
    for i, x in enumerate(xs):
        adwin.update(x)
        assert adwin.get() == pytest.approx(xs[i + 1 - adwin.width : i + 1].mean(), rel=1e-9)


def test_adwin_memory_grows_logarithmically() -> None:
    adwin = ADWIN()
    adwin.update_many(np.random.default_rng(0).random(100_000))
    assert adwin.width == 100_000
    buckets = sum(len(level) for level in adwin._totals)  # private: the bucket count is the memory
    assert buckets <= (adwin.max_buckets + 1) * np.log2(adwin.width)


# --- river parity --------------------------------------------------------------------------


def river_hits(detector: object, xs: np.ndarray) -> list[int]:
    hits = []
    for i, x in enumerate(xs):
        detector.update(float(x))  # type: ignore[attr-defined]
        if detector.drift_detected:  # type: ignore[attr-defined]
            hits.append(i)
    return hits


def restarting(detector: ADWIN, xs: np.ndarray) -> list[int]:
    """river's ADWIN restarts empty after a detection; ours keeps the window after the cut."""
    hits = []
    for i, x in enumerate(xs):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
            detector.reset()
    return hits


@pytest.mark.parametrize("seed", range(20))
def test_detection_points_match_river(seed: int) -> None:
    river_drift = pytest.importorskip("river.drift")
    bits = np.concatenate([bernoulli(seed, 0.2, 0.6), bernoulli(seed + 100, 0.6, 0.3)])
    normal = np.concatenate([gaussian(seed), gaussian(seed + 100, 1.0, -0.5)])
    assert loop(DDM(), bits) == river_hits(river_drift.binary.DDM(), bits)
    assert loop(HDDM_A(), bits) == river_hits(river_drift.binary.HDDMA(), bits)
    assert loop(HDDM_A(direction="both"), bits) == river_hits(river_drift.binary.HDDMA(two_sided_test=True), bits)
    assert loop(PageHinkley(), normal) == river_hits(river_drift.PageHinkley(), normal)
    assert loop(tuned_ph(), normal) == river_hits(river_drift.PageHinkley(threshold=50.0, delta=0.25), normal)
    for xs in (bits, normal):
        theirs = river_hits(river_drift.ADWIN(), xs)
        assert restarting(ADWIN(), xs) == theirs
        assert ADWIN().update_many(xs)[:1].tolist() == theirs[:1]


# --- interface -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", DETECTORS)
def test_interface(name: str) -> None:
    detector = DETECTORS[name]()
    with pytest.raises(AttributeError):
        detector.drift_detected = True  # type: ignore[misc]
    assert detector.get() == 0.0 and not detector.drift_detected
    assert detector.update_many([]).dtype == np.int64
    detector.update_many(bernoulli(0, 0.0, 1.0))
    detector.reset()
    assert detector.get() == 0.0 and not detector.drift_detected
    with pytest.raises(ValueError, match="finite"):
        detector.update(float("nan"))
    with pytest.raises(ValueError, match="finite"):
        detector.update_many([0.0, float("inf")])
    with pytest.raises(ValueError, match="1-d"):
        detector.update_many([[0.0, 1.0]])


def test_binary_detectors_reject_values_outside_the_unit_interval() -> None:
    for detector in (DDM(), HDDM_A()):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            detector.update(2.0)
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            detector.update_many([0.0, -1.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: ADWIN(delta=0.0),
        lambda: ADWIN(max_buckets=1),
        lambda: PageHinkley(threshold=0.0),
        lambda: PageHinkley(direction="sideways"),  # type: ignore[arg-type]
        lambda: DDM(warning_level=3.0, drift_level=2.0),
        lambda: HDDM_A(drift_confidence=0.1, warning_confidence=0.01),
    ],
)
def test_bad_parameters_are_refused(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        make()
