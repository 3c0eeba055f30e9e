"""Anomaly detection on many metric streams at once, evaluated incrementally as each time bucket closes.

One :class:`AnomalyDetector` watches ``n_series`` columns (the caller maps each (metric,
segment) pair to a column) and keeps, per series, in O(n_series x slots) memory:

- a seasonal **profile**: EW mean and EW mean absolute deviation per hour-of-week slot,
  interpolated between slot centres, falling back to hour-of-day and then to a plain EW
  baseline until a slot has ``min_history`` buckets of data;
- a **level** (EW over ``level_halflife_seconds``) that scales the profile (shifts it, for
  ``additive`` series such as sentiment), absorbing the slow wander the profile cannot know;
- an **EWMA** of the standardised residual ``z = (x - expected) / scale``, and the spread
  that EWMA shows on quiet traffic, so a series that always wanders needs a larger shift;
- an **episode**: consecutive anomalous buckets of the series in one direction.

A bucket is a ``spike``/``dip`` once ``confirm`` buckets in a row have ``|z| > threshold``,
a ``shift`` when the EWMA passes ``shift_threshold`` of its spreads (and until it falls
below half that); an episode lasting ``relearn_seconds`` is a change point: one ``level``
record, then the episode's mean becomes the new normal. Anomalies do not poison the
baseline: a series learns nothing while in an episode, values are winsorised at
``winsor`` scales, and only an isolated value beyond that band is learned (clipped), so
heavy tails widen the band instead of it collapsing. Method and measured quality:
docs/anomalies.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from heron.stats._anomaly_profile import F64, Baseline, Bools, Profile, TierView

Season = Literal["week", "day", "none"]
KINDS = ("spike", "dip", "shift", "level")
SIGMA_PER_MAD = math.sqrt(math.pi / 2)
"""Standard deviation over mean absolute deviation, for a normal distribution."""
SPREAD_HALFLIFE_SECONDS = 2 * 86400.0
"""How fast the learned spread of the shift EWMA follows a series."""
_LEVEL_RANGE = (0.02, 50.0)
_SPREAD_CAP = 2.0
_STATE_VERSION = 1
_OPTIONS = ("directions", "additive", "min_scale")
_SERIES = ("rebase", "num", "den", "ewma", "ewma_spread", "last", "sum_x", "sum_e", "sign", "run", "streak", "outside", "tier")


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomalous bucket of one series; ``score`` >= 1 means past its alarm threshold."""

    series: int
    t: float
    value: float
    expected: float
    low: float
    high: float
    score: float
    kind: str


@dataclass(frozen=True, slots=True)
class Band:
    """Expected value and normal range per series at ``t``; ``ready`` is False while a series warms up."""

    t: float
    expected: F64
    low: F64
    high: F64
    ready: Bools


