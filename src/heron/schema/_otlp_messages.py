"""Prompt and completion text out of span attributes, for every convention Heron reads.

Each reader returns ``None`` when its convention is absent, so the caller tries
them in order of precedence. Messages come back as plain dicts, ready for
``msgspec.convert(..., Interaction)``, with one *label* per message: the source
attribute a validation error about that message should name.

Content is flattened to text here (not in ``normalize``) because the GenAI
semantic conventions put text in ``parts[].content`` where OpenAI puts it in
``content[].text``: text parts become their text, other parts leave a marker such
as ``[tool_call: get_weather]`` or ``[image]``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

Attrs = dict[str, AnyValue]
Messages = tuple[list[dict[str, Any]], list[str]]
"""(messages, labels): labels[i] names the attribute message i came from."""

_json_decode = msgspec.json.decode
_json_encode = msgspec.json.encode


def value(av: AnyValue) -> Any:
    """An OTLP AnyValue as a Python value (lists and dicts for arrays and kvlists)."""
    text = av.string_value
    if text:  # the usual case; the field reads "" when another kind (or an empty string) is set
        return text
    kind = av.WhichOneof("value")
    if kind == "string_value":
        return av.string_value
    if kind is None:
        return None
    if kind == "array_value":
        return [value(item) for item in av.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in av.kvlist_value.values}
    return getattr(av, kind)


def get(attrs: Attrs, key: str) -> Any:
    av = attrs.get(key)
    return None if av is None else value(av)


def loads(text: Any) -> Any:
    """JSON text -> value; anything that is not valid JSON text comes back as None."""
    if not isinstance(text, str):
        return None
    try:
        return _json_decode(text)
    except msgspec.DecodeError:
        return None


def structured(raw: Any) -> Any:
    """A value that may be JSON text or already structured (kvlist/array attributes)."""
    if isinstance(raw, str):
        parsed = loads(raw)
        return raw if parsed is None else parsed
    return raw


def as_text(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, (bytes, bool)):
        return str(raw)
    return _json_encode(raw).decode()


def parts_text(parts: list[Any]) -> str:
    """GenAI-semconv parts or OpenAI content parts -> text, with markers for non-text parts."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        text = part.get("content")
        if not isinstance(text, str):
            text = part.get("text")
        if isinstance(text, str) and kind in (None, "text", "input_text", "output_text"):
            if text:  # an empty text part (a streamed tool call's) adds no line
                out.append(text)
        elif kind in ("tool_call", "function_call", "tool_use"):
            out.append(f"[tool_call: {part.get('name') or part.get('function', {}).get('name', '')}]")
        elif kind in ("tool_call_response", "tool_result", "function_call_output"):
            result = part.get("result", part.get("response", part.get("output", part.get("content"))))
            out.append(as_text(result) or "")
        else:
            out.append(f"[{kind or 'part'}]")
    return "\n".join(out)


def content_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return parts_text(content)
    if isinstance(content, dict):
        return parts_text([content])
    return as_text(content)


def maybe_parts(text: Any) -> Any:
    """OpenLLMetry writes multimodal content as a JSON string of parts; unwrap it."""
    if isinstance(text, str) and text.startswith("[{"):
        parsed = loads(text)
        if isinstance(parsed, list) and all(isinstance(p, dict) and "type" in p for p in parsed):
            return parts_text(parsed)
    return text


def tool_call_markers(calls: Any) -> str | None:
    if not isinstance(calls, list) or not calls:
        return None
    names = []
    for call in calls:
        if isinstance(call, dict):
            fn = call.get("function")
            name = fn.get("name") if isinstance(fn, dict) else call.get("name")
            names.append(f"[tool_call: {name or ''}]")
    return "\n".join(names) or None


def message(obj: Any) -> dict[str, Any]:
    """One message in GenAI-semconv (``parts``) or OpenAI (``content``) shape."""
    if not isinstance(obj, dict):
        return {"role": "user", "content": as_text(obj)}
    if "parts" in obj and isinstance(obj["parts"], list):
        content: Any = parts_text(obj["parts"])
    else:
        content = content_text(obj.get("content"))
    if content is None:
        content = tool_call_markers(obj.get("tool_calls"))
    out = {"role": obj.get("role") or "user", "content": content}
    name = obj.get("name")
    if name is not None:
        out["name"] = name
    return out


def _is_message(obj: Any) -> bool:
    return isinstance(obj, dict) and ("role" in obj or "parts" in obj or "content" in obj)


