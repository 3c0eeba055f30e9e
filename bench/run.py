"""`make bench`: run every benchmark, then rewrite docs/benchmarks.md from bench/results.json."""

from __future__ import annotations

import json
import subprocess
import sys

from bench._common import RESULTS, ROOT

BENCHMARKS = [
    ["bench.bench_enrich"],
    ["bench.bench_sdk"],
    ["bench.bench_ingest"],
    ["bench.bench_query"],
    ["bench.bench_ux_users"],
    ["bench.bench_ux_query"],
    ["bench.bench_ux_tags"],
    ["bench.bench_metrics"],
    ["bench.eval_topics"],
    ["bench.bench_drift"],
    ["bench.bench_anomaly"],
    ["bench.eval_incidents"],
    ["bench.eval_scenarios"],
    ["bench.eval_drift_clean"],
    ["bench.eval_language"],
    ["bench.eval_emerging"],
    ["bench.bench_dashboard"],
    ["bench.bench_overload"],
]

TARGETS = {
    "sdk_overhead_ratio_vs_otel": "≤ 0.1",
    "ingest_json_per_s": "≥ 20,000",
    "ingest_otlp_per_s": "≥ 20,000",
    "query_overview_p95_ms_1m": "—",
    "query_overview_p95_ms_10m": "< 100",
    "ops_query_p95_ms_1m": "—",
    "ops_query_p95_ms_10m": "< 100",
    "metrics_scrape_ms": "< 50",
    "enrich_per_s": "≥ 3,000",
    "enrich_worker_per_s": "—",
    "topic_assign_per_s": "—",
    "ingest_with_enrich_ratio": "≥ 0.8",
    "ux_query_p95_ms_10m": "< 200",
    "ux_users_query_p95_ms_10m": "< 200",
    "ux_engagement_p95_ms_10m": "< 300",
    "ux_tag_query_p95_ms_400k": "< 1000",
    "drift_1m_s": "< 1",
    "drift_embed_10k_s": "< 2",
    "anomaly_10k_series_s": "< 1",
    "dashboard_api_p95_ms_10m": "< 300",
    "dashboard_paint_s": "< 1.5",
    "read_p99_under_overload_ms": "≤ 500",
    "demo_incidents_per_hour": "≤ 1",
    "detect_false_incidents_per_day": "≤ 1",
    "detect_false_incidents_per_day_scenarios": "≤ 1",
    "detect_classes_found": "8",
    "drift_clean_false_flags": "0",
    "topics_ari_external": "≥ 0.5",
    "emerging_ramp_found_external": "—",
    "emerging_ramp_delay_h": "≤ 24",
    "emerging_false_reports_per_day": "≤ 0.1",
    "rss_under_overload_mb": "≤ 1,500",
}


