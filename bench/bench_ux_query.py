"""UX query latency at 10M interactions (``ux_query_p95_ms_10m``).

Uses the 10M store of ``bench_query`` (built there through the normal write
path). Enriching 10M interactions for real takes about an hour here, so this
benchmark fills ``interaction_signals`` once with signals drawn at random per
interaction (the queries' cost depends on rows, not on values; the real
pipeline's throughput is ``enrich_per_s``) and derives the UX rollups from
them with ``rebuild_ux`` (what the incremental path maintains; tests check the
two agree). Then each UX query runs repeatedly: the summary by model over 7
and 30 days, by prompt version per day, the topic table (the three queries the
``/v1/topics`` endpoint makes), the topic flow, retention cohorts and active users.
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
INSERT INTO interaction_signals BY NAME
SELECT project, id AS interaction_id, start_time, conversation_id, user_id, model, prompt_version, app_version, variant,
       lang AS language, s1 AS sentiment, s2 AS reply_sentiment, cues, c1 AS rephrase, c2 AS "repeat", sim AS similarity,
       c3 AS complaint, c4 AS shouting, c5 AS refusal, c6 AS empty_reply, c7 AS truncated, err AS error,
       fr AS frustration, topic AS topic_id, tsim AS topic_similarity, now()::TIMESTAMP AS enriched_at
FROM (SELECT project, id, start_time, conversation_id, user_id, model, prompt_version, app_version, variant,
       CASE WHEN h % 10 = 0 THEN 'es' ELSE 'en' END, ((h % 2001) - 1000) / 1000.0, ((h % 1999) - 999) / 1000.0,
       CASE WHEN h % 17 = 0 THEN ['gratitude'] WHEN h % 23 = 0 THEN ['anger'] ELSE [] END,
       h % 19 = 0, h % 53 = 0, (h % 997) / 997.0, h % 29 = 0, h % 61 = 0, h % 43 = 0, h % 97 = 0, h % 89 = 0,
       status = 'error', (h % 101) / 100.0, (h % 12)::INTEGER, (h % 1000) / 1000.0
FROM (SELECT *, (hash(id) % 1000003)::BIGINT AS h FROM interactions))
    AS x(project, id, start_time, conversation_id, user_id, model, prompt_version, app_version, variant, lang, s1, s2, cues,
         c1, c2, sim, c3, c4, c5, c6, c7, err, fr, topic, tsim)
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
    if con.execute("SELECT count(*) FROM ux_rollup_hour").fetchall()[0][0] == 0:
        print("deriving the UX rollups (once)...", flush=True)
        started = time.perf_counter()
        store.rebuild_ux("bench")
        con.execute("CHECKPOINT")
        print(f"  took {time.perf_counter() - started:.0f} s", flush=True)
    day = 86400.0
    queries: dict[str, Callable[[], object]] = {
        "ux_summary_by_model_7d": lambda: store.ux_summary("bench", END - 7 * day, END, group_by="model"),
        "ux_summary_by_model_30d": lambda: store.ux_summary("bench", START, END, group_by="model"),
        "ux_by_prompt_version_per_day_30d": lambda: store.ux_summary("bench", START, END, group_by="prompt_version", bucket="day"),
        "topic_table_7d": lambda: _topic_table(store, END - 7 * day, END),
        "topic_flow_7d": lambda: store.topic_flow("bench", END - 7 * day, END),
        "topic_flow_30d": lambda: store.topic_flow("bench", START, END),
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


def _topic_table(store: DuckDBStore, start: float, end: float) -> object:
    """What ``GET /v1/topics`` reads: the window, the one before it, and the window per day."""
    span = end - start
    return (
        store.ux_summary("bench", start, end, group_by="topic_id"),
        store.ux_summary("bench", start - span, start, group_by="topic_id"),
        store.ux_summary("bench", start, end, group_by="topic_id", bucket="day"),
    )


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
