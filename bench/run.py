"""`make bench`: run every benchmark, then rewrite docs/benchmarks.md from bench/results.json."""

from __future__ import annotations

import json
import subprocess
import sys

from bench._common import RESULTS, ROOT

BENCHMARKS = [
    ["bench.bench_sdk"],
    ["bench.bench_ingest"],
    ["bench.bench_query"],
]

TARGETS = {
    "sdk_overhead_ratio_vs_otel": "≤ 0.1",
    "ingest_json_per_s": "≥ 20,000",
    "ingest_otlp_per_s": "≥ 20,000",
    "query_overview_p95_ms_1m": "—",
    "query_overview_p95_ms_10m": "< 100",
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
