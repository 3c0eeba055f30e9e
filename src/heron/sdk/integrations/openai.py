"""``heron.wrap(openai_client)``: record every ``chat.completions.create`` call, streaming included.

The client is patched in place (its ``chat.completions`` resource gets an
instance attribute ``create``), so ``isinstance`` checks and type hints in the
application keep working. What is not patched: ``with_raw_response`` /
``with_streaming_response`` views and copies made by ``with_options``.

The ``openai`` package is imported only inside :func:`wrap`; importing Heron
never imports it. Per call, the host thread pops the ``heron=`` argument,
copies the message list (chat loops append to it right after the call), takes
two clocks and, for streams, keeps each content delta as it passes; reading
the response object into fields happens in the worker.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, TypeVar

from heron.sdk import _diagnostics
from heron.sdk._sanitize import settle_times
from heron.sdk.buffer import Item
from heron.sdk.client import get_client, instrumentation_failed
from heron.sdk.context import CONTEXT_FIELDS, apply_defaults, current_context, new_id, set_last_interaction_id
from heron.sdk.worker import INTERACTION

T = TypeVar("T")
_time = time.time
_perf = time.perf_counter
_PER_CALL_FIELDS = frozenset((*CONTEXT_FIELDS, "tags", "rag_sources", "trace_id", "span_id"))
_HOSTS = {
    "api.openai.com": "openai",
    "api.groq.com": "groq",
    "api.together.xyz": "together",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "generativelanguage.googleapis.com": "google",
}


def wrap(
    client: T,
    *,
    provider: str | None = None,
    user_id: str | None = None,
    conversation_id: str | None = None,
    app_version: str | None = None,
    prompt_version: str | None = None,
    experiment: str | None = None,
    variant: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> T:
    """Patch an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client; the keyword arguments are defaults for every call.

    Per call, ``heron={"user_id": ..., "conversation_id": ..., "prompt_version": ..., "tags": {...}}``
    overrides them (and any :func:`heron.context`); ``heron={"retry_of": previous_id}`` marks a regeneration.
    Returns the same client.
    """
    import openai

    completions = client.chat.completions  # type: ignore[attr-defined]
    if getattr(completions, "_heron_wrapped", False):
        return client
    given = {
        "user_id": user_id,
        "conversation_id": conversation_id,
        "app_version": app_version,
        "prompt_version": prompt_version,
        "experiment": experiment,
        "variant": variant,
        "tags": dict(tags) if tags else None,
    }
    config = _Config(provider or _provider(client, openai), {k: v for k, v in given.items() if v is not None})
    original = completions.create
    if isinstance(client, openai.AsyncOpenAI):
        completions.create = _async_create(original, config)
    else:
        completions.create = _sync_create(original, config)
    completions._heron_wrapped = True
    return client


def _provider(client: Any, openai: Any) -> str:
    if isinstance(client, openai.AzureOpenAI | openai.AsyncAzureOpenAI):
        return "azure"
    host = urllib.parse.urlsplit(str(getattr(client, "base_url", ""))).hostname or ""
    return _HOSTS.get(host, "openai")


class _Config:
    __slots__ = ("provider", "defaults")

    def __init__(self, provider: str, defaults: dict[str, Any]) -> None:
        self.provider = provider
        self.defaults = defaults


class _Call:
    """One call in flight: references and clocks, filled on the host, read by the worker."""

    __slots__ = (
        "id", "config", "context", "extra", "model", "messages", "stream", "wall", "started", "ended",
        "first", "response", "parts", "finish_reason", "usage", "tools", "failure", "recorded",
    )  # fmt: skip

    def __init__(self, config: _Config, kwargs: dict[str, Any], extra: Mapping[str, Any] | None) -> None:
        self.id = new_id()
        self.config = config
        self.context = current_context()
        self.extra = extra
        self.model = kwargs.get("model")
        messages = kwargs.get("messages")
        if messages is not None and type(messages) is not list:
            messages = kwargs["messages"] = list(messages)  # an iterator would be consumed twice
        self.messages = None if messages is None else messages.copy()
        self.stream = bool(kwargs.get("stream"))
        self.response: Any = None
        self.parts: list[str] = []
        self.tools: list[str] = []
        self.first: float | None = None
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.failure: tuple[str, str] | None = None
        self.recorded = False
        set_last_interaction_id(self.id)  # available while the call (or its stream) is in flight
        self.wall, self.started, self.ended = _time(), _perf(), 0.0

    def finish(self, response: Any = None, error: BaseException | None = None) -> None:
        """Queue the record once; never raises."""
        if self.recorded:
            return
        self.recorded = True
        self.ended = _perf()
        try:
            self.response = response
            if error is not None:
                self.failure = (type(error).__name__, str(error))
            get_client().enqueue((_render, self))
            set_last_interaction_id(self.id)
        except Exception as exc:
            instrumentation_failed("openai", exc)

    def on_chunk(self, chunk: Any) -> None:
        try:
            choices = chunk.choices
            if choices:
                choice = choices[0]
                delta = choice.delta
                if delta is not None:
                    if delta.content:
                        if self.first is None:
                            self.first = _perf()
                        self.parts.append(delta.content)
                    elif delta.tool_calls:
                        if self.first is None:
                            self.first = _perf()
                        self.tools.extend(c.function.name for c in delta.tool_calls if c.function and c.function.name)
                if choice.finish_reason:
                    self.finish_reason = choice.finish_reason
            if chunk.usage is not None:
                self.usage = chunk.usage
        except Exception as exc:
            instrumentation_failed("openai stream", exc)


def _sync_create(original: Any, config: _Config) -> Any:
    def create(*args: Any, **kwargs: Any) -> Any:
        extra = kwargs.pop("heron", None)
        try:
            call = _Call(config, kwargs, extra)
        except Exception as exc:
            instrumentation_failed("openai", exc)
            return original(*args, **kwargs)
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        if call.stream:
            return Stream(response, call)
        call.finish(response)
        return response

    create.__wrapped__ = original  # type: ignore[attr-defined]
    return create


def _async_create(original: Any, config: _Config) -> Any:
    async def create(*args: Any, **kwargs: Any) -> Any:
        extra = kwargs.pop("heron", None)
        try:
            call = _Call(config, kwargs, extra)
        except Exception as exc:
            instrumentation_failed("openai", exc)
            return await original(*args, **kwargs)
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            call.finish(error=exc)
            raise
        if call.stream:
            return AsyncStream(response, call)
        call.finish(response)
        return response

    create.__wrapped__ = original  # type: ignore[attr-defined]
    return create


class Stream:
    """Passes an ``openai.Stream`` through, noting each chunk; recorded when exhausted, failed or closed."""

    def __init__(self, stream: Any, call: _Call) -> None:
        self._stream = stream
        self._call = call

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._stream)
        except StopIteration:
            self._call.finish()
            raise
        except BaseException as exc:
            self._call.finish(error=exc)
            raise
        self._call.on_chunk(chunk)
        return chunk

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._call.finish()  # a stream closed early is recorded with what arrived
        self._stream.close()

    def __getattr__(self, name: str) -> Any:
        return _delegate(self, name)

    def __del__(self) -> None:  # abandoned mid-way without close()
        _finish_abandoned(self)


class AsyncStream:
    """Passes an ``openai.AsyncStream`` through; see :class:`Stream`."""

    def __init__(self, stream: Any, call: _Call) -> None:
        self._stream = stream
        self._call = call

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            self._call.finish()
            raise
        except BaseException as exc:
            self._call.finish(error=exc)
            raise
        self._call.on_chunk(chunk)
        return chunk

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._call.finish()
        await self._stream.close()

    def __getattr__(self, name: str) -> Any:
        return _delegate(self, name)

    def __del__(self) -> None:
        _finish_abandoned(self)


def _finish_abandoned(proxy: Stream | AsyncStream) -> None:
    """Record a stream dropped without being exhausted or closed (``break`` out of the loop)."""
    try:
        call = proxy.__dict__.get("_call")
        if call is not None:
            call.finish()
    except Exception:  # at interpreter exit module globals may already be gone
        pass


def _delegate(proxy: Stream | AsyncStream, name: str) -> Any:
    """Attributes we do not wrap (``response``, ...) come from the vendor stream."""
    stream = proxy.__dict__.get("_stream")
    if stream is None:
        raise AttributeError(name)
    return getattr(stream, name)


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def read_usage(usage: Any, fields: dict[str, Any]) -> None:
    """Token counts from an OpenAI ``usage`` object or dict, details included."""
    if usage is None:
        return
    fields["input_tokens"] = _get(usage, "prompt_tokens")
    fields["output_tokens"] = _get(usage, "completion_tokens")
    prompt_details = _get(usage, "prompt_tokens_details")
    if prompt_details is not None:
        fields["cached_tokens"] = _get(prompt_details, "cached_tokens")
    completion_details = _get(usage, "completion_tokens_details")
    if completion_details is not None:
        fields["reasoning_tokens"] = _get(completion_details, "reasoning_tokens")


def read_completion(response: Any, fields: dict[str, Any]) -> None:
    """Output, finish reason, tokens and answering model of a ``ChatCompletion`` (object or dict)."""
    choices = _get(response, "choices")
    if choices:
        choice = choices[0]
        message = _get(choice, "message")
        content = _get(message, "content") if message is not None else None
        if content is None and message is not None:
            calls = _get(message, "tool_calls")
            if calls:
                names = (_get(_get(c, "function"), "name") or "?" for c in calls)
                content = "[tool_calls: " + ", ".join(names) + "]"
            else:
                content = _get(message, "refusal")
        fields["output"] = content
        fields["finish_reason"] = _get(choice, "finish_reason")
    read_usage(_get(response, "usage"), fields)
    model = _get(response, "model")
    if isinstance(model, str) and model:
        fields["response_model"] = model
        if fields.get("model") is None:
            fields["model"] = model


def _render(item: Item) -> tuple[int, dict[str, Any]]:
    call: _Call = item[1]
    latency = (call.ended - call.started) * 1000.0
    fields: dict[str, Any] = {
        "id": call.id,
        "model": call.model,
        "provider": call.config.provider,
        "operation": "chat",
        "input": call.messages,
        "start_time": call.wall,
        "latency_ms": latency,
    }
    if call.stream:
        if call.first is not None:
            fields["ttft_ms"] = (call.first - call.started) * 1000.0
        text = "".join(call.parts)
        if not text and call.tools:
            text = "[tool_calls: " + ", ".join(call.tools) + "]"
        fields["output"] = text or None
        fields["finish_reason"] = call.finish_reason
        read_usage(call.usage, fields)
    elif call.response is not None:
        read_completion(call.response, fields)
    if call.failure is not None:
        fields["status"] = "error"
        fields["error_type"], fields["error_message"] = call.failure
    extra = call.extra
    if extra:
        unknown = set(extra) - _PER_CALL_FIELDS
        if unknown:
            _diagnostics.log.warning("heron-kwarg", "heron: ignored unknown heron= keys %s", sorted(unknown))
        apply_defaults(fields, {k: v for k, v in extra.items() if k in _PER_CALL_FIELDS})
    apply_defaults(fields, call.context)
    apply_defaults(fields, call.config.defaults)
    if not fields.get("model"):
        fields["model"] = "unknown"
    settle_times(fields, call.wall + latency / 1000.0)
    return INTERACTION, fields
