"""User and retention query latency at 10M stored interactions (issue 4, item 6).

Reads the store `python -m bench.bench_query` builds (30 days, 20,000 users, 10M
interactions; `daily_users` then holds ~600,000 user-days for everyone and as many
again per dimension value), and times each query repeatedly, after one warm-up run:
DAU/WAU/MAU with new and returning users over 30 and 7 days, total and by model; day
cohorts with a 31-column heat map; week cohorts by prompt version. The worst p95 is
`ux_users_query_p95_ms_10m`. Engagement (interactions and conversation time per user
per day, from the ``daily_engagement`` rollup and the keys of ``daily_users``) is timed
apart: `ux_engagement_p95_ms_10m`, over 7 days (everyone and one model) and 30 days.
A store built before ``daily_engagement`` existed computes it on open (~70 s at 10M).

The benchmark's users are active every day, so its cohorts are degenerate; the
queries' work depends on the number of user-days, not on what the cohorts look like.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

from bench._common import ROOT, record
from bench.bench_query import END, START, p95, time_queries
from heron.store.base import ActivityQuery, RetentionQuery
from heron.store.duckdb import DuckDBStore

DAY = 86400


def users_queries(store: DuckDBStore) -> dict[str, Callable[[], object]]:
    return {
        "active_users_30d": lambda: store.active_users(ActivityQuery("bench", START, END)),
        "active_users_by_model_30d": lambda: store.active_users(ActivityQuery("bench", START, END, dim="model", value="gpt-4o")),
        "active_users_7d": lambda: store.active_users(ActivityQuery("bench", END - 7 * DAY, END)),
        "retention_day_1_7_30": lambda: store.retention(RetentionQuery("bench", START, END)),
        "retention_day_heatmap_0_30": lambda: store.retention(RetentionQuery("bench", START, END, offsets=tuple(range(31)))),
        "retention_week_by_prompt_version": lambda: store.retention(
            RetentionQuery("bench", START, END, period="week", dim="prompt_version", value="v2")
        ),
    }


def engagement_queries(store: DuckDBStore) -> dict[str, Callable[[], object]]:
    return {
        "engagement_7d": lambda: store.engagement(ActivityQuery("bench", END - 7 * DAY, END)),
        "engagement_by_model_7d": lambda: store.engagement(ActivityQuery("bench", END - 7 * DAY, END, dim="model", value="gpt-4o")),
        "engagement_30d": lambda: store.engagement(ActivityQuery("bench", START, END)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--data", default=str(ROOT / "bench" / ".data"))
    args = parser.parse_args()
    path = Path(args.data) / "query-10000000.duckdb"
    if not path.exists():
        raise SystemExit(f"{path} is missing: build it with `python -m bench.bench_query --sizes 10000000`")
    store = DuckDBStore(path)
    try:
        for figure, queries, repeat, target in (
            ("ux_users_query_p95_ms_10m", users_queries(store), args.repeat, "< 200 at 10M"),
            ("ux_engagement_p95_ms_10m", engagement_queries(store), args.repeat, "< 300 at 10M"),
        ):
            timings = time_queries(queries, repeat)
            for name, samples in timings.items():
                print(f"  {name:<36} p50 {statistics.median(samples):7.1f} ms  p95 {p95(samples):7.1f} ms")
            worst = max(p95(samples) for samples in timings.values())
            record(figure, worst, "ms", rows=store.count("bench"), detail={k: round(p95(v), 2) for k, v in timings.items()}, target=target)
    finally:
        store.close()


if __name__ == "__main__":
    main()
