"""UX figures sliced by a tag, summed from raw turns (``ux_tag_query_p95_ms_400k``).

The UX rollups hold UX dimensions only, so a tag slice (``?tag.app.team=sales``) is
answered from the window's enriched turns joined to their calls
(:mod:`heron.store._duckdb_ux_reads`). This benchmark builds (once) a store of
400,000 calls over 10 days, each with ten tags the way OTLP instrumentation sends
them (service, SDK, host, region, team, tenant, a feature flag), inserted in bulk,
signals synthesised per call as in ``bench_ux_query`` and the UX rollups derived with
``rebuild_ux``. Then each query the dashboard makes with a tag segment runs over the
last 7 days (~280,000 turns): the UX summary (all, hourly), by model, by the tag, the
topic table (three summaries) and flow, the tag list, and for scale the rollup-read
summary and the operational metrics of the same slice. It checks on the way that the
raw path equals the rollups for the summary by model.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench._common import ROOT, record
from bench.bench_ux_query import FILL
from heron.store.base import Filters, MetricsQuery
from heron.store.duckdb import DuckDBStore

DAY = 86400.0
END = 1_764_547_200.0  # 2025-12-01T00:00:00Z
SPAN_DAYS = 10

INSERT = """
INSERT INTO interactions BY NAME
SELECT 'bench' AS project, 'i' || r AS id,
       make_timestamp(($start + r * $step)::BIGINT) AS start_time,
       'c' || (r // 4) AS conversation_id, 'u' || (hash(r // 4) % 20000) AS user_id, 'openai' AS provider,
       ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-sonnet'][1 + (hash(r // 4) % 3)::INTEGER] AS model,
       'v' || (r % 3) AS prompt_version, '1.' || (r % 4) AS app_version, 'chat' AS operation,
       CASE WHEN hash(r) % 50 = 0 THEN 'error' ELSE 'ok' END AS status,
       200.0 + hash(r) % 1800 AS latency_ms, 100 + hash(r) % 900 AS input_tokens, 20 + hash(r) % 400 AS output_tokens,
       (hash(r) % 1000) / 1e6 AS cost_usd, '[]' AS input, 'reply' AS output,
       map(['service.name', 'service.version', 'telemetry.sdk.name', 'telemetry.sdk.language', 'telemetry.sdk.version',
            'host.name', 'deployment.region', 'app.team', 'tenant', 'feature_flag.new_ui'],
           ['chat-api', '2.' || (r % 5), 'opentelemetry', 'python', '1.27.0', 'host-' || (r % 20),
            ['eu', 'us', 'ap'][1 + (r % 3)::INTEGER],
            CASE WHEN hash(r // 4) % 10 < 6 THEN 'support' WHEN hash(r // 4) % 10 < 9 THEN 'sales' ELSE 'billing' END,
            'tenant-' || (hash(r // 4) % 200), (r % 2 = 0)::VARCHAR]) AS tags,
       now()::TIMESTAMP AS ingested_at
FROM range($n) t(r)
"""


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def build(path: Path, n: int) -> DuckDBStore:
    store = DuckDBStore(path)
    con = store._con  # noqa: SLF001 - the benchmark fills synthetic rows directly
    if store.count("bench") != n:
        print(f"building {n:,} calls with ten tags each over {SPAN_DAYS} days (once)...", flush=True)
        started = time.perf_counter()
        con.execute("DELETE FROM interactions")
        con.execute("DELETE FROM interaction_signals")
        start_us = (END - SPAN_DAYS * DAY) * 1e6
        con.execute(INSERT, {"start": start_us, "step": SPAN_DAYS * DAY * 1e6 / n, "n": n})
        con.execute(FILL)
        con.execute("UPDATE interaction_signals s SET latency_ms = i.latency_ms, cost_usd = i.cost_usd FROM interactions i"
                    " WHERE i.project = s.project AND i.id = s.interaction_id")  # fmt: skip
        con.execute("UPDATE enrich_state SET watermark = (SELECT max(rowid) FROM interactions) WHERE id = 0")
        store.rebuild_ux("bench")
        con.execute("CHECKPOINT")
        print(f"  took {time.perf_counter() - started:.0f} s", flush=True)
    return store


def _same(a: list[dict[str, object]], b: list[dict[str, object]]) -> None:
    assert len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b):
        for key, value in x.items():
            other = y[key]
            if isinstance(value, float) and isinstance(other, float):
                assert math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-9), (key, value, other)
            else:
                assert value == other, (key, value, other)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    path = Path(args.db) if args.db else ROOT / "bench" / ".data" / f"ux-tags-{args.calls}.duckdb"
    store = build(path, args.calls)
    start, end = END - 7 * DAY, END
    turns = store._con.execute(  # noqa: SLF001
        "SELECT count(*) FROM interaction_signals WHERE start_time >= make_timestamp(?::BIGINT)", [int(start * 1e6)]
    ).fetchall()[0][0]
    _same(store.ux_summary("bench", start, end, group_by="model"), store.ux_summary("bench", start, end, group_by="model", raw=True))
    sales = ("tag.app.team", "sales")

    def topic_table() -> object:
        span = end - start
        return (
            store.ux_summary("bench", start, end, group_by="topic_id", where=sales),
            store.ux_summary("bench", start - span, start, group_by="topic_id", where=sales),
            store.ux_summary("bench", start, end, group_by="topic_id", bucket="day", where=sales),
        )

    queries: dict[str, Callable[[], object]] = {
        "ux_summary_7d_rollups": lambda: store.ux_summary("bench", start, end),
        "ux_summary_tag_7d": lambda: store.ux_summary("bench", start, end, where=sales),
        "ux_summary_tag_hourly_7d": lambda: store.ux_summary("bench", start, end, bucket="hour", where=sales),
        "ux_by_model_tag_7d": lambda: store.ux_summary("bench", start, end, group_by="model", where=sales),
        "ux_by_tag_7d": lambda: store.ux_summary("bench", start, end, group_by="tag.app.team"),
        "topic_table_tag_7d": topic_table,
        "topic_flow_tag_7d": lambda: store.topic_flow("bench", start, end, where=sales),
        "tags_7d": lambda: store.tags("bench", start, end),
        "metrics_tag_7d": lambda: store.metrics(MetricsQuery(project="bench", start=start, end=end, bucket="all",
                                                             filters=Filters(equals=(sales,)))),  # fmt: skip
    }
    timings: dict[str, list[float]] = {}
    for name, run in queries.items():
        run()
        samples = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            run()
            samples.append((time.perf_counter() - began) * 1000)
        timings[name] = samples
        print(f"  {name:<28} p50 {statistics.median(samples):7.1f} ms  p95 {p95(samples):7.1f} ms", flush=True)
    store.close()
    sliced = {k: v for k, v in timings.items() if k not in ("ux_summary_7d_rollups", "metrics_tag_7d", "tags_7d")}
    worst = max(p95(s) for s in sliced.values())
    record(f"ux_tag_query_p95_ms_{args.calls // 1000}k", worst, "ms", rows=args.calls, turns_7d=int(turns),
           detail={k: round(p95(v), 2) for k, v in timings.items()}, target="< 1000",
           note="synthetic calls and signals, ten tags per call (see bench/bench_ux_tags.py)")  # fmt: skip


if __name__ == "__main__":
    main()
