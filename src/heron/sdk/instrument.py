"""Recording from application code: ``heron.log``, ``heron.feedback`` and the ``@heron.observe`` decorator.

Every function here does the same three things on the caller's thread: take
the time, make an id, and queue a tuple of references (see ``buffer.py``).
Turning those references into fields is done by the ``_render_*`` functions,
which the worker calls. ``observe`` reads the signature and picks its wrapper
(``_observed.py``) at decoration, never per call.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, overload

from heron.sdk import _observed
from heron.sdk._sanitize import settle_times
from heron.sdk.buffer import Item
from heron.sdk.client import get_client, instrumentation_failed
from heron.sdk.context import apply_defaults, current_context, new_id
from heron.sdk.worker import FEEDBACK, INTERACTION

F = TypeVar("F", bound=Callable[..., Any])
_time = time.time

_LOG_FIELDS = (
    "id", "model", "input", "output", "conversation_id", "user_id", "start_time", "end_time",
    "latency_ms", "ttft_ms", "provider", "operation", "app_version", "prompt_version",
    "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "status", "error_type",
    "error_message", "finish_reason", "experiment", "variant", "rag_sources", "trace_id", "span_id", "tags",
    "retry_of",
)  # fmt: skip


def log(
    *,
    model: str,
    input: str | Sequence[Any] | None = None,
    output: str | None = None,
    conversation_id: str | None = None,
    user_id: str | None = None,
    retry_of: str | None = None,
    start_time: float | datetime | None = None,
    end_time: float | datetime | None = None,
    latency_ms: float | None = None,
    ttft_ms: float | None = None,
    provider: str | None = None,
    operation: str | None = None,
    app_version: str | None = None,
    prompt_version: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cached_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    status: str | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
    finish_reason: str | None = None,
    experiment: str | None = None,
    variant: str | None = None,
    rag_sources: Sequence[str] | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    id: str | None = None,
) -> str:
    """Record one LLM call made by the application; returns its id (for :func:`feedback`).

    ``input`` is a prompt string or a list of chat messages (dicts or message
    objects). Times are epoch seconds or datetimes; without them the call is
    taken to end now and last ``latency_ms``. ``retry_of`` is the id of the
    interaction this one regenerates or retries. Never raises and never blocks.
    """
    if id is None:
        id = new_id()
    try:
        if type(input) is list:
            input = input.copy()  # a chat loop appends the reply to this very list next
        get_client().enqueue((
            _render_log, _time(), current_context(),
            id, model, input, output, conversation_id, user_id, start_time, end_time,
            latency_ms, ttft_ms, provider, operation, app_version, prompt_version,
            input_tokens, output_tokens, cached_tokens, reasoning_tokens, status, error_type,
            error_message, finish_reason, experiment, variant, rag_sources, trace_id, span_id, tags,
            retry_of,
        ))  # fmt: skip
    except Exception as exc:
        instrumentation_failed("log", exc)
    return id


def _render_log(item: Item) -> tuple[int, dict[str, Any]]:
    fields = dict(zip(_LOG_FIELDS, item[3:], strict=True))
    apply_defaults(fields, item[2])
    settle_times(fields, item[1])
    return INTERACTION, fields


def feedback(
    interaction_id: str,
    *,
    thumbs: str | bool | None = None,
    rating: float | None = None,
    comment: str | None = None,
    label: str | None = None,
    source: str | None = None,
    user_id: str | None = None,
    conversation_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    id: str | None = None,
) -> str:
    """Attach feedback (``thumbs="up"|"down"`` or a bool, ``rating`` 0-10, ``comment``) or a late ``label``.

    ``source`` defaults to ``"user"``; use ``"annotator"`` or ``"ground_truth"``
    for labels. Feedback is never sampled out. Returns the feedback's id.
    """
    if id is None:
        id = new_id()
    try:
        get_client().enqueue_always((
            _render_feedback, _time(), current_context(),
            id, interaction_id, thumbs, rating, comment, label, source, user_id, conversation_id, tags,
        ))  # fmt: skip
    except Exception as exc:
        instrumentation_failed("feedback", exc)
    return id


_FEEDBACK_FIELDS = (
    "id",
    "interaction_id",
    "thumbs",
    "rating",
    "comment",
    "label",
    "source",
    "user_id",
    "conversation_id",
    "tags",
)


def _render_feedback(item: Item) -> tuple[int, dict[str, Any]]:
    fields = dict(zip(_FEEDBACK_FIELDS, item[3:], strict=True))
    context = item[2]
    if context:
        apply_defaults(fields, {k: context[k] for k in ("user_id", "conversation_id") if k in context})
    fields["time"] = item[1]
    return FEEDBACK, fields


@overload
def observe(func: F, /) -> F: ...


@overload
def observe(
    *,
    model: str | None = None,
    provider: str | None = None,
    operation: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    tags: Mapping[str, str] | None = None,
) -> Callable[[F], F]: ...


def observe(
    func: Callable[..., Any] | None = None,
    /,
    *,
    model: str | None = None,
    provider: str | None = None,
    operation: str | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
    tags: Mapping[str, str] | None = None,
) -> Any:
    """Record each call of a function (sync, async, generator or async generator) as an interaction.

    ``model`` is the call's ``model`` argument, else the decorator's, else the
    function's qualified name. The input is the call's ``messages`` or
    ``prompt`` argument, else its arguments as text; the output is the return
    value (or the joined yields, with ``ttft_ms`` at the first). Exceptions
    are recorded (``status="error"``, ``error_type``) and re-raised untouched.
    """
    defaults: dict[str, Any] = {"provider": provider, "operation": operation, "model": model}
    defaults = {k: v for k, v in defaults.items() if v is not None}
    if tags:
        defaults["tags"] = dict(tags)

    def decorate(fn: F) -> F:
        spec = _observed.Spec(fn, defaults, capture_input, capture_output)
        wrapper: Callable[..., Any]
        if inspect.isasyncgenfunction(fn):
            wrapper = _observed.async_generator(fn, spec)
        elif inspect.isgeneratorfunction(fn):
            wrapper = _observed.generator(fn, spec)
        elif inspect.iscoroutinefunction(fn):
            wrapper = _observed.coroutine(fn, spec)
        else:
            wrapper = _observed.function(fn, spec)
        return functools.wraps(fn)(wrapper)  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
