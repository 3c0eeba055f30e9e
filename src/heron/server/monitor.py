"""Watching every project's metric streams: anomalies as minutes close, drift every hour.

Anomalies: each closed minute (after a grace period for late batches), the
store's per-minute figures -- volume, error rate, latency p50 and p95, TTFT p95,
cost, output tokens in total, per model and per prompt version; frustration rate and sentiment in total and per
topic -- become one column each in the project's
:class:`heron.stats.anomaly.AnomalyDetector` (new series are added as they
appear). Only the new minutes are read; the detector's state is saved, so a
restart keeps its seasonal baselines. A project seen for the first time is
warmed up on its last week of minutes. An anomalous minute is stored only when
it matters (heron.stats.support): enough requests behind it and a change big
enough to act on; ``GET /v1/incidents`` groups what is stored.

Drift: every ``drift_every`` seconds, the last day is compared with the week
before it (heron.analytics.drift) and every feature's result is stored,
building a time series per feature.

Concept drift: see :mod:`heron.server.concept`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from heron.analytics.drift import Window, drift_report, finite
from heron.server import concept
from heron.stats.anomaly import AnomalyDetector
from heron.stats.support import judge
from heron.store.base import Store

log = logging.getLogger("heron.server.monitor")

DIRECTIONS = {"count": 0, "error_rate": 1, "latency_p50": 1, "latency_p95": 1, "ttft_p95": 1, "cost_usd": 1, "output_tokens": 0,
              "frustration_rate": 1, "sentiment_avg": -1}  # fmt: skip
"""Which way is bad per metric: +1 only high, -1 only low, 0 both (volume drops and surges both matter)."""
MIN_SCALE = {"error_rate": 0.01, "frustration_rate": 0.01, "sentiment_avg": 0.02}
"""Floors on a rate's normal spread: a minute of a few requests makes rates jumpy (one point, or 0.02 of sentiment)."""
BUCKET = 60.0
GRACE = 120.0
"""A minute is evaluated this long after it ends, so batched SDK traffic has arrived."""
WARMUP = 7 * 86400.0
DAY = 86400.0


@dataclass
class _Project:
    detector: AnomalyDetector
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    index: dict[tuple[str, str, str], int] = field(default_factory=dict)
    last: float | None = None
    """Start of the last minute evaluated."""

    def columns(self, keys: Sequence[tuple[str, str, str]]) -> None:
        new = [k for k in dict.fromkeys(keys) if k not in self.index]
        if not new:
            return
        directions = [DIRECTIONS[k[0]] for k in new]
        span = self.detector.add_series(len(new), directions=directions, additive=[k[0] == "sentiment_avg" for k in new],
                                        min_scale=[MIN_SCALE.get(k[0], 0.0) for k in new])  # fmt: skip
        for key, column in zip(new, span, strict=True):
            self.index[key] = column
            self.keys.append(key)

    def to_bytes(self) -> bytes:
        return msgspec.msgpack.encode({"detector": self.detector.state_dict(), "keys": self.keys, "last": self.last})

    @classmethod
    def from_bytes(cls, data: bytes) -> _Project:
        state = msgspec.msgpack.decode(data)
        keys = [tuple(k) for k in state["keys"]]
        return cls(AnomalyDetector.from_state(state["detector"]), keys, {k: i for i, k in enumerate(keys)}, state["last"])  # type: ignore[misc]


@dataclass
class MonitorStats:
    minutes: int = 0
    anomalies: int = 0
    below_support: int = 0
    """Anomalous buckets not reported: too few requests behind them, or too small a change (heron.stats.support)."""
    drift_runs: int = 0
    errors: int = 0


