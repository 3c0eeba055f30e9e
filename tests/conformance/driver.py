"""One instrumentation, real ``openai`` calls, real OpenTelemetry SDK: run in its own process.

``python driver.py CONFIG.json`` (with the Python of the environment that has the
instrumentation installed). This file imports neither Heron nor pytest: it also
runs in the separate OpenLIT environment, which has neither.

It sets up a ``TracerProvider`` whose resource carries ``service.name``,
``service.version``, ``deployment.environment`` and a custom ``app.team``; a span
processor that stamps the application's attributes (``app.*``, and ``user.id`` /
``gen_ai.conversation.id`` where the instrumentation has no mechanism of its own)
on every span at start; an in-memory exporter (the raw spans, to compare with what
Heron stored) and the OTLP/HTTP protobuf exporter pointed at Heron. A
``LoggerProvider`` with an in-memory exporter records what instrumentations emit as
log events (Heron does not ingest logs: they are recorded to say what is there).

Then it instruments ``openai`` the way the package's documentation says and calls
the fake LLM: sync, async, sync and async streaming, a tool call (plain and
streamed) and a 429. It writes one JSON file: versions, each case with what the
``openai`` SDK itself returned (the expected values) and the ids of the spans
started during it, every raw span and log record, and Heron's OTLP responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import openai
import requests
from opentelemetry import _logs, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

MODEL = "gpt-4o-mini"
SYSTEM = "You are a support assistant for Acme."
PROMPTS = {
    "sync": "How do I reset my password?",
    "async": "How do I change my billing address?",
    "stream": "How do I export my invoices?",
    "async_stream": "How do I delete my account?",
    "tool": "What's the weather in Paris?",
    "tool_stream": "What's the weather in Lisbon?",
    "error": "How do I contact support?",
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
SLOW_START = {"x-fake-first-token-delay": "0.06"}  # streamed cases: a time to first token worth measuring
RESOURCE = {"service.version": "3.1.4", "deployment.environment": "staging", "app.team": "support"}
APP_STAMPS = {"app.prompt_version": "pv-7", "app.rag_source": "kb-faq", "app.experiment": "greeting-test", "app.variant": "B"}
USER_ID = "user-42"
OPENINFERENCE_METADATA = {"ticket_tier": "gold"}
PACKAGES = {
    "otel_v2": ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"),
    "otel_v2_latest": ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai"),
    "traceloop": ("opentelemetry-instrumentation-openai", "opentelemetry-semantic-conventions-ai"),
    "openlit": ("openlit",),
    "openinference": ("openinference-instrumentation-openai", "openinference-instrumentation"),
}
COMMON_PACKAGES = ("openai", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http", "opentelemetry-semantic-conventions")


class Stamp(SpanProcessor):
    """Sets the application's attributes on every span at start and remembers which case started it."""

    def __init__(self, attributes: dict[str, str]) -> None:
        self.attributes = attributes
        self.case: str | None = None
        self.started: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        span.set_attributes(self.attributes)
        with self._lock:
            self.started.setdefault(self.case or "", []).append(f"{span.get_span_context().span_id:016x}")

    def on_end(self, span: ReadableSpan) -> None:
        pass


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _span(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    return {
        "name": span.name,
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "kind": span.kind.name,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "status_description": span.status.description,
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
        "attributes": _plain(span.attributes or {}),
        "events": [{"name": e.name, "time_ns": e.timestamp, "attributes": _plain(e.attributes or {})} for e in span.events],
        "resource": _plain(span.resource.attributes),
    }


def _log(item: Any) -> dict[str, Any]:
    record = getattr(item, "log_record", item)
    span_id = getattr(record, "span_id", None)
    return {
        "event_name": getattr(record, "event_name", None) or (record.attributes or {}).get("event.name"),
        "span_id": f"{span_id:016x}" if span_id else None,
        "attributes": _plain(record.attributes or {}),
        "body": _plain(record.body),
    }


def _completion(response: Any) -> dict[str, Any]:
    choice = response.choices[0]
    calls = choice.message.tool_calls or []
    usage = response.usage
    return {
        "output": choice.message.content,
        "tool_calls": [c.function.name for c in calls],
        "tool_call_ids": [c.id for c in calls],
        "finish_reason": choice.finish_reason,
        "response_model": response.model,
        "input_tokens": usage.prompt_tokens if usage else None,
        "output_tokens": usage.completion_tokens if usage else None,
    }


class _Chunks:
    """Reassembles a streamed answer the way an application would."""

    def __init__(self) -> None:
        self.text, self.finish, self.model, self.usage = "", None, None, None
        self.calls: dict[int, dict[str, str]] = {}

    def add(self, chunk: Any) -> None:
        self.model = chunk.model or self.model
        if chunk.usage:
            self.usage = chunk.usage
        for choice in chunk.choices:
            self.text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                slot = self.calls.setdefault(call.index, {"id": "", "name": ""})
                slot["id"] = call.id or slot["id"]
                slot["name"] = (call.function.name if call.function else None) or slot["name"]
            self.finish = choice.finish_reason or self.finish

    def result(self) -> dict[str, Any]:
        return {
            "output": self.text or None,
            "tool_calls": [c["name"] for c in self.calls.values()],
            "tool_call_ids": [c["id"] for c in self.calls.values()],
            "finish_reason": self.finish,
            "response_model": self.model,
            "input_tokens": self.usage.prompt_tokens if self.usage else None,
            "output_tokens": self.usage.completion_tokens if self.usage else None,
        }


def _messages(case: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPTS[case]}]


