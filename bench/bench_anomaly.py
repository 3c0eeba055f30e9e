"""Cost of one AnomalyDetector.update for 10,000 series (issue 5: ``anomaly_10k_series_s``, target < 1 s).

10,000 series of seasonal traffic at 1-minute buckets (a daily curve, quieter weekends,
5 % noise, 0.1 % missing values, a few spikes so some anomaly records are built) are fed for
8 days, so every series is judged against its hour-of-week profile as in steady state; then
``update`` is timed for the next ``--buckets`` buckets (values generated beforehand). Recorded:
the median seconds per bucket, with p99 and the detector's memory.

    python -m bench.bench_anomaly [--series 10000] [--buckets 200] [--warmup-days 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench._common import record
from heron.stats.anomaly import AnomalyDetector

START = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a Monday


def traffic(n: int, start: int, count: int, rng: np.random.Generator, base: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """values[bucket, series] for minutes ``start .. start + count``."""
    minute = np.arange(start, start + count)[:, None]
    hour = (minute % 1440) / 60
    weekend = ((minute // 1440) % 7 >= 5) * 0.3
    values = base * (1 + 0.5 * np.cos(2 * np.pi * (hour - peak) / 24)) * (1 - weekend)
    values *= 1 + 0.05 * rng.standard_normal((count, n))
    values[rng.random((count, n)) < 0.001] = np.nan
    spikes = rng.random((count, n)) < 1e-4
    values[spikes] *= 3
    return np.asarray(values, dtype=np.float64)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--buckets", type=int, default=200)
    parser.add_argument("--warmup-days", type=float, default=8.0)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    n = args.series
    rng = np.random.default_rng(5)
    base, peak = rng.uniform(10, 1000, n), rng.uniform(10, 18, n)
    detector = AnomalyDetector(n, directions=rng.choice([-1, 0, 1], n))
    warm = int(args.warmup_days * 1440)
    started = time.perf_counter()
    for chunk in range(0, warm, 1440):
        values = traffic(n, chunk, min(1440, warm - chunk), rng, base, peak)
        for i, row in enumerate(values):
            detector.update(START + 60.0 * (chunk + i), row)
    print(f"warm-up: {warm:,} buckets x {n:,} series in {time.perf_counter() - started:.0f} s", flush=True)

    values = traffic(n, warm, args.buckets, rng, base, peak)
    samples, found = [], 0
    for i, row in enumerate(values):
        t0 = time.perf_counter()
        found += len(detector.update(START + 60.0 * (warm + i), row))
        samples.append(time.perf_counter() - t0)
    median, p99 = float(np.median(samples)), float(np.percentile(samples, 99))
    state = detector.state_dict()
    memory_mb = sum(len(a["data"]) for a in state["arrays"].values()) / 2**20
    print(f"update: median {median * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms per bucket; "
          f"{found} anomaly records in {args.buckets} buckets; state {memory_mb:.0f} MiB")
    if not args.no_record:
        record("anomaly_10k_series_s" if n == 10_000 else f"anomaly_{n}_series_s", median, "s",
               series=n, buckets=args.buckets, warmup_days=args.warmup_days, p99_s=round(p99, 5),
               state_mib=round(memory_mb, 1), target="< 1")


if __name__ == "__main__":
    main()
