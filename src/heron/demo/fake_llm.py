"""A local OpenAI-compatible LLM that answers deterministically, for the demo and for tests.

The real ``openai`` SDK talks to it unchanged (``base_url=server.base_url``),
so tests exercise the same code paths as production: JSON and SSE streaming,
``stream_options.include_usage``, token usage with cached and reasoning
details, ``finish_reason="length"``, and HTTP errors. The reply is derived
from the prompt with a seeded PRNG, so the same request always gets the same
answer and the same token counts.

Errors on demand, so failure paths can be shown and tested:

* model ``error-429`` / ``error-500`` / ``error-<status>`` (or header
  ``x-fake-error: <status>``) answers with that status and an OpenAI-style
  error body; 429 and 503 carry ``Retry-After: 1``;
* model ``error-midstream`` fails half-way through a stream (an SSE error event).

Like OpenAI, the response names a dated snapshot for some aliases (``SNAPSHOTS``:
``gpt-4o-mini`` answers as ``gpt-4o-mini-2024-07-18``); other models are echoed.

Tool calls: when the request offers ``tools`` and the last message is a user
message that names one of them (a word of the function name, e.g. "weather" for
``get_weather``), or ``tool_choice`` requires one, the answer is a ``tool_calls``
message with ``finish_reason="tool_calls"`` (streamed as OpenAI streams it:
name first, then the arguments in pieces). String arguments get the last
capitalised word of the prompt ("... in Paris?" gives ``"Paris"``). Once the
last message is a ``tool`` result, the model answers with text.

Latency on demand: ``FakeLLMConfig(token_delay=..., first_token_delay=...)``
or per request the headers ``x-fake-token-delay`` / ``x-fake-first-token-delay``
(seconds).

From a test or the demo::

    server = start()                  # 127.0.0.1, a free port, background thread
    client = openai.OpenAI(base_url=server.base_url, api_key="fake")
    ...
    server.stop()

or ``python -m heron.demo.fake_llm --port 8001`` in the foreground.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODELS = ("gpt-4o", "gpt-4o-mini", "o3-mini", "fake-small")
SNAPSHOTS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
"""The model a response names for a requested alias, as OpenAI's API answers with a dated snapshot."""
_GENERIC_VERBS = frozenset({"get", "set", "fetch", "find", "list", "lookup", "search", "create", "make", "call"})
_WORD = re.compile(r"\w+|[^\w\s]")
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])")  # a word or mark with the spaces before it: joined, the original
_OPENERS = ("Sure.", "Good question.", "Here is a short answer.", "Let me help with that.", "Happy to explain.")
_SENTENCES = (
    "You asked about {a}.",
    "In short, {a} depends on the context you are in.",
    "The key points are {a} and {b}.",
    "A common mistake is to confuse {a} with {b}.",
    "Start with {a}, then look at {b} once that works.",
    "Most people find that {a} is easier than it first seems.",
    "If {a} fails, check {b} before anything else.",
)
_CLOSERS = ("I hope this helps.", "Let me know if you want more detail.", "Does that answer your question?")
_FALLBACK_WORDS = ("the setup", "your data", "the configuration", "the next step")


@dataclass(frozen=True, slots=True)
class FakeLLMConfig:
    token_delay: float = 0.0
    """Seconds between streamed tokens (and per token of a non-streamed reply)."""
    first_token_delay: float = 0.0
    """Seconds before the first token: what time to first token measures."""
    seed: int = 0
    """Mixed into every reply's seed; change it to get a different but still fixed set of answers."""


def count_tokens(text: str) -> int:
    """Words and punctuation marks: close enough to BPE counts for monitoring demos."""
    return len(_WORD.findall(text))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def reply_pieces(model: str, messages: list[dict[str, Any]], seed: int = 0) -> list[str]:
    """The reply as streamed pieces (each a word or mark with its leading space); joined, the full text."""
    prompt = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    rng = random.Random(zlib.crc32(f"{seed}|{model}|{prompt}".encode()))
    words = sorted({w.lower() for w in re.findall(r"[A-Za-z]{4,}", prompt)}) or list(_FALLBACK_WORDS)
    sentences = [rng.choice(_OPENERS)]
    for template in rng.sample(_SENTENCES, rng.randint(1, 4)):
        sentences.append(template.format(a=rng.choice(words), b=rng.choice(words)))
    sentences.append(rng.choice(_CLOSERS))
    text = " ".join(sentences)
    return [("" if i == 0 else " ") + w if w[0].isalnum() else w for i, w in enumerate(_WORD.findall(text))]


def usage(model: str, messages: list[dict[str, Any]], completion: int) -> dict[str, Any]:
    """OpenAI-shaped usage; prompts of 1024+ tokens report a cached prefix, o-series models reasoning tokens."""
    prompt = sum(count_tokens(_text(m.get("content"))) + 4 for m in messages) + 3
    cached = prompt // 128 * 128 if prompt >= 1024 else 0
    reasoning = 2 * completion if model.startswith(("o1", "o3", "o4")) else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion + reasoning,
        "total_tokens": prompt + completion + reasoning,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }


