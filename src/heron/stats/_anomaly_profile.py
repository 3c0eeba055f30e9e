"""Seasonal profiles for :mod:`heron.stats.anomaly` (EW mean and mean absolute deviation per slot) and the baseline record.

Arrays are laid out ``(slots, n_series)`` so that one bucket touches two contiguous rows:
every series is read and updated with a handful of vector operations, however many there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a time falls in a period: the slots whose centres enclose it, and how far towards ``upper``."""

    lower: int
    upper: int
    frac: float


class Profile:
    """Per-slot EW mean and mean absolute deviation of many series, linearly interpolated between slot centres.

    Interpolating avoids steps at slot edges (a daily curve moves a lot within an hour). Each
    value is learned by both neighbouring slots in proportion to its closeness (a triangular
    kernel); a slot averages exactly until it holds ``memory`` of weight, then exponentially,
    so early estimates are not biased towards zero. One slot makes a plain EW baseline.
    """

    def __init__(self, n_series: int, *, slots: int, period: float, memory: float, min_history: float) -> None:
        self.slots = slots
        self.period = period
        self.memory = memory
        self.min_history = min_history
        self.mean = np.zeros((slots, n_series))
        self.mad = np.zeros((slots, n_series))
        self.weight = np.zeros((slots, n_series))

    def locate(self, t: float) -> Position:
        if self.slots == 1:
            return Position(0, 0, 0.0)
        p = (t % self.period) / (self.period / self.slots) - 0.5
        lower = math.floor(p)
        return Position(lower % self.slots, (lower + 1) % self.slots, p - lower)

    def predict(self, at: Position) -> tuple[F64, F64, Bools]:
        """(mean, mean absolute deviation, ready) per series; NaN where the slots hold nothing yet."""
        w0, w1 = self.weight[at.lower], self.weight[at.upper]
        a0, a1 = (1.0 - at.frac) * w0, at.frac * w1
        total = a0 + a1
        mean = (a0 * self.mean[at.lower] + a1 * self.mean[at.upper]) / total
        mad = (a0 * self.mad[at.lower] + a1 * self.mad[at.upper]) / total
        ready = (w0 >= self.min_history) & (w1 >= self.min_history)
        return mean, mad, ready

    def learn(self, at: Position, y: F64, dev: F64, mask: Bools, fitted: Bools | None = None) -> None:
        """Move the two slots around ``at`` towards ``y`` (their spread towards ``dev``) where ``mask``.

        Where ``fitted``, both slots move by the error of the interpolated prediction (least
        squares, as in LMS), which removes the kernel's smoothing of peaks; elsewhere (the first
        pass, with nothing to interpolate yet) each slot moves towards ``y`` itself. ``y`` and
        ``dev`` must be finite where ``mask``.
        """
        y = np.where(mask, y, 0.0)
        dev = np.where(mask, dev, 0.0)
        error = None
        if fitted is not None and fitted.any():
            error = y - self.predict(at)[0]
        pairs = ((at.lower, 1.0),) if self.slots == 1 else ((at.lower, 1.0 - at.frac), (at.upper, at.frac))
        for slot, share in pairs:
            if share <= 0.0:
                continue
            weight = np.where(mask, np.minimum(self.weight[slot] + share, self.memory), self.weight[slot])
            rate = np.where(mask, share / np.maximum(weight, share), 0.0)
            step = y - self.mean[slot]
            if error is not None and fitted is not None:
                step = np.where(fitted & mask, error, step)
            self.mean[slot] += rate * step
            self.mad[slot] += rate * (dev - self.mad[slot])
            self.weight[slot] = weight

    def grow(self, n: int) -> None:
        pad = np.zeros((self.slots, n))
        self.mean = np.concatenate([self.mean, pad], axis=1)
        self.mad = np.concatenate([self.mad, pad], axis=1)
        self.weight = np.concatenate([self.weight, pad], axis=1)

    def clear(self) -> None:
        self.mean[:] = 0.0
        self.mad[:] = 0.0
        self.weight[:] = 0.0


@dataclass(frozen=True, slots=True)
class TierView:
    """One tier's prediction at one bucket."""

    tier: Profile
    at: Position
    mean: F64
    mad: F64
    ready: Bools


@dataclass(frozen=True, slots=True)
class Baseline:
    """One bucket's prediction for every series (tiers combined, level applied) and what learning needs."""

    expected: F64
    scale: F64
    ready: Bools
    trusted: Bools  # judged by a seasonal tier (or the only tier): robust learning, level, change points
    chosen: NDArray[np.int8]
    factor: F64
    based: F64
    level: F64
    unit: F64
    tiers: list[TierView]
