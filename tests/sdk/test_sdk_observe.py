"""@heron.observe on every kind of function; the application's exceptions pass through untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import heron
from tests.sdk.sdk_helpers import validate

Recorded = Callable[[], list[dict[str, Any]]]


def test_sync_function(recorded: Recorded) -> None:
    seen: list[str | None] = []

    @heron.observe
    def answer(prompt: str, model: str = "small-model") -> str:
        seen.append(heron.last_interaction_id())
        return prompt.upper()

    assert answer("hello") == "HELLO"
    assert answer.__name__ == "answer"  # functools.wraps
    (item,) = recorded()
    assert item["model"] == "small-model"  # the parameter's default
    assert item["input"] == [{"role": "user", "content": "hello"}]
    assert item["output"] == "HELLO"
    assert item["latency_ms"] >= 0 and "error_type" not in item
    assert seen == [item["id"]] == [heron.last_interaction_id()]
    validate(item)


def test_decorator_options_and_call_arguments(recorded: Recorded) -> None:
    @heron.observe(model="decorated", provider="local", tags={"step": "rerank"}, capture_output=False)
    def rerank(query: str, docs: list[str], *, model: str | None = None) -> list[str]:
        return sorted(docs)

    rerank("q", ["b", "a"])
    rerank("q", ["c"], model="explicit")
    first, second = recorded()
    assert first["model"] == "decorated" and second["model"] == "explicit"
    assert first["provider"] == "local" and first["tags"] == {"step": "rerank"}
    assert first["input"] == [{"role": "user", "content": "q"}]  # the ``query`` argument
    assert "output" not in first


def test_messages_argument_is_the_input(recorded: Recorded) -> None:
    class Bot:
        @heron.observe
        def reply(self, messages: list[dict[str, str]]) -> str:
            return "ok"

    Bot().reply([{"role": "user", "content": "hi"}])
    assert recorded()[0]["input"] == [{"role": "user", "content": "hi"}]


def test_exception_passes_through_untouched_and_is_recorded(recorded: Recorded) -> None:
    error = KeyError("missing")

    @heron.observe
    def fails(x: int) -> None:
        raise error

    with pytest.raises(KeyError) as caught:
        fails(1)
    assert caught.value is error
    assert caught.traceback[-1].name == "fails"  # raised from the application's own frame
    (item,) = recorded()
    assert item["status"] == "error" and item["error_type"] == "KeyError"
    assert item["error_message"] == "'missing'"
    assert item["input"] == [{"role": "user", "content": "x=1"}]


def test_async_function(recorded: Recorded) -> None:
    @heron.observe(model="m")
    async def answer(prompt: str) -> str:
        await asyncio.sleep(0.01)
        return prompt[::-1]

    @heron.observe(model="m")
    async def fails() -> None:
        raise ValueError("bad")

    async def main() -> str | None:
        assert await answer("abc") == "cba"
        with pytest.raises(ValueError, match="bad"):
            await fails()
        return heron.last_interaction_id()

    last = asyncio.run(main())
    ok, failed = recorded()
    assert ok["output"] == "cba" and ok["latency_ms"] >= 10
    assert failed["error_type"] == "ValueError" and failed["id"] == last


def test_generator_records_joined_output_and_ttft(recorded: Recorded) -> None:
    @heron.observe(model="m")
    def tokens(prompt: str) -> Iterator[str]:
        yield "Hel"
        yield "lo"

    assert list(tokens("hi")) == ["Hel", "lo"]
    (item,) = recorded()
    assert item["output"] == "Hello"
    assert 0 <= item["ttft_ms"] <= item["latency_ms"]
    validate(item)


def test_generator_closed_early_records_what_was_consumed(recorded: Recorded) -> None:
    @heron.observe(model="m")
    def tokens() -> Iterator[str]:
        yield from ("a", "b", "c")

    stream = tokens()
    assert next(stream) == "a"
    stream.close()
    (item,) = recorded()
    assert item["output"] == "a" and "error_type" not in item


def test_generator_error_propagates(recorded: Recorded) -> None:
    @heron.observe(model="m")
    def tokens() -> Iterator[str]:
        yield "a"
        raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(tokens())
    (item,) = recorded()
    assert item["output"] == "a" and item["error_type"] == "RuntimeError"


def test_async_generator(recorded: Recorded) -> None:
    @heron.observe(model="m")
    async def tokens() -> AsyncIterator[str]:
        for piece in ("x", "y"):
            await asyncio.sleep(0)
            yield piece

    async def main() -> list[str]:
        return [piece async for piece in tokens()]

    assert asyncio.run(main()) == ["x", "y"]
    (item,) = recorded()
    assert item["output"] == "xy" and item["ttft_ms"] <= item["latency_ms"]


def test_instrumentation_failure_never_breaks_the_function(recorded: Recorded) -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot describe")

    @heron.observe(model="m")
    def fails() -> None:
        raise Unprintable()

    with pytest.raises(Unprintable):
        fails()
    assert heron.counters()["instrumentation_errors"] == 1