def tool_call(body: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The OpenAI-shaped tool call the fake answers with, or None when the request asks for text."""
    tools = [t["function"] for t in body.get("tools") or () if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    choice = body.get("tool_choice")
    if not tools or choice == "none" or not messages or messages[-1].get("role") != "user":
        return None
    prompt = _text(messages[-1].get("content"))
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        chosen = next((t for t in tools if t.get("name") == wanted), None)
    else:
        named = (t for t in tools if (set(re.split(r"[_\-.]", str(t.get("name", "")).lower())) - _GENERIC_VERBS) & words)
        chosen = next(named, tools[0] if choice == "required" else None)
    if chosen is None:
        return None
    places = re.findall(r"(?<!^)\b[A-Z][a-z]+", prompt)
    schema = chosen.get("parameters") or {}
    properties = schema.get("properties") or {}
    arguments = {
        key: places[-1] if places else ""
        for key in schema.get("required") or properties
        if (properties.get(key) or {}).get("type", "string") == "string"
    }
    call_id = f"call_{zlib.crc32(json.dumps([chosen.get('name'), prompt]).encode()):08x}"
    function = {"name": str(chosen.get("name", "")), "arguments": json.dumps(arguments)}
    return {"id": call_id, "type": "function", "function": function}


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    headers = {"retry-after": "1"} if status in (429, 503) else {}
    body = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return JSONResponse(body, status_code=status, headers=headers)


def _delay(request: Request, name: str, default: float) -> float:
    value = request.headers.get(f"x-fake-{name}")
    return float(value) if value else default


def create_app(config: FakeLLMConfig | None = None) -> Starlette:
    """The Starlette app: ``POST /v1/chat/completions`` and ``GET /v1/models``."""
    cfg = config or FakeLLMConfig()

    async def models(request: Request) -> Response:
        data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "heron-fake"} for m in MODELS]
        return JSONResponse({"object": "list", "data": data})

    async def chat(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            model, messages = body["model"], body["messages"]
            assert isinstance(model, str) and isinstance(messages, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return _error(400, "body must be JSON with a string 'model' and a list 'messages'")
        forced = request.headers.get("x-fake-error") or (model[6:] if model.startswith("error-") else "")
        if forced.isdigit():
            status = int(forced)
            return _error(status, f"fake error {status}", "rate_limit_error" if status == 429 else "server_error")
        if model == "error-midstream" and not body.get("stream"):
            return _error(500, "fake error 500", "server_error")
        call = tool_call(body, messages)
        pieces = _PIECE.findall(call["function"]["arguments"]) if call else reply_pieces(model, messages, cfg.seed)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        finish = "tool_calls" if call else "stop"
        if isinstance(limit, int) and 0 < limit < len(pieces) and not call:
            pieces, finish = pieces[:limit], "length"
        token_delay = _delay(request, "token-delay", cfg.token_delay)
        first_delay = _delay(request, "first-token-delay", cfg.first_token_delay)
        seed = zlib.crc32(json.dumps(messages, sort_keys=True).encode())
        meta = {"id": f"chatcmpl-{seed:08x}", "created": int(time.time()), "model": SNAPSHOTS.get(model, model)}
        meta["system_fingerprint"] = "fp_heron_fake"
        counts = usage(model, messages, len(pieces))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            head: dict[str, Any]
            deltas: list[dict[str, Any]]
            if call:
                named = {"index": 0, **call, "function": {**call["function"], "arguments": ""}}
                head = {"role": "assistant", "content": None, "tool_calls": [named]}
                deltas = [{"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces]
            else:
                head, deltas = {"role": "assistant", "content": ""}, [{"content": p} for p in pieces]
            fail_at = len(pieces) // 2 if model == "error-midstream" else None
            events = _stream(meta, head, deltas, finish, counts if include_usage else None, first_delay, token_delay, fail_at)
            return StreamingResponse(events, media_type="text/event-stream")
        await asyncio.sleep(first_delay + token_delay * max(0, len(pieces) - 1))
        message: dict[str, Any] = {"role": "assistant", "content": "".join(pieces), "refusal": None}
        if call:
            message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return JSONResponse({**meta, "object": "chat.completion", "choices": [choice], "usage": counts})

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models, methods=["GET"])]
    )


async def _stream(
    meta: dict[str, Any],
    head: dict[str, Any],
    deltas: list[dict[str, Any]],
    finish: str,
    counts: dict[str, Any] | None,
    first_delay: float,
    token_delay: float,
    fail_at: int | None = None,
) -> AsyncIterator[bytes]:
    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {**meta, "object": "chat.completion.chunk", "choices": choices, **extra}
        if counts is not None and "usage" not in extra:
            chunk["usage"] = None
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def delta(content: dict[str, Any], reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": reason}]

    await asyncio.sleep(first_delay)  # like OpenAI, the first event (role) comes with the first token
    yield event(delta(head))
    for i, piece in enumerate(deltas):
        if i:
            await asyncio.sleep(token_delay)
        if i == fail_at:
            error = {"message": "fake failure mid-stream", "type": "server_error", "code": "500"}
            yield b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
            return
        yield event(delta(piece))
    yield event(delta({}, finish))
    if counts is not None:
        yield event([], usage=counts)
    yield b"data: [DONE]\n\n"


class FakeLLMServer:
    """A running fake LLM: ``base_url`` for ``openai.OpenAI(base_url=...)``, and :meth:`stop`."""

    def __init__(self, config: FakeLLMConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # bound here, so the port is known before the thread runs
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}/v1"
        uv_config = uvicorn.Config(
            create_app(config),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def start(self, timeout: float = 10.0) -> FakeLLMServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> FakeLLMServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start(config: FakeLLMConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> FakeLLMServer:
    """Run the fake LLM in a background thread; ``port=0`` picks a free port (read ``server.port``)."""
    return FakeLLMServer(config, host=host, port=port).start()


def main(argv: list[str] | None = None) -> None:
    """``python -m heron.demo.fake_llm``: serve in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--first-token-delay", type=float, default=0.3)
    args = parser.parse_args(argv)
    config = FakeLLMConfig(token_delay=args.token_delay, first_token_delay=args.first_token_delay)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning", lifespan="off", ws="none")


if __name__ == "__main__":
    main()
