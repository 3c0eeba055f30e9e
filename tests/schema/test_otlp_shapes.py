"""Span shapes real applications send, built with the real OpenTelemetry SDK: precedence without
shadowing, the requested model, kept attributes, feedback spans and evaluation events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.trace import Link, Status, StatusCode

from heron.errors import ValidationError
from heron.schema import mapping as M
from heron.schema.otlp import decode_request, spans_to_interactions
from tests.schema.test_otlp import NOW, T0, Otel

LLM = {"gen_ai.operation.name": "chat", "gen_ai.system": "anthropic", "gen_ai.request.model": "claude-3-5-sonnet"}
APP = {"app.prompt_version": "pv-7", "app.rag_source": "kb-faq", "app.experiment": "greeting", "app.variant": "B", "app.team": "support"}


@pytest.fixture
def otel() -> Otel:
    return Otel({"service.name": "support-assistant", "deployment.environment": "staging"})


def _reply_twice(otel: Otel, **extra: Any) -> None:
    """The support assistant's span: the reply as ``gen_ai.completion.0.*`` and as a flat ``gen_ai.choice`` event."""
    otel.span(
        "chat",
        {
            **LLM,
            "gen_ai.response.model": "claude-3-5-sonnet-20241022",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Where is my parcel?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "It left the depot this morning.",
            "gen_ai.completion.0.finish_reason": "stop",
            "gen_ai.conversation.id": "c-1",
            "user.id": "u-1",
            **APP,
            **extra,
        },
        events=[("gen_ai.choice", {"index": 0, "finish_reason": "stop", "role": "assistant", "content": "It left the depot this morning."}, 900.0)],
    )


def test_a_reply_sent_twice_is_kept_and_app_attributes_are_mapped(otel: Otel) -> None:
    _reply_twice(otel)
    item = otel.one()
    assert item.output == "It left the depot this morning."
    assert item.finish_reason == "stop"
    assert item.model == "claude-3-5-sonnet" and item.response_model == "claude-3-5-sonnet-20241022"
    assert (item.prompt_version, item.rag_sources, item.experiment, item.variant) == ("pv-7", ["kb-faq"], "greeting", "B")
    assert item.environment == "staging"  # a resource attribute, through the default mapping
    assert (item.conversation_id, item.user_id) == ("c-1", "u-1")
    assert item.tags["app.team"] == "support" and item.tags["deployment.environment"] == "staging"


@pytest.mark.parametrize(
    "event",
    [
        {"index": 0, "finish_reason": "stop", "role": "assistant", "content": "Flat reply."},
        {"index": 0, "finish_reason": "stop", "message": json.dumps({"role": "assistant", "content": "Flat reply."})},
        {"index": 0, "finish_reason": "stop", "message.content": "ignored", "content": "Flat reply."},
    ],
)
def test_the_choice_event_in_each_shape(otel: Otel, event: dict[str, Any]) -> None:
    otel.span("chat", LLM, events=[("gen_ai.choice", event, 10.0)])
    item = otel.one()
    assert item.output == "Flat reply." and item.finish_reason == "stop"


def test_an_empty_source_never_hides_a_later_one(otel: Otel) -> None:
    # content capture off for events: the choice event and the message events carry no text
    otel.span(
        "chat",
        {**LLM, "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Hello?", "gen_ai.completion.0.content": "Hi!"},
        events=[("gen_ai.user.message", {}, 1.0), ("gen_ai.choice", {"index": 0, "finish_reason": "stop"}, 10.0)],
    )
    item = otel.one()
    assert [m.content for m in item.input] == ["Hello?"]
    assert item.output == "Hi!"
    assert item.finish_reason == "stop"  # from the event: the attribute form has none


def test_an_empty_reply_is_kept_when_no_source_has_text(otel: Otel) -> None:
    otel.span("chat", {**LLM, "gen_ai.completion.0.content": ""})
    result = otel.result()
    assert result.interactions[0].output == ""
    assert result.counts.ok_without_output == 0