def run_cases(llm_url: str, around: Any) -> list[dict[str, Any]]:
    """Every case through the real ``openai`` SDK; ``around(case)`` is entered around each call."""
    client = openai.OpenAI(base_url=llm_url, api_key="fake", max_retries=0, timeout=30)
    aclient = openai.AsyncOpenAI(base_url=llm_url, api_key="fake", max_retries=0, timeout=30)
    stream_opts = {"include_usage": True}
    cases: list[dict[str, Any]] = []

    def record(case: str, kind: str, started: float, result: dict[str, Any]) -> None:
        cases.append({"case": case, "kind": kind, "prompt": PROMPTS[case], "model": MODEL,
                      "elapsed_ms": (time.perf_counter() - started) * 1000, **result})

    def sync_case(case: str) -> None:
        started = time.perf_counter()
        with around(case):
            response = client.chat.completions.create(model=MODEL, messages=_messages(case))
        record(case, "text", started, _completion(response))

    def stream_case(case: str, **extra: Any) -> None:
        started, chunks = time.perf_counter(), _Chunks()
        with around(case):
            stream = client.chat.completions.create(
                model=MODEL, messages=_messages(case), stream=True, stream_options=stream_opts, extra_headers=SLOW_START, **extra
            )
            for chunk in stream:
                chunks.add(chunk)
        record(case, "tool" if extra else "text", started, chunks.result())

    async def async_cases() -> None:
        started = time.perf_counter()
        with around("async"):
            response = await aclient.chat.completions.create(model=MODEL, messages=_messages("async"))
        record("async", "text", started, _completion(response))
        started, chunks = time.perf_counter(), _Chunks()
        with around("async_stream"):
            stream = await aclient.chat.completions.create(
                model=MODEL, messages=_messages("async_stream"), stream=True, stream_options=stream_opts, extra_headers=SLOW_START
            )
            async for chunk in stream:
                chunks.add(chunk)
        record("async_stream", "text", started, chunks.result())
        await aclient.close()

    sync_case("sync")
    asyncio.run(async_cases())
    stream_case("stream")
    started = time.perf_counter()
    with around("tool"):
        response = client.chat.completions.create(model=MODEL, messages=_messages("tool"), tools=[WEATHER_TOOL])
    record("tool", "tool", started, _completion(response))
    stream_case("tool_stream", tools=[WEATHER_TOOL])
    started = time.perf_counter()
    error: dict[str, Any] = {}
    with around("error"):
        try:
            client.chat.completions.create(model="error-429", messages=_messages("error"))
        except openai.APIStatusError as exc:
            error = {"error_class": type(exc).__name__, "error_status": exc.status_code}
    cases.append({"case": "error", "kind": "error", "prompt": PROMPTS["error"], "model": "error-429",
                  "elapsed_ms": (time.perf_counter() - started) * 1000, **error})
    client.close()
    return cases


