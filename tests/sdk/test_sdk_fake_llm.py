"""The fake LLM the demo and the tests rely on: deterministic, OpenAI-shaped, failing on demand."""

from __future__ import annotations

import json

import httpx
import pytest

from heron.demo.fake_llm import FakeLLMConfig, FakeLLMServer, count_tokens, reply_pieces, start

MESSAGES = [{"role": "user", "content": "Explain retries with exponential backoff"}]


def post(server: FakeLLMServer, body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", json=body, headers=headers, timeout=10)


def test_replies_are_deterministic_and_depend_on_the_prompt(fake_llm: FakeLLMServer) -> None:
    first = post(fake_llm, {"model": "gpt-4o", "messages": MESSAGES}).json()
    again = post(fake_llm, {"model": "gpt-4o", "messages": MESSAGES}).json()
    other = post(fake_llm, {"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me about tides"}]})
    text = first["choices"][0]["message"]["content"]
    assert text == again["choices"][0]["message"]["content"] != other.json()["choices"][0]["message"]["content"]
    assert first["object"] == "chat.completion" and first["model"] == "gpt-4o"
    assert first["usage"]["completion_tokens"] == count_tokens(text) == len(reply_pieces("gpt-4o", MESSAGES))
    assert first["usage"]["total_tokens"] == first["usage"]["prompt_tokens"] + first["usage"]["completion_tokens"]


def test_max_tokens_cuts_the_reply(fake_llm: FakeLLMServer) -> None:
    body = post(fake_llm, {"model": "gpt-4o", "messages": MESSAGES, "max_completion_tokens": 2}).json()
    assert body["choices"][0]["finish_reason"] == "length" and body["usage"]["completion_tokens"] == 2


def test_streaming_events_end_with_usage_and_done(fake_llm: FakeLLMServer) -> None:
    body = {"model": "gpt-4o", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    response = post(fake_llm, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "".join(reply_pieces("gpt-4o", MESSAGES))


@pytest.mark.parametrize(("model", "status"), [("error-429", 429), ("error-500", 500), ("error-503", 503)])
def test_errors_on_demand(fake_llm: FakeLLMServer, model: str, status: int) -> None:
    response = post(fake_llm, {"model": model, "messages": MESSAGES})
    assert response.status_code == status and "message" in response.json()["error"]
    assert (response.headers.get("retry-after") == "1") == (status in (429, 503))


def test_error_by_header_and_bad_requests(fake_llm: FakeLLMServer) -> None:
    assert post(fake_llm, {"model": "gpt-4o", "messages": MESSAGES}, **{"x-fake-error": "502"}).status_code == 502
    assert post(fake_llm, {"model": "gpt-4o"}).status_code == 400


def test_models_endpoint(fake_llm: FakeLLMServer) -> None:
    data = httpx.get(f"{fake_llm.base_url}/models", timeout=10).json()["data"]
    assert "gpt-4o" in {m["id"] for m in data}


def test_configured_delays_and_stop() -> None:
    with start(FakeLLMConfig(first_token_delay=0.1)) as server:
        response = post(server, {"model": "gpt-4o", "messages": MESSAGES})
        assert response.status_code == 200 and response.elapsed.total_seconds() >= 0.1
    with pytest.raises(httpx.ConnectError):
        post(server, {"model": "gpt-4o", "messages": MESSAGES})


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}


def test_aliases_answer_with_a_dated_snapshot(fake_llm: FakeLLMServer) -> None:
    assert post(fake_llm, {"model": "gpt-4o-mini", "messages": MESSAGES}).json()["model"] == "gpt-4o-mini-2024-07-18"
    assert post(fake_llm, {"model": "fake-small", "messages": MESSAGES}).json()["model"] == "fake-small"


def test_a_tool_named_by_the_prompt_is_called_streamed_or_not(fake_llm: FakeLLMServer) -> None:
    ask = [{"role": "user", "content": "What's the weather in Paris?"}]
    body = post(fake_llm, {"model": "gpt-4o", "messages": ask, "tools": [WEATHER_TOOL]}).json()
    (choice,) = body["choices"]
    (call,) = choice["message"]["tool_calls"]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    assert call["function"] == {"name": "get_weather", "arguments": '{"location": "Paris"}'}
    stream = {"model": "gpt-4o", "messages": ask, "tools": [WEATHER_TOOL], "stream": True}
    chunks = [json.loads(line[6:]) for line in post(fake_llm, stream).text.splitlines() if line.startswith("data: {")]
    deltas = [c["choices"][0]["delta"].get("tool_calls") or [{}] for c in chunks]
    assert deltas[0][0]["id"] == call["id"] and deltas[0][0]["function"]["name"] == "get_weather"
    assert "".join(d[0].get("function", {}).get("arguments", "") for d in deltas) == call["function"]["arguments"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    answered = [*ask, choice["message"], {"role": "tool", "tool_call_id": call["id"], "content": "sunny"}]
    after = post(fake_llm, {"model": "gpt-4o", "messages": answered, "tools": [WEATHER_TOOL]}).json()
    assert after["choices"][0]["finish_reason"] == "stop" and after["choices"][0]["message"]["content"]
    unrelated = post(fake_llm, {"model": "gpt-4o", "messages": MESSAGES, "tools": [WEATHER_TOOL]}).json()
    assert unrelated["choices"][0]["finish_reason"] == "stop"