def test_failed_calls_keep_the_requested_model(otel: Otel) -> None:
    _reply_twice(otel)
    otel.span("chat", {**LLM, "error.type": "overloaded_error"}, start_ms=5, status=Status(StatusCode.ERROR, "529"))
    ok, failed = otel.result().interactions
    assert ok.model == failed.model == "claude-3-5-sonnet"
    assert failed.response_model is None and failed.status == "error"


def test_openinference_request_model_from_invocation_parameters(otel: Otel) -> None:
    otel.span(
        "ChatCompletion",
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini-2024-07-18",
            "llm.invocation_parameters": json.dumps({"model": "gpt-4o-mini", "temperature": 0.2}),
            "output.value": "ok",
        },
    )
    item = otel.one()
    assert (item.model, item.response_model) == ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")


def test_counts_name_the_convention_and_the_gaps(otel: Otel) -> None:
    _reply_twice(otel)
    otel.span("chat", LLM, start_ms=1)  # status ok, no content at all
    otel.span("llm", {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "input.value": "q"}, start_ms=2)
    otel.span("embed", {"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small"}, start_ms=3)
    counts = otel.result().counts
    assert counts.mapped == {"openllmetry": 1, "gen_ai": 2, "openinference": 1}
    assert counts.ok_without_output == 2  # embeddings have no reply to miss
    assert counts.ok_without_input == 1


def test_a_span_with_only_context_is_skipped_not_rejected(otel: Otel) -> None:
    otel.span("handle request", {"gen_ai.conversation.id": "c-1", "user.id": "u-1", "http.route": "/chat"})
    result = otel.result()
    assert (result.interactions, result.rejected, result.skipped) == ([], [], 1)


def _spans(otel: Otel) -> Any:
    return spans_to_interactions(decode_request(otel.body(), "application/x-protobuf"), project="proj", now=NOW)


def test_a_feedback_span_becomes_feedback_on_the_call_it_links_to(otel: Otel) -> None:
    call = otel.tracer.start_span("chat", start_time=T0, attributes={**LLM, "gen_ai.completion.0.content": "Done."})
    call.end(end_time=T0 + 10**9)
    by_attribute = otel.tracer.start_span(
        "feedback",
        start_time=T0 + 5 * 10**9,
        attributes={"feedback.score": 1, "feedback.interaction_span_id": f"{call.get_span_context().span_id:016x}",
                    "gen_ai.conversation.id": "c-9", "user.id": "u-9", "feedback.comment": "great"},
    )
    by_attribute.end(end_time=T0 + 5 * 10**9 + 1000)
    by_link = otel.tracer.start_span(
        "feedback", start_time=T0 + 6 * 10**9, links=[Link(call.get_span_context())], attributes={"feedback.thumbs": "down"}
    )
    by_link.end(end_time=T0 + 6 * 10**9 + 1000)
    rating = otel.tracer.start_span("feedback", start_time=T0 + 7 * 10**9, links=[Link(call.get_span_context())],
                                    attributes={"feedback.score": 4})
    rating.end(end_time=T0 + 7 * 10**9 + 1000)
    orphan = otel.tracer.start_span("feedback", start_time=T0 + 8 * 10**9, attributes={"feedback.score": 1})
    orphan.end(end_time=T0 + 8 * 10**9 + 1000)
    result = _spans(otel)
    call_id = f"{call.get_span_context().span_id:016x}"
    assert len(result.interactions) == 1 and result.skipped == 0
    first, second, third = result.feedback
    assert (first.interaction_id, first.thumbs, first.score, first.comment) == (call_id, "up", 1.0, "great")
    assert (first.conversation_id, first.user_id, first.source) == ("c-9", "u-9", "user")
    assert (second.interaction_id, second.thumbs) == (call_id, "down")
    assert (third.thumbs, third.rating, third.score) == (None, 4.0, 4.0)
    ((index, message),) = result.rejected
    assert index == 4 and message.startswith("feedback.interaction_span_id: missing")


