"""Each contract field, checked twice: is it in the raw span at all, and did Heron store it right.

A field's state for one call (a *case* of the driver) is one of:

* ``mapped`` -- Heron stored the expected value;
* ``not emitted`` -- the raw span (attributes, events, resource, status) does not carry it,
  so Heron cannot have it: a fact about the instrumentation, not a failure;
* ``MISSING`` -- the raw span carries it, Heron stored nothing;
* ``WRONG`` -- the raw span carries it, Heron stored something else.

The expected values come from what the ``openai`` SDK returned to the driver (reply
text, usage, response model, finish reason) and from what the driver set (resource,
stamps); "where" lists the raw keys that carry the value, which is how the
documentation's "what each instrumentation emits" table is built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

MAPPED, NOT_EMITTED, MISSING, WRONG = "mapped", "not emitted", "MISSING", "WRONG"
FAILED = (MISSING, WRONG)
STREAMED = ("stream", "async_stream", "tool_stream")
FINISH_ALIASES = {"tool_calls": {"tool_calls", "tool_call"}, "stop": {"stop"}, "length": {"length"}}
"""OpenAI says ``tool_calls``; the GenAI conventions' output messages say ``tool_call``: either is the same reason."""
LLM_KEYS = ("gen_ai.request.model", "gen_ai.operation.name", "llm.model_name", "llm.request.type", "llm.invocation_parameters")
REQUEST_SIDE = re.compile(r"tool\.definitions|^llm\.tools\.|^input\.value|functions|^gen_ai\.request\.|headers")
TTFT_KEY = re.compile(r"time_to_first|ttft|first_token|first_chunk")
TTFT_EVENT = re.compile(r"first token|completion\.chunk|first_token", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Check:
    field: str
    case: str
    state: str
    where: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Run:
    """One driver's output, as the checks need it."""

    name: str
    data: dict[str, Any]
    expected_tags: dict[str, str] = field(default_factory=dict)


def is_llm_span(span: dict[str, Any]) -> bool:
    attrs = span["attributes"]
    return attrs.get("openinference.span.kind") == "LLM" or any(k in attrs for k in LLM_KEYS)


def strings(span: dict[str, Any], *, resource: bool = False) -> Iterator[tuple[str, str]]:
    """(where, text) for every string in the span: attributes, list elements, event attributes, status."""
    def walk(where: str, value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, list):
            for item in value:
                yield from walk(where, item)
        elif value is not None and not isinstance(value, dict):
            yield where, str(value)

    for key, value in span["attributes"].items():
        yield from walk(key, value)
    for event in span["events"]:
        for key, value in event["attributes"].items():
            yield from walk(f"event {event['name']}: {key}", value)
    if span["status_description"]:
        yield "status.description", span["status_description"]
    if resource:
        for key, value in span["resource"].items():
            yield from walk(f"resource {key}", value)


def _where(span: dict[str, Any], match: Callable[[str, str], bool], *, resource: bool = False) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for k, text in strings(span, resource=resource) if match(k, text)))


def _json_has(text: str, key: str, value: str) -> bool:
    return f'"{key}": "{value}"' in text or f'"{key}":"{value}"' in text


def _numbers(span: dict[str, Any], pattern: re.Pattern[str], expected: int) -> tuple[str, ...]:
    found = []
    for key, value in span["attributes"].items():
        if pattern.search(key) and isinstance(value, (int, float)) and not isinstance(value, bool) and value == expected:
            found.append(key)
    return tuple(found)


def raw_ttft_ms(span: dict[str, Any]) -> tuple[tuple[str, ...], list[float]]:
    """Where a time to first token is, and its value(s) in ms: attributes (seconds) or the first chunk event."""
    where, values = [], []
    for key, value in span["attributes"].items():
        if TTFT_KEY.search(key) and isinstance(value, (int, float)):
            where.append(key)
            values.append(float(value) * 1000)
    firsts = [e for e in span["events"] if TTFT_EVENT.search(e["name"])]
    if firsts:
        where.append(f"event {firsts[0]['name']}")
        values.append((firsts[0]["time_ns"] - span["start_ns"]) / 1e6)
    return tuple(where), values