def message_list(raw: Any, label: str) -> Messages:
    """A list of messages (JSON text or structured); anything else becomes one user message."""
    parsed = structured(raw)
    if isinstance(parsed, dict) and isinstance(parsed.get("messages"), list):
        parsed = parsed["messages"]
    if isinstance(parsed, list) and parsed and all(_is_message(m) for m in parsed):
        return [message(m) for m in parsed], [f"{label}[{i}]" for i in range(len(parsed))]
    return [{"role": "user", "content": as_text(raw)}], [label]


# -- input ------------------------------------------------------------------------


def semconv_input(attrs: Attrs) -> Messages | None:
    """``gen_ai.system_instructions`` + ``gen_ai.input.messages`` (JSON, parts format)."""
    system = attrs.get("gen_ai.system_instructions")
    raw = attrs.get("gen_ai.input.messages")
    if system is None and raw is None:
        return None
    messages: list[dict[str, Any]] = []
    labels: list[str] = []
    if system is not None:
        messages.append({"role": "system", "content": content_text(structured(value(system)))})
        labels.append("gen_ai.system_instructions")
    if raw is not None:
        more, more_labels = message_list(value(raw), "gen_ai.input.messages")
        if messages and any(m["role"] == "system" and m["content"] == messages[0]["content"] for m in more):
            messages, labels = [], []  # the system prompt sent both ways (OpenLIT): once is enough
        messages += more
        labels += more_labels
    return messages, labels


def openllmetry_input(attrs: Attrs) -> Messages | None:
    """``gen_ai.prompt.N.role`` / ``gen_ai.prompt.N.content`` (OpenLLMetry/Traceloop)."""
    if "gen_ai.prompt.0.content" not in attrs and "gen_ai.prompt.0.role" not in attrs:
        return None
    messages: list[dict[str, Any]] = []
    labels: list[str] = []
    i = 0
    while True:
        base = f"gen_ai.prompt.{i}"
        role = attrs.get(base + ".role")
        content = attrs.get(base + ".content")
        if role is None and content is None:
            break
        messages.append(
            {
                "role": "user" if role is None else value(role),
                "content": None if content is None else maybe_parts(value(content)),
            }
        )
        labels.append(base)
        i += 1
    return messages, labels


def openinference_messages(attrs: Attrs, prefix: str) -> Messages | None:
    """``llm.input_messages.N.message.*`` or ``llm.output_messages.N.message.*`` (OpenInference)."""
    first = prefix + ".0.message."
    if (
        first + "role" not in attrs
        and first + "content" not in attrs
        and first + "contents.0.message_content.type" not in attrs
    ):
        if first + "contents.0.message_content.text" not in attrs:
            return None
    messages: list[dict[str, Any]] = []
    labels: list[str] = []
    i = 0
    while True:
        base = f"{prefix}.{i}.message"
        role = attrs.get(base + ".role")
        content: Any = get(attrs, base + ".content")
        if content is None:
            content = _openinference_contents(attrs, base + ".contents")
        if role is None and content is None:
            if base + ".tool_calls.0.tool_call.function.name" not in attrs:
                break
        if content is None:
            names = []
            j = 0
            while (name := get(attrs, f"{base}.tool_calls.{j}.tool_call.function.name")) is not None:
                names.append(f"[tool_call: {name}]")
                j += 1
            content = "\n".join(names) or None
        out: dict[str, Any] = {"role": "user" if role is None else value(role), "content": content}
        name_av = attrs.get(base + ".name")
        if name_av is not None:
            out["name"] = value(name_av)
        messages.append(out)
        labels.append(base)
        i += 1
    return messages, labels


def _openinference_contents(attrs: Attrs, base: str) -> str | None:
    parts: list[dict[str, Any]] = []
    j = 0
    while True:
        key = f"{base}.{j}.message_content."
        text = attrs.get(key + "text")
        kind = attrs.get(key + "type")
        if text is None and kind is None:
            break
        parts.append({"type": "text" if kind is None else value(kind), "text": None if text is None else value(text)})
        j += 1
    return parts_text(parts) if parts else None


def openinference_prompts(attrs: Attrs) -> Messages | None:
    """``llm.prompts`` (list of strings) or ``llm.prompts.N.prompt.text`` (completions API)."""
    raw = get(attrs, "llm.prompts")
    if isinstance(raw, list):
        return [{"role": "user", "content": as_text(p)} for p in raw], [f"llm.prompts[{i}]" for i in range(len(raw))]
    if "llm.prompts.0.prompt.text" not in attrs:
        return None
    messages: list[dict[str, Any]] = []
    labels: list[str] = []
    i = 0
    while (text := get(attrs, f"llm.prompts.{i}.prompt.text")) is not None:
        messages.append({"role": "user", "content": text})
        labels.append(f"llm.prompts.{i}.prompt.text")
        i += 1
    return messages, labels


