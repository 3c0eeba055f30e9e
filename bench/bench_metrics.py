"""`/metrics` scrape time with 5,000 interaction label sets.

A real server (``create_app`` under uvicorn, in a child process) whose Metrics
object is fed through its ``on_committed`` hook with synthetic interactions:
100 models × 10 app versions × 5 statuses, every one with latency, TTFT, four
token kinds and a cost, so every interaction counter has 5,000 label sets
(tokens 20,000). The histograms are by project, provider, model and status:
500 label sets each, of 20 and 18 lines. The HTTP schema allows only
``ok``/``error``; the other three statuses are set on the records directly to
reach the label-set count. A plain socket client does ``GET /metrics`` and
reads to the end, repeatedly:

- ``changed``: before each scrape the child commits one more interaction per
  label set, so every series must be formatted again (the worst case);
- ``unchanged``: nothing changed since the previous scrape (formatted text is
  reused).

The figure recorded is the median of ``changed``; p95 and the other cases are
in its detail, with the same two cases timed on ``Metrics.render`` alone, and,
for the library choice (docs/architecture.md), ``generate_latest`` of
prometheus_client holding the same series.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from bench._common import free_port, record
from heron.schema.records import Interaction

MODELS = 100
VERSIONS = 10
STATUSES = ("ok", "error", "cancelled", "timeout", "filtered")
TOKEN = "bench-metrics-admin-token"
"""HERON_METRICS_TOKEN of the benchmarked server: /metrics needs a key, and the admin token shows every series."""


def traffic(seed: int) -> list[Interaction]:
    rng = random.Random(seed)
    now = time.time()
    return [
        Interaction(
            model=f"model-{m:03d}", start_time=now, project="bench", provider="openai", app_version=f"1.{v}.0",
            prompt_version="p1", status=status, error_type="RateLimitError" if status == "error" else None,  # type: ignore[arg-type]
            latency_ms=rng.lognormvariate(6.5, 0.8), ttft_ms=rng.lognormvariate(5.0, 0.8),
            input_tokens=rng.randint(10, 2000), output_tokens=rng.randint(10, 800), cached_tokens=rng.randint(0, 100),
            reasoning_tokens=rng.randint(0, 100), cost_usd=rng.random() / 100,
        )
        for m in range(MODELS)
        for v in range(VERSIONS)
        for status in STATUSES
    ]


def _serve(port: int, data_dir: str, conn: Connection) -> None:
    """Child process: the real app under uvicorn; the pipe asks for one more round of traffic."""
    import uvicorn

    from heron.server.app import create_app
    from heron.server.settings import Settings

    os.environ["HERON_METRICS_TOKEN"] = TOKEN  # this child process only
    app = create_app(Settings(data_dir=Path(data_dir), port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))

    def control() -> None:
        while not server.started:
            time.sleep(0.01)
        metrics = app.state.services.metrics
        seed = 0
        while True:
            message = conn.recv()
            if message == "stop":
                server.should_exit = True
                return
            seed += 1
            metrics.committed(traffic(seed), [], [])
            conn.send("ok")

    threading.Thread(target=control, daemon=True).start()
    server.run()


def scrape(port: int) -> tuple[float, int]:
    """Seconds for one ``GET /metrics`` until the last byte, and the bytes received."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n" % TOKEN.encode())
        received = bytearray()
        while chunk := sock.recv(1 << 20):
            received += chunk
    elapsed = time.perf_counter() - started
    if not received.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"/metrics answered {bytes(received[:80])!r}")
    return elapsed, len(received)