def _messages(item: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for m in item.get("input") or []:
        content = m.get("content")
        out.append((m.get("role"), content if isinstance(content, str) else json.dumps(content)))
    return out


def _verdict(name: str, case: str, where: tuple[str, ...], ok: bool, expected: Any, got: Any) -> Check:
    if ok:
        return Check(name, case, MAPPED, where)
    if not where:
        return Check(name, case, NOT_EMITTED, where, f"got {got!r}" if got not in (None, "", [], {}) else "")
    state = MISSING if got in (None, "", [], {}) else WRONG
    return Check(name, case, state, where, f"expected {expected!r}, got {got!r} (raw: {', '.join(where)})")


def check_case(run: Run, case: dict[str, Any], span: dict[str, Any], item: dict[str, Any] | None) -> list[Check]:
    """Every contract field for one call: its raw span against Heron's stored interaction (None: not stored)."""
    name, kind = case["case"], case["kind"]
    checks: list[Check] = []

    def add(column: str, where: tuple[str, ...], ok: Callable[[dict[str, Any]], bool], expected: Any,
            got: Callable[[dict[str, Any]], Any]) -> None:
        if item is None:
            state = MISSING if where else NOT_EMITTED
            checks.append(Check(column, name, state, where, "not stored in Heron" if where else ""))
        else:
            checks.append(_verdict(column, name, where, ok(item), expected, got(item)))

    prompt = case["prompt"]
    sent = [("system", run.data.get("system", "You are a support assistant for Acme.")), ("user", prompt)]
    add("input", _where(span, lambda k, t: prompt in t and not k.startswith("resource")),
        lambda i: _messages(i) == sent, sent, _messages)

    if kind == "text":
        text = case["output"]
        add("output", _where(span, lambda k, t: text[:60] in t), lambda i: i.get("output") == text, text,
            lambda i: i.get("output"))
    elif kind == "tool":
        marker = f"[tool_call: {case['tool_calls'][0]}]"
        call_id = case["tool_call_ids"][0]
        add("output", _where(span, lambda k, t: call_id in t and not REQUEST_SIDE.search(k)),
            lambda i: i.get("output") == marker, marker, lambda i: i.get("output"))

    model = case["model"]
    add("model", _where(span, lambda k, t: t == model or _json_has(t, "model", model)),
        lambda i: i.get("model") == model, model, lambda i: i.get("model"))

    if kind != "error":
        answered = case["response_model"]
        add("response_model", _where(span, lambda k, t: t == answered or _json_has(t, "model", answered)),
            lambda i: i.get("response_model") == answered, answered, lambda i: i.get("response_model"))
        for column, pattern in (("input_tokens", r"(input|prompt).*token|token.*(input|prompt)"),
                                ("output_tokens", r"(output|completion).*token|token.*(output|completion)")):
            want = case[column]
            add(column, _numbers(span, re.compile(pattern), want), lambda i, c=column, w=want: i.get(c) == w, want,
                lambda i, c=column: i.get(c))
        reasons = FINISH_ALIASES.get(case["finish_reason"], {case["finish_reason"]})
        add("finish_reason",
            _where(span, lambda k, t: ("finish" in k and t in reasons) or any(_json_has(t, "finish_reason", r) for r in reasons)),
            lambda i: i.get("finish_reason") in reasons, case["finish_reason"], lambda i: i.get("finish_reason"))

    if name in STREAMED:
        where, values = raw_ttft_ms(span)
        add("ttft_ms", where,
            lambda i: i.get("ttft_ms") is not None and any(abs(i["ttft_ms"] - v) <= 1 + 0.01 * v for v in values),
            [round(v, 3) for v in values], lambda i: i.get("ttft_ms"))

    if kind == "error":
        signals = tuple(
            ["status=ERROR"] * (span["status"] == "ERROR")
            + ["error.type"] * ("error.type" in span["attributes"])
            + ["event exception"] * any(e["name"] == "exception" for e in span["events"])
        )
        add("status", signals, lambda i: i.get("status") == "error", "error", lambda i: i.get("status"))
        kinds = _where(span, lambda k, t: k in ("error.type", "event exception: exception.type"))
        add("error_type", kinds, lambda i: "RateLimitError" in (i.get("error_type") or ""), "…RateLimitError…",
            lambda i: i.get("error_type"))
    else:
        add("status", (f"status={span['status']}",), lambda i: i.get("status") == "ok", "ok", lambda i: i.get("status"))

    ids = (span["trace_id"], span["span_id"])
    add("trace_id/span_id", ("span context",), lambda i: (i.get("trace_id"), i.get("span_id")) == ids, ids,
        lambda i: (i.get("trace_id"), i.get("span_id")))

    for column, want in (("conversation_id", run.data["conversation_id"]), ("user_id", run.data["user_id"]),
                         ("prompt_version", "pv-7"), ("experiment", "greeting-test"), ("variant", "B"),
                         ("environment", "staging"), ("app_version", run.data["resource"]["service.version"])):
        add(column, _where(span, lambda k, t, w=want: t == w, resource=True),
            lambda i, c=column, w=want: i.get(c) == w, want, lambda i, c=column: i.get(c))
    add("rag_sources", _where(span, lambda k, t: t == "kb-faq", resource=True),
        lambda i: i.get("rag_sources") == ["kb-faq"], ["kb-faq"], lambda i: i.get("rag_sources"))

    tags = run.expected_tags
    raw = {**span["resource"], **span["attributes"]}
    if span["attributes"].get("metadata"):
        raw.update(json.loads(span["attributes"]["metadata"]))
    carried = tuple(k for k in tags if str(raw.get(k)) == tags[k])
    if item is None or not carried:
        add("tags", carried, lambda i: False, None, lambda i: None)
    else:
        stored = item.get("tags") or {}
        lost = {k: tags[k] for k in carried if k not in stored}
        changed = {k: f"{tags[k]!r} -> {stored[k]!r}" for k in carried if k in stored and stored[k] != tags[k]}
        state = MAPPED if not (lost or changed) else MISSING if not changed else WRONG
        detail = "; ".join(filter(None, [f"not kept: {', '.join(lost)}" if lost else "",
                                         f"changed: {', '.join(f'{k} {v}' for k, v in changed.items())}" if changed else ""]))
        checks.append(Check("tags", name, state, carried, detail))
    return checks


def summarize(checks: list[Check]) -> str:
    """One table cell from a field's checks over every case it applies to."""
    if not checks:
        return "n/a"
    states = [c.state for c in checks]
    for bad in FAILED:
        if bad in states:
            cases = [c.case for c in checks if c.state == bad]
            return f"{bad} ({', '.join(cases)})" if len(cases) < len(checks) else bad
    emitted = [c for c in checks if c.state == MAPPED]
    if not emitted:
        return NOT_EMITTED
    if len(emitted) < len(checks):
        return f"mapped ({', '.join(c.case for c in emitted)}; not emitted otherwise)"
    return MAPPED
