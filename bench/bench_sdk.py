"""Per-call cost on the application thread: ``heron.log`` with ~20 fields vs an OpenTelemetry span with the same.

Both run the way they would in production: Heron with its worker thread
encoding, gzipping and "sending" (to an in-memory transport that answers 200)
while the calls are timed, so GIL contention with the worker is included;
OpenTelemetry with a ``TracerProvider``, a ``BatchSpanProcessor`` and an
exporter that discards, timing ``start_span(name, attributes=...)`` plus
``end()``, its cheapest create-and-end. Each sample times ``--per-sample``
calls; the figure is the median sample divided by the calls per sample. The
ratio (Heron / OpenTelemetry) is recorded as ``sdk_overhead_ratio_vs_otel``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "How do I rotate log files in Python without losing lines?"},
]
OUTPUT = "Use logging.handlers.RotatingFileHandler; it rotates under a lock, so no line is lost. " * 3
TAGS = {"team": "search", "route": "/chat"}


def heron_call() -> Callable[[], Any]:
    import heron

    def call() -> Any:
        return heron.log(
            model="gpt-4o",
            input=MESSAGES,
            output=OUTPUT,
            provider="openai",
            operation="chat",
            conversation_id="c-123",
            user_id="u-456",
            latency_ms=812.5,
            ttft_ms=140.2,
            input_tokens=42,
            output_tokens=96,
            cached_tokens=0,
            reasoning_tokens=0,
            finish_reason="stop",
            status="ok",
            app_version="1.4.2",
            prompt_version="v7",
            experiment="prompt-test",
            variant="b",
            tags=TAGS,
        )

    return call


def otel_call() -> Callable[[], Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=1 << 20))
    tracer = provider.get_tracer("bench")

    def call() -> Any:
        span = tracer.start_span(
            "chat gpt-4o",
            attributes={
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.prompt": str(MESSAGES),
                "gen_ai.completion": OUTPUT,
                "gen_ai.system": "openai",
                "gen_ai.operation.name": "chat",
                "gen_ai.conversation.id": "c-123",
                "user.id": "u-456",
                "llm.latency_ms": 812.5,
                "llm.ttft_ms": 140.2,
                "gen_ai.usage.input_tokens": 42,
                "gen_ai.usage.output_tokens": 96,
                "gen_ai.usage.cached_tokens": 0,
                "gen_ai.usage.reasoning_tokens": 0,
                "gen_ai.response.finish_reasons": ("stop",),
                "status": "ok",
                "app.version": "1.4.2",
                "prompt.version": "v7",
                "experiment": "prompt-test",
                "variant": "b",
                "tag.team": "search",
            },
        )
        span.end()

    return call


def median_us(call: Callable[[], Any], samples: int, per_sample: int) -> float:
    for _ in range(per_sample):  # warm-up
        call()
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        for _ in range(per_sample):
            call()
        timings.append((time.perf_counter() - started) / per_sample * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--per-sample", type=int, default=200)
    parser.add_argument("--dry-run", action="store_true", help="print only; leave bench/results.json alone")
    args = parser.parse_args()

    import heron
    from heron.sdk.transport import MockTransport

    heron.init(transport=MockTransport(), max_queue=10_000_000, flush_interval=0.2)
    heron_us = median_us(heron_call(), args.samples, args.per_sample)
    stats = heron.counters()
    heron.shutdown(30.0)
    otel_us = median_us(otel_call(), args.samples, args.per_sample)
    ratio = heron_us / otel_us
    print(f"heron.log: {heron_us:.2f} µs/call   OpenTelemetry span: {otel_us:.2f} µs/call   ratio {ratio:.3f}")
    if stats["dropped_queue_full"]:
        print(f"note: {stats['dropped_queue_full']} records dropped on a full queue during the run")
    if args.dry_run:
        return
    from bench._common import record

    record(
        "sdk_overhead_ratio_vs_otel",
        ratio,
        "ratio",
        target="<= 0.1",
        detail={"heron_log_us": round(heron_us, 3), "otel_span_us": round(otel_us, 3), "fields": 20},
    )


if __name__ == "__main__":
    main()
