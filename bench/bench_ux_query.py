"""UX query latency at 10M interactions (``ux_query_p95_ms_10m``).

Uses the 10M store of ``bench_query`` (built there through the normal write
path). Enriching 10M interactions for real takes about an hour here, so this
benchmark fills ``interaction_signals`` once with signals drawn at random per
interaction (the queries' cost depends on rows, not on values; the real
pipeline's throughput is ``enrich_per_s``). Then each UX query runs
repeatedly: the summary by model over 7 and 30 days, by prompt version per
day, the topic table (by topic), and — when the store has them — retention
cohorts and active users.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench._common import ROOT, record
from bench.bench_query import END, START
from heron.store.duckdb import DuckDBStore

FILL = """
INSERT INTO interaction_signals
SELECT project, id, start_time, conversation_id, user_id, model, prompt_version, app_version, variant,
       CASE WHEN h % 10 = 0 THEN 'es' ELSE 'en' END, ((h % 2001) - 1000) / 1000.0, ((h % 1999) - 999) / 1000.0,
       CASE WHEN h % 17 = 0 THEN ['gratitude'] WHEN h % 23 = 0 THEN ['anger'] ELSE [] END,
       h % 19 = 0, h % 53 = 0, (h % 997) / 997.0, h % 29 = 0, h % 61 = 0, h % 43 = 0, h % 97 = 0, h % 89 = 0,
       status = 'error', (h % 101) / 100.0, (h % 12)::INTEGER, (h % 1000) / 1000.0, now()::TIMESTAMP
FROM (SELECT *, (hash(id) % 1000003)::BIGINT AS h FROM interactions)
"""


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", default=str(ROOT / "bench" / ".data" / "query-10000000.duckdb"))
    args = parser.parse_args()
    path = Path(args.db)
    if not path.exists():
        raise SystemExit(f"{path} is missing: run `python -m bench.bench_query --sizes 10000000` first")
    store = DuckDBStore(path)
    con = store._con  # noqa: SLF001 - the benchmark fills synthetic signals directly
    count = con.execute("SELECT count(*) FROM interaction_signals").fetchall()[0][0]
    total = store.count("bench")
    if count != total:
        print(f"filling synthetic signals for {total:,} interactions (once)...", flush=True)
        con.execute("DELETE FROM interaction_signals")
        con.execute(FILL)
        con.execute("CHECKPOINT")
    day = 86400.0
    queries: dict[str, Callable[[], object]] = {
        "ux_summary_by_model_7d": lambda: store.ux_summary("bench", END - 7 * day, END, group_by="model"),
        "ux_summary_by_model_30d": lambda: store.ux_summary("bench", START, END, group_by="model"),
        "ux_by_prompt_version_per_day_30d": lambda: store.ux_summary("bench", START, END, group_by="prompt_version", bucket="day"),
        "topic_table_7d": lambda: store.ux_summary("bench", END - 7 * day, END, group_by="topic_id"),
    }
    for name in ("retention", "active_users"):
        if hasattr(store, name):
            queries[f"{name}_30d"] = _retention_query(store, name)
    timings: dict[str, list[float]] = {}
    for name, run in queries.items():
        run()
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            run()
            samples.append((time.perf_counter() - started) * 1000)
        timings[name] = samples
        print(f"  {name:<36} p50 {statistics.median(samples):7.1f} ms  p95 {p95(samples):7.1f} ms", flush=True)
    store.close()
    worst = max(p95(s) for s in timings.values())
    record("ux_query_p95_ms_10m", worst, "ms", rows=total, detail={k: round(p95(v), 2) for k, v in timings.items()}, target="< 200",
           note="synthetic signals (see bench/bench_ux_query.py)")


def _retention_query(store: DuckDBStore, name: str) -> Callable[[], object]:
    method = getattr(store, name)

    def run() -> object:
        try:
            return method("bench", START, END)
        except TypeError:
            from heron.store import base

            query = getattr(base, "RetentionQuery" if name == "retention" else "ActivityQuery")
            return method(query(project="bench", start=START, end=END))

    return run


if __name__ == "__main__":
    main()
