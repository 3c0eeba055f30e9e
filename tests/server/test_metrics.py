"""The Metrics object behind ``/metrics``: values, caps, thread safety, resource gauges.

Every scrape here is read back with prometheus_client's text parser (the
reference implementation of the format), never with string matching alone.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter as Tally

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from heron.errors import ConfigError
from heron.schema.records import Feedback, Interaction, ResourceSample
from heron.server._metrics_text import OVERFLOW
from heron.server.metrics import DIMENSIONS, LATENCY_BUCKETS, TTFT_BUCKETS, Metrics

NOW = 1_767_225_600.0


def _it(model: str = "gpt-4o", **fields: object) -> Interaction:
    base: dict[str, object] = {"project": "p", "provider": "openai", "status": "ok", "start_time": NOW}
    return Interaction(model=model, **{**base, **fields})  # type: ignore[arg-type]


def samples(metrics: Metrics) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name → [(labels, value)], parsed by prometheus_client."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def total(metrics: Metrics, name: str, **match: str) -> float:
    return sum(v for labels, v in samples(metrics).get(name, []) if all(labels.get(k) == w for k, w in match.items()))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counters_tokens_cost_and_histograms_match_the_traffic() -> None:
    rng = np.random.default_rng(7)
    latencies = rng.lognormal(7.0, 0.9, 500).clip(1, 500_000)
    ttfts = rng.lognormal(5.5, 0.8, 500).clip(1, 100_000)
    items = [
        _it(
            ["gpt-4o", "claude-3-5-sonnet"][i % 2], latency_ms=float(latencies[i]), ttft_ms=float(ttfts[i]),
            input_tokens=i, output_tokens=2 * i, cached_tokens=i % 7, reasoning_tokens=None if i % 3 else 5,
            cost_usd=None if i % 10 == 0 else 0.001, status="error" if i % 25 == 0 else "ok",
            error_type="RateLimitError" if i % 25 == 0 else None, app_version=f"v{i % 4}",
        )
        for i in range(500)
    ]
    metrics = Metrics()
    for k in range(0, 500, 100):  # several commits, as the pipeline makes them
        metrics.committed(items[k : k + 100], [], [])

    assert total(metrics, "heron_interactions_total") == 500
    assert total(metrics, "heron_interactions_total", model="gpt-4o", status="ok") == sum(
        1 for i in range(0, 500, 2) if i % 25
    )
    assert total(metrics, "heron_errors_total", error_type="RateLimitError") == 20
    assert total(metrics, "heron_tokens_total", kind="input") == sum(range(500))
    assert total(metrics, "heron_tokens_total", kind="output") == 2 * sum(range(500))
    assert total(metrics, "heron_tokens_total", kind="cached") == sum(i % 7 for i in range(500))
    assert total(metrics, "heron_tokens_total", kind="reasoning") == 5 * len(range(0, 500, 3))
    assert total(metrics, "heron_interactions_cost_unknown_total") == 50
    assert total(metrics, "heron_cost_usd_total") == pytest.approx(450 * 0.001)
    assert total(metrics, "heron_interaction_latency_seconds_count") == 500
    assert total(metrics, "heron_interaction_latency_seconds_sum") == pytest.approx(latencies.sum() / 1000)

    for name, values, bounds in (
        ("heron_interaction_latency_seconds", latencies / 1000, LATENCY_BUCKETS),
        ("heron_interaction_ttft_seconds", ttfts / 1000, TTFT_BUCKETS),
    ):
        buckets: Tally[float] = Tally()
        for labels, value in samples(metrics)[f"{name}_bucket"]:
            buckets[float(labels["le"])] += value
        for bound in bounds:  # cumulative: observations <= bound (milliseconds compared, as ingested)
            assert buckets[float(bound)] == int(np.sum(values * 1000 <= bound * 1000)), (name, bound)
        assert buckets[math.inf] == 500


def test_every_label_is_a_bounded_dimension_never_a_user_or_conversation() -> None:
    metrics = Metrics()
    items = [_it(user_id=f"user-{i}-secret", conversation_id=f"conv-{i}-secret", id=f"id-{i}-secret",
                 trace_id=f"trace-{i}", tags={"customer": f"cust-{i}"}) for i in range(50)]
    metrics.committed(items, [Feedback(interaction_id="id-1-secret", project="p", user_id="user-1-secret",
                                       conversation_id="conv-1-secret", thumbs="down")], [])
    metrics.stored(0.01, 51)
    metrics.request("/v1/interactions", "POST", 200, 0.002)
    text = metrics.render().decode()
    assert "secret" not in text and "trace-" not in text and "cust-" not in text
    allowed = {*DIMENSIONS, "error_type", "kind", "le", "source", "thumbs", "route", "method", "status_class",
               "version", "python", "label", "metric", "host", "service", "device"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert set(sample.labels) <= allowed, sample
            assert not {"user_id", "conversation_id", "id"} & set(sample.labels)


def test_label_values_past_the_cap_read_overflow_and_totals_stay_exact() -> None:
    metrics = Metrics(max_values=3)
    items = [_it(f"model-{i % 10}", latency_ms=100.0) for i in range(100)]
    metrics.committed(items, [], [])
    models = {labels["model"] for labels, _ in samples(metrics)["heron_interactions_total"]}
    assert models == {"model-0", "model-1", "model-2", OVERFLOW}
    assert total(metrics, "heron_interactions_total") == 100
    assert total(metrics, "heron_interactions_total", model=OVERFLOW) == 70
    assert total(metrics, "heron_interaction_latency_seconds_count", model=OVERFLOW) == 70
    assert total(metrics, "heron_metrics_label_overflow_total", label="model") == 70
    # a later batch of an admitted model is not an overflow; a new one is
    metrics.committed([_it("model-1"), _it("model-99")], [], [])
    assert total(metrics, "heron_interactions_total", model="model-1") == 11
    assert total(metrics, "heron_metrics_label_overflow_total", label="model") == 71


def test_the_label_set_cap_folds_new_combinations_into_one_overflow_set() -> None:
    metrics = Metrics(max_series=5)
    metrics.committed([_it(f"m{i}", app_version=f"v{i}", input_tokens=1) for i in range(8)], [], [])
    got = samples(metrics)["heron_interactions_total"]
    assert len(got) == 6
    overflow = [labels for labels, _ in got if labels["model"] == OVERFLOW]
    assert overflow == [{label: OVERFLOW for label in DIMENSIONS}]
    assert total(metrics, "heron_interactions_total") == 8
    assert total(metrics, "heron_tokens_total", kind="input") == 8
    assert total(metrics, "heron_metrics_series_overflow_total", metric="heron_interactions_total") == 3


def test_configuration_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_METRICS_MAX_VALUES", "many")
    with pytest.raises(ConfigError, match="HERON_METRICS_MAX_VALUES"):
        Metrics()
    monkeypatch.setenv("HERON_METRICS_MAX_VALUES", "7")
    assert Metrics().max_values == 7
    assert Metrics(max_values=9).max_values == 9  # argument before environment
    with pytest.raises(ConfigError):
        Metrics(max_values=0)


def test_concurrent_commits_and_scrapes_lose_nothing() -> None:
    metrics = Metrics()
    threads, per_thread, batch = 8, 40, 25

    def commit(t: int) -> None:
        for k in range(per_thread):
            metrics.committed(
                [_it(f"m{(t + i) % 5}", latency_ms=10.0 * i + 1, input_tokens=3, cost_usd=0.5) for i in range(batch)],
                [Feedback(interaction_id="x", project="p", thumbs="up")],
                [ResourceSample(time=NOW + k, host=f"h{t}", metric="cpu_percent", value=float(k))],
            )
            metrics.stored(0.001, batch)
            metrics.request("/v1/interactions", "POST", 200, 0.001)

    stop = threading.Event()
    scrapes: list[int] = []

    def scrape() -> None:
        while not stop.is_set():
            scrapes.append(len(metrics.render()))

    scraper = threading.Thread(target=scrape)
    scraper.start()
    workers = [threading.Thread(target=commit, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    scraper.join()
    n = threads * per_thread * batch
    assert scrapes
    assert total(metrics, "heron_interactions_total") == n
    assert total(metrics, "heron_interaction_latency_seconds_count") == n
    assert total(metrics, "heron_tokens_total") == 3 * n
    assert total(metrics, "heron_cost_usd_total") == pytest.approx(0.5 * n)
    assert total(metrics, "heron_feedback_total", thumbs="up") == threads * per_thread
    assert total(metrics, "heron_store_written_records_total") == n
    assert total(metrics, "heron_http_request_duration_seconds_count") == threads * per_thread
    cpu = {labels["host"]: v for labels, v in samples(metrics)["heron_host_cpu_percent"]}
    assert cpu == {f"h{t}": per_thread - 1.0 for t in range(threads)}


def test_resource_gauges_keep_the_latest_value_and_drop_stale_series() -> None:
    clock = FakeClock()
    metrics = Metrics(clock=clock)
    metrics.committed([], [], [
        ResourceSample(time=NOW, host="gpu-1", metric="cpu_percent", value=10.0, project="p"),
        ResourceSample(time=NOW + 5, host="gpu-1", metric="cpu_percent", value=30.0, project="p"),
        ResourceSample(time=NOW + 1, host="gpu-1", metric="cpu_percent", value=20.0, project="p"),
        ResourceSample(time=NOW, host="gpu-1", metric="gpu_utilization_percent", device="0", value=97.5, project="p"),
        ResourceSample(time=NOW, host="gpu-1", metric="gpu_utilization_percent", device="1", value=3.0, project="p"),
        ResourceSample(time=NOW, host="gpu-1", metric="memory_used_bytes", value=2.0**34, service="vllm", project="p"),
    ])
    got = samples(metrics)
    assert got["heron_host_cpu_percent"] == [({"project": "p", "host": "gpu-1", "service": "", "device": ""}, 30.0)]
    assert {labels["device"]: v for labels, v in got["heron_gpu_utilization_percent"]} == {"0": 97.5, "1": 3.0}
    assert got["heron_host_memory_used_bytes"][0][1] == 2.0**34
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    assert families["heron_gpu_utilization_percent"].type == "gauge"

    clock.now += 200
    metrics.committed([], [], [ResourceSample(time=NOW + 2, host="gpu-1", metric="cpu_percent", value=99.0, project="p")])
    assert total(metrics, "heron_host_cpu_percent") == 30.0  # a late, older reading does not win
    metrics.committed([], [], [ResourceSample(time=NOW + 200, host="gpu-1", metric="cpu_percent", value=40.0, project="p")])
    clock.now += 150  # 350 s after the GPU samples, 150 s after the CPU sample
    got = samples(metrics)
    assert "heron_gpu_utilization_percent" not in got and "heron_host_memory_used_bytes" not in got
    assert got["heron_host_cpu_percent"][0][1] == 40.0
    clock.now += 301
    assert "heron_host_cpu_percent" not in samples(metrics)
    metrics.committed([], [], [ResourceSample(time=NOW + 900, host="gpu-1", metric="cpu_percent", value=5.0)])
    assert total(metrics, "heron_host_cpu_percent") == 5.0  # a host that comes back reappears


def test_unknown_resource_metrics_are_capped() -> None:
    metrics = Metrics(max_values=2)
    metrics.committed([], [], [ResourceSample(time=NOW, host="h", metric=f"custom_{i}_ratio", value=1.0) for i in range(4)])
    metrics.committed([], [], [ResourceSample(time=NOW, host="h", metric="gpu_power_watts", device="0", value=250.0)])
    got = samples(metrics)
    assert {"heron_host_custom_0_ratio", "heron_host_custom_1_ratio", "heron_gpu_power_watts"} <= set(got)
    assert "heron_host_custom_3_ratio" not in got
    assert total(metrics, "heron_metrics_label_overflow_total", label="metric") == 2


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    odd = 'we"ird\\model\nname 100%d %s'
    metrics.committed([_it(odd, latency_ms=5.0, input_tokens=1, cost_usd=0.25)], [], [])
    got = samples(metrics)
    assert [labels["model"] for labels, _ in got["heron_interactions_total"]] == [odd]
    assert [labels["model"] for labels, _ in got["heron_interaction_latency_seconds_count"]] == [odd]
    assert total(metrics, "heron_cost_usd_total", model=odd) == 0.25


def test_store_writes_uptime_build_info_and_http_timing() -> None:
    wall = FakeClock()
    metrics = Metrics(wall=wall)
    metrics.stored(0.004, 100)
    metrics.stored(2.0, 50)
    metrics.request("/v1/interactions", "POST", 207, 0.02)
    metrics.request("unmatched", "BREW", 404, 0.0001)
    wall.now += 12.5
    got = samples(metrics)
    assert total(metrics, "heron_store_write_duration_seconds_count") == 2
    assert dict((labels["le"], v) for labels, v in got["heron_store_write_duration_seconds_bucket"])["0.005"] == 1
    assert total(metrics, "heron_store_written_records_total") == 150
    assert got["heron_uptime_seconds"] == [({}, 12.5)]
    assert got["heron_enrichment_backlog"] == [({}, 0.0)]
    assert got["heron_build_info"][0][1] == 1
    assert total(metrics, "heron_http_request_duration_seconds_count", route="/v1/interactions", status_class="2xx") == 1
    assert total(metrics, "heron_http_request_duration_seconds_count", method="other", status_class="4xx") == 1


def test_unchanged_series_are_not_formatted_again() -> None:
    metrics = Metrics(wall=FakeClock())
    metrics.committed([_it(f"m{i}", latency_ms=50.0) for i in range(20)], [], [])
    first = metrics.render()
    texts = {key: series.text for key, series in metrics.latency.series.items()}
    assert metrics.render() == first
    metrics.committed([_it("m3", latency_ms=50.0)], [], [])
    assert metrics.render() != first
    for key, series in metrics.latency.series.items():
        assert (series.text is texts[key]) == (key[2] != "m3"), key
    assert total(metrics, "heron_interactions_total", model="m3") == 2