def render() -> str:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`); every figure is also in `bench/results.json`.",
        "Each benchmark's method is in its module docstring under `bench/`.",
        "",
        "| name | value | unit | target | measured at | machine |",
        "|---|---|---|---|---|---|",
    ]
    for name, figure in sorted(results.items()):
        lines.append(
            f"| `{name}` | {figure['value']:,} | {figure['unit']} | {TARGETS.get(name, '—')} | {figure['measured_at']} | {figure['machine']} |"
        )
    lines += [
        "",
        "## What the figures mean",
        "",
        "- `sdk_overhead_ratio_vs_otel`: median cost on the calling thread of `heron.log` with 20 fields,",
        "  divided by the OpenTelemetry SDK creating and ending a span with the same 20 attributes",
        "  (BatchSpanProcessor, discarding exporter), in the same run. Heron's worker thread runs meanwhile.",
        "- `ingest_json_per_s`, `ingest_otlp_per_s`: interactions per second from the first request until",
        "  `/v1/status` reports all of them stored and queryable, 4 concurrent clients on the same 2-core",
        "  machine, fsync on, production-shaped calls (bench/bench_ingest.py): conversations of 1–8 turns that",
        "  resend their history, 15–20 application attributes or tags per call, JSON in the Heron SDK's batches",
        "  of 1,000, OTLP (OpenLLMetry spans, replies as attributes, `gen_ai.choice` events or both) in the",
        "  BatchSpanProcessor's batches of 512; the server's CPU per call is in Details. For scale: Arize",
        "  Phoenix 20.x, fed the same kind of OTLP traffic on this machine, made spans queryable at ~35 spans/s.",
        "- `query_overview_p95_ms_*`: the worst p95 of the overview queries (latency and TTFT percentiles",
        "  by model by hour over 7 and 30 days; distinct users per day, total and by model, over 30 days)",
        "  with 1M / 10M interactions stored over 30 days. For scale: DuckDB took ~1.3 s for exact",
        "  percentiles by model by hour over 10M raw rows here; Heron reads rollups maintained at ingest.",
        "- `enrich_per_s`: demo traffic sent to a server with every signal on (after a 5,000-interaction warm-up",
        "  from which the server fits the project's topic model, so topics and emerging-topic detection run),",
        "  interactions divided by the time from the first request until all are enriched (ingest included).",
        "  `ingest_with_enrich_ratio`: stored throughput with enrichment on over off, same traffic, same run.",
        "  `enrich_worker_per_s`: the enrichment worker alone (one process, topics and emerging on).",
        "  `topic_assign_per_s`: topic assignment excluding embedding (bench/eval_topics.py).",
        "- `ux_query_p95_ms_10m`: UX summaries (by model over 7/30 days, prompt version per day), the topic table",
        "  (window, previous window, per day), the topic flow over 7/30 days, and users (active users, retention)",
        "  at 10M interactions; signals synthesised once, UX rollups derived from them (bench/bench_ux_query.py).",
        "  `ux_users_query_p95_ms_10m`: the users/retention queries alone (bench/bench_ux_users.py).",
        "  `ux_engagement_p95_ms_10m`: engagement (calls and conversation time per user per day, active",
        "  days) over 7 days, 7 days for one model and 30 days, read from rollups kept at write time.",
        "- `ux_tag_query_p95_ms_400k`: UX figures of a tag slice over 7 days (~280,000 turns of 400,000 calls with",
        "  ten tags each), summed from raw turns joined to their calls: the summary (all, hourly, by model, by the",
        "  tag), the topic table and flow; the worst p95 (bench/bench_ux_tags.py; the tag list and the rollup-read",
        "  summary are in Details). At 2M calls (1.4M turns in 7 days) the same run gave 0.4–0.5 s for a slice,",
        "  1.6 s grouped by the tag, 1.7 s for the tag list: linear in the window's turns.",
        "- `ops_query_p95_ms_*`: the worst p95 of the operational queries (every ops metric by model per",
        "  hour over 24 h; a 7-day summary by model; errors by type, prompt versions and cost by model per",
        "  day over 30 days; the last hour per minute, which scans raw rows), same data.",
    ]
    lines += [
        "- `drift_1m_s`: numeric and categorical drift, 1M vs 1M rows × 10 columns (3 truly drifted), every",
        "  test chosen by the default rule; Evidently 0.7.23's DataDriftPreset on the same data in the same run",
        "  (its own venv) is in Details, with the columns each flagged. `drift_embed_10k_s`: MMD with a",
        "  500-permutation test, 10k vs 10k × 256 dims (bench/bench_drift.py, docs/drift.md).",
        "- `anomaly_10k_series_s`: one closed bucket for 10,000 series through the anomaly detector, median",
        "  after an 8-day warm-up (bench/bench_anomaly.py; detection quality: bench/eval_anomaly.py, docs/anomalies.md).",
        "- `demo_incidents_per_hour`: incidents (GET /v1/incidents' grouping) the monitor reports over a day",
        "  of `heron demo`'s live traffic after a week of its history, ops metrics, support floors on; without",
        "  the floors in Details. `detect_false_incidents_per_day`: the same over two clean days of synthetic",
        "  traffic not written with the demo's generator (6 models from 0.2 to 40 calls a minute) (bench/eval_incidents.py).",
        "- `detect_classes_found`: of issue 13's eight incident classes, those found on the right segment in injected",
        "  scenarios on a travel-booking assistant's traffic written for it (9 days through the ingest API with enrichment",
        "  on, the server's monitor judging by event time; a new subject from GET /v1/topics/emerging; a prompt regression",
        "  needs an incident on a UX metric); classes that need experiments or PII handling count as not found.",
        "  `detect_false_incidents_per_day_scenarios`: incidents matching no injected window (bench/eval_scenarios.py).",
        "- `drift_clean_false_flags`: features flagged by drift reports between clean windows (day/day, Saturday/Friday,",
        "  weekend/weekdays, 3 h/the same 3 h a day later) of demo and synthetic traffic, embeddings included",
        "  (bench/eval_drift_clean.py).",
        "- `topics_ari_external`: topics fitted on chatterbot-corpus's user lines (text Heron did not write; English,",
        "  Spanish, Portuguese, Italian, German, French), ARI against each file's subject; the worst language",
        "  (bench/eval_topics.py).",
        "- `emerging_ramp_found_external`: of chatterbot-corpus's English subjects, each in turn ramping from 0 to 30 % of",
        "  messages over a week after a day watched without it (300 and 600 messages/h), the share the emerging-topic",
        "  detector reports within 24 h of passing 3 %; `emerging_ramp_delay_h`: the worst delay of those reported",
        "  (chatterbot and the hand-written set); `emerging_false_reports_per_day`: reports of anything else, controls",
        "  included, per streamed day (bench/eval_emerging.py).",
        "- `language_id_accuracy_external_min`, `language_id_short_accuracy_external_min`, `language_id_rare_rate_external`:",
        "  language identification on every line of chatterbot-corpus (text Heron did not write, 23 languages): the worst",
        "  accuracy of en/es/de/fr/pt (all lines; lines under 20 letters), and the share named as a rare language",
        "  (bench/eval_language.py; per language in docs/ux-quality.md).",
        "- `dashboard_api_p95_ms_10m`: every API request the seven dashboard pages make on the 24h, 7d and 30d",
        "  ranges (recorded from headless Chromium, the window pinned to the 10M store's end with `?end=`),",
        "  each replayed 20 times over HTTP; the worst p95, per page in Details. `dashboard_paint_s`: navigation",
        "  start to the Overview's eight charts drawn, fresh browser context (no cache), median of 5 loads",
        "  (bench/bench_dashboard.py; monitor off, nothing to enrich, the 10M store of bench_query + bench_ux_query).",
        "- `metrics_scrape_ms`: median time of one `GET /metrics` through HTTP, read to the last byte, from",
        "  a real server whose metrics hold 5,000 interaction label sets (100 models × 10 app versions ×",
        "  5 statuses; histograms by model and status), with every series changed since the previous",
        "  scrape (the worst case). p95 and the unchanged case are in Details.",
    ]
    details = [(name, figure) for name, figure in sorted(results.items()) if "detail" in figure]
    if details:
        lines += ["", "## Details", ""]
        for name, figure in details:
            lines.append(f"- `{name}`: " + ", ".join(f"{k} = {v}" for k, v in figure["detail"].items()))
    return "\n".join(lines) + "\n"


def main() -> int:
    failed = 0
    for module in BENCHMARKS:
        print(f"== {module[0]}", flush=True)
        failed |= subprocess.call([sys.executable, "-m", *module], cwd=ROOT)
    (ROOT / "docs" / "benchmarks.md").write_text(render())
    return failed


if __name__ == "__main__":
    sys.exit(main())
