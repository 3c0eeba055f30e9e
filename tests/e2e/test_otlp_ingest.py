"""The real OpenTelemetry SDK with its OTLP/HTTP exporter, sending both attribute families."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tests.conftest import RunningServer


def _provider(server: RunningServer, key: str | None = None) -> tuple[TracerProvider, OTLPSpanExporter]:
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces",
        headers={"Authorization": f"Bearer {key or server.write_key}"},
        compression=Compression.Gzip,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot", "service.version": "2.3.1"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider, exporter


def _wait_conversation(server: RunningServer, conversation: str, n: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/v1/conversations/{conversation}", headers=server.read_headers)
        if response.status_code == 200 and len(response.json()["interactions"]) >= n:
            return response.json()["interactions"]  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"conversation {conversation} did not reach {n} interactions")


def test_gen_ai_and_openinference_spans_round_trip(shared_server: RunningServer) -> None:
    provider, _ = _provider(shared_server)
    tracer = provider.get_tracer("test")
    conversation = f"otel-{time.time_ns()}"

    with tracer.start_as_current_span("http request"):  # not an LLM span: skipped
        with tracer.start_as_current_span("chat gpt-4o") as span:  # OpenLLMetry / semconv legacy form
            span.set_attributes({
                "gen_ai.system": "openai",
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.prompt.0.role": "system",
                "gen_ai.prompt.0.content": "You are terse.",
                "gen_ai.prompt.1.role": "user",
                "gen_ai.prompt.1.content": "What is 2+2?",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "4",
                "gen_ai.completion.0.finish_reason": "stop",
                "gen_ai.usage.input_tokens": 12,
                "gen_ai.usage.output_tokens": 1,
                "gen_ai.conversation.id": conversation,
                "user.id": "alice",
                "heron.prompt_version": "terse-v2",
            })
            time.sleep(0.01)
    time.sleep(0.002)
    with tracer.start_as_current_span("ChatCompletion") as span:  # OpenInference
        span.set_attributes({
            "openinference.span.kind": "LLM",
            "llm.model_name": "claude-3-5-sonnet",
            "llm.provider": "anthropic",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "And 3+3?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "6",
            "llm.token_count.prompt": 9,
            "llm.token_count.completion": 2,
            "session.id": conversation,
            "user.id": "alice",
            "metadata": json.dumps({"feature": "math"}),
        })
        span.set_status(Status(StatusCode.ERROR, "upstream overloaded"))
        span.set_attribute("error.type", "OverloadedError")
    provider.force_flush()
    provider.shutdown()

    turns = _wait_conversation(shared_server, conversation, 2)
    first, second = turns
    assert first["model"] == "gpt-4o" and first["response_model"] == "gpt-4o-2024-08-06" and first["provider"] == "openai"
    assert [m["content"] for m in first["input"]] == ["You are terse.", "What is 2+2?"]  # type: ignore[index]
    assert first["output"] == "4" and first["finish_reason"] == "stop"
    assert (first["input_tokens"], first["output_tokens"]) == (12, 1)
    assert first["user_id"] == "alice" and first["prompt_version"] == "terse-v2"
    assert first["app_version"] == "2.3.1" and first["status"] == "ok"
    assert first["latency_ms"] >= 10  # type: ignore[operator]
    assert len(first["trace_id"]) == 32  # type: ignore[arg-type]
    assert second["model"] == "claude-3-5-sonnet" and second["provider"] == "anthropic"
    assert second["input"][0]["content"] == "And 3+3?" and second["output"] == "6"  # type: ignore[index]
    assert second["status"] == "error" and second["error_type"] == "OverloadedError"
    assert second["tags"]["feature"] == "math"  # type: ignore[index]


def test_heron_retry_of_links_a_regenerated_span_to_the_first(shared_server: RunningServer) -> None:
    provider, _ = _provider(shared_server)
    tracer = provider.get_tracer("test")
    conversation = f"otel-retry-{time.time_ns()}"
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.conversation.id": conversation}
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes(base)
        first_id = f"{span.get_span_context().span_id:016x}"
    time.sleep(0.002)
    with tracer.start_as_current_span("chat gpt-4o") as span:  # the user clicked "regenerate"
        span.set_attributes({**base, "heron.retry_of": first_id})
    provider.force_flush()
    provider.shutdown()

    first, again = _wait_conversation(shared_server, conversation, 2)
    assert first["id"] == first_id and first["retry_of"] is None
    assert again["retry_of"] == first_id


def test_otlp_json_and_auth(shared_server: RunningServer) -> None:
    now = time.time_ns()
    body = {
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
            "scopeSpans": [{"spans": [{
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": "eee19b7ec3c1b174",
                "name": "chat",
                "kind": 3,
                "startTimeUnixNano": str(now - 2_000_000_000),
                "endTimeUnixNano": str(now - 1_000_000_000),
                "attributes": [
                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}},
                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": -3}},
                ],
            }, {
                "traceId": "5b8efff798038103d269b633813fc60c",
                "spanId": "eee19b7ec3c1b175",
                "name": "chat",
                "startTimeUnixNano": str(now - 2_000_000_000),
                "endTimeUnixNano": str(now - 1_000_000_000),
                "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}}],
            }]}],
        }]
    }
    url = f"{shared_server.url}/v1/traces"
    response = httpx.post(url, json=body, headers=shared_server.write_headers)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "gen_ai.usage.output_tokens" in partial["errorMessage"]
    assert httpx.post(url, json=body).status_code == 401
    bad = httpx.post(url, content=b"\x0a\xff\xff", headers={**shared_server.write_headers, "Content-Type": "application/x-protobuf"})
    assert bad.status_code == 400
    garbled = httpx.post(url, content=b"{nope", headers={**shared_server.write_headers, "Content-Type": "application/json"})
    assert garbled.status_code == 400 and "invalid JSON" in garbled.json()["message"]


@pytest.mark.parametrize("wrong", ["nope", "read"])
def test_exporter_with_a_bad_key_does_not_store(shared_server: RunningServer, wrong: str) -> None:
    key = shared_server.read_key if wrong == "read" else "nope"
    provider, _ = _provider(shared_server, key)
    conversation = f"denied-{wrong}-{time.time_ns()}"
    with provider.get_tracer("t").start_as_current_span("chat") as span:
        span.set_attributes({"gen_ai.request.model": "m", "gen_ai.conversation.id": conversation})
    provider.force_flush()
    provider.shutdown()
    time.sleep(0.3)
    response = httpx.get(f"{shared_server.url}/v1/conversations/{conversation}", headers=shared_server.read_headers)
    assert response.status_code == 404
