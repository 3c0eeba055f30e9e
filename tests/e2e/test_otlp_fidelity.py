"""The support assistant of the ingest-fidelity issue, end to end: the real OpenTelemetry SDK exports
to a real server, and every derived figure is checked through the HTTP API (and /metrics)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, Status, StatusCode

from tests.conftest import RunningServer

APP = {"app.prompt_version": "pv-7", "app.rag_source": "kb-faq", "app.experiment": "greeting", "app.variant": "B"}


def _tracer(server: RunningServer) -> tuple[TracerProvider, Any]:
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers={"Authorization": f"Bearer {server.write_key}"})
    provider = TracerProvider(resource=Resource.create({"service.name": "support-assistant", "deployment.environment": "prod"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, provider.get_tracer("support-assistant")


def _get(server: RunningServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, headers=server.read_headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _wait(server: RunningServer, path: str, done: Any, **params: Any) -> Any:
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(f"{server.url}{path}", params=params, headers=server.read_headers, timeout=30)
        if response.status_code == 200 and done(response.json()):
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {response.status_code} {response.text[:500]}")
        time.sleep(0.1)


def test_support_assistant_spans_map_completely(server: RunningServer) -> None:
    provider, tracer = _tracer(server)
    conversation = "conv-fidelity"
    ok_ids = []
    for i in range(3):
        with tracer.start_as_current_span("chat claude") as span:
            span.set_attributes({
                "gen_ai.system": "anthropic", "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "claude-3-5-sonnet", "gen_ai.response.model": "claude-3-5-sonnet-20241022",
                "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": f"Where is parcel {i}?",
                "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": f"Parcel {i} is on its way.",
                "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 8,
                "gen_ai.conversation.id": conversation, "user.id": "u-1", "app.team": "support", **APP,
            })
            span.add_event("gen_ai.choice", {"index": 0, "finish_reason": "stop", "role": "assistant", "content": f"Parcel {i} is on its way."})
            ok_ids.append(span.get_span_context())
    with tracer.start_as_current_span("chat claude") as span:  # failed: no response model
        span.set_attributes({"gen_ai.system": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-3-5-sonnet",
                             "error.type": "overloaded_error", "gen_ai.conversation.id": conversation, **APP})
        span.set_status(Status(StatusCode.ERROR, "529 overloaded"))
    with tracer.start_as_current_span("feedback", links=[Link(ok_ids[0])]) as span:
        span.set_attributes({"feedback.score": 1, "feedback.interaction_span_id": f"{ok_ids[0].span_id:016x}",
                             "gen_ai.conversation.id": conversation})
    with tracer.start_as_current_span("feedback", links=[Link(ok_ids[1])]) as span:
        span.set_attributes({"feedback.score": 0, "gen_ai.conversation.id": conversation})
    with tracer.start_as_current_span("judge", links=[Link(ok_ids[2])]) as span:
        span.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "helpfulness", "gen_ai.evaluation.score.value": 0.9})
    with tracer.start_as_current_span("GET /chat") as span:  # context only: skipped, never rejected
        span.set_attributes({"gen_ai.conversation.id": conversation, "http.route": "/chat"})
    provider.shutdown()

    turns = _wait(server, f"/v1/conversations/{conversation}", lambda b: len(b.get("interactions", [])) >= 4)["interactions"]
    assert len(turns) == 4
    answered = [t for t in turns if t["status"] == "ok"]
    assert [t["output"] for t in answered] == [f"Parcel {i} is on its way." for i in range(3)]
    for t in turns:
        assert t["model"] == "claude-3-5-sonnet"
        assert (t["prompt_version"], t["rag_sources"], t["experiment"], t["variant"]) == ("pv-7", ["kb-faq"], "greeting", "B")
        assert t["environment"] == "prod"
    assert {t["response_model"] for t in answered} == {"claude-3-5-sonnet-20241022"}
    assert answered[0]["tags"]["app.team"] == "support"

    # error rate by model: one model, its failure included
    rows = _get(server, "/v1/metrics", since="1h", bucket="all", group_by="model", metrics="count,error_rate")["series"]
    assert [(r["group"], r["count"], r["error_rate"]) for r in rows] == [("claude-3-5-sonnet", 4, 0.25)]
    assert _get(server, "/v1/interactions", model="claude-3-5-sonnet", limit=10)["items"].__len__() == 4
    by_snapshot = _get(server, "/v1/interactions", response_model="claude-3-5-sonnet-20241022", limit=10)["items"]
    assert len(by_snapshot) == 3
    by_tag = _get(server, "/v1/metrics", since="1h", bucket="all", group_by="tag.app.team", metrics="count")["series"]
    assert {r["group"]: r["count"] for r in by_tag} == {"support": 3, None: 1}

    # feedback spans and the evaluation became feedback on the calls they name
    first = _get(server, f"/v1/interactions/{ok_ids[0].span_id:016x}")
    assert [f["thumbs"] for f in first["feedback"]] == ["up"]
    second = _get(server, f"/v1/interactions/{ok_ids[1].span_id:016x}")
    assert [f["thumbs"] for f in second["feedback"]] == ["down"]
    third = _get(server, f"/v1/interactions/{ok_ids[2].span_id:016x}")
    assert [(f["source"], f["name"], f["score"]) for f in third["feedback"]] == [("evaluator", "helpfulness", 0.9)]

    status = _get(server, "/v1/status")["otlp"]
    assert status["mapped"] == {"openllmetry": 3, "gen_ai": 1}
    assert status["ok_without_output"] == 0 and status["rejected"] == 0
    assert status["feedback"] >= 2 and status["skipped"] >= 1
    exposition = httpx.get(f"{server.url}/metrics", headers=server.read_headers).text
    assert 'heron_otlp_spans_total{project="test",outcome="mapped",convention="openllmetry"} 3' in exposition
    assert 'heron_otlp_mapping_gaps_total{project="test",gap="ok_without_output"} 0' in exposition


def test_the_attribute_mapping_api_rederives_stored_calls(server: RunningServer) -> None:
    calls = [
        {"model": "gpt-4o", "start_time": time.time() - 120 + i, "latency_ms": 500, "tags": {"acme.prompt": f"p{i % 2}"}}
        for i in range(10)
    ]
    response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": calls}, headers=server.write_headers)
    assert response.status_code == 200, response.text
    groups = _wait(server, "/v1/metrics", lambda b: sum(r["count"] for r in b["series"]) == 10,
                   since="1h", bucket="all", group_by="prompt_version", metrics="count")["series"]
    assert [r["group"] for r in groups] == [None]

    bad = httpx.put(f"{server.url}/v1/mapping", json={"mapping": {"prompt": ["acme.prompt"]}}, headers=server.write_headers)
    assert bad.status_code == 400 and "mapping.prompt" in bad.text
    denied = httpx.put(f"{server.url}/v1/mapping", json={"mapping": {}}, headers=server.read_headers)
    assert denied.status_code in (401, 403)

    put = httpx.put(f"{server.url}/v1/mapping", json={"mapping": {"prompt_version": ["acme.prompt"]}}, headers=server.write_headers)
    assert put.status_code == 202, put.text
    assert put.json()["changed_calls"] == 10
    assert put.json()["effective"]["prompt_version"][0] == "acme.prompt"
    _wait(server, "/v1/mapping", lambda b: not b["rederive"]["running"])
    groups = _get(server, "/v1/metrics", since="1h", bucket="all", group_by="prompt_version", metrics="count")["series"]
    assert {r["group"]: r["count"] for r in groups} == {"p0": 5, "p1": 5}

    # new calls are mapped at ingest, JSON and OTLP alike
    response = httpx.post(f"{server.url}/v1/interactions", headers=server.write_headers,
                          json={"interactions": [{"model": "gpt-4o", "start_time": time.time() - 5, "tags": {"acme.prompt": "p9"}}]})
    assert response.status_code == 200
    groups = _wait(server, "/v1/metrics", lambda b: any(r["group"] == "p9" for r in b["series"]),
                   since="1h", bucket="all", group_by="prompt_version", metrics="count")["series"]
    assert {r["group"]: r["count"] for r in groups}["p9"] == 1


def test_heron_mapping_set_follows_the_rederivation(server: RunningServer, tmp_path: Any) -> None:
    now = time.time()
    calls = [{"model": "gpt-4o", "start_time": now - 3 * 86400 + i * 3600, "tags": {"acme.exp": "exp-9"}} for i in range(72)]
    response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": calls}, headers=server.write_headers)
    assert response.status_code == 200, response.text
    _wait(server, "/v1/status", lambda b: b["stored_interactions"] == 72)
    file = tmp_path / "mapping.toml"
    file.write_text('experiment = ["acme.exp"]\n')
    env = {**os.environ, "HERON_URL": server.url, "HERON_WRITE_KEY": server.write_key}
    done = subprocess.run([sys.executable, "-m", "heron.cli", "mapping", "set", str(file)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "stored; 72 stored calls changed" in done.stdout and "re-derived" in done.stdout
    shown = subprocess.run([sys.executable, "-m", "heron.cli", "mapping", "show", "--key", server.read_key], env=env,
                           capture_output=True, text=True, timeout=60)
    assert "experiment" in shown.stdout and "*acme.exp" in shown.stdout
    groups = _get(server, "/v1/metrics", since="4d", bucket="all", group_by="experiment", metrics="count")["series"]
    assert {r["group"]: r["count"] for r in groups} == {"exp-9": 72}
    bad = tmp_path / "bad.json"
    bad.write_text('{"experimen": ["x"]}')
    refused = subprocess.run([sys.executable, "-m", "heron.cli", "mapping", "set", str(bad)], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "mapping.experimen" in refused.stderr
