"""OTLP spans made by the real OpenTelemetry SDK -> Interactions, one attribute family at a time."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from heron.schema.otlp import OtlpResult, decode_request, spans_to_interactions
from heron.schema.records import Interaction, Message

T0 = 1_750_000_000_000_000_000
"""Span start, unix nanoseconds."""
NOW = T0 / 1e9 + 60.0


class Otel:
    """A real SDK tracer whose finished spans are exported as one OTLP request."""

    def __init__(self, resource: dict[str, Any]) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create(resource))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("heron-tests", "1.0")

    def span(
        self,
        name: str,
        attributes: dict[str, Any],
        *,
        start_ms: float = 0.0,
        duration_ms: float = 1500.0,
        events: Iterable[tuple[str, dict[str, Any], float]] = (),
        parent: trace.Span | None = None,
        status: Status | None = None,
        exception: BaseException | None = None,
    ) -> trace.Span:
        context = trace.set_span_in_context(parent) if parent is not None else None
        start = T0 + int(start_ms * 1e6)
        span = self.tracer.start_span(name, context=context, start_time=start, attributes=attributes)
        for event_name, event_attributes, at_ms in events:
            span.add_event(event_name, event_attributes, timestamp=start + int(at_ms * 1e6))
        if exception is not None:
            span.record_exception(exception, timestamp=start + int(duration_ms * 1e6) - 1)
        if status is not None:
            span.set_status(status)
        span.end(end_time=start + int(duration_ms * 1e6))
        return span

    def body(self) -> bytes:
        return encode_spans(self.exporter.get_finished_spans()).SerializeToString()

    def result(self) -> OtlpResult:
        request = decode_request(self.body(), "application/x-protobuf")
        return spans_to_interactions(request, project="proj", now=NOW)

    def one(self) -> Interaction:
        result = self.result()
        assert result.rejected == []
        assert len(result.interactions) == 1, result
        return result.interactions[0]


@pytest.fixture
def otel() -> Otel:
    return Otel({"service.name": "support-bot", "service.version": "2.4.1"})


def _hex(span: trace.Span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def test_semconv_json_messages_map_every_field(otel: Otel) -> None:
    span = otel.span(
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": 120,
            "gen_ai.usage.output_tokens": 42,
            "gen_ai.usage.cache_read.input_tokens": 64,
            "gen_ai.usage.reasoning.output_tokens": 7,
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.response.time_to_first_chunk": 0.25,
            "gen_ai.conversation.id": "conv-1",
            "user.id": "user-9",
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps(
                [
                    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                    {
                        "role": "assistant",
                        "parts": [
                            {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}
                        ],
                    },
                    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "result": "rainy, 14C"}]},
                ]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "It is rainy."}, {"type": "image"}],
                        "finish_reason": "length",
                    }
                ]
            ),
            "heron.prompt_version": "v7",
            "heron.experiment": "exp-a",
            "heron.variant": "B",
            "heron.rag_sources": ["kb/paris.md", "kb/weather.md"],
            "http.request.method": "POST",  # anything else is ignored
        },
    )
    item = otel.one()
    trace_id, span_id = _hex(span)
    assert item.id == span_id
    assert item.span_id == span_id
    assert item.trace_id == trace_id
    assert item.project == "proj"
    assert item.start_time == T0 / 1e9
    assert item.end_time == pytest.approx(T0 / 1e9 + 1.5)
    assert item.latency_ms == 1500.0
    assert item.model == "gpt-4o"  # what the app asked for
    assert item.response_model == "gpt-4o-2024-08-06"
    assert item.provider == "openai"
    assert item.operation == "chat"
    assert (item.input_tokens, item.output_tokens, item.cached_tokens, item.reasoning_tokens) == (120, 42, 64, 7)
    assert item.finish_reason == "stop"  # gen_ai.response.finish_reasons wins over the message's own
    assert item.ttft_ms == 250.0
    assert item.conversation_id == "conv-1"
    assert item.user_id == "user-9"
    assert item.app_version == "2.4.1"
    assert item.prompt_version == "v7"
    assert (item.experiment, item.variant) == ("exp-a", "B")
    assert item.rag_sources == ["kb/paris.md", "kb/weather.md"]
    # every attribute that is neither content nor a field of its own is kept as a tag
    assert item.tags["service.name"] == "support-bot"
    assert item.tags["http.request.method"] == "POST"
    assert item.tags["heron.prompt_version"] == "v7"
    assert item.tags["gen_ai.conversation.id"] == "conv-1"
    assert not [k for k in item.tags if k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system_instructions"))]
    assert "gen_ai.request.model" not in item.tags and "gen_ai.usage.input_tokens" not in item.tags
    assert item.input == [
        Message(role="system", content="Be brief."),
        Message(role="user", content="Weather in Paris?"),
        Message(role="assistant", content="[tool_call: get_weather]"),
        Message(role="tool", content="rainy, 14C"),
    ]
    assert item.output == "It is rainy.\n[image]"
    assert item.status == "ok"
    assert item.error_type is None and item.error_message is None


def test_semconv_message_events(otel: Otel) -> None:
    otel.span(
        "chat claude",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4",
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 5,
            "heron.app_version": "9.9.9",
        },
        events=[
            ("gen_ai.system.message", {"gen_ai.system": "anthropic", "content": "You are terse."}, 0.0),
            ("gen_ai.user.message", {"content": "Say hi"}, 0.0),
            (
                "gen_ai.assistant.message",
                {"tool_calls": json.dumps([{"id": "1", "function": {"name": "lookup"}}])},
                0.0,
            ),
            ("gen_ai.tool.message", {"content": "found", "id": "1"}, 0.0),
            ("First Token Stream Event", {}, 120.0),
            (
                "gen_ai.choice",
                {"index": 0, "finish_reason": "end_turn", "message": json.dumps({"content": "Hi!"})},
                900.0,
            ),
        ],
    )
    item = otel.one()
    assert item.model == "claude-sonnet-4"
    assert item.provider == "anthropic"
    assert item.app_version == "9.9.9"  # heron.app_version overrides service.version
    assert item.input == [
        Message(role="system", content="You are terse."),
        Message(role="user", content="Say hi"),
        Message(role="assistant", content="[tool_call: lookup]"),
        Message(role="tool", content="found"),
    ]
    assert item.output == "Hi!"
    assert item.finish_reason == "end_turn"
    assert item.ttft_ms == 120.0  # from the first-token event


def test_openllmetry_indexed_prompt_and_completion(otel: Otel) -> None:
    workflow = otel.span("rag.workflow", {"traceloop.span.kind": "workflow", "traceloop.entity.name": "rag"})
    otel.span(
        "openai.chat",
        {
            "llm.request.type": "chat",
            "gen_ai.system": "OpenAI",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You answer in French.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": json.dumps(
                [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "x"}}]
            ),
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Un chat.",
            "gen_ai.completion.0.finish_reason": "stop",
            "gen_ai.usage.prompt_tokens": 50,
            "gen_ai.usage.completion_tokens": 4,
            "gen_ai.usage.cache_read_input_tokens": 32,
            "llm.usage.total_tokens": 54,
            "traceloop.association.properties.session_id": "sess-3",
            "traceloop.association.properties.user_id": "u-3",
        },
        parent=workflow,
        events=[("llm.content.completion.chunk", {}, 80.0), ("llm.content.completion.chunk", {}, 95.0)],
    )
    result = otel.result()
    assert result.skipped == 1  # the workflow span
    assert result.rejected == []
    (item,) = result.interactions
    assert item.model == "gpt-4o-mini"
    assert item.response_model == "gpt-4o-mini-2024-07-18"
    assert item.provider == "OpenAI"
    assert item.operation == "chat"
    assert item.input == [
        Message(role="system", content="You answer in French."),
        Message(role="user", content="What is this?\n[image_url]"),
    ]
    assert item.output == "Un chat."
    assert item.finish_reason == "stop"
    assert (item.input_tokens, item.output_tokens, item.cached_tokens) == (50, 4, 32)
    assert item.conversation_id == "sess-3"
    assert item.user_id == "u-3"
    assert item.ttft_ms == 80.0
    assert item.trace_id == _hex(workflow)[0]


def test_openllmetry_completion_request_type_and_llm_usage(otel: Otel) -> None:
    otel.span(
        "cohere.completion",
        {
            "llm.request.type": "completion",
            "gen_ai.system": "Cohere",
            "gen_ai.request.model": "command",
            "gen_ai.prompt.0.content": "Tell me a joke",
            "gen_ai.completion.0.content": "No.",
            "llm.usage.prompt_tokens": 4,
            "llm.usage.completion_tokens": 1,
            "llm.response.finish_reason": "COMPLETE",
        },
    )
    item = otel.one()
    assert item.operation == "text_completion"
    assert item.input == [Message(role="user", content="Tell me a joke")]
    assert item.output == "No."
    assert (item.input_tokens, item.output_tokens) == (4, 1)
    assert item.finish_reason == "COMPLETE"


def test_openlit_content_events_and_server_ttft(otel: Otel) -> None:
    otel.span("vectordb query", {"gen_ai.operation.name": "vectordb", "gen_ai.system": "chroma", "db.system": "chroma"})
    otel.span(
        "chat gpt-4o",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 22,
            "gen_ai.usage.reasoning_tokens": 3,
            "gen_ai.server.time_to_first_token": 0.4,
            "gen_ai.request.user": "openlit-user",
            "gen_ai.response.finish_reasons": ["stop"],
        },
        events=[
            ("gen_ai.content.prompt", {"gen_ai.prompt": "user: hello there"}, 0.0),
            ("gen_ai.content.completion", {"gen_ai.completion": "General Kenobi."}, 1000.0),
        ],
    )
    result = otel.result()
    assert result.skipped == 1 and result.rejected == []
    (item,) = result.interactions
    assert item.input == [Message(role="user", content="user: hello there")]
    assert item.output == "General Kenobi."
    assert item.reasoning_tokens == 3
    assert item.ttft_ms == pytest.approx(400.0)
    assert item.user_id == "openlit-user"


def test_openinference_llm_span_with_retriever_sources(otel: Otel) -> None:
    chain = otel.span(
        "RetrievalQA",
        {"openinference.span.kind": "CHAIN", "input.value": "What is Heron?", "session.id": "s-1"},
        duration_ms=3000,
    )
    otel.span(
        "retrieve",
        {
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.id": "doc-1",
            "retrieval.documents.0.document.content": "Heron is ...",
            "retrieval.documents.0.document.metadata": json.dumps({"source": "docs/intro.md"}),
            "retrieval.documents.1.document.id": "doc-2",
            "retrieval.documents.1.document.content": "More",
        },
        parent=chain,
        duration_ms=100,
    )
    otel.span(
        "ChatOpenAI",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4.1",
            "llm.provider": "azure",
            "llm.system": "openai",
            "llm.token_count.prompt": 200,
            "llm.token_count.completion": 30,
            "llm.token_count.total": 230,
            "llm.token_count.prompt_details.cache_read": 128,
            "llm.token_count.completion_details.reasoning": 12,
            "llm.invocation_parameters": json.dumps({"temperature": 0}),
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Use the context.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.contents.0.message_content.type": "text",
            "llm.input_messages.1.message.contents.0.message_content.text": "What is Heron?",
            "llm.input_messages.1.message.contents.1.message_content.type": "image",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "A monitoring tool.",
            "llm.prompt_template.version": "3",
            "input.value": "ignored: messages win",
            "output.value": "ignored: messages win",
            "session.id": "s-1",
            "user.id": "u-1",
            "metadata": json.dumps({"tenant": "acme", "tier": 2, "beta": True, "nested": {"x": 1}}),
            "tag.tags": ["prod", "qa"],
        },
        parent=chain,
        start_ms=200,
        duration_ms=2000,
    )
    otel.span("tool", {"openinference.span.kind": "TOOL", "tool.name": "calc"}, parent=chain)
    result = otel.result()
    assert result.skipped == 3  # CHAIN, RETRIEVER, TOOL
    assert result.rejected == []
    (item,) = result.interactions
    assert item.model == "gpt-4.1"
    assert item.provider == "azure"
    assert item.operation is None
    assert (item.input_tokens, item.output_tokens, item.cached_tokens, item.reasoning_tokens) == (200, 30, 128, 12)
    assert item.input == [
        Message(role="system", content="Use the context."),
        Message(role="user", content="What is Heron?\n[image]"),
    ]
    assert item.output == "A monitoring tool."
    assert item.conversation_id == "s-1"
    assert item.user_id == "u-1"
    assert item.prompt_version == "3"
    kept = {"service.name": "support-bot", "tenant": "acme", "tier": "2", "beta": "true", "prod": "true", "qa": "true"}
    assert {k: item.tags[k] for k in kept} == kept
    assert item.tags["llm.prompt_template.version"] == "3"  # mapped to prompt_version, and kept
    assert not [k for k in item.tags if k.startswith(("llm.input_messages", "llm.output_messages", "input.", "output."))]
    assert "metadata" not in item.tags and "tag.tags" not in item.tags
    assert item.rag_sources == ["docs/intro.md", "doc-2"]
    assert item.trace_id == _hex(chain)[0]
    assert item.latency_ms == 2000.0


def test_openinference_input_value_fallbacks(otel: Otel) -> None:
    otel.span(
        "llm json",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o",
            "input.mime_type": "application/json",
            "input.value": json.dumps(
                {
                    "model": "gpt-4o",
                    "messages": [
                        {"role": "system", "content": "sys"},
                        {"role": "user", "content": [{"type": "text", "text": "hello"}]},
                    ],
                }
            ),
            "output.mime_type": "application/json",
            "output.value": json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": "hi!"}, "finish_reason": "stop"}]}
            ),
        },
    )
    otel.span(
        "llm text",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "llama3",
            "input.value": "plain prompt",
            "input.mime_type": "text/plain",
            "output.value": "plain answer",
        },
        start_ms=10,
    )
    first, second = otel.result().interactions
    assert first.input == [Message(role="system", content="sys"), Message(role="user", content="hello")]
    assert first.output == "hi!"
    assert second.input == [Message(role="user", content="plain prompt")]
    assert second.output == "plain answer"


def test_openinference_embedding_span(otel: Otel) -> None:
    otel.span(
        "embed",
        {
            "openinference.span.kind": "EMBEDDING",
            "embedding.model_name": "text-embedding-3-small",
            "llm.token_count.prompt": 8,
        },
    )
    item = otel.one()
    assert item.model == "text-embedding-3-small"
    assert item.operation == "embeddings"
    assert item.input_tokens == 8
    assert item.input == []


def test_error_span_with_exception_event(otel: Otel) -> None:
    try:
        raise TimeoutError("upstream took too long")
    except TimeoutError as exc:
        caught = exc
    otel.span(
        "chat gpt-4o",
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai"},
        exception=caught,
        status=Status(StatusCode.ERROR, "Timed out after 30 s"),
    )
    otel.span(
        "chat gpt-4o",
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "error.type": "rate_limit_exceeded"},
        exception=RuntimeError("429"),
        status=Status(StatusCode.ERROR),
        start_ms=5,
    )
    first, second = otel.result().interactions
    assert first.status == "error"
    assert first.error_type == "TimeoutError"
    assert first.error_message == "Timed out after 30 s"
    assert second.status == "error"
    assert second.error_type == "rate_limit_exceeded"  # error.type wins over the exception event
    assert second.error_message == "429"


def test_non_llm_spans_are_skipped(otel: Otel) -> None:
    otel.span("GET /chat", {"http.request.method": "GET", "url.path": "/chat"})
    otel.span("SELECT", {"db.system": "postgresql", "db.query.text": "select 1"})
    otel.span("execute_tool get_weather", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"})
    otel.span("invoke_agent", {"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o"})
    otel.span("chat", {"gen_ai.request.model": "gpt-4o"})
    result = otel.result()
    assert result.skipped == 4
    assert result.rejected == []
    assert [i.model for i in result.interactions] == ["gpt-4o"]


def test_bad_spans_are_rejected_naming_the_attribute_and_siblings_survive(otel: Otel) -> None:
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
    otel.span("ok-0", base)
    otel.span("long model", {**base, "gen_ai.response.model": "m" * 300})
    otel.span("negative tokens", {**base, "gen_ai.usage.input_tokens": -5})
    otel.span("huge content", {**base, "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "x" * 1_000_001})
    otel.span("no model", {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"})
    otel.span("long tag", {**base, "metadata": json.dumps({"team": "t" * 2000}), "gen_ai.response.model": ""})
    otel.span("ttft > latency", {**base, "gen_ai.server.time_to_first_token": 5.0}, duration_ms=1000)
    otel.span("ok-7", base)
    result = otel.result()
    assert [i.model for i in result.interactions] == ["gpt-4o", "gpt-4o", "gpt-4o"]
    long_tag = result.interactions[1]  # a tag value past the limit is cut and counted, not a reason to refuse the call
    assert long_tag.tags["team"] == "t" * 1024
    assert result.counts.tags.truncated == 1
    rejected = dict(result.rejected)
    assert sorted(rejected) == [1, 2, 3, 4, 6]
    assert rejected[1] == "gen_ai.response.model: Expected `str` of length <= 256"
    assert rejected[2] == "gen_ai.usage.input_tokens: Expected `int` >= 0"
    assert rejected[3] == "gen_ai.prompt.0.content: Expected `str` of length <= 1000000"
    assert rejected[4].startswith("gen_ai.request.model: missing")
    assert rejected[6] == "gen_ai.server.time_to_first_token: is larger than latency_ms"


def test_timestamps_far_in_the_future_are_rejected() -> None:
    otel = Otel({"service.name": "clock-skew"})
    otel.span("chat", {"gen_ai.request.model": "gpt-4o"}, start_ms=3_600_000)
    result = otel.result()
    assert result.interactions == []
    ((index, message),) = result.rejected
    assert index == 0
    assert message.startswith("start_time_unix_nano: is 3540 s in the future")


def test_too_many_tags_and_messages_name_their_sources(otel: Otel) -> None:
    base = {"gen_ai.request.model": "gpt-4o"}
    otel.span("tags", {**base, "metadata": json.dumps({f"k{i}": "v" for i in range(70)}), "tag.tags": ["a"]})
    many = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}] * 1001
    otel.span("messages", {**base, "gen_ai.input.messages": json.dumps(many)})
    result = otel.result()
    rejected = dict(result.rejected)
    assert list(rejected) == [1]
    assert rejected[1] == "gen_ai.input.messages: Expected `array` of length <= 1000"
    (item,) = result.interactions  # too many tags: the first are kept, the rest counted
    assert len(item.tags) == 64
    assert item.tags["service.name"] == "support-bot"
    dropped = int(item.tags["heron.tags_dropped"])
    assert dropped == result.counts.tags.dropped >= 71 - 63


def test_text_that_happens_to_be_json_is_kept_as_text(otel: Otel) -> None:
    otel.span(
        "json mode",
        {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.prompt": '{"question": "2+2?"}',
            "gen_ai.completion": '{"answer": 4}',
        },
    )
    otel.span(
        "prompt as messages",
        {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.prompt": json.dumps([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]),
            "gen_ai.completion.0.role": "thinking",
            "gen_ai.completion.0.content": "let me think",
            "gen_ai.completion.1.role": "assistant",
            "gen_ai.completion.1.content": "answer",
            "gen_ai.completion.1.finish_reason": "end_turn",
            "heron.rag_sources": '["a.md", "b.md"]',
        },
        start_ms=1,
    )
    first, second = otel.result().interactions
    assert first.input == [Message(role="user", content='{"question": "2+2?"}')]
    assert first.output == '{"answer": 4}'
    assert second.input == [Message(role="system", content="s"), Message(role="user", content="u")]
    assert second.output == "answer"  # the thinking block is not the answer
    assert second.finish_reason == "end_turn"
    assert second.rag_sources == ["a.md", "b.md"]


def test_retriever_sources_beyond_the_limit_are_counted_not_rejected(otel: Otel) -> None:
    chain = otel.span("chain", {"openinference.span.kind": "CHAIN"})
    docs = {f"retrieval.documents.{i}.document.id": f"doc-{i}" for i in range(70)}
    docs["retrieval.documents.70.document.id"] = "x" * 300
    otel.span("retrieve", {"openinference.span.kind": "RETRIEVER", **docs}, parent=chain)
    otel.span("llm", {"openinference.span.kind": "LLM", "llm.model_name": "m"}, parent=chain)
    otel.span("other trace", {"openinference.span.kind": "LLM", "llm.model_name": "m"})
    same_trace, other_trace = otel.result().interactions
    assert same_trace.rag_sources == [f"doc-{i}" for i in range(64)]
    assert same_trace.tags["heron.rag_sources_dropped"] == "7"
    assert other_trace.rag_sources == []


def test_json_decode_path_maps_like_protobuf(otel: Otel) -> None:
    otel.span("chat", {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 3, "session.id": "s"})
    request = encode_spans(otel.exporter.get_finished_spans())
    doc = MessageToDict(request, use_integers_for_enums=True)
    span = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    for key in ("traceId", "spanId"):
        span[key] = base64.b64decode(span[key]).hex()
    from_json = spans_to_interactions(
        decode_request(json.dumps(doc).encode(), "application/json"), project="proj", now=NOW
    )
    assert from_json == otel.result()
