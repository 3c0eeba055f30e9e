"""Overview and operational query latency at 1M and 10M stored interactions.

The store is loaded through its normal write path (so the hourly rollups are
maintained exactly as at ingest, costs priced as at ingest), 30 days of
traffic, then each query runs repeatedly. Overview (issue 2): latency
percentiles by model by hour over 7 and 30 days, distinct users per day.
Operations (issue 3): every ops metric (rate, errors, latency and TTFT
percentiles, tokens/s, tokens, cost) by model per hour over 24 h, a 7-day
summary by model, errors by type per day, prompt versions per day, cost by
model per day over 30 days, and the last hour per minute (a raw scan).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from collections.abc import Callable

from tqdm import tqdm

from bench._common import ROOT, record
from heron.schema.records import Interaction, Message
from heron.store.base import MetricsQuery, UsersQuery
from heron.server.pricing import Pricing
from heron.store.duckdb import DuckDBStore

DAYS = 30
END = 1_767_225_600.0  # 2026-01-01T00:00:00Z
START = END - DAYS * 86400
MODELS = [("gpt-4o", 6.6), ("gpt-4o-mini", 6.0), ("claude-3-5-sonnet", 6.8), ("llama-3.1-70b", 6.3), ("gemini-1.5-pro", 6.7)]
PROMPTS = ["v1", "v2", "v3"]


def load(store: DuckDBStore, n: int, batch: int = 50_000) -> None:
    rng = random.Random(5)
    pricing = Pricing(store)
    step = (END - START) / n
    message = [Message(role="user", content="How do I reset my password?")]
    with tqdm(total=n, desc=f"loading {n:,}", unit="rows") as bar:
        for lsn, k in enumerate(range(0, n, batch), start=1):
            items = []
            for i in range(k, min(n, k + batch)):
                model, mu = MODELS[i % 5]
                latency = rng.lognormvariate(mu, 0.5)
                items.append(
                    Interaction(
                        id=f"q{i:010d}", project="bench", model=model, provider="openai",
                        start_time=START + i * step, end_time=START + i * step + latency / 1000,
                        latency_ms=latency, ttft_ms=latency * 0.1, user_id=f"u{rng.randint(1, 20_000)}",
                        conversation_id=f"c{i // 5}", prompt_version=PROMPTS[i % 3], app_version="2.0",
                        input=message, output="Open Settings > Security > Reset password.",
                        input_tokens=50, output_tokens=120, status="error" if i % 50 == 0 else "ok",
                        error_type="RateLimitError" if i % 50 == 0 else None, finish_reason="stop",
                    )
                )
            pricing(items)
            store.write(items, [], lsn=lsn)
            bar.update(len(items))


def overview_queries(store: DuckDBStore) -> dict[str, Callable[[], object]]:
    return {
        "percentiles_by_model_by_hour_7d": lambda: store.metrics(MetricsQuery(project="bench", start=END - 7 * 86400, end=END, bucket="hour", group_by="model")),
        "percentiles_by_model_by_hour_30d": lambda: store.metrics(MetricsQuery(project="bench", start=START, end=END, bucket="hour", group_by="model")),
        "distinct_users_per_day_30d": lambda: store.users(UsersQuery(project="bench", start=START, end=END, bucket="day")),
        "distinct_users_per_day_by_model_30d": lambda: store.users(UsersQuery(project="bench", start=START, end=END, bucket="day", group_by="model")),
    }


def ops_queries(store: DuckDBStore) -> dict[str, Callable[[], object]]:
    def q(**kw: object) -> Callable[[], object]:
        return lambda: store.metrics(MetricsQuery(project="bench", **kw))  # type: ignore[arg-type]

    day = 86400
    return {
        "ops_by_model_per_hour_24h": q(start=END - day, end=END, bucket="hour", group_by="model"),
        "ops_summary_by_model_7d": q(start=END - 7 * day, end=END, bucket="all", group_by="model"),
        "errors_by_type_per_day_30d": q(start=START, end=END, bucket="day", group_by="error_type", metrics=("count", "errors", "error_rate")),
        "ops_by_prompt_version_per_day_30d": q(start=START, end=END, bucket="day", group_by="prompt_version"),
        "cost_by_model_per_day_30d": q(start=START, end=END, bucket="day", group_by="model", metrics=("cost_usd", "cost_unknown", "input_tokens", "output_tokens")),
        "ops_last_hour_per_minute": q(start=END - 3600, end=END, bucket="minute"),
    }


def time_queries(queries: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for name, run in queries.items():
        run()  # warm
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            rows = run()
            samples.append((time.perf_counter() - started) * 1000)
        assert rows
        timings[name] = samples
    return timings


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--data", default=str(ROOT / "bench" / ".data"))
    args = parser.parse_args()
    for n in [int(s) for s in args.sizes.split(",")]:
        path = Path(args.data) / f"query-{n}.duckdb"
        fresh = not path.exists()
        store = DuckDBStore(path)
        if fresh or store.count("bench") != n or store.schema_version() < 3:
            store.close()
            path.unlink(missing_ok=True)
            store = DuckDBStore(path)
            load(store, n)
        label = "10m" if n == 10_000_000 else "1m" if n == 1_000_000 else str(n)
        for figure, queries, target in (
            (f"query_overview_p95_ms_{label}", overview_queries(store), "< 100 at 10M"),
            (f"ops_query_p95_ms_{label}", ops_queries(store), "< 100 at 10M"),
        ):
            timings = time_queries(queries, args.repeat)
            for name, samples in timings.items():
                print(f"  {n:>10,} {name:<40} p50 {statistics.median(samples):7.1f} ms  p95 {p95(samples):7.1f} ms")
            worst = max(p95(samples) for samples in timings.values())
            record(figure, worst, "ms", rows=n, detail={k: round(p95(v), 2) for k, v in timings.items()}, target=target)
        store.close()


if __name__ == "__main__":
    main()
