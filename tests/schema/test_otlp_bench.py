"""A micro-benchmark of OTLP decode + mapping; it prints throughput and asserts only correctness.

Run ``pytest tests/schema/test_otlp_bench.py -q -s`` to see the numbers.
"""

from __future__ import annotations

import base64
import json
import random
import time
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from heron.schema.otlp import decode_request, spans_to_interactions

T0 = 1_750_000_000_000_000_000
NOW = T0 / 1e9 + 3600.0
SPANS = 2_000


def _semconv(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": f"chatcmpl-{i}",
        "gen_ai.request.temperature": 0.7,
        "gen_ai.request.max_tokens": 512,
        "gen_ai.usage.input_tokens": rng.randint(10, 4000),
        "gen_ai.usage.output_tokens": rng.randint(1, 800),
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.conversation.id": f"conv-{rng.randint(0, 500)}",
        "user.id": f"user-{rng.randint(0, 100)}",
        "gen_ai.input.messages": json.dumps(
            [
                {"role": "system", "parts": [{"type": "text", "content": "You are a helpful assistant."}]},
                {"role": "user", "parts": [{"type": "text", "content": "How do I reset my password? " * 3}]},
            ]
        ),
        "gen_ai.output.messages": json.dumps(
            [
                {
                    "role": "assistant",
                    "parts": [{"type": "text", "content": "Open settings. " * 10}],
                    "finish_reason": "stop",
                }
            ]
        ),
        "server.address": "api.openai.com",
        "server.port": 443,
        "heron.prompt_version": "v3",
        "heron.variant": "A",
        "gen_ai.response.time_to_first_chunk": 0.2,
    }


def _openllmetry(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": f"chatcmpl-{i}",
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "You are a helpful assistant.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "How do I reset my password? " * 3,
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "Open settings. " * 10,
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.usage.prompt_tokens": rng.randint(10, 4000),
        "gen_ai.usage.completion_tokens": rng.randint(1, 800),
        "llm.usage.total_tokens": 100,
        "gen_ai.request.temperature": 0.7,
        "llm.is_streaming": False,
        "gen_ai.openai.api_base": "https://api.openai.com/v1/",
        "traceloop.association.properties.session_id": f"s-{rng.randint(0, 500)}",
        "traceloop.association.properties.user_id": f"u-{rng.randint(0, 100)}",
    }


def _openinference(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.provider": "openai",
        "llm.system": "openai",
        "llm.invocation_parameters": '{"temperature": 0.7}',
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a helpful assistant.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "How do I reset my password? " * 3,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Open settings. " * 10,
        "llm.token_count.prompt": rng.randint(10, 4000),
        "llm.token_count.completion": rng.randint(1, 800),
        "llm.token_count.total": 100,
        "input.value": "How do I reset my password?",
        "input.mime_type": "text/plain",
        "output.value": "Open settings.",
        "session.id": f"s-{rng.randint(0, 500)}",
        "user.id": f"u-{rng.randint(0, 100)}",
        "metadata": '{"tenant": "acme"}',
    }


def _request(family: Any) -> ExportTraceServiceRequest:
    rng = random.Random(1234)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench", "service.version": "1"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for i in range(SPANS):
        start = T0 + i * 1_000_000
        span = tracer.start_span("chat", start_time=start, attributes=family(rng, i))
        span.end(end_time=start + rng.randint(200, 5000) * 1_000_000)
    return encode_spans(exporter.get_finished_spans())


def _json_body(request: ExportTraceServiceRequest) -> bytes:
    doc = MessageToDict(request, use_integers_for_enums=True)
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId"):
                    span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(doc).encode()


def _best_rate(run: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return SPANS / best


@pytest.mark.parametrize(
    "family", [_semconv, _openllmetry, _openinference], ids=["semconv", "openllmetry", "openinference"]
)
def test_decode_and_map_throughput(family: Any, capsys: pytest.CaptureFixture[str]) -> None:
    request = _request(family)
    body = request.SerializeToString()
    json_body = _json_body(request)

    def protobuf() -> None:
        result = spans_to_interactions(decode_request(body, "application/x-protobuf"), project="p", now=NOW)
        assert len(result.interactions) == SPANS, result.rejected[:3]

    def json_path() -> None:
        result = spans_to_interactions(decode_request(json_body, "application/json"), project="p", now=NOW)
        assert len(result.interactions) == SPANS, result.rejected[:3]

    decoded = decode_request(body, "application/x-protobuf")
    rates = {
        "map only": _best_rate(lambda: spans_to_interactions(decoded, project="p", now=NOW)),
        "protobuf decode+map": _best_rate(protobuf),
        "json decode+map": _best_rate(json_path),
    }
    attrs = len(decoded.resource_spans[0].scope_spans[0].spans[0].attributes)
    with capsys.disabled():
        print(
            f"\n[otlp bench] {family.__name__.strip('_')} ({attrs} attributes/span): "
            + ", ".join(f"{name} {rate:,.0f} spans/s" for name, rate in rates.items())
        )