def _summary(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def bench_render(repeats: int) -> dict[str, float]:
    from heron.server.metrics import Metrics

    metrics = Metrics()
    metrics.committed(traffic(0), [], [])
    metrics.render()
    changed, unchanged = [], []
    for k in range(repeats):
        metrics.committed(traffic(k + 1), [], [])
        started = time.perf_counter()
        metrics.render()
        changed.append(time.perf_counter() - started)
        started = time.perf_counter()
        metrics.render()
        unchanged.append(time.perf_counter() - started)
    started = time.perf_counter()
    batch = traffic(10_000)
    metrics.committed(batch, [], [])
    commit_us = (time.perf_counter() - started) / len(batch) * 1e6
    (c50, c95), (u50, u95) = _summary(changed), _summary(unchanged)
    return {
        "render_changed_p50_ms": round(c50, 1), "render_changed_p95_ms": round(c95, 1),
        "render_unchanged_p50_ms": round(u50, 1), "render_unchanged_p95_ms": round(u95, 1),
        "hook_us_per_interaction_all_sets_distinct": round(commit_us, 2),
    }


def bench_prometheus_client(repeats: int) -> float:
    """Median ms of prometheus_client's ``generate_latest`` over the same families and label sets."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from heron.server.metrics import DIMENSIONS, HISTOGRAM_LABELS, LATENCY_BUCKETS, TTFT_BUCKETS

    registry = CollectorRegistry()
    interactions = Counter("heron_interactions", "", DIMENSIONS, registry=registry)
    tokens = Counter("heron_tokens", "", (*DIMENSIONS, "kind"), registry=registry)
    cost = Counter("heron_cost_usd", "", DIMENSIONS, registry=registry)
    latency = Histogram("heron_interaction_latency_seconds", "", HISTOGRAM_LABELS, buckets=LATENCY_BUCKETS, registry=registry)
    ttft = Histogram("heron_interaction_ttft_seconds", "", HISTOGRAM_LABELS, buckets=TTFT_BUCKETS, registry=registry)
    for it in traffic(0):
        key = (it.project, it.provider, it.model, it.app_version, it.prompt_version, it.status)
        interactions.labels(*key).inc()
        for kind in ("input", "output", "cached", "reasoning"):
            tokens.labels(*key, kind).inc(getattr(it, f"{kind}_tokens"))
        cost.labels(*key).inc(it.cost_usd or 0.0)
        latency.labels(it.project, it.provider, it.model, it.status).observe((it.latency_ms or 0) / 1000)
        ttft.labels(it.project, it.provider, it.model, it.status).observe((it.ttft_ms or 0) / 1000)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        generate_latest(registry)
        seconds.append(time.perf_counter() - started)
    return round(_summary(seconds)[0], 1)


def bench_http(repeats: int) -> tuple[list[float], list[float], int]:
    port = free_port()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    with tempfile.TemporaryDirectory() as data_dir:
        proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, data_dir, child), daemon=True)
        proc.start()
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("server did not start") from None
                    time.sleep(0.05)
            parent.send("traffic")
            parent.recv()
            scrape(port)  # formats every series once
            changed, unchanged = [], []
            size = 0
            for _ in range(repeats):
                parent.send("traffic")
                parent.recv()
                seconds, size = scrape(port)
                changed.append(seconds)
                unchanged.append(scrape(port)[0])
            parent.send("stop")
            proc.join(30)
        finally:
            if proc.is_alive():
                proc.kill()
    return changed, unchanged, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    render_detail = bench_render(args.repeats)
    render_detail["prometheus_client_generate_latest_p50_ms"] = bench_prometheus_client(5)
    print(render_detail, flush=True)
    changed, unchanged, size = bench_http(args.repeats)
    (c50, c95), (u50, u95) = _summary(changed), _summary(unchanged)
    record(
        "metrics_scrape_ms", c50, "ms",
        target="< 50",
        label_sets=MODELS * VERSIONS * len(STATUSES),
        scrape_bytes=size,
        repeats=args.repeats,
        detail={
            "http_changed_p50_ms": round(c50, 1), "http_changed_p95_ms": round(c95, 1),
            "http_unchanged_p50_ms": round(u50, 1), "http_unchanged_p95_ms": round(u95, 1),
            **render_detail,
        },
    )


if __name__ == "__main__":
    main()
