"""Watching every project's metric streams: anomalies as minutes close, drift every hour.

Anomalies: each closed minute (after a grace period for late batches), the
store's per-minute figures -- volume, error rate, latency p50 and p95, TTFT p95,
cost, output tokens in total, per model and per prompt version; frustration rate and sentiment in total and per
topic -- become one column each in the project's
:class:`heron.stats.anomaly.AnomalyDetector` (new series are added as they
appear). Only the new minutes are read; the detector's state is saved, so a
restart keeps its seasonal baselines. Minutes are evaluated by event time: a
project seen for the first time learns from its first two days of history and
has every minute after them evaluated and reported (a backfill or an import is
checked, not skipped); calls arriving for a minute already evaluated (a batch
exporter, a collector that was down) re-open it, up to a week back. An anomalous minute is stored only when
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from heron.analytics.drift import Window, drift_report, finite
from heron.server import concept
from heron.stats.anomaly import AnomalyDetector
from heron.stats.support import HEAVY_MIN_CALLS, HEAVY_TOKENS, heavy_threshold, judge
from heron.store.base import Store

log = logging.getLogger("heron.server.monitor")

DIRECTIONS = {"count": 0, "error_rate": 1, "latency_p50": 1, "latency_p95": 1, "ttft_p95": 1, "cost_usd": 1, "output_tokens": 0,
              "frustration_rate": 1, "sentiment_avg": -1}  # fmt: skip
"""Which way is bad per metric: +1 only high, -1 only low, 0 both (volume drops and surges both matter)."""
MIN_SCALE = {"error_rate": 0.01, "frustration_rate": 0.01, "sentiment_avg": 0.02}
"""Floors on a rate's normal spread: a minute of a few requests makes rates jumpy (one point, or 0.02 of sentiment)."""
RANGES = {"error_rate": (0.0, 1.0), "frustration_rate": (0.0, 1.0), "sentiment_avg": (-1.0, 1.0)}
"""What a metric can take; the rest are counts, sums and durations: never below zero. Normal ranges are clipped to it."""
DEFAULT_THRESHOLD = 6.0
"""The detector's alarm threshold, in scales of a series' noise (heron.stats.anomaly)."""
BUCKET = 60.0
GRACE = 120.0
"""A minute is evaluated this long after it ends, so batched SDK traffic has arrived."""
DAY = 86400.0
BASE_HALFLIFE = DAY
"""How fast a rate's base rate (for its binomial floor) follows the series."""
_DECAY = 0.5 ** (BUCKET / BASE_HALFLIFE)
BASE_MIN_TRIALS = 200.0
"""Requests a base rate needs before it is trusted over the detector's expectation."""
HOUR = 3600.0
USUAL = 7 * DAY
EPISODE = DAY
"""A user's usual: their busiest hour over ``USUAL`` ending ``EPISODE`` before the hour judged. Heavy use comes
in episodes of hours; judged against the hour just before, an episode's first hour (35 calls, under the floors)
became the usual of its second (49 calls and 125k tokens: "not 3x their usual"), and it was never reported."""
HISTORY = 30 * DAY
"""How far back a project's first pass reads (an import of last month is evaluated, not skipped)."""
LEARNING = 2 * DAY
"""A project's first traffic teaches the baseline this long (hour-of-day profiles need a day); every
minute after it is evaluated and reported, history included, with its event time and ``detected_at``."""
HORIZON = 7 * DAY
"""Late data: calls that arrive after their minute was evaluated, up to this old, re-open it."""
STALL = 600.0
"""Seconds (of the monitor's clock) the newest stored call may stay where it is before the minutes after
it are judged as silent: until then they may simply not have arrived (a backfill in progress); after
it, traffic has stopped, which is an incident of its own."""
LATE_MINUTES = 2_000
"""Minutes re-opened per pass at most (the rest wait for the next pass)."""


