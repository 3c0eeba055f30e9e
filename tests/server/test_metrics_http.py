"""``GET /metrics`` on the real app (in process): format, keys and token, request timing, and the
Grafana dashboard checked against a live scrape."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from heron.schema.records import RESOURCE_METRICS, ResourceSample
from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "heron-dashboard.json"
WRITE_KEY = "hn_w_metrics_test_key_0123456789"
READ_KEY = "hn_r_metrics_test_key_0123456789"
SCRAPE = {"Authorization": f"Bearer {READ_KEY}"}
"""/metrics needs a key: the project's read key shows its series (tests/server/test_security_headers.py)."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _client(tmp_path: Path) -> TestClient:
    KeyRing(tmp_path / "keys.json").add("test", "write", WRITE_KEY)
    KeyRing(tmp_path / "keys.json").add("test", "read", READ_KEY)
    return TestClient(create_app(Settings(data_dir=tmp_path, fsync=False)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as running:
        yield running


def _sample_names(text: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def _send_traffic(client: TestClient) -> None:
    now = time.time()
    items = [
        {"model": model, "provider": "openai", "start_time": now - 5, "latency_ms": 120.0 * (i + 1), "ttft_ms": 30.0 * (i + 1),
         "input_tokens": 100, "output_tokens": 20, "cached_tokens": 10, "reasoning_tokens": 5, "app_version": "1.0",
         "prompt_version": "p1", "user_id": f"u{i}", **({"error_type": "RateLimitError"} if i % 4 == 0 else {})}
        for i, model in enumerate(["gpt-4o-mini", "gpt-4o", "heron-test-unpriced"] * 4)
    ]
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    assert client.post("/v1/interactions", json={"interactions": items}, headers=headers).status_code == 200
    feedback = [{"interaction_id": "x", "thumbs": "up"}]
    assert client.post("/v1/feedback", json={"feedback": feedback}, headers=headers).status_code == 200
    samples = [ResourceSample(time=now, host="gpu-host-1", metric=metric, value=1.0, project="test",
                              device="0" if metric.startswith("gpu_") else None)
               for metric in RESOURCE_METRICS]
    client.app.state.services.metrics.committed([], [], samples)  # type: ignore[attr-defined]


def test_scrape_is_text_format_0_0_4_with_a_read_key(client: TestClient) -> None:
    _send_traffic(client)
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["heron_interactions"].type == "counter"
    assert families["heron_interaction_latency_seconds"].type == "histogram"
    assert families["heron_ingest_queue_depth"].type == "gauge"
    assert sum(s.value for s in families["heron_interactions"].samples) == 12
    names = _sample_names(response.text)
    for name in ("heron_ingest_queue_depth", "heron_ingest_rejected_items_total", "heron_ingest_rejected_requests_total",
                 "heron_ingest_overloaded_total", "heron_enrichment_backlog", "heron_wal_commits_total",
                 "heron_uptime_seconds", "heron_build_info", "heron_store_errors_total"):
        assert name in names, name
    assert "u3" not in response.text  # user ids never become labels


def test_requests_are_timed_by_route_template(client: TestClient) -> None:
    _send_traffic(client)
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/path/12345").status_code == 404
    assert client.post("/v1/interactions", json={"interactions": []}).status_code == 401
    text = client.get("/metrics", headers=SCRAPE).text
    counts = {
        (s.labels["route"], s.labels["method"], s.labels["status_class"]): s.value
        for family in text_string_to_metric_families(text) if family.name == "heron_http_request_duration_seconds"
        for s in family.samples if s.name.endswith("_count")
    }
    assert counts[("/healthz", "GET", "2xx")] == 1
    assert counts[("/v1/interactions", "POST", "2xx")] == 1
    assert counts[("/v1/interactions", "POST", "4xx")] == 1
    assert counts[("unmatched", "GET", "4xx")] == 1
    assert "12345" not in text  # raw paths are never labels


def test_rejections_show_up(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {WRITE_KEY}"}
    good = {"model": "m", "start_time": time.time()}
    client.post("/v1/interactions", json={"interactions": [good, {"model": 5}]}, headers=headers)
    client.post("/v1/interactions", json={"interactions": [good]})  # no key
    values = {s.name: s.value for f in text_string_to_metric_families(client.get("/metrics", headers=SCRAPE).text) for s in f.samples}
    assert values["heron_ingest_rejected_items_total"] == 1
    assert values["heron_ingest_rejected_requests_total"] == 1


def test_token_protects_the_scrape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_METRICS_TOKEN", "s3cret-token")
    with _client(tmp_path) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert response.status_code == 200 and "heron_uptime_seconds" in response.text


# -- the Grafana dashboard ---------------------------------------------------------------

_METRIC = re.compile(r"\bheron_[a-zA-Z0-9_:]+")


def _expressions(dashboard: dict[str, object]) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    return found


def test_dashboard_is_valid_json_with_the_panels_asked_for() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}"
        for key in ("h", "w", "x", "y"):
            assert isinstance(panel["gridPos"][key], int)
    text = " ".join(_expressions(dashboard))
    for needle in ("heron_interactions_total", "heron_errors_total", "histogram_quantile(0.99", "heron_interaction_ttft_seconds",
                   "heron_tokens_total", "heron_cost_usd_total", "heron_ingest_queue_depth", "heron_host_cpu_percent",
                   "heron_host_memory_used_bytes", "heron_gpu_utilization_percent"):
        assert needle in text, needle


def test_every_dashboard_metric_is_in_a_live_scrape(client: TestClient) -> None:
    _send_traffic(client)
    scraped = _sample_names(client.get("/metrics", headers=SCRAPE).text)
    expressions = _expressions(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    assert len(expressions) > 20
    missing = {}
    for expr in expressions:
        names = set(_METRIC.findall(expr))
        assert names, expr
        if names - scraped:
            missing[expr] = sorted(names - scraped)
    assert not missing, missing
