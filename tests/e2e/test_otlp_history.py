"""OTLP spans that carry only the current user message still get rephrase/repeat, from the stored turns.

The real OpenTelemetry SDK exports one span per user turn (``gen_ai.prompt.0.*`` holds the current
message alone, ``gen_ai.conversation.id`` ties the turns), each turn in an export of its own and
enriched before the next is sent, so the history can only come from the store.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.conftest import RunningServer

FIRST = "How do I reset my password?"
REPHRASE = "I mean, what are the steps to reset a forgotten password?"


class _Chat:
    """One exporter; :meth:`say` sends one turn as its own span, in its own export."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers=server.write_headers)
        self.provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("test")
        self.sent = 0

    def say(self, conversation: str, text: str, *, ago_s: float = 0.0) -> None:
        start = time.time_ns() - int(ago_s * 1e9)
        span = self.tracer.start_span("chat gpt-4o", start_time=start)
        span.set_attributes({
            "gen_ai.system": "openai",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": text,
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "Open Settings, then Security, and follow the link.",
            "gen_ai.conversation.id": conversation,
            "user.id": "alice",
        })  # fmt: skip
        span.end(end_time=start + 5_000_000)
        assert self.provider.force_flush(10_000)
        self.sent += 1
        self.wait_enriched()

    def wait_enriched(self, timeout: float = 90.0) -> None:
        """Poll the status counters until every span sent so far is stored and enriched."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = httpx.get(f"{self.server.url}/v1/status", headers=self.server.read_headers).json()
            enrichment = status["enrichment"]
            if status["stored_interactions"] >= self.sent and enrichment["enriched"] >= self.sent and enrichment["backlog"] == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.sent} spans not enriched in {timeout} s: {status}")

    def signals(self, conversation: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.server.url}/v1/conversations/{conversation}", headers=self.server.read_headers)
        assert response.status_code == 200, response.text
        return [turn["signals"] for turn in response.json()["interactions"]]


def test_rephrase_and_repeat_fire_across_exports(server: RunningServer) -> None:
    chat = _Chat(server)
    tag = time.time_ns()
    mine, other, same_words = f"pw-{tag}", f"other-{tag}", f"same-words-{tag}"
    chat.say(mine, FIRST, ago_s=90)
    chat.say(other, "What is the weather in Paris tomorrow?", ago_s=80)
    chat.say(mine, REPHRASE, ago_s=60)
    chat.say(same_words, FIRST, ago_s=50)  # the same words in another conversation: not a repeat
    chat.say(other, "Can I export my invoices as CSV?", ago_s=40)
    chat.say(mine, FIRST, ago_s=30)
    chat.provider.shutdown()

    first, rephrased, repeated = chat.signals(mine)
    assert not (first["rephrase"] or first["repeat"])
    assert rephrased["rephrase"] and not rephrased["repeat"]
    assert repeated["repeat"] and repeated["similarity"] == 1.0
    assert repeated["frustration"] >= 0.5 and rephrased["frustration"] > first["frustration"]
    for signals in [*chat.signals(other), *chat.signals(same_words)]:
        assert not (signals["rephrase"] or signals["repeat"]), signals


def test_a_turn_that_arrives_late_revises_the_turn_after_it(server: RunningServer) -> None:
    chat = _Chat(server)
    conversation = f"late-{time.time_ns()}"
    chat.say(conversation, FIRST, ago_s=30)  # the second message, exported and enriched first
    assert not chat.signals(conversation)[0]["repeat"]
    chat.say(conversation, FIRST, ago_s=60)  # the first message, late
    chat.provider.shutdown()
    first, second = chat.signals(conversation)  # in start-time order
    assert not first["repeat"] and second["repeat"]
    status = httpx.get(f"{server.url}/v1/status", headers=server.read_headers).json()
    assert status["enrichment"]["revised"] == 1
