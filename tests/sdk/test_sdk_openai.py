"""heron.wrap with the real openai SDK against the local fake LLM: sync, async, streaming, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

import heron
from heron.demo.fake_llm import FakeLLMServer
from tests.sdk.sdk_helpers import validate

Recorded = Callable[[], list[dict[str, Any]]]
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How do I rotate logs in Python?"}]
SLOW_START = {"x-fake-first-token-delay": "0.05", "x-fake-token-delay": "0.001"}


@pytest.fixture
def client(fake_llm: FakeLLMServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake_llm.base_url, api_key="fake", max_retries=0) as raw:
        yield heron.wrap(raw, user_id="u-default", app_version="1.4.2", tags={"app": "tests"})


def test_non_streaming_call_records_the_fields(client: openai.OpenAI, recorded: Recorded) -> None:
    response = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        heron={"conversation_id": "c-1", "prompt_version": "v7", "tags": {"route": "/chat"}},  # type: ignore[call-arg]
    )
    last = heron.last_interaction_id()
    (item,) = recorded()
    assert item["id"] == last
    assert item["model"] == "gpt-4o" and item["provider"] == "openai" and item["operation"] == "chat"
    assert item["input"] == MESSAGES
    assert item["output"] == response.choices[0].message.content
    assert item["finish_reason"] == "stop"
    assert response.usage is not None
    assert item["input_tokens"] == response.usage.prompt_tokens
    assert item["output_tokens"] == response.usage.completion_tokens
    assert item["cached_tokens"] == 0 and item["reasoning_tokens"] == 0
    assert item["user_id"] == "u-default" and item["app_version"] == "1.4.2"
    assert item["conversation_id"] == "c-1" and item["prompt_version"] == "v7"
    assert item["tags"] == {"app": "tests", "route": "/chat"}
    assert item["latency_ms"] > 0 and "ttft_ms" not in item
    validate(item)


def test_cached_and_reasoning_tokens(client: openai.OpenAI, recorded: Recorded) -> None:
    long_prompt = [{"role": "user", "content": "word " * 1_200}]
    client.chat.completions.create(model="o3-mini", messages=long_prompt)  # type: ignore[arg-type]
    (item,) = recorded()
    assert item["cached_tokens"] >= 1_024 and item["reasoning_tokens"] > 0


def test_max_tokens_gives_finish_reason_length(client: openai.OpenAI, recorded: Recorded) -> None:
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=3)  # type: ignore[arg-type]
    (item,) = recorded()
    assert item["finish_reason"] == "length" and item["output_tokens"] == 3


def test_context_and_per_call_fields_layer(client: openai.OpenAI, recorded: Recorded) -> None:
    with heron.context(user_id="u-ctx", conversation_id="c-ctx"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
        client.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            heron={"user_id": "u-call"},  # type: ignore[arg-type, call-arg]
        )
    first, second = recorded()
    assert first["user_id"] == "u-ctx" and second["user_id"] == "u-call"  # call > context > wrap default
    assert first["conversation_id"] == second["conversation_id"] == "c-ctx"


def test_streaming_records_ttft_output_and_usage(client: openai.OpenAI, recorded: Recorded) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=SLOW_START,
    )
    text = ""
    with stream:
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    (item,) = recorded()
    assert item["output"] == text and text
    assert 50 <= item["ttft_ms"] <= item["latency_ms"]
    assert item["finish_reason"] == "stop"
    assert item["input_tokens"] > 0 and item["output_tokens"] > 0
    validate(item)


def test_streaming_without_usage_and_closed_early(client: openai.OpenAI, recorded: Recorded) -> None:
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    chunks = [next(stream), next(stream)]
    stream.close()
    assert stream.response.status_code == 200  # other attributes pass through to the vendor stream
    (item,) = recorded()
    assert item["output"] == "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "input_tokens" not in item and "finish_reason" not in item


def test_http_error_propagates_and_is_recorded(client: openai.OpenAI, recorded: Recorded) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="error-429", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.status_code == 429
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="error-500", messages=MESSAGES)  # type: ignore[arg-type]
    rate_limited, server_error = recorded()
    assert rate_limited["status"] == "error" and rate_limited["error_type"] == "RateLimitError"
    assert server_error["error_type"] == "InternalServerError" and "output" not in server_error
    validate(rate_limited)


def test_error_in_the_middle_of_a_stream(client: openai.OpenAI, recorded: Recorded) -> None:
    stream = client.chat.completions.create(model="error-midstream", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError, match="mid-stream"):
        for _ in stream:
            pass
    (item,) = recorded()
    assert item["error_type"] == "APIError" and item["output"]


def test_connection_error_is_recorded(recorded: Recorded, dead_endpoint: str) -> None:
    client = heron.wrap(openai.OpenAI(base_url=dead_endpoint + "/v1", api_key="x", max_retries=0))
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    client.close()
    (item,) = recorded()
    assert item["error_type"] == "APIConnectionError"


def test_wrapping_twice_records_once(client: openai.OpenAI, recorded: Recorded) -> None:
    assert heron.wrap(client) is client
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    assert len(recorded()) == 1


def test_async_client_plain_and_streaming(fake_llm: FakeLLMServer, recorded: Recorded) -> None:
    async def main() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=fake_llm.base_url, api_key="fake", max_retries=0) as raw:
            client = heron.wrap(raw, conversation_id="c-async")
            response = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
                extra_headers=SLOW_START,
            )
            text = ""
            async with stream:
                async for chunk in stream:
                    if chunk.choices:
                        text += chunk.choices[0].delta.content or ""
            with pytest.raises(openai.RateLimitError):
                await client.chat.completions.create(model="error-429", messages=MESSAGES)  # type: ignore[arg-type]
            return response.choices[0].message.content or "", text

    plain_text, streamed_text = asyncio.run(main())
    plain, streamed, failed = recorded()
    assert plain["output"] == plain_text and "ttft_ms" not in plain
    assert streamed["output"] == streamed_text
    assert 50 <= streamed["ttft_ms"] <= streamed["latency_ms"] and streamed["output_tokens"] > 0
    assert failed["error_type"] == "RateLimitError"
    assert {i["conversation_id"] for i in (plain, streamed, failed)} == {"c-async"}


def test_wrap_leaves_unknown_clients_alone(recorded: Recorded) -> None:
    thing = object()
    assert heron.wrap(thing) is thing


def test_the_message_list_is_copied_and_iterators_still_reach_openai(client: openai.OpenAI, recorded: Recorded) -> None:
    history = list(MESSAGES)
    client.chat.completions.create(model="gpt-4o", messages=history)  # type: ignore[arg-type]
    history.append({"role": "assistant", "content": "later"})
    client.chat.completions.create(model="gpt-4o", messages=iter(MESSAGES))  # type: ignore[arg-type]
    first, second = recorded()
    assert first["input"] == MESSAGES and second["input"] == MESSAGES


def test_a_stream_left_by_break_is_recorded(client: openai.OpenAI, recorded: Recorded) -> None:
    for chunk in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):  # type: ignore[arg-type]
        if chunk.choices and chunk.choices[0].delta.content:
            break
    (item,) = recorded()
    assert item["output"] and "finish_reason" not in item


def test_observe_reads_a_returned_completion(fake_llm: FakeLLMServer, recorded: Recorded) -> None:
    with openai.OpenAI(base_url=fake_llm.base_url, api_key="fake", max_retries=0) as raw:

        @heron.observe
        def ask(messages: list[dict[str, str]], model: str = "gpt-4o-mini") -> Any:
            return raw.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]

        response = ask(MESSAGES)
    (item,) = recorded()
    assert item["model"] == "gpt-4o-mini" and item["input"] == MESSAGES
    assert item["response_model"] == response.model == "gpt-4o-mini-2024-07-18"  # the answering snapshot, kept apart
    assert item["output"] == response.choices[0].message.content
    assert item["output_tokens"] == response.usage.completion_tokens and item["finish_reason"] == "stop"