@dataclass
class _Project:
    detector: AnomalyDetector
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    index: dict[tuple[str, str, str], int] = field(default_factory=dict)
    last: float | None = None
    """Start of the last minute evaluated."""
    checked: float | None = None
    """Wall-clock time up to which arrivals were looked at: calls stored after it for minutes already
    evaluated are late, and re-open their minutes."""
    users_last: float | None = None
    """Start of the last hour whose busiest users were judged."""
    frontier: float | None = None
    """Start time of the newest stored call when last looked, and when (monitor clock) it last moved."""
    frontier_moved: float = 0.0
    events: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trials: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Per series, decayed sums (half-life :data:`BASE_HALFLIFE`) of a rate's bad requests and of its
    requests: the base rate its binomial floor is judged against. The detector's own expectation of
    a sparse rate is mostly zeros and sits far below it (0.0004 for a 0.5 % error rate)."""

    def base_rate(self, column: int) -> float | None:
        trials = self.trials[column]
        return self.events[column] / trials if trials >= BASE_MIN_TRIALS else None

    def learn_rates(self, values: np.ndarray, support: np.ndarray) -> None:
        """Fold one minute's rates (values) over their requests (support) into the base rates."""
        keep = np.isfinite(values) & (support > 0)
        self.events *= _DECAY
        self.trials *= _DECAY
        self.events[keep] += values[keep] * support[keep]
        self.trials[keep] += support[keep]

    def zero_when_silent(self) -> list[int]:
        """The series a minute without traffic makes 0 rather than missing: counts and sums."""
        return [i for k, i in self.index.items() if k[0] in ("count", "cost_usd", "output_tokens")]

    def minute(self, rows: Sequence[dict[str, Any]], zero: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """One minute's figure per series (NaN where it had none, 0 for the ``zero`` series) and the
        requests behind each (0 where it had none)."""
        values, support = np.full(self.detector.n_series, np.nan), np.zeros(self.detector.n_series)
        values[zero] = 0.0
        for row in rows:
            column = self.index[(row["metric"], row["dim"], row["value"])]
            if row["x"] is not None:
                values[column] = row["x"]
            support[column] = row.get("n") or 0.0
        return values, support

    def columns(self, keys: Sequence[tuple[str, str, str]]) -> None:
        new = [k for k in dict.fromkeys(keys) if k not in self.index]
        if not new:
            return
        self.events = np.concatenate([self.events, np.zeros(len(new))])
        self.trials = np.concatenate([self.trials, np.zeros(len(new))])
        directions = [DIRECTIONS[k[0]] for k in new]
        span = self.detector.add_series(len(new), directions=directions, additive=[k[0] == "sentiment_avg" for k in new],
                                        min_scale=[MIN_SCALE.get(k[0], 0.0) for k in new])  # fmt: skip
        for key, column in zip(new, span, strict=True):
            self.index[key] = column
            self.keys.append(key)

    def to_bytes(self) -> bytes:
        return msgspec.msgpack.encode({"detector": self.detector.state_dict(), "keys": self.keys, "last": self.last,
                                       "checked": self.checked, "events": self.events.tolist(), "trials": self.trials.tolist(),
                                       "users_last": self.users_last, "frontier": self.frontier,
                                       "frontier_moved": self.frontier_moved})  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> _Project:
        state = msgspec.msgpack.decode(data)
        keys = [tuple(k) for k in state["keys"]]
        zeros = [0.0] * len(keys)
        return cls(AnomalyDetector.from_state(state["detector"]), keys, {k: i for i, k in enumerate(keys)}, state["last"],  # type: ignore[misc]
                   state.get("checked"), state.get("users_last"), state.get("frontier"), state.get("frontier_moved", 0.0),
                   np.array(state.get("events") or zeros, dtype=np.float64), np.array(state.get("trials") or zeros, dtype=np.float64))


@dataclass
class MonitorStats:
    minutes: int = 0
    anomalies: int = 0
    late_minutes: int = 0
    """Minutes evaluated again because calls for them arrived after they were."""
    below_support: int = 0
    """Anomalous buckets not reported: too few requests behind them, or too small a change (heron.stats.support)."""
    drift_runs: int = 0
    errors: int = 0


class Monitor:
    """A thread running anomaly detection every ``interval`` seconds and drift every ``drift_every``."""

    def __init__(self, store: Store, *, interval: float = 30.0, drift_every: float = 3600.0,
                 embed: Callable[[Sequence[str]], np.ndarray] | None = None, clock: Callable[[], float] = time.time,
                 horizon: float = HORIZON) -> None:
        self.store = store
        self.horizon = horizon
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
        """Evaluate, by event time, every minute of ``project`` closed since the last pass and every earlier
        minute (within :data:`HORIZON`) that late calls re-opened; returns (and stores) what was found.

        A project's first pass reads up to :data:`HISTORY` back from its first traffic: the first
        :data:`LEARNING` only teaches the baseline, every minute after it is reported like a live one."""
        state = self._project(project)
        arrived = time.time()  # ingested_at is wall-clock time, whatever clock the monitor runs on
        until = self._until(project, state, now)
        found: list[dict[str, Any]] = []
        if state.last is None:
            first = self.store.first_traffic(project)  # type: ignore[attr-defined]
            if first is None:
                return []
            since = max(math.floor(first / BUCKET) * BUCKET, until - HISTORY)
            report_from = since + LEARNING
        else:
            since, report_from = state.last + BUCKET, -math.inf
            if state.checked is not None:
                found += self._late(project, state, now, arrived)
        for start in np.arange(since, until, DAY):  # a day at a time: a month of minutes is never all in memory
            found += self._evaluate(project, state, float(start), float(min(start + DAY, until)), report_from, now)
        found += self._users(project, state, report_from, until, now)
        if until > since:
            state.last = until - BUCKET
        state.checked = arrived
        self.store.write_anomalies(project, found)  # type: ignore[attr-defined]
        self.store.save_state(f"anomaly:{project}", state.to_bytes())  # type: ignore[attr-defined]
        self.stats.anomalies += len(found)
        return found

    def _until(self, project: str, state: _Project, now: float) -> float:
        """End of the minutes that can be judged now: closed ones (``GRACE``), and not past the newest
        stored call while it keeps moving -- a backfill still on its way is not a week of silence."""
        until = math.floor((now - GRACE) / BUCKET) * BUCKET
        frontier = self.store.last_traffic(project)  # type: ignore[attr-defined]
        if frontier is None:
            return until
        if frontier != state.frontier:
            state.frontier, state.frontier_moved = frontier, now
        if now - state.frontier_moved >= STALL:
            return until  # nothing new for a while: the minutes after it are silent, and judged so
        return min(until, math.floor(frontier / BUCKET) * BUCKET)  # the newest call's minute may still fill up

    def _evaluate(self, project: str, state: _Project, since: float, until: float, report_from: float, now: float) -> list[dict[str, Any]]:
        """Feed the minutes of [since, until) to the detector; report anomalies from ``report_from`` on."""
        minutes = _by_minute(state, self.store.minute_metrics(project, since, until))  # type: ignore[attr-defined]
        found: list[dict[str, Any]] = []
        zero = state.zero_when_silent()
        t = since
        while t < until:
            values, support = state.minute(minutes.get(t, ()), zero)
            for anomaly in state.detector.update(t, values):
                if anomaly.t >= report_from:  # before it: the baseline is still being learned
                    row = self._report(state, anomaly.series, anomaly.t, anomaly.value, anomaly.expected, anomaly.low,
                                       anomaly.high, anomaly.score, anomaly.kind, support[anomaly.series], now)  # fmt: skip
                    if row is not None:
                        found.append(row)
            state.learn_rates(values, support)
            t += BUCKET
        self.stats.minutes += int((until - since) / BUCKET)
        return found

    def _users(self, project: str, state: _Project, report_from: float, until: float, now: float) -> list[dict[str, Any]]:
        """Each closed hour's busiest users against their own busiest hour of the week before the last day and the project's
        busy user-hour (heron.stats.support.heavy): a user sending several times anything seen (a runaway
        script, documents pasted in a loop) is an anomaly of segment ``user_id`` -- the per-minute series
        never see one user among thousands. ``expected`` on the row is the user's own busiest hour."""
        closed = math.floor(until / HOUR) * HOUR
        if state.users_last is not None:
            start = state.users_last + HOUR
        elif math.isfinite(report_from):
            start = math.ceil(report_from / HOUR) * HOUR
        else:  # a state saved before users were watched: start with the last closed hour
            start = closed - HOUR
        found: list[dict[str, Any]] = []
        if closed <= start:
            return found
        busy_calls, busy_tokens = self.store.user_hour_p99(project, max(start - USUAL, 0.0), closed)  # type: ignore[attr-defined]
        hour = start
        while hour < closed:
            for user in self.store.busiest_users(project, hour, hour + HOUR, hour - EPISODE - USUAL,  # type: ignore[attr-defined]
                                                 usual_until=hour - EPISODE):
                if user["calls"] >= (high := heavy_threshold(HEAVY_MIN_CALLS, user["peak_calls"], busy_calls)):
                    found.append(self._user_row(hour, "user_calls", user["user_id"], user["calls"], user["peak_calls"], high, now))
                if user["tokens"] >= (high := heavy_threshold(HEAVY_TOKENS, user["peak_tokens"], busy_tokens)):
                    found.append(self._user_row(hour, "user_input_tokens", user["user_id"], user["tokens"], user["peak_tokens"], high, now))
            hour += HOUR
        state.users_last = closed - HOUR
        return found

    @staticmethod
    def _user_row(hour: float, metric: str, user: str, observed: float, usual: float, high: float, now: float) -> dict[str, Any]:
        return {"t": hour, "bucket_s": int(HOUR), "metric": metric, "dim": "user_id", "value": user, "observed": float(observed),
                "expected": usual, "low": 0.0, "high": high, "score": float(observed) / high, "kind": "spike", "detected_at": now}  # fmt: skip

    def _report(self, state: _Project, column: int, t: float, observed: float, expected: float, low: float, high: float,
                score: float, kind: str, n: float, now: float) -> dict[str, Any] | None:
        """The anomaly row to store, or None when it does not matter (heron.stats.support); ``n``: the
        requests behind the figure."""
        metric, dim, value = state.keys[column]
        bad_way = int(state.detector.directions[column])
        if bad_way and (observed - expected) * bad_way <= 0:  # the tail of an episode, back on the harmless side
            self.stats.below_support += 1
            return None
        if not judge(metric, observed, expected, n, base=state.base_rate(column), sustained=kind in ("shift", "level")).matters:
            self.stats.below_support += 1  # unusual for the series, too small to tell anyone
            return None
        return {"t": t, "bucket_s": int(BUCKET), "metric": metric, "dim": dim, "value": value, "observed": observed,
                "expected": expected, **_clipped(metric, low, high), "score": score, "kind": kind, "detected_at": now}  # fmt: skip

    def _late(self, project: str, state: _Project, now: float, arrived: float) -> list[dict[str, Any]]:
        """Minutes already evaluated that calls stored since the last pass belong to: judged again, whole,
        against the band the detector has for their time (it does not learn from them: its state has
        moved on), reported as kind ``late`` unless that minute and series already has an anomaly."""
        assert state.last is not None and state.checked is not None
        horizon = max(now - self.horizon, 0.0)
        late = self.store.late_minutes(project, horizon, state.last + BUCKET, state.checked, limit=LATE_MINUTES)  # type: ignore[attr-defined]
        if not late:
            return []
        self.stats.late_minutes += len(late)
        lo, hi = min(late), max(late) + BUCKET
        reopened = set(late)
        by_minute = _by_minute(state, [r for r in self.store.minute_metrics(project, lo, hi) if r["t"] in reopened])  # type: ignore[attr-defined]
        known = {(float(a["t"]), a["metric"], a["dim"], a["value"]) for a in self.store.anomalies(project, lo, hi, limit=100_000)}  # type: ignore[attr-defined]
        zero = state.zero_when_silent()
        directions = state.detector.directions
        found: list[dict[str, Any]] = []
        for t in sorted(by_minute):
            values, support = state.minute(by_minute[t], zero)
            band = state.detector.get(t)
            outside = band.ready & np.isfinite(values) & (
                ((values > band.high) & (directions >= 0)) | ((values < band.low) & (directions <= 0))
            )
            for i in np.flatnonzero(outside):
                if (t, *state.keys[i]) in known:
                    continue
                width = max(float(band.high[i] - band.expected[i]), 1e-12)
                score = abs(float(values[i] - band.expected[i])) / width
                row = self._report(state, int(i), t, float(values[i]), float(band.expected[i]), float(band.low[i]),
                                   float(band.high[i]), score, "late", float(support[i]), now)  # fmt: skip
                if row is not None:
                    found.append(row)
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





def _by_minute(state: _Project, rows: Sequence[dict[str, Any]]) -> dict[float, list[dict[str, Any]]]:
    """``minute_metrics`` rows grouped by minute, every series they name given a column first."""
    state.columns([(r["metric"], r["dim"], r["value"]) for r in rows])
    minutes: dict[float, list[dict[str, Any]]] = {}
    for row in rows:
        minutes.setdefault(row["t"], []).append(row)
    return minutes


def _clipped(metric: str, low: float, high: float) -> dict[str, float]:
    """The normal range within what ``metric`` can take (a count's band does not go negative)."""
    floor, ceiling = RANGES.get(metric, (0.0, math.inf))
    return {"low": min(max(low, floor), ceiling), "high": max(min(high, ceiling), floor)}


def backtest(store: Store, project: str, since: float, until: float, *, threshold: float | None = None,
             ) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:  # fmt: skip
    """Replay the project's stored minutes of [since, until) through a fresh detector, as the monitor
    would have seen them: the first :data:`LEARNING` teaches it, every later minute is judged (support
    floors included). Yields (days done, days in all, that day's anomaly rows); nothing is stored.
    ``threshold`` replaces the detector's alarm threshold (6 scales): how a user tries a sensitivity."""
    replay = Monitor(store)
    options = {} if threshold is None else {"threshold": threshold}
    state = _Project(AnomalyDetector(0, bucket_seconds=BUCKET, **options))
    since = math.floor(since / BUCKET) * BUCKET
    until = min(until, math.floor((time.time() - GRACE) / BUCKET) * BUCKET)  # the minutes the monitor would have closed
    days = max(1, math.ceil((until - since) / DAY))
    for done, start in enumerate(np.arange(since, until, DAY), start=1):
        end = float(min(start + DAY, until))
        yield done, days, replay._evaluate(project, state, float(start), end, since + LEARNING, time.time())  # noqa: SLF001
