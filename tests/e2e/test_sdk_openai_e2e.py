"""The real openai SDK → heron.wrap → the real Heron server, against the local fake LLM."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

import heron
from heron.demo import fake_llm
from tests.conftest import RunningServer


@pytest.fixture
def llm() -> Iterator[fake_llm.FakeLLMServer]:
    server = fake_llm.start()
    yield server
    server.stop()


def _conversation(server: RunningServer, conversation: str, n: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    turns: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/v1/conversations/{conversation}", headers=server.read_headers)
        if response.status_code == 200:
            turns = response.json()["interactions"]
            if len(turns) >= n and any(t["feedback"] for t in turns):
                return turns
        time.sleep(0.05)
    raise AssertionError(f"got {len(turns)} of {n} turns")


def test_wrapped_calls_arrive_with_the_right_fields(server: RunningServer, llm: fake_llm.FakeLLMServer) -> None:
    heron.init(endpoint=server.url, api_key=server.write_key, flush_interval=0.05)
    conversation = f"sdk-{time.time_ns()}"
    meta = {"conversation_id": conversation, "user_id": "bob", "prompt_version": "p7"}
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Explain DNS caching."}]
    try:
        client = heron.wrap(openai.OpenAI(base_url=llm.base_url, api_key="fake", max_retries=0), app_version="9.9.9")
        plain = client.chat.completions.create(model="gpt-4o", messages=messages, heron=meta)
        first_id = heron.last_interaction_id()
        assert first_id is not None
        heron.feedback(first_id, thumbs="up", comment="clear")
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}, heron=meta
        )
        streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

        async def async_calls() -> str:
            aclient = heron.wrap(openai.AsyncOpenAI(base_url=llm.base_url, api_key="fake", max_retries=0))
            await aclient.chat.completions.create(model="o3-mini", messages=messages, heron=meta, max_tokens=3)
            parts = []
            astream = await aclient.chat.completions.create(
                model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}, heron=meta
            )
            async for chunk in astream:
                if chunk.choices:
                    parts.append(chunk.choices[0].delta.content or "")
            await aclient.close()
            return "".join(parts)

        async_streamed = asyncio.run(async_calls())
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="error-500", messages=messages, heron=meta)
        client.close()
        assert heron.flush(10)
    finally:
        heron.shutdown(5)

    turns = _conversation(server, conversation, 5)
    by_model = {t["model"]: t for t in turns if t["model"] != "gpt-4o" or t["ttft_ms"] is None}
    first = turns[0]
    assert first["id"] == first_id and first["output"] == plain.choices[0].message.content
    assert [m["content"] for m in first["input"]] == ["Be brief.", "Explain DNS caching."]  # type: ignore[index]
    assert first["input_tokens"] == plain.usage.prompt_tokens and first["output_tokens"] == plain.usage.completion_tokens  # type: ignore[union-attr]
    assert first["provider"] == "openai" and first["app_version"] == "9.9.9"
    assert first["user_id"] == "bob" and first["prompt_version"] == "p7" and first["finish_reason"] == "stop"
    assert first["feedback"][0]["thumbs"] == "up"  # type: ignore[index]
    stream_turn = by_model["gpt-4o-mini"]
    assert stream_turn["output"] == streamed and stream_turn["output_tokens"]
    assert 0 < stream_turn["ttft_ms"] <= stream_turn["latency_ms"]  # type: ignore[operator]
    assert by_model["o3-mini"]["finish_reason"] == "length"
    async_stream = [t for t in turns if t["model"] == "gpt-4o" and t["ttft_ms"] is not None]
    assert async_stream and async_stream[0]["output"] == async_streamed
    failed = by_model["error-500"]
    assert failed["status"] == "error" and failed["error_type"] == "InternalServerError" and failed["output"] is None


def test_observe_and_log_round_trip(server: RunningServer) -> None:
    heron.init(endpoint=server.url, api_key=server.write_key, flush_interval=0.05)
    conversation = f"obs-{time.time_ns()}"
    try:
        with heron.context(conversation_id=conversation, user_id="carol"):

            @heron.observe(model="rule-bot")
            def answer(question: str) -> str:
                return question.upper()

            assert answer("hello") == "HELLO"
            logged_id = heron.log(model="gpt-4o", input="what now?", output="this", latency_ms=42.0, input_tokens=3, tags={"k": "v"})
            heron.feedback(logged_id, label="billing", source="ground_truth")
        assert heron.flush(10)
    finally:
        heron.shutdown(5)
    turns = _conversation(server, conversation, 2)
    observed = next(t for t in turns if t["model"] == "rule-bot")
    logged = next(t for t in turns if t["model"] == "gpt-4o")
    assert logged["id"] == logged_id
    assert observed["model"] == "rule-bot" and observed["output"] == "HELLO" and observed["user_id"] == "carol"
    assert logged["latency_ms"] == 42.0 and logged["tags"] == {"k": "v"} and logged["input"][0]["content"] == "what now?"  # type: ignore[index]
    assert logged["feedback"][0]["label"] == "billing"  # type: ignore[index]
