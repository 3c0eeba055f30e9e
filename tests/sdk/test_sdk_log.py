"""heron.log / heron.feedback: what reaches the wire, context, sampling, truncation, never raising."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import heron
from heron.schema import limits as L
from heron.sdk.client import Client, get_client, set_client
from heron.sdk.settings import Settings
from tests.sdk.sdk_helpers import Recorder, validate

Recorded = Callable[[], list[dict[str, Any]]]


def test_log_sends_the_fields_and_returns_the_id(recorded: Recorded) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    before = time.time()
    id = heron.log(
        model="gpt-4o",
        input=messages,
        output="hello",
        user_id="u1",
        conversation_id="c1",
        latency_ms=250.0,
        ttft_ms=40.0,
        input_tokens=12,
        output_tokens=3,
        cached_tokens=0,
        reasoning_tokens=0,
        finish_reason="stop",
        provider="openai",
        tags={"team": "search"},
        rag_sources=["doc-1"],
    )
    (item,) = recorded()
    assert item["id"] == id and len(id) == 32
    assert item["model"] == "gpt-4o" and item["output"] == "hello"
    assert item["input"] == messages
    assert item["latency_ms"] == 250.0 and item["ttft_ms"] == 40.0
    assert item["input_tokens"] == 12 and item["output_tokens"] == 3 and item["cached_tokens"] == 0
    assert item["tags"] == {"team": "search"} and item["rag_sources"] == ["doc-1"]
    # Logged after the call: it ends now and started latency_ms earlier.
    assert before - 0.3 <= item["start_time"] <= item["end_time"] <= time.time()
    assert item["end_time"] - item["start_time"] == pytest.approx(0.25)
    validate(item)


def test_ids_are_unique_uuid4_hex() -> None:
    from heron.sdk.context import new_id

    ids = {new_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(len(i) == 32 and i[12] == "4" and i[16] in "89ab" for i in ids)


def test_the_logged_message_list_is_what_it_was_at_call_time(recorded: Recorded) -> None:
    messages = [{"role": "user", "content": "hi"}]
    heron.log(model="m", input=messages, output="hello")
    messages.append({"role": "assistant", "content": "hello"})  # a chat loop does this next
    (item,) = recorded()
    assert item["input"] == [{"role": "user", "content": "hi"}]


def test_a_prompt_string_becomes_one_user_message(recorded: Recorded) -> None:
    heron.log(model="m", input="What is 2+2?", output="4")
    assert recorded()[0]["input"] == [{"role": "user", "content": "What is 2+2?"}]


def test_context_fills_fields_and_explicit_arguments_win(recorded: Recorded) -> None:
    with heron.context(user_id="u-ctx", conversation_id="c-ctx", tags={"a": "ctx", "b": "ctx"}):
        with heron.context(prompt_version="v2"):
            heron.log(model="m", user_id="u-explicit", tags={"b": "own"})
    heron.log(model="m")
    first, second = recorded()
    assert first["user_id"] == "u-explicit" and first["conversation_id"] == "c-ctx"
    assert first["prompt_version"] == "v2"
    assert first["tags"] == {"a": "ctx", "b": "own"}
    assert "user_id" not in second and "tags" not in second


def test_feedback_goes_to_its_endpoint(recorder: Recorder) -> None:
    heron.init(transport=recorder, flush_interval=60.0, api_key="k-123")
    id = heron.log(model="m", output="x")
    fid = heron.feedback(id, thumbs="up", rating=4, comment="good")
    heron.feedback(id, thumbs=False, label="wrong", source="ground_truth")
    assert heron.flush(5.0)
    assert [r.path for r in recorder.requests] == ["/v1/interactions", "/v1/feedback"]
    assert recorder.requests[0].headers["Authorization"] == "Bearer k-123"
    up, down = recorder.feedback()
    assert up["interaction_id"] == id and up["id"] == fid and up["thumbs"] == "up" and up["rating"] == 4.0
    assert down["thumbs"] == "down" and down["label"] == "wrong" and down["source"] == "ground_truth"
    assert isinstance(up["time"], float)


def test_overlong_values_are_truncated_and_counted_not_rejected(recorded: Recorded) -> None:
    messages = [{"role": "user", "content": str(i)} for i in range(L.MAX_MESSAGES + 5)]
    heron.log(
        model="m" * 300,
        input=messages,
        output="x" * (L.MAX_TEXT_CHARS + 50),
        user_id=12345,  # type: ignore[arg-type]
        tags={f"k{i}": "v" * 2000 for i in range(L.MAX_TAGS + 6)},
        input_tokens=-5,
        ttft_ms=900.0,
        latency_ms=500.0,
    )
    (item,) = recorded()
    record = validate(item)  # the server would accept it
    assert len(record.model) == L.MAX_ID_CHARS
    assert record.output is not None and len(record.output) == L.MAX_TEXT_CHARS
    assert len(record.input) == L.MAX_MESSAGES
    assert record.input[0].content == "0" and record.input[-1].content == str(L.MAX_MESSAGES + 4)
    assert len(record.tags) == L.MAX_TAGS and all(len(v) == L.MAX_TAG_VALUE_CHARS for v in record.tags.values())
    assert record.user_id == "12345" and record.input_tokens == 0 and record.ttft_ms == 500.0
    assert heron.counters()["truncated"] >= 4


def test_message_objects_and_content_parts_are_flattened(recorded: Recorded) -> None:
    class Msg:  # like a vendor SDK's pydantic message passed back into the history
        role = "assistant"
        content = None
        tool_calls = [{"function": {"name": "search", "arguments": "{}"}}]

    parts = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "data:..."}}]
    heron.log(model="m", input=[{"role": "user", "content": parts}, Msg()], output={"answer": 42})  # type: ignore[arg-type]
    (item,) = recorded()
    assert item["input"] == [
        {"role": "user", "content": "look\n[image_url]"},
        {"role": "assistant", "content": "[tool_calls: search]"},
    ]
    assert item["output"] == '{"answer":42}'
    validate(item)


def test_a_bad_value_is_an_instrumentation_error_not_an_exception(recorder: Recorder) -> None:
    heron.init(transport=recorder, flush_interval=60.0)
    heron.log(model="m", latency_ms="slow")  # type: ignore[arg-type]
    heron.log(model="ok")
    assert heron.flush(5.0) is False  # not everything was delivered
    assert [i["model"] for i in recorder.interactions()] == ["ok"]
    assert heron.counters()["instrumentation_errors"] == 1


def test_a_broken_queue_never_reaches_the_application(recorded: Recorded) -> None:
    client = get_client()
    client.flush(1.0)

    def broken(item: Any) -> None:
        raise RuntimeError("bug in heron")

    client.enqueue = client.enqueue_always = broken
    id = heron.log(model="m")
    heron.feedback(id, thumbs="up")
    assert heron.counters()["instrumentation_errors"] == 2


def test_sampling_is_decided_by_rate_and_counted(recorder: Recorder) -> None:
    set_client(Client(Settings.resolve(sample_rate=0.25, flush_interval=60.0), transport=recorder, seed=7))
    for _ in range(2_000):
        heron.log(model="m")
    heron.feedback("x", thumbs="up")  # feedback is never sampled out
    assert heron.flush(5.0)
    stats = heron.counters()
    assert stats["sent"] + stats["sampled_out"] == 2_001
    assert 400 < stats["sent"] < 600
    assert len(recorder.feedback()) == 1


def test_disabled_does_nothing_and_starts_no_thread(recorder: Recorder) -> None:
    threads = threading.active_count()
    heron.init(enabled=False, transport=recorder)
    assert isinstance(heron.log(model="m"), str)
    assert heron.flush(1.0) and heron.shutdown(1.0)
    assert recorder.requests == [] and threading.active_count() == threads
    assert heron.counters()["enqueued"] == 0


def test_records_after_shutdown_are_dropped_and_counted(recorded: Recorded) -> None:
    heron.log(model="m")
    assert heron.shutdown(2.0)
    heron.log(model="late")
    assert heron.counters()["dropped_after_shutdown"] == 1
    assert heron.counters()["sent"] == 1


def test_reinit_delivers_what_the_previous_client_held(recorder: Recorder) -> None:
    heron.init(transport=recorder, flush_interval=60.0)
    heron.log(model="before")
    other = Recorder()
    heron.init(transport=other, flush_interval=60.0)
    heron.log(model="after")
    assert heron.flush(5.0)
    assert [i["model"] for i in recorder.interactions()] == ["before"]
    assert [i["model"] for i in other.interactions()] == ["after"]


def test_environment_configures_the_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_ENABLED", "false")
    heron.log(model="m")
    assert get_client().settings.enabled is False


def test_bad_environment_disables_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_SAMPLE_RATE", "lots")
    assert isinstance(heron.log(model="m"), str)
    assert get_client().settings.enabled is False
