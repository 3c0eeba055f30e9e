"""A real Prometheus scrapes a real Heron server; what it stores matches the traffic sent.

Known traffic goes in through ``POST /v1/interactions`` and ``/v1/resources``;
after a scrape that follows it, values come back through Prometheus's own
query API: counts and token sums exactly, cost to float precision, latency and
TTFT quantiles (``histogram_quantile``) within the bucket that holds numpy's
percentile of the latencies sent. ``promtool check metrics`` finds nothing to
report in a scrape.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from heron.pricing import interaction_cost, shipped_table
from heron.schema.records import Interaction
from heron.server.metrics import LATENCY_BUCKETS, TTFT_BUCKETS
from tests.conftest import RunningServer, free_port, start_server

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="needs the Debian 'prometheus' package (prometheus, promtool); .ci/run installs it",
)

MODELS = {"gpt-4o-mini": (6.0, 0.6), "gpt-4o": (7.2, 0.5), "heron-e2e-unpriced": (5.0, 0.9)}
"""model -> (mu, sigma) of its lognormal latency in milliseconds."""
ERROR_TYPES = ["RateLimitError", "Timeout"]
BATCHES, PER_BATCH = 6, 100


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def query(self, expr: str) -> list[dict[str, object]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body["status"] == "success", (expr, body)
        return body["data"]["result"]  # type: ignore[no-any-return]

    def by(self, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
        return {tuple(r["metric"].get(label, "") for label in labels): float(r["value"][1])  # type: ignore[attr-defined, index]
                for r in self.query(expr)}

    def scalar(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])  # type: ignore[index]


def _wait(what: str, check: object, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.fixture
def heron(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "heron", env={"HERON_FSYNC": "0"})
    yield server
    server.stop()


@pytest.fixture
def prometheus(tmp_path: Path, heron: RunningServer) -> Iterator[Prometheus]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: heron\n    metrics_path: /metrics\n"
        f"    authorization:\n      credentials: {heron.read_key}\n"  # /metrics needs a key: the project's read key
        f"    static_configs:\n      - targets: ['127.0.0.1:{heron.port}']\n"
    )
    log = tmp_path / "prometheus.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    try:
        _wait("Prometheus /-/ready", lambda: httpx.get(f"{prom.url}/-/ready", timeout=2).status_code == 200, 60, log)

        def target_up() -> bool:
            active = httpx.get(f"{prom.url}/api/v1/targets", timeout=2).json()["data"]["activeTargets"]
            return any(t["health"] == "up" for t in active)

        _wait("the Heron target to be up", target_up, 60, log)
        yield prom
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _traffic(now: float) -> list[dict[str, object]]:
    rng = np.random.default_rng(20261122)
    items: list[dict[str, object]] = []
    for i in range(BATCHES * PER_BATCH):
        model = list(MODELS)[i % len(MODELS)]
        mu, sigma = MODELS[model]
        latency = float(np.clip(rng.lognormal(mu, sigma), 20, 110_000))
        item: dict[str, object] = {
            "id": f"e2e-{i}", "model": model, "provider": "openai", "start_time": now - 30,
            "latency_ms": round(latency, 3), "ttft_ms": round(latency * float(rng.uniform(0.05, 0.5)), 3),
            "input_tokens": int(rng.integers(1, 4000)), "output_tokens": int(rng.integers(1, 1000)),
            "cached_tokens": int(rng.integers(0, 500)), "reasoning_tokens": int(rng.integers(0, 300)) if i % 2 else None,
            "app_version": f"1.{i % 3}", "prompt_version": "support-v2",
            "user_id": f"user-{i}", "conversation_id": f"conversation-{i}",
        }
        if i % 10 == 0:
            item["error_type"] = ERROR_TYPES[(i // 10) % 2]
        items.append({k: v for k, v in item.items() if v is not None})
    return items


def _bucket_range(value: float, bounds: tuple[float, ...]) -> tuple[float, float]:
    i = bisect_left(bounds, value)
    return (bounds[i - 1] if i else 0.0), (bounds[i] if i < len(bounds) else float("inf"))


def test_prometheus_reads_back_the_traffic(heron: RunningServer, prometheus: Prometheus) -> None:
    now = time.time()
    items = _traffic(now)
    with httpx.Client(timeout=30) as client:
        for k in range(BATCHES):
            response = client.post(f"{heron.url}/v1/interactions", json={"interactions": items[k * PER_BATCH : (k + 1) * PER_BATCH]},
                                   headers=heron.write_headers)
            assert response.status_code == 200, response.text
        samples = [
            {"time": now, "host": "e2e-host", "metric": "cpu_percent", "value": 42.5},
            {"time": now, "host": "e2e-host", "metric": "gpu_utilization_percent", "device": "0", "value": 87.0},
            {"time": now, "host": "e2e-host", "metric": "gpu_memory_used_bytes", "device": "0", "value": 2.0**33},
        ]
        response = client.post(f"{heron.url}/v1/resources", json={"samples": samples}, headers=heron.write_headers)
        assert response.status_code == 200, response.text
        scrape = client.get(f"{heron.url}/metrics", headers=heron.read_headers).text
    n = len(items)

    # wait for a scrape that saw all of it
    _wait("a scrape after the traffic", lambda: prometheus.query("sum(heron_interactions_total)")
          and prometheus.scalar("sum(heron_interactions_total)") == n and prometheus.query("heron_host_cpu_percent"), 30, prometheus.log)

    status = lambda item: "error" if "error_type" in item else "ok"  # noqa: E731
    assert prometheus.by("sum by (model, status) (heron_interactions_total)", "model", "status") == {
        key: float(count) for key, count in Counter((str(it["model"]), status(it)) for it in items).items()
    }
    assert prometheus.by("sum by (model, error_type) (heron_errors_total)", "model", "error_type") == {
        key: float(count) for key, count in Counter((str(it["model"]), str(it["error_type"])) for it in items if "error_type" in it).items()
    }
    tokens = prometheus.by("sum by (model, kind) (heron_tokens_total)", "model", "kind")
    for model in MODELS:
        for kind in ("input", "output", "cached", "reasoning"):
            expected = sum(int(it.get(f"{kind}_tokens", 0)) for it in items if it["model"] == model)  # type: ignore[call-overload]
            assert tokens[(model, kind)] == expected, (model, kind)
    assert prometheus.by("sum by (app_version) (heron_interactions_total)", "app_version") == {
        (f"1.{v}",): float(len(range(v, n, 3))) for v in range(3)
    }

    # cost: priced models sum exactly what the price table says; the unpriced one is counted apart
    table = shipped_table()
    cost = prometheus.by("sum by (model) (heron_cost_usd_total)", "model")
    unknown = prometheus.by("sum by (model) (heron_interactions_cost_unknown_total)", "model")
    for model in MODELS:
        mine = [Interaction(**{**it, "status": status(it)}) for it in items if it["model"] == model]  # type: ignore[arg-type]
        costs = [interaction_cost(it, table.price(model, float(it.start_time))) for it in mine]  # type: ignore[arg-type]
        if model == "heron-e2e-unpriced":
            assert unknown[(model,)] == len(mine) and (model,) not in cost
        else:
            assert all(c is not None for c in costs)
            assert cost[(model,)] == pytest.approx(sum(costs), rel=1e-9)  # type: ignore[arg-type]
            assert (model,) not in unknown

    # quantiles: histogram_quantile lands in the bucket that holds numpy's percentile
    for metric, field, bounds, qs in (
        ("heron_interaction_latency_seconds", "latency_ms", LATENCY_BUCKETS, (0.5, 0.9, 0.99)),
        ("heron_interaction_ttft_seconds", "ttft_ms", TTFT_BUCKETS, (0.5, 0.9)),
    ):
        for model in MODELS:
            values = np.array([float(it[field]) for it in items if it["model"] == model]) / 1000  # type: ignore[arg-type]
            for q in qs:
                estimate = prometheus.scalar(f'histogram_quantile({q}, sum by (le) ({metric}_bucket{{model="{model}"}}))')
                low = _bucket_range(float(np.percentile(values, q * 100, method="lower")), bounds)[0]
                high = _bucket_range(float(np.percentile(values, q * 100, method="higher")), bounds)[1]
                assert low <= estimate <= high, (metric, model, q, estimate, np.percentile(values, q * 100), (low, high))
        assert prometheus.scalar(f"sum({metric}_count)") == n
        assert prometheus.scalar(f"sum({metric}_sum)") == pytest.approx(sum(float(it[field]) for it in items) / 1000, rel=1e-9)  # type: ignore[arg-type]

    # the server's own health
    posts = prometheus.scalar('sum(heron_http_request_duration_seconds_count{route="/v1/interactions",method="POST",status_class="2xx"})')
    assert posts == BATCHES
    assert prometheus.scalar("sum(heron_ingest_rejected_items_total)") == 0
    assert prometheus.scalar("max(heron_uptime_seconds)") > 0
    assert prometheus.query("heron_build_info")
    assert prometheus.query("heron_ingest_queue_depth") and prometheus.query("heron_enrichment_backlog")
    assert prometheus.by("heron_host_cpu_percent", "host") == {("e2e-host",): 42.5}
    assert prometheus.by("heron_gpu_utilization_percent", "host", "device") == {("e2e-host", "0"): 87.0}

    # no user or conversation id ever became a label
    assert "user-" not in scrape and "conversation-" not in scrape
    assert not prometheus.query('count({__name__=~"heron_.+", user_id!=""})')

    # promtool, Prometheus's own linter, has nothing to say about a scrape
    check = subprocess.run(["promtool", "check", "metrics"], input=scrape.encode(), capture_output=True, timeout=60)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), (check.stdout, check.stderr)
