"""The wrappers ``@heron.observe`` installs, one per kind of function, and how their calls are rendered.

Each wrapper does on the caller's thread only what must happen there: make
the id (so the function itself can read ``heron.last_interaction_id()``), take
two clocks, call through, and queue references. The application's exception
is re-raised with a bare ``raise``, so it reaches the caller untouched; what
Heron records about it is the class name and message, taken while it exists.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from heron.sdk.buffer import Item
from heron.sdk.client import get_client, instrumentation_failed
from heron.sdk.context import apply_defaults, current_context, new_id, set_last_interaction_id
from heron.sdk.worker import INTERACTION

_time = time.time
_perf = time.perf_counter
_SKIP_ARGS = ("self", "cls")
_ARG_TEXT = 2_000
"""Each argument's share of the text recorded as input when there is no ``messages``/``prompt``."""


class Spec:
    """What ``observe`` decided at decoration, shared by every call of one function."""

    __slots__ = ("signature", "model_default", "name", "defaults", "capture_input", "capture_output")

    def __init__(
        self, func: Callable[..., Any], defaults: dict[str, Any], capture_input: bool, capture_output: bool
    ) -> None:
        try:
            self.signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):  # some builtins have none
            self.signature = None
        parameter = self.signature.parameters.get("model") if self.signature is not None else None
        default = None if parameter is None else parameter.default
        self.model_default: str | None = default if isinstance(default, str) else None
        self.name: str = getattr(func, "__qualname__", None) or repr(func)
        self.defaults = defaults
        self.capture_input = capture_input
        self.capture_output = capture_output


def function(fn: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    def observed(*args: Any, **kwargs: Any) -> Any:
        id = new_id()
        set_last_interaction_id(id)
        wall, started = _time(), _perf()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            record_call(spec, id, wall, started, args, kwargs, None, None, None, exc)
            raise
        record_call(spec, id, wall, started, args, kwargs, result, None, None, None)
        return result

    return observed


def coroutine(fn: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    async def observed(*args: Any, **kwargs: Any) -> Any:
        id = new_id()
        set_last_interaction_id(id)
        wall, started = _time(), _perf()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:  # CancelledError too: an abandoned call is worth seeing
            record_call(spec, id, wall, started, args, kwargs, None, None, None, exc)
            raise
        record_call(spec, id, wall, started, args, kwargs, result, None, None, None)
        return result

    return observed


def generator(fn: Callable[..., Iterator[Any]], spec: Spec) -> Callable[..., Iterator[Any]]:
    """Yields through; ``send``/``throw`` values are not forwarded to the wrapped generator."""

    def observed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        id = new_id()
        set_last_interaction_id(id)
        wall, started = _time(), _perf()
        chunks: list[Any] = []
        first: float | None = None
        error: BaseException | None = None
        try:
            for chunk in fn(*args, **kwargs):
                if first is None:
                    first = _perf()
                chunks.append(chunk)
                yield chunk
        except GeneratorExit:  # the consumer stopped early: what it got is the output
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            record_call(spec, id, wall, started, args, kwargs, None, chunks, first, error)
            error = None

    return observed


def async_generator(fn: Callable[..., AsyncIterator[Any]], spec: Spec) -> Callable[..., AsyncIterator[Any]]:
    async def observed(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        id = new_id()
        set_last_interaction_id(id)
        wall, started = _time(), _perf()
        chunks: list[Any] = []
        first: float | None = None
        error: BaseException | None = None
        try:
            async for chunk in fn(*args, **kwargs):
                if first is None:
                    first = _perf()
                chunks.append(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            record_call(spec, id, wall, started, args, kwargs, None, chunks, first, error)
            error = None

    return observed


def record_call(
    spec: Spec,
    id: str,
    wall: float,
    started: float,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    result: Any,
    chunks: list[Any] | None,
    first: float | None,
    error: BaseException | None,
) -> None:
    """Queue one observed call; never raises."""
    latency = (_perf() - started) * 1000.0
    try:
        failure = None if error is None else (type(error).__name__, str(error))
        get_client().enqueue((
            _render, wall, current_context(), spec, id, latency,
            None if first is None else (first - started) * 1000.0, args, kwargs, result, chunks, failure,
        ))  # fmt: skip
        set_last_interaction_id(id)  # a wrapped client called inside may have set its own
    except Exception as exc:
        instrumentation_failed("observe", exc)


def _render(item: Item) -> tuple[int, dict[str, Any]]:
    from heron.sdk._sanitize import settle_times

    _, wall, context, spec, id, latency, ttft, args, kwargs, result, chunks, failure = item
    fields: dict[str, Any] = {"id": id, "start_time": wall, "latency_ms": latency, "ttft_ms": ttft}
    _describe(spec, fields, args, kwargs, result, chunks)
    if failure is not None:
        fields["status"] = "error"
        fields["error_type"], fields["error_message"] = failure
    apply_defaults(fields, context)
    apply_defaults(fields, spec.defaults)
    if fields.get("model") is None:
        fields["model"] = spec.name
    settle_times(fields, wall + latency / 1000.0)
    return INTERACTION, fields


def _describe(
    spec: Spec, fields: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, chunks: Any
) -> None:
    arguments = _bind(spec, args, kwargs)
    model = arguments.get("model", spec.model_default)
    if isinstance(model, str):
        fields["model"] = model
    if spec.capture_input:
        fields["input"] = _input(arguments)
    if chunks is not None:
        if spec.capture_output:
            fields["output"] = "".join(_chunk_text(c) for c in chunks)
    elif result is not None and hasattr(result, "choices"):  # an OpenAI-style completion returned as is
        from heron.sdk.integrations.openai import read_completion

        read_completion(result, fields)
        if not spec.capture_output:
            fields.pop("output", None)
    elif spec.capture_output and result is not None:
        fields["output"] = result


def _bind(spec: Spec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if spec.signature is not None:
        try:
            arguments = dict(spec.signature.bind_partial(*args, **kwargs).arguments)
            for name in _SKIP_ARGS:
                arguments.pop(name, None)
            return arguments
        except TypeError:
            pass
    return {**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}


def _input(arguments: dict[str, Any]) -> Any:
    for name in ("messages", "prompt", "input", "query", "question"):
        if arguments.get(name) is not None:
            return arguments[name]
    if len(arguments) == 1:
        (value,) = arguments.values()
        if isinstance(value, str):
            return value
    if not arguments:
        return None
    return ", ".join(f"{k}={_short(v)}" for k, v in arguments.items())


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ARG_TEXT else text[:_ARG_TEXT] + "…"


def _chunk_text(chunk: Any) -> str:
    if isinstance(chunk, str):
        return chunk
    if isinstance(chunk, bytes):
        return chunk.decode("utf-8", "replace")
    choices = getattr(chunk, "choices", None)
    if choices is not None:  # an OpenAI-style stream chunk
        delta = getattr(choices[0], "delta", None) if choices else None
        return getattr(delta, "content", None) or ""
    return str(chunk)