def test_evaluation_events_become_named_scores(otel: Otel) -> None:
    evaluation = {
        "gen_ai.evaluation.name": "relevance",
        "gen_ai.evaluation.score.value": 0.82,
        "gen_ai.evaluation.score.label": "relevant",
        "gen_ai.evaluation.explanation": "answers the question",
    }
    call = otel.span("chat", {**LLM, "gen_ai.completion.0.content": "Done."}, events=[("gen_ai.evaluation.result", evaluation, 5.0)])
    otel.span("evaluate", {"app.evaluator": "judge-v1"}, parent=call, start_ms=2000,
              events=[("gen_ai.evaluation.result", {**evaluation, "gen_ai.evaluation.name": "faithfulness"}, 1.0)])
    result = _spans(otel)
    call_id = f"{call.get_span_context().span_id:016x}"
    own, child = result.feedback
    assert (own.interaction_id, own.name, own.score, own.label, own.comment, own.source) == (
        call_id, "relevance", 0.82, "relevant", "answers the question", "evaluator")
    assert (child.interaction_id, child.name) == (call_id, "faithfulness")  # parented to the call it evaluates
    assert result.skipped == 1 and result.rejected == []


def test_a_project_mapping_reads_its_own_keys_first(otel: Otel) -> None:
    otel.span("chat", {**LLM, "acme.prompt": "custom-3", "app.prompt_version": "pv-7"})
    request = decode_request(otel.body(), "application/x-protobuf")
    own = M.validate({"prompt_version": ["acme.prompt"], "environment": "acme.env"})
    (item,) = spans_to_interactions(request, project="p", now=NOW, mapping=M.merged(own)).interactions
    assert item.prompt_version == "custom-3"
    (default,) = spans_to_interactions(request, project="p", now=NOW).interactions
    assert default.prompt_version == "pv-7"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ([], "mapping", "expected an object"),
        ({"prompt": ["x"]}, "mapping.prompt", "unknown dimension; valid: prompt_version"),
        ({"variant": [1]}, "mapping.variant", "expected a list of non-empty attribute keys"),
        ({"variant": ["k"] * 17}, "mapping.variant", "17 keys; at most 16"),
        ({"variant": ["k" * 257]}, "mapping.variant", "longer than 256"),
    ],
)
def test_mapping_errors_name_the_field(raw: Any, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        M.validate(raw)
    assert info.value.field == field and message in info.value.message


def test_tags_over_the_limits_are_cut_and_counted(otel: Otel) -> None:
    many = {f"app.k{i:03d}": "v" for i in range(100)}
    otel.span("chat", {**LLM, **many, "app.prompt_version": "pv-1", "x" * 300: "long key", "app.note": "n" * 5000})
    result = otel.result()
    (item,) = result.interactions
    assert len(item.tags) == 64
    assert item.prompt_version == "pv-1" and item.tags["app.prompt_version"] == "pv-1"  # mapped keys are kept first
    assert int(item.tags["heron.tags_dropped"]) == result.counts.tags.dropped > 30


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("<class 'openai.RateLimitError'>", "RateLimitError"), ("openai.RateLimitError", "RateLimitError"),
     ("RateLimitError", "RateLimitError"), ("rate_limit_exceeded", "rate_limit_exceeded"), ("429", "429"),
     ("timeout.error", "timeout.error")],
)
def test_error_types_have_one_spelling_per_class(otel: Otel, sent: str, stored: str) -> None:
    otel.span("chat", {**LLM, "error.type": sent}, status=Status(StatusCode.ERROR))
    assert otel.one().error_type == stored


def test_tool_call_finish_reasons_have_one_spelling(otel: Otel) -> None:
    otel.span("chat", {**LLM, "gen_ai.response.finish_reasons": ["tool_call"]})
    assert otel.one().finish_reason == "tool_calls"
