"""Streaming concept-drift detectors for outcome streams (ratings, thumbs-up, errors).

Each detector follows river's interface: ``update(x)`` then read ``drift_detected``
(true only on the update that detected the change), ``get()`` for the current
estimate, ``reset()``. ``update_many(xs)`` returns the indices where ``update``
would have flagged drift; PageHinkley, DDM and HDDM_A compute it with numpy
cumulative operations, ADWIN with a tight loop.

After a detection PageHinkley, DDM and HDDM_A restart from scratch on the next
update, as river and MOA do; ADWIN keeps the part of its window after the cut,
as in the paper, so ``get()`` is immediately an estimate of the new mean.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal, Protocol, cast

import numpy as np
import numpy.typing as npt

__all__ = ["ADWIN", "DDM", "HDDM_A", "DriftDetector", "PageHinkley"]

Direction = Literal["up", "down", "both"]
Indices = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]

_MIN_BLOCK = 256
_MAX_BLOCK = 65536


class DriftDetector(Protocol):
    """What callers rely on; every detector here satisfies it."""

    @property
    def drift_detected(self) -> bool: ...
    def update(self, x: float) -> None: ...
    def update_many(self, xs: npt.ArrayLike) -> Indices: ...
    def get(self) -> float: ...
    def reset(self) -> None: ...


def _finite(x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"drift detectors take finite values, got {x!r}")
    return x


def _unit(x: float) -> float:
    x = float(x)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"this detector takes finite values in [0, 1] (error bits), got {x!r}")
    return x


def _as_array(xs: npt.ArrayLike, *, unit: bool = False) -> _Floats:
    x = np.asarray(xs, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"update_many takes a 1-d sequence, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("drift detectors take finite values; the input holds NaN or inf")
    if unit and not ((x >= 0.0) & (x <= 1.0)).all():
        raise ValueError("this detector takes values in [0, 1] (error bits); the input holds others")
    return x


def _direction(direction: str) -> Direction:
    if direction not in ("up", "down", "both"):
        raise ValueError(f"direction must be 'up', 'down' or 'both', got {direction!r}")
    return cast(Direction, direction)


def _running_sums(start: float, x: _Floats) -> _Floats:
    """``start + x[0]``, ``start + x[0] + x[1]``, ... added in the same order as a loop would."""
    out: _Floats = np.cumsum(np.concatenate(([start], x)))[1:]
    return out


def _last_record(values: _Floats, prior: float, *, lowest: bool) -> tuple[_Floats, npt.NDArray[np.intp]]:
    """Running min (or max) seeded with ``prior``, and the latest index that set it (-1: prior)."""
    seeded = np.concatenate(([prior], values))
    acc = np.minimum.accumulate(seeded) if lowest else np.maximum.accumulate(seeded)
    before = acc[:-1]
    new = values <= before if lowest else values >= before
    latest = np.maximum.accumulate(np.where(new, np.arange(values.size), -1))
    return acc[1:], latest


def _faded_sums(alpha: float, start: float, u: _Floats) -> _Floats:
    """``s[t] = alpha * s[t-1] + u[t]`` from ``s[-1] = start``, without a Python loop.

    Uses ``s[t] = alpha**(t+1) * (start + sum_k alpha**-(k+1) u[k])`` on chunks short
    enough that ``alpha**-len`` stays below ~e^40; agrees with the loop to rounding.
    """
    if alpha == 1.0:
        return _running_sums(start, u)
    if alpha == 0.0:
        return u.copy()
    chunk = min(u.size, int(40.0 / -math.log(alpha)))
    out = np.empty_like(u)
    if chunk < 8:  # heavy fading: the loop is as fast and cannot overflow
        for i, v in enumerate(u.tolist()):
            start = out[i] = alpha * start + v
        return out
    for lo in range(0, u.size, chunk):
        part = u[lo : lo + chunk]
        powers = alpha ** np.arange(1, part.size + 1, dtype=np.float64)
        out[lo : lo + part.size] = powers * (start + np.cumsum(part / powers))
        start = float(out[lo + part.size - 1])
    return out


class _Detector:
    """Shared state flags and the block-wise driver behind ``update_many``."""

    __slots__ = ("_drift",)
    _unit_interval: ClassVar[bool] = False

    def __init__(self) -> None:
        self._drift = False

    @property
    def drift_detected(self) -> bool:
        """Whether the last update detected a change."""
        return self._drift

    def reset(self) -> None:
        self._drift = False

    def update_many(self, xs: npt.ArrayLike) -> Indices:
        """Feed ``xs`` in order; the indices where ``update`` would have flagged drift."""
        x = _as_array(xs, unit=self._unit_interval)
        hits: list[int] = []
        start, size = 0, _MIN_BLOCK
        while start < x.size:
            if self._drift:
                self.reset()
            stop = min(x.size, start + size)
            found = self._block(x[start:stop])
            if found < 0:
                start, size = stop, min(2 * size, _MAX_BLOCK)
            else:
                hits.append(start + found)
                start, size = start + found + 1, _MIN_BLOCK
        return np.asarray(hits, dtype=np.int64)

    def _block(self, x: _Floats) -> int:
        """Process ``x`` until the first drift (its index) or the end (-1), leaving state there."""
        raise NotImplementedError


class PageHinkley(_Detector):
    """Page-Hinkley test: cumulative deviations from the running mean (Page 1954).

    Detects a shift in the mean of any real stream. ``delta`` is the magnitude of
    change tolerated, ``threshold`` (lambda) the cumulative evidence needed, in the
    units of the stream, so scale the stream or the threshold: with river's defaults
    a unit-variance stream false-alarms constantly. ``alpha`` < 1 fades old deviations.
    ``direction`` picks increases ("up"), decreases ("down") or both.
    """

    __slots__ = (
        "min_instances", "delta", "threshold", "alpha", "direction",
        "_n", "_sum", "_inc", "_dec", "_min_inc", "_max_dec",
    )

    def __init__(
        self,
        *,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        direction: Direction = "both",
    ) -> None:
        if min_instances < 1 or delta < 0 or threshold <= 0 or not 0 <= alpha <= 1:
            raise ValueError("PageHinkley needs min_instances >= 1, delta >= 0, threshold > 0, 0 <= alpha <= 1")
        super().__init__()
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.direction = _direction(direction)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._n = 0
        self._sum = 0.0
        self._inc = 0.0
        self._dec = 0.0
        self._min_inc = math.inf
        self._max_dec = -math.inf

    def get(self) -> float:
        """Mean of the stream since the last reset (0.0 before any update)."""
        return self._sum / self._n if self._n else 0.0

    def update(self, x: float) -> None:
        x = _finite(x)
        if self._drift:
            self.reset()
        self._n += 1
        self._sum += x
        dev = x - self._sum / self._n
        self._inc = self.alpha * self._inc + (dev - self.delta)
        self._dec = self.alpha * self._dec + (dev + self.delta)
        self._min_inc = min(self._min_inc, self._inc)
        self._max_dec = max(self._max_dec, self._dec)
        if self._n >= self.min_instances:
            up = self._inc - self._min_inc > self.threshold
            down = self._max_dec - self._dec > self.threshold
            self._drift = self._pick(up, down)

    def _pick(self, up: bool, down: bool) -> bool:
        return up if self.direction == "up" else down if self.direction == "down" else up or down

    def _block(self, x: _Floats) -> int:
        n = self._n + np.arange(1, x.size + 1, dtype=np.float64)
        sums = _running_sums(self._sum, x)
        dev = x - sums / n
        inc = _faded_sums(self.alpha, self._inc, dev - self.delta)
        dec = _faded_sums(self.alpha, self._dec, dev + self.delta)
        min_inc = np.minimum.accumulate(np.concatenate(([self._min_inc], inc)))[1:]
        max_dec = np.maximum.accumulate(np.concatenate(([self._max_dec], dec)))[1:]
        up = inc - min_inc > self.threshold
        down = max_dec - dec > self.threshold
        pick = up if self.direction == "up" else down if self.direction == "down" else up | down
        drift = (n >= self.min_instances) & pick
        found = int(np.argmax(drift)) if drift.any() else -1
        end = found if found >= 0 else x.size - 1
        self._n = int(n[end])
        self._sum, self._inc, self._dec = float(sums[end]), float(inc[end]), float(dec[end])
        self._min_inc, self._max_dec = float(min_inc[end]), float(max_dec[end])
        self._drift = bool(drift[end])
        return found


class DDM(_Detector):
    """Drift Detection Method for error bits (Gama et al. 2004).

    Tracks the error rate p and s = sqrt(p(1-p)/n); remembers p_min, s_min where
    p + s was lowest; warns when p + s > p_min + warning_level * s_min and detects
    drift at drift_level. Only increases of the error rate are detected: feed
    ``1 - x`` to watch a success rate fall. As in river and MOA, the minimum is
    tracked, and alarms raised, from sample ``min_instances + 1`` on.
    """

    __slots__ = ("min_instances", "warning_level", "drift_level", "_warning", "_n", "_k", "_p_min", "_s_min", "_ps_min")

    _unit_interval = True

    def __init__(self, *, min_instances: int = 30, warning_level: float = 2.0, drift_level: float = 3.0) -> None:
        if min_instances < 0 or not 0 < warning_level <= drift_level:
            raise ValueError("DDM needs min_instances >= 0 and 0 < warning_level <= drift_level")
        super().__init__()
        self.min_instances = min_instances
        self.warning_level = warning_level
        self.drift_level = drift_level
        self.reset()

    @property
    def warning_detected(self) -> bool:
        """Whether the last update put the detector in the warning zone (false on drift)."""
        return self._warning

    def reset(self) -> None:
        super().reset()
        self._warning = False
        self._n = 0
        self._k = 0.0
        self._p_min = math.nan
        self._s_min = math.nan
        self._ps_min = math.inf

    def get(self) -> float:
        """Error rate since the last reset (0.0 before any update)."""
        return self._k / self._n if self._n else 0.0

    def update(self, x: float) -> None:
        x = _unit(x)
        if self._drift:
            self.reset()
        self._n += 1
        self._k += x
        p = self._k / self._n
        s = math.sqrt(p * (1 - p) / self._n)
        if self._n > self.min_instances:
            if p + s <= self._ps_min:
                self._p_min, self._s_min, self._ps_min = p, s, p + s
            self._drift = p + s > self._p_min + self.drift_level * self._s_min
            self._warning = not self._drift and p + s > self._p_min + self.warning_level * self._s_min

    def _block(self, x: _Floats) -> int:
        n = self._n + np.arange(1, x.size + 1, dtype=np.float64)
        k = _running_sums(self._k, x)
        p = k / n
        s = np.sqrt(p * (1 - p) / n)
        ps = p + s
        live = n > self.min_instances
        ps_min, latest = _last_record(np.where(live, ps, np.inf), self._ps_min, lowest=True)
        known = latest >= 0
        p_min = np.where(known, p[latest], self._p_min)
        s_min = np.where(known, s[latest], self._s_min)
        drift = live & (ps > p_min + self.drift_level * s_min)
        warning = live & ~drift & (ps > p_min + self.warning_level * s_min)
        found = int(np.argmax(drift)) if drift.any() else -1
        end = found if found >= 0 else x.size - 1
        self._n, self._k = int(n[end]), float(k[end])
        self._p_min, self._s_min, self._ps_min = float(p_min[end]), float(s_min[end]), float(ps_min[end])
        self._drift, self._warning = bool(drift[end]), bool(warning[end])
        return found


class HDDM_A(_Detector):  # MOA's and the paper's name
    """Hoeffding-bound drift detection on averages (Frías-Blanco et al. 2015), for values in [0, 1].

    Keeps the cut point where mean + Hoeffding bound was lowest (highest, for
    decreases) and signals when the mean since the start differs from the mean up
    to the cut by more than the bound at ``drift_confidence`` (``warning_confidence``
    for the warning). No minimum sample count: the bound itself is conservative.
    For ``direction="up"`` this is river's one-sided HDDMA; for "both" a drift clears
    the warning flag (river's may stay set).
    """

    __slots__ = (
        "drift_confidence", "warning_confidence", "direction", "_log_cut", "_log_drift", "_log_warning",
        "_warning", "_n", "_sum", "_lo_n", "_lo_mean", "_lo_key", "_hi_n", "_hi_mean", "_hi_key",
    )

    _unit_interval = True

    def __init__(
        self, *, drift_confidence: float = 0.001, warning_confidence: float = 0.005, direction: Direction = "up"
    ) -> None:
        if not 0 < drift_confidence <= warning_confidence < 1:
            raise ValueError("HDDM_A needs 0 < drift_confidence <= warning_confidence < 1")
        super().__init__()
        self.drift_confidence = drift_confidence
        self.warning_confidence = warning_confidence
        self.direction = _direction(direction)
        self._log_cut = math.log(1.0 / drift_confidence)
        self._log_drift = math.log(2.0 / drift_confidence)
        self._log_warning = math.log(2.0 / warning_confidence)
        self.reset()

    @property
    def warning_detected(self) -> bool:
        """Whether the last update put the detector in the warning zone (false on drift)."""
        return self._warning

    def reset(self) -> None:
        super().reset()
        self._warning = False
        self._n = 0
        self._sum = 0.0
        self._lo_n, self._lo_mean, self._lo_key = 0, 0.0, math.inf
        self._hi_n, self._hi_mean, self._hi_key = 0, 0.0, -math.inf

    def get(self) -> float:
        """Mean since the last reset (0.0 before any update)."""
        return self._sum / self._n if self._n else 0.0

    def update(self, x: float) -> None:
        x = _unit(x)
        if self._drift:
            self.reset()
        self._n += 1
        self._sum += x
        n, z = self._n, self._sum / self._n
        bound = math.sqrt(1.0 / (2 * n) * self._log_cut)
        if z + bound <= self._lo_key:
            self._lo_n, self._lo_mean, self._lo_key = n, z, z + bound
        if z - bound >= self._hi_key:
            self._hi_n, self._hi_mean, self._hi_key = n, z, z - bound
        up_d = up_w = down_d = down_w = False
        if self.direction != "down" and self._lo_n != n:
            m = (n - self._lo_n) / self._lo_n * (1.0 / n)
            up_d = z - self._lo_mean >= math.sqrt(m / 2 * self._log_drift)
            up_w = z - self._lo_mean >= math.sqrt(m / 2 * self._log_warning)
        if self.direction != "up" and self._hi_n != n:
            m = (n - self._hi_n) / self._hi_n * (1.0 / n)
            down_d = self._hi_mean - z >= math.sqrt(m / 2 * self._log_drift)
            down_w = self._hi_mean - z >= math.sqrt(m / 2 * self._log_warning)
        self._drift = up_d or down_d
        self._warning = not self._drift and (up_w or down_w)

    def _block(self, x: _Floats) -> int:
        n = self._n + np.arange(1, x.size + 1, dtype=np.float64)
        sums = _running_sums(self._sum, x)
        z = sums / n
        bound = np.sqrt(1.0 / (2 * n) * self._log_cut)
        lo_key, lo_at = _last_record(z + bound, self._lo_key, lowest=True)
        hi_key, hi_at = _last_record(z - bound, self._hi_key, lowest=False)
        lo_n = np.where(lo_at >= 0, n[lo_at], self._lo_n)
        lo_mean = np.where(lo_at >= 0, z[lo_at], self._lo_mean)
        hi_n = np.where(hi_at >= 0, n[hi_at], self._hi_n)
        hi_mean = np.where(hi_at >= 0, z[hi_at], self._hi_mean)
        drift = np.zeros(x.size, dtype=bool)
        warning = np.zeros(x.size, dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            for cut_n, gap, skip in ((lo_n, z - lo_mean, "down"), (hi_n, hi_mean - z, "up")):
                if self.direction == skip:
                    continue
                m = (n - cut_n) / cut_n * (1.0 / n)
                live = cut_n != n
                drift |= live & (gap >= np.sqrt(m / 2 * self._log_drift))
                warning |= live & (gap >= np.sqrt(m / 2 * self._log_warning))
        warning &= ~drift
        found = int(np.argmax(drift)) if drift.any() else -1
        end = found if found >= 0 else x.size - 1
        self._n, self._sum = int(n[end]), float(sums[end])
        self._lo_n, self._lo_mean, self._lo_key = int(lo_n[end]), float(lo_mean[end]), float(lo_key[end])
        self._hi_n, self._hi_mean, self._hi_key = int(hi_n[end]), float(hi_mean[end]), float(hi_key[end])
        self._drift, self._warning = bool(drift[end]), bool(warning[end])
        return found


class ADWIN(_Detector):
    """Adaptive windowing (Bifet & Gavaldà 2007, ADWIN2) for the mean of a bounded stream.

    Keeps a window of recent values in exponential-histogram buckets (at most
    ``max_buckets`` + 1 per size 2^i, so O(log W) memory) and, every ``clock``
    updates, drops the oldest bucket while some split into older/newer halves has
    means further apart than the Bernstein-style bound at ``delta``. Parameters
    and arithmetic follow river (and MOA): ``min_window_length`` is the smallest
    half considered, no check happens until ``grace_period`` values are held.
    ``get()`` is the mean of the current window.
    """

    __slots__ = (
        "delta", "clock", "max_buckets", "min_window_length", "grace_period",
        "_totals", "_variances", "_width", "_total", "_variance", "_tick",
    )

    def __init__(
        self, *, delta: float = 0.002, clock: int = 32, max_buckets: int = 5, min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        if not 0 < delta < 1 or clock < 1 or max_buckets < 2 or min_window_length < 1 or grace_period < 1:
            raise ValueError("ADWIN needs 0 < delta < 1, clock >= 1, max_buckets >= 2, min_window_length >= 1, grace_period >= 1")
        super().__init__()
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._totals: list[list[float]] = [[]]  # level i: bucket sums of 2**i values, oldest first
        self._variances: list[list[float]] = [[]]
        self._width = 0
        self._total = 0.0
        self._variance = 0.0  # sum of squared deviations over the window
        self._tick = 0

    @property
    def width(self) -> int:
        """Number of values in the current window."""
        return self._width

    def get(self) -> float:
        """Mean of the current window (0.0 when empty)."""
        return self._total / self._width if self._width else 0.0

    def update(self, x: float) -> None:
        self._insert(_finite(x))
        self._tick += 1
        self._drift = self._tick % self.clock == 0 and self._width > self.grace_period and self._shrink()

    def update_many(self, xs: npt.ArrayLike) -> Indices:
        """Feed ``xs`` in order; the indices where ``update`` would have flagged drift."""
        values = _as_array(xs).tolist()
        hits: list[int] = []
        insert, clock, grace = self._insert, self.clock, self.grace_period
        tick = self._tick
        for i, x in enumerate(values):
            insert(x)
            tick += 1
            if tick % clock == 0 and self._width > grace and self._shrink():
                hits.append(i)
                self._drift = True
            else:
                self._drift = False
        self._tick = tick
        return np.asarray(hits, dtype=np.int64)

    def _insert(self, x: float) -> None:
        totals, variances = self._totals, self._variances
        totals[0].append(x)
        variances[0].append(0.0)
        width = self._width + 1
        if width > 1:
            d = x - self._total / (width - 1)
            self._variance += (width - 1) * d * d / width
        self._width = width
        self._total += x
        level = 0
        while len(totals[level]) > self.max_buckets:
            t, v = totals[level], variances[level]
            size = 1 << level
            mu1, mu2 = t[0] / size, t[1] / size
            merged_t, merged_v = t[0] + t[1], v[0] + v[1] + size * 0.5 * (mu1 - mu2) * (mu1 - mu2)
            del t[:2], v[:2]
            level += 1
            if level == len(totals):
                totals.append([])
                variances.append([])
            totals[level].append(merged_t)
            variances[level].append(merged_v)

    def _shrink(self) -> bool:
        """Drop oldest buckets while any cut separates different means; whether one did."""
        dropped = False
        while self._has_cut():
            self._drop_oldest()
            dropped = True
        return dropped

    def _has_cut(self) -> bool:
        width, floor = self._width, self.min_window_length
        delta_prime = math.log(2.0 * math.log(width) / self.delta)
        spread = max(self._variance / width, 0.0)  # rounding can leave -1e-17 after drops
        n0, n1, u0, u1 = 0, width, 0.0, self._total
        sqrt = math.sqrt
        for level in range(len(self._totals) - 1, -1, -1):
            size = 1 << level
            bucket = self._totals[level]
            last = len(bucket) - 1
            for k, t in enumerate(bucket):
                n0 += size
                n1 -= size
                u0 += t
                u1 -= t
                if level == 0 and k == last:
                    return False
                if n0 >= floor and n1 >= floor:
                    m = 1.0 / (n0 - floor + 1) + 1.0 / (n1 - floor + 1)
                    eps = sqrt(2.0 * m * spread * delta_prime) + 2.0 / 3.0 * delta_prime * m
                    if abs(u0 / n0 - u1 / n1) > eps:
                        return True
        return False

    def _drop_oldest(self) -> None:
        level = len(self._totals) - 1
        size = 1 << level
        u, v = self._totals[level][0], self._variances[level][0]
        self._width -= size
        self._total -= u
        mu, mu_window = u / size, self._total / self._width
        self._variance -= v + size * self._width * (mu - mu_window) * (mu - mu_window) / (size + self._width)
        del self._totals[level][0], self._variances[level][0]
        if not self._totals[level] and level > 0:
            self._totals.pop()
            self._variances.pop()