def instrument(name: str, provider: TracerProvider, logs: LoggerProvider, scratch: str) -> None:
    """Turn the instrumentation on as its documentation says, with our providers."""
    if name in ("otel_v2", "otel_v2_latest"):
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider, logger_provider=logs)
    elif name == "traceloop":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as TraceloopInstrumentor

        TraceloopInstrumentor().instrument(tracer_provider=provider, logger_provider=logs)
    elif name == "openlit":
        import openlit  # reuses the global TracerProvider / LoggerProvider set before

        prices = f"{scratch}.openlit-prices.json"  # without one, init() downloads a price list from GitHub
        with open(prices, "w") as f:
            json.dump({"chat": {}, "embeddings": {}, "images": {}, "audio": {}}, f)
        openlit.init(environment="staging", application_name="conformance-openlit", disable_metrics=True,
                     capture_message_content=True, pricing_json=prices)
    elif name == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceInstrumentor

        OpenInferenceInstrumentor().instrument(tracer_provider=provider)
    else:
        raise SystemExit(f"unknown instrumentation {name!r}; valid: {', '.join(PACKAGES)}")


def main(config_path: str) -> None:
    config = json.loads(open(config_path).read())
    name, conversation = config["instrumentation"], config["conversation_id"]
    own_ids = name == "openinference"  # using_attributes(session_id=, user_id=) instead of stamps
    stamps = dict(APP_STAMPS) if own_ids else {**APP_STAMPS, "user.id": USER_ID, "gen_ai.conversation.id": conversation}
    stamp = Stamp(stamps)
    resource = Resource.create({"service.name": f"conformance-{name}", **RESOURCE})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(stamp)
    captured = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(captured))
    responses: list[dict[str, Any]] = []

    def keep_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        entry: dict[str, Any] = {"status": response.status_code}
        if response.headers.get("content-type", "").startswith("application/x-protobuf"):
            parsed = ExportTraceServiceResponse.FromString(response.content)
            entry["rejected_spans"] = parsed.partial_success.rejected_spans
            entry["error_message"] = parsed.partial_success.error_message
        else:
            entry["body"] = response.text[:2000]
        responses.append(entry)

    session = requests.Session()
    session.hooks["response"].append(keep_response)
    exporter = OTLPSpanExporter(
        endpoint=f"{config['heron_url']}/v1/traces",
        headers={"Authorization": f"Bearer {config['write_key']}"},
        session=session,
    )
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    trace.set_tracer_provider(provider)
    logs = LoggerProvider(resource=resource)
    log_records = InMemoryLogRecordExporter()
    logs.add_log_record_processor(SimpleLogRecordProcessor(log_records))
    _logs.set_logger_provider(logs)
    instrument(name, provider, logs, config["out"])

    @contextlib.contextmanager
    def around(case: str) -> Iterator[None]:
        stamp.case = case
        try:
            if own_ids:
                from openinference.instrumentation import using_attributes

                with using_attributes(session_id=conversation, user_id=USER_ID, metadata=OPENINFERENCE_METADATA,
                                      prompt_template_version="pv-7"):
                    yield
            else:
                yield
        finally:
            stamp.case = None

    cases = run_cases(config["llm_url"], around)
    for case in cases:
        case["span_ids"] = stamp.started.get(case["case"], [])
    provider.force_flush()
    logs.force_flush()
    provider.shutdown()
    versions = {p: _version(p) for p in (*PACKAGES[name], *COMMON_PACKAGES)}
    out = {
        "instrumentation": name,
        "versions": versions,
        "python": sys.version.split()[0],
        "conversation_id": conversation,
        "system": SYSTEM,
        "user_id": USER_ID,
        "resource": _plain(resource.attributes),
        "stamps": stamps,
        "openinference_metadata": OPENINFERENCE_METADATA if own_ids else None,
        "cases": cases,
        "spans": [_span(s) for s in captured.get_finished_spans()],
        "logs": [_log(r) for r in log_records.get_finished_logs()],
        "export_responses": responses,
    }
    with open(config["out"], "w") as f:
        json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