class AnomalyDetector:
    """Seasonal baseline, EWMA shifts and change points for ``n_series`` streams; see the module docstring."""

    # per-series learned state besides the profiles (see _SERIES)
    rebase: F64
    num: F64
    den: F64
    ewma: F64
    ewma_spread: F64
    last: F64
    sum_x: F64
    sum_e: F64
    sign: NDArray[np.int8]
    run: NDArray[np.int64]
    streak: NDArray[np.int64]
    outside: NDArray[np.int64]
    tier: NDArray[np.int8]

    def __init__(
        self,
        n_series: int,
        *,
        bucket_seconds: float = 60.0,
        season: Season = "week",
        slot_seconds: float = 3600.0,
        utc_offset_seconds: float = 0.0,
        threshold: float = 6.0,
        confirm: int = 2,
        shift_threshold: float = 5.0,
        shift_lambda: float = 0.1,
        min_history: int | None = None,
        relearn_seconds: float = 7200.0,
        level_halflife_seconds: float = 3600.0,
        memory: float = 4.0,
        winsor: float = 3.0,
        rel_scale: float = 0.01,
        directions: ArrayLike | None = None,
        additive: ArrayLike | None = None,
        min_scale: ArrayLike | float = 0.0,
    ) -> None:
        if n_series < 0 or bucket_seconds <= 0 or slot_seconds <= 0 or not 0 < shift_lambda <= 1 or confirm < 1:
            raise ValueError("need n_series >= 0, bucket_seconds > 0, slot_seconds > 0, 0 < shift_lambda <= 1, confirm >= 1")
        if season not in ("week", "day", "none"):
            raise ValueError(f"season must be one of 'week', 'day', 'none', not {season!r}")
        if season != "none" and (86400 % slot_seconds or 86400 // slot_seconds < 2):
            raise ValueError("slot_seconds must divide a day into at least two slots")
        per_slot = slot_seconds / bucket_seconds  # buckets in one pass over a slot
        if min_history is None:  # most of a pass, so a slot half-learned in its first pass is not used yet
            min_history = max(math.ceil(0.75 * per_slot), 8)
        self.config: dict[str, Any] = dict(
            bucket_seconds=float(bucket_seconds), season=season, slot_seconds=float(slot_seconds),
            utc_offset_seconds=float(utc_offset_seconds), threshold=float(threshold), confirm=int(confirm),
            shift_threshold=float(shift_threshold), shift_lambda=float(shift_lambda), min_history=int(min_history),
            relearn_seconds=float(relearn_seconds), level_halflife_seconds=float(level_halflife_seconds),
            memory=float(memory), winsor=float(winsor), rel_scale=float(rel_scale),
        )
        self._relearn = max(1, round(relearn_seconds / bucket_seconds))
        self._beta = 1.0 - 0.5 ** (bucket_seconds / level_halflife_seconds)
        self._rho = 1.0 - 0.5 ** (bucket_seconds / SPREAD_HALFLIFE_SECONDS)
        self._iid_sd = math.sqrt(shift_lambda / (2.0 - shift_lambda))  # EWMA sd for independent unit z
        spans = {"week": (7 * 86400.0, 86400.0), "day": (86400.0,), "none": ()}[season]
        seasonal_memory = max(memory * per_slot, float(min_history))
        self._tiers = [
            Profile(0, slots=round(span / slot_seconds), period=span, memory=seasonal_memory, min_history=min_history)
            for span in spans
        ]
        self._tiers.append(Profile(0, slots=1, period=1.0, memory=max(per_slot, float(min_history)), min_history=min_history))
        self._t: float | None = None
        self.n_series = 0
        self.directions = np.zeros(0, dtype=np.int8)
        self.additive = np.zeros(0, dtype=bool)
        self.min_scale = np.zeros(0)
        for name, array in self._fresh(0).items():
            setattr(self, name, array)
        self.add_series(n_series, directions=directions, additive=additive, min_scale=min_scale)

    # --- the streaming interface ---------------------------------------------------------------

    def update(self, t: float, values: ArrayLike) -> list[Anomaly]:
        """Feed the bucket starting at ``t`` (epoch seconds); NaN means no data for that series."""
        x = np.asarray(values, dtype=np.float64)
        if x.shape != (self.n_series,):
            raise ValueError(f"values must have shape ({self.n_series},), not {x.shape}")
        if self._t is not None and t < self._t:
            raise ValueError(f"buckets must arrive in time order: {t} is before {self._t}")
        with np.errstate(all="ignore"):
            found = self._step(float(t), x)
        self._t = float(t)
        return found

    def get(self, t: float | None = None) -> Band:
        """Expected value and normal range of every series for the bucket at ``t`` (default: the last one)."""
        at = float(t if t is not None else self._t if self._t is not None else 0.0)
        with np.errstate(all="ignore"):
            base = self._baseline(at)
        width = self.config["threshold"] * base.scale
        return Band(at, base.expected, base.expected - width, base.expected + width, base.ready)

    def reset(self) -> None:
        """Forget everything learned; keep the configuration and the series."""
        for tier in self._tiers:
            tier.clear()
        for name, array in self._fresh(self.n_series).items():
            setattr(self, name, array)
        self._t = None

    def add_series(
        self, n: int, *, directions: ArrayLike | None = None, additive: ArrayLike | None = None,
        min_scale: ArrayLike | float = 0.0,
    ) -> range:
        """Append ``n`` cold series (options as in the constructor); returns their column indices."""
        if n < 0:
            raise ValueError("n must be >= 0")
        new_dir = np.zeros(n, dtype=np.int8) if directions is None else np.asarray(directions, dtype=np.int8)
        new_add = np.zeros(n, dtype=bool) if additive is None else np.asarray(additive, dtype=bool)
        new_min = np.broadcast_to(np.asarray(min_scale, dtype=np.float64), (n,))
        if new_dir.shape != (n,) or new_add.shape != (n,):
            raise ValueError(f"directions and additive need one entry per series ({n})")
        if not np.isin(new_dir, (-1, 0, 1)).all():
            raise ValueError("directions must be -1 (only low is bad), 0 (both) or +1 (only high is bad)")
        for tier in self._tiers:
            tier.grow(n)
        self.directions = np.concatenate([self.directions, new_dir])
        self.additive = np.concatenate([self.additive, new_add])
        self.min_scale = np.concatenate([self.min_scale, new_min])
        for name, array in self._fresh(n).items():
            setattr(self, name, np.concatenate([getattr(self, name), array]))
        first = self.n_series
        self.n_series += n
        return range(first, self.n_series)

    # --- persistence -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: config, last time, arrays as {dtype, shape, data: bytes}.

        Plain dicts, lists, numbers and bytes: store it with msgpack (msgspec) or pickle.
        """
        arrays = {name: getattr(self, name) for name in (*_OPTIONS, *_SERIES)}
        for k, tier in enumerate(self._tiers):
            arrays |= {f"profile{k}_mean": tier.mean, f"profile{k}_mad": tier.mad, f"profile{k}_weight": tier.weight}
        return {
            "version": _STATE_VERSION, "n_series": self.n_series, "t": self._t, "config": dict(self.config),
            "arrays": {k: {"dtype": v.dtype.str, "shape": list(v.shape), "data": v.tobytes()} for k, v in arrays.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyDetector:
        """Rebuild a detector from :meth:`state_dict` output."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unsupported anomaly detector state version {state.get('version')!r}")
        detector = cls(int(state["n_series"]), **state["config"])
        for key, spec in state["arrays"].items():
            array = np.frombuffer(spec["data"], dtype=np.dtype(spec["dtype"])).reshape(spec["shape"]).copy()
            owner: Any = detector
            name = key
            if key.startswith("profile"):
                index, _, name = key[len("profile"):].partition("_")
                owner = detector._tiers[int(index)]
            current = getattr(owner, name)
            if current.shape != array.shape or current.dtype != array.dtype:
                raise ValueError(f"state array {key} is {array.dtype}{array.shape}, expected {current.dtype}{current.shape}")
            setattr(owner, name, array)
        detector._t = state["t"]
        return detector

    # --- the work --------------------------------------------------------------------------------

    def _fresh(self, n: int) -> dict[str, Any]:
        zeros = {name: np.zeros(n) for name in _SERIES}
        return zeros | {
            "ewma_spread": np.full(n, self._iid_sd), "last": np.full(n, np.nan),
            "sign": np.zeros(n, dtype=np.int8), "run": np.zeros(n, dtype=np.int64),
            "streak": np.zeros(n, dtype=np.int64), "outside": np.zeros(n, dtype=np.int64),
            "tier": np.full(n, -1, dtype=np.int8),
        }

    def _baseline(self, t: float) -> Baseline:
        mid = t + self.config["utc_offset_seconds"] + self.config["bucket_seconds"] / 2
        shape = np.full(self.n_series, np.nan)
        mad = np.full(self.n_series, np.nan)
        ready = np.zeros(self.n_series, dtype=bool)
        trusted = np.zeros(self.n_series, dtype=bool)
        chosen = np.full(self.n_series, -1, dtype=np.int8)
        views = []
        for k, tier in reversed(list(enumerate(self._tiers))):  # finer tiers override coarser ones
            at = tier.locate(mid)
            t_mean, t_mad, t_ready = tier.predict(at)
            views.append(TierView(tier, at, t_mean, t_mad, t_ready))
            shape = np.where(t_ready, t_mean, shape)
            mad = np.where(t_ready, t_mad, mad)
            ready |= t_ready
            chosen = np.where(t_ready, k, chosen).astype(np.int8)
            if k < len(self._tiers) - 1 or k == 0:  # a seasonal tier, or the only one there is
                trusted |= t_ready
        mult = ~self.additive
        factor = np.where(mult, np.exp(self.rebase), self.rebase)
        based = np.where(mult, shape * factor, shape + factor)
        ratio = np.clip(np.where(self.den > 1e-12, self.num / self.den, 1.0), *_LEVEL_RANGE)
        # A level is relative to the tier it was learned against: a finer tier starts from neutral.
        kept = trusted & (chosen == self.tier)
        level = np.where(kept, np.where(mult, ratio, self.num), np.where(mult, 1.0, 0.0))
        expected = np.where(mult, based * level, based + level)
        unit = np.where(mult, factor * level, 1.0)  # profile units -> this bucket's units
        floor = np.maximum(self.min_scale, self.config["rel_scale"] * np.abs(expected))
        scale = np.maximum(np.maximum(SIGMA_PER_MAD * mad * unit, floor), 1e-12)
        return Baseline(expected, scale, ready, trusted, chosen, factor, based, level, unit, views)

    def _step(self, t: float, x: F64) -> list[Anomaly]:
        cfg = self.config
        base = self._baseline(t)
        # A finer tier takes over: its level starts neutral and moves at the usual pace (a prior
        # worth one EW memory), and an episode judged against the coarser tier ends.
        switched = base.chosen != self.tier
        if switched.any():
            prior = np.where(np.isfinite(base.based) & ~self.additive, base.based, 0.0)
            self.num = np.where(switched, prior, self.num)
            self.den = np.where(switched, prior, self.den)
            for name in ("ewma", "sum_x", "sum_e", "sign", "run", "streak", "outside"):
                array = getattr(self, name)
                setattr(self, name, np.where(switched, 0, array).astype(array.dtype))
            self.tier = base.chosen
        expected, scale = base.expected, base.scale
        finite = np.isfinite(x)
        valid = finite & base.ready
        z = np.where(valid, (x - expected) / scale, 0.0)
        lam, threshold = cfg["shift_lambda"], cfg["threshold"]
        # A series' own wander can raise the shift threshold, at most twofold (the EWMA of z
        # clipped at ``winsor`` must still be able to reach it).
        limit = cfg["shift_threshold"] * np.clip(self.ewma_spread, self._iid_sd, _SPREAD_CAP * self._iid_sd)
        ewma = np.where(valid, (1 - lam) * self.ewma + lam * np.clip(z, -cfg["winsor"], cfg["winsor"]), self.ewma)
        self.streak = _runs(self.streak, z, threshold, valid)
        self.outside = _runs(self.outside, z, cfg["winsor"], valid)
        spike, dip = valid & (self.streak >= cfg["confirm"]), valid & (self.streak <= -cfg["confirm"])
        prev = self.sign
        sign = np.select(
            [spike, dip, (prev == 1) & (ewma > limit / 2), (prev == -1) & (ewma < -limit / 2), ewma > limit, ewma < -limit],
            [1, -1, 1, -1, 1, -1],
            default=0,
        ).astype(np.int8)
        sign = np.where(valid, sign, prev)  # a missing bucket neither starts nor ends an episode
        started = (sign != 0) & (sign != prev)
        inside = valid & (sign != 0)
        self.run = np.where(started, 0, self.run) + inside
        self.sum_x = np.where(started, 0.0, self.sum_x) + np.where(inside, x, 0.0)
        self.sum_e = np.where(started, 0.0, self.sum_e) + np.where(inside, expected, 0.0)
        score = np.maximum(np.abs(z) / threshold, np.abs(ewma) / limit)
        # Change points only once the finest profile is in use: before that a long deviation is
        # as likely the coarse profile's fault, and rebasing would skew what the finer one learns.
        relearn = inside & (self.run >= self._relearn) & (base.chosen == 0)
        if relearn.any():
            self._rebase(relearn, base)
            sign = np.where(relearn, 0, sign).astype(np.int8)
            ewma = np.where(relearn, 0.0, ewma)
            self.streak = np.where(relearn, 0, self.streak)
            self.outside = np.where(relearn, 0, self.outside)
        episode_sign = np.where(relearn, prev, sign)
        quiet = valid & base.trusted & (sign == 0) & ~relearn
        rho = self._rho
        # The EWMA's own spread on quiet traffic (mean absolute value, as a standard deviation),
        # each contribution capped at 2.5 spreads, so a slow sub-threshold shift barely widens it.
        spread = np.minimum(SIGMA_PER_MAD * np.abs(ewma), 2.5 * self.ewma_spread)
        self.ewma_spread = np.where(quiet, (1 - rho) * self.ewma_spread + rho * spread, self.ewma_spread)
        self.ewma, self.sign = ewma, sign
        # An isolated value beyond the winsorising band is learned (clipped), so heavy tails widen
        # the band instead of it collapsing; a second one in a row is not, nor anything in an
        # episode. Until a seasonal tier is ready the plain EW fallback is too crude to judge.
        keep = ((sign == 0) & (np.abs(self.outside) <= 1)) | ~base.trusted
        self._learn(x, finite & keep & ~relearn, base)
        self.last = np.where(finite, x, self.last)

        report = valid & (episode_sign != 0) & ((self.directions == 0) | (self.directions == episode_sign))
        found = []
        for i in np.flatnonzero(report).tolist():
            kind = "level" if relearn[i] else "spike" if spike[i] else "dip" if dip[i] else "shift"
            width = threshold * scale[i]
            found.append(Anomaly(i, t, float(x[i]), float(expected[i]), float(expected[i] - width),
                                 float(expected[i] + width), float(score[i]), kind))
        return found

    def _rebase(self, mask: Bools, base: Baseline) -> None:
        """Accept an episode's mean as the new normal: fold it into the series' rebase, level neutral."""
        n = np.maximum(self.run, 1)
        mult = ~self.additive
        ratio = np.clip(np.where(self.sum_e > 0, self.sum_x / self.sum_e, 1.0), *_LEVEL_RANGE)
        shift = np.where(mult, np.log(base.level * ratio), base.level + (self.sum_x - self.sum_e) / n)
        self.rebase = np.where(mask, self.rebase + shift, self.rebase)
        prior = np.where(mult & np.isfinite(base.based), base.based * base.level * ratio, 0.0)
        self.num = np.where(mask, prior, self.num)
        self.den = np.where(mask, prior, self.den)
        self.run = np.where(mask, 0, self.run)
        self.sum_x = np.where(mask, 0.0, self.sum_x)
        self.sum_e = np.where(mask, 0.0, self.sum_e)

    def _learn(self, x: F64, learn: Bools, base: Baseline) -> None:
        """Update every tier and the level.

        Tiers learn values in profile units (raw values with accepted change points divided
        out), so the weekly shape, weekends included, is theirs, and the level only carries
        short-term wander. A tier not ready yet learns every finite value, its spread from
        first differences (no prediction to measure against); a ready tier learns winsorised
        values where ``learn``, its spread as the deviation from its own prediction.
        """
        finite = np.isfinite(x)
        mult = ~self.additive
        band = np.where(base.trusted, self.config["winsor"] * base.scale, np.inf)
        xw = np.where(base.trusted, np.clip(x, base.expected - band, base.expected + band), x)
        y = np.where(mult, xw / base.factor, xw - base.factor)
        y_raw = np.where(mult, x / base.factor, x - base.factor)
        step = np.abs(x - self.last) / math.sqrt(2.0)
        for view in base.tiers:
            predicted = np.where(mult, view.mean * base.factor * base.level, view.mean + base.factor + base.level)
            dev = np.where(view.ready, np.minimum(np.abs(xw - predicted), band), step) / base.unit
            dev = np.where(np.isfinite(dev), dev, np.where(np.isfinite(view.mad), view.mad, 0.0))
            view.tier.learn(view.at, np.where(view.ready, y, y_raw), dev, np.where(view.ready, learn, finite), view.ready)
        beta = self._beta
        tracked = learn & base.trusted
        target = np.where(mult, xw, xw - base.based)
        self.num = np.where(tracked, (1 - beta) * self.num + beta * target, self.num)
        self.den = np.where(tracked & mult, (1 - beta) * self.den + beta * base.based, self.den)


def _runs(previous: NDArray[np.int64], z: F64, limit: float, valid: Bools) -> NDArray[np.int64]:
    """Signed count of consecutive buckets beyond +-limit (missing buckets keep the count)."""
    beyond = np.where(z > limit, 1, np.where(z < -limit, -1, 0))
    extended = np.where((np.sign(previous) == beyond) & (beyond != 0), previous + beyond, beyond)
    return np.where(valid, extended, previous)