def input_value(attrs: Attrs) -> Messages | None:
    """OpenInference ``input.value``: JSON with a ``messages`` list, else one user message."""
    raw = get(attrs, "input.value")
    if raw is None:
        return None
    if "json" in (get(attrs, "input.mime_type") or ""):
        parsed = loads(raw)
        if isinstance(parsed, dict):
            msgs = parsed.get("messages")
            if isinstance(msgs, list) and msgs:
                messages, labels = message_list(msgs, "input.value.messages")
                system = parsed.get("system")  # Anthropic keeps the system prompt apart
                if system is not None:
                    messages.insert(0, {"role": "system", "content": content_text(system)})
                    labels.insert(0, "input.value.system")
                return messages, labels
            prompt = parsed.get("prompt")
            if isinstance(prompt, str):
                return [{"role": "user", "content": prompt}], ["input.value.prompt"]
    return [{"role": "user", "content": as_text(raw)}], ["input.value"]


def prompt_text(raw: Any, label: str) -> Messages:
    """``gen_ai.prompt``: a JSON list of messages, or plain text (OpenLIT) as one user message."""
    if isinstance(raw, str) and not raw.startswith(("[", "{")):
        return [{"role": "user", "content": raw}], [label]
    return message_list(raw, label)


# -- output -----------------------------------------------------------------------


def first_choice(raw: Any) -> tuple[str | None, str | None]:
    """(text, finish_reason) of the first message of ``gen_ai.output.messages``.

    A value that is not message-shaped (plain text, or a JSON-mode answer that
    happens to be an object) is the text itself.
    """
    parsed = structured(raw)
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    if _is_message(parsed):
        reason = parsed.get("finish_reason")
        return message(parsed)["content"], reason if isinstance(reason, str) else None
    return as_text(raw), None


def openllmetry_output(attrs: Attrs) -> tuple[str | None, str | None, str] | None:
    """(text, finish_reason, base) from ``gen_ai.completion.N.*``: the first assistant choice."""
    if "gen_ai.completion.0.content" not in attrs and "gen_ai.completion.0.role" not in attrs:
        if "gen_ai.completion.0.finish_reason" not in attrs and "gen_ai.completion.0.tool_calls.0.name" not in attrs:
            return None
    chosen = 0
    i = 0
    while True:  # skip leading thinking/reasoning blocks (Anthropic via OpenLLMetry)
        base = f"gen_ai.completion.{i}"
        role = get(attrs, base + ".role")
        if role is None and base + ".content" not in attrs:
            break
        if role not in ("thinking", "reasoning"):
            chosen = i
            break
        i += 1
    base = f"gen_ai.completion.{chosen}"
    text = get(attrs, base + ".content")
    if text is None:
        names = []
        j = 0
        while (name := get(attrs, f"{base}.tool_calls.{j}.name")) is not None:
            names.append(f"[tool_call: {name}]")
            j += 1
        text = "\n".join(names) or None
    reason = get(attrs, base + ".finish_reason")
    return maybe_parts(text), reason, base


def openinference_output(attrs: Attrs) -> tuple[str | None, str] | None:
    """(text, label) from ``llm.output_messages.0`` or ``llm.choices.0.completion.text``."""
    found = openinference_messages(attrs, "llm.output_messages")
    if found is not None and found[0]:
        return found[0][0]["content"], found[1][0] + ".content"
    text = get(attrs, "llm.choices.0.completion.text")
    if text is not None:
        return text, "llm.choices.0.completion.text"
    return None


def output_value(attrs: Attrs) -> str | None:
    """OpenInference ``output.value``; a JSON provider response is reduced to its first choice."""
    raw = get(attrs, "output.value")
    if raw is None or "json" not in (get(attrs, "output.mime_type") or ""):
        return as_text(raw)
    parsed = loads(raw)
    if isinstance(parsed, dict):
        choices = parsed.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            msg = choice.get("message")
            if isinstance(msg, dict):
                text: str | None = message(msg)["content"]
                return text
            if isinstance(choice.get("text"), str):
                return str(choice["text"])
        content = parsed.get("content")
        if isinstance(content, list) and parsed.get("role") == "assistant":
            return parts_text(content)
    return as_text(raw)