class Monitor:
    """A thread running anomaly detection every ``interval`` seconds and drift every ``drift_every``."""

    def __init__(self, store: Store, *, interval: float = 30.0, drift_every: float = 3600.0,
                 embed: Callable[[Sequence[str]], np.ndarray] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.interval, self.drift_every = interval, drift_every
        self.embed = embed
        self.clock = clock
        self.stats = MonitorStats()
        self._projects: dict[str, _Project] = {}
        self._next_drift: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="heron-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # keep watching; the minutes stay pending and are retried
                self.stats.errors += 1
                log.exception("monitoring pass failed")

    def run_once(self) -> None:
        now = self.clock()
        for project in self.store.projects():  # type: ignore[attr-defined]
            self.anomalies(project, now)
            self.stats.anomalies += len(concept.watch(self.store, project, now))
            if now >= self._next_drift.get(project, 0.0):
                self.drift(project, now)
                concept.segments(self.store, project, now)
                self._next_drift[project] = now + self.drift_every

    # -- anomalies -----------------------------------------------------------------

    def _project(self, project: str) -> _Project:
        found = self._projects.get(project)
        if found is None:
            saved = self.store.load_state(f"anomaly:{project}")  # type: ignore[attr-defined]
            found = _Project(AnomalyDetector(0, bucket_seconds=BUCKET))
            if saved:
                try:
                    found = _Project.from_bytes(saved)
                except (ValueError, KeyError, msgspec.DecodeError):  # an older detector's state: learn afresh
                    log.warning("anomaly state of %s does not load; warming up again", project)
            self._projects[project] = found
        return found

    def anomalies(self, project: str, now: float) -> list[dict[str, Any]]:
        """Evaluate every minute of ``project`` closed since the last pass; returns (and stores) what was found."""
        state = self._project(project)
        until = math.floor((now - GRACE) / BUCKET) * BUCKET
        since = state.last + BUCKET if state.last is not None else until - WARMUP
        if since >= until:
            return []
        rows = self.store.minute_metrics(project, since, until)  # type: ignore[attr-defined]
        if state.last is None:  # warming up: start at the project's first traffic, not a week of made-up zeros
            if not rows:
                return []
            since = min(row["t"] for row in rows)
        state.columns([(r["metric"], r["dim"], r["value"]) for r in rows])
        minutes: dict[float, list[dict[str, Any]]] = {}
        support: dict[tuple[float, str, str, str], float] = {}
        for row in rows:
            minutes.setdefault(row["t"], []).append(row)
            support[(row["t"], row["metric"], row["dim"], row["value"])] = row.get("n") or 0.0
        found: list[dict[str, Any]] = []
        live = state.last is not None  # warm-up minutes teach the baseline; their anomalies are history, not news
        counts = [i for k, i in state.index.items() if k[0] in ("count", "cost_usd", "output_tokens")]
        t = since
        while t < until:
            values = np.full(state.detector.n_series, np.nan)
            values[counts] = 0.0  # no traffic in a minute is a zero, not a gap
            for row in minutes.get(t, ()):
                if row["x"] is not None:
                    values[state.index[(row["metric"], row["dim"], row["value"])]] = row["x"]
            for anomaly in state.detector.update(t, values):
                if live:
                    metric, dim, value = state.keys[anomaly.series]
                    if not judge(metric, anomaly.value, anomaly.expected, support.get((anomaly.t, metric, dim, value), 0.0)).matters:
                        self.stats.below_support += 1  # unusual for the series, too small to tell anyone
                        continue
                    found.append({"t": anomaly.t, "bucket_s": int(BUCKET), "metric": metric, "dim": dim, "value": value,
                                  "observed": anomaly.value, "expected": anomaly.expected, "low": anomaly.low,
                                  "high": anomaly.high, "score": anomaly.score, "kind": anomaly.kind,
                                  "detected_at": now})  # fmt: skip
            t += BUCKET
        state.last = until - BUCKET
        self.store.write_anomalies(project, found)  # type: ignore[attr-defined]
        self.store.save_state(f"anomaly:{project}", state.to_bytes())  # type: ignore[attr-defined]
        self.stats.minutes += int((until - since) / BUCKET)
        self.stats.anomalies += len(found)
        return found

    # -- drift ---------------------------------------------------------------------

    def drift(self, project: str, now: float) -> list[dict[str, Any]]:
        """The last day against the week before it; every feature's result stored."""
        reference, current = Window(now - 8 * DAY, now - DAY), Window(now - DAY, now)
        report = drift_report(self.store, project, reference, current, embed=self.embed)
        rows = [{"computed_at": now, "reference_start": reference.start, "reference_end": reference.end,
                 "current_start": current.start, "current_end": current.end, "feature": r.feature, "kind": r.kind,
                 "test": r.test, "statistic": finite(r.statistic), "p_value": finite(r.p_value), "threshold": r.threshold,
                 "score": finite(r.score), "drifted": r.drifted, "n_reference": r.n_reference, "n_current": r.n_current}
                for r in report.results if r.reason is None]  # fmt: skip
        if rows:
            rows.append({**rows[0], "feature": "(overall)", "kind": "overall", "test": "share_drifted", "p_value": None,
                         "statistic": finite(report.share_drifted), "threshold": report.share_threshold,
                         "score": finite(report.mean_score), "drifted": report.dataset_drifted})  # fmt: skip
        self.store.write_drift(project, rows)  # type: ignore[attr-defined]
        self.stats.drift_runs += 1
        return rows



