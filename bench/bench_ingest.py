"""End-to-end ingest throughput: batches in over HTTP → durable and queryable.

Bodies are built before the clock starts, so the figure is the server's cost
(with the client's sending on the same 2 cores). The clock stops when
``/v1/status`` reports every interaction stored and queryable.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gzip
import random
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

from bench._common import WRITE_KEY, record, start_server

TOPICS = [
    "How do I change the billing address on my account?",
    "My password reset email never arrives, what should I do?",
    "Write a Python function that merges two sorted lists.",
    "Plan a three day trip to Lisbon with kids.",
    "What can I cook with rice, eggs and spinach?",
    "How do I return a damaged item I bought last week?",
]


def interaction(i: int, rng: random.Random, now: float) -> dict[str, object]:
    question = rng.choice(TOPICS)
    return {
        "id": f"b{i:09d}",
        "model": rng.choice(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b"]),
        "provider": "openai",
        "start_time": now - 3600 + i * 1e-4,
        "latency_ms": rng.lognormvariate(6.5, 0.4) + 150,
        "ttft_ms": rng.lognormvariate(4.0, 0.2),
        "user_id": f"user-{rng.randint(1, 5000)}",
        "conversation_id": f"conv-{i // 4}",
        "app_version": "1.4.2",
        "prompt_version": rng.choice(["v2", "v3"]),
        "input": [
            {"role": "system", "content": "You are Acme's helpful support assistant. Answer briefly."},
            {"role": "user", "content": f"{question} (ref {i})"},
        ],
        "output": "Sure. Here is what you can do: open Settings, choose the relevant section, and follow the steps shown. "
        "If that does not work, contact support with your order number.",
        "input_tokens": rng.randint(40, 400),
        "output_tokens": rng.randint(20, 300),
        "status": "ok",
        "finish_reason": "stop",
        "tags": {"feature": "chat", "plan": rng.choice(["free", "pro"])},
    }


def json_bodies(n: int, batch: int) -> list[bytes]:
    rng = random.Random(1)
    now = time.time()
    return [
        gzip.compress(msgspec.json.encode({"interactions": [interaction(i, rng, now) for i in range(k, min(n, k + batch))]}), 1)
        for k in range(0, n, batch)
    ]


def otlp_bodies(n: int, batch: int) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    rng = random.Random(2)
    now_ns = time.time_ns()
    bodies = []
    for k in range(0, n, batch):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="chat-app")))
        rs.resource.attributes.append(KeyValue(key="service.version", value=AnyValue(string_value="1.4.2")))
        spans = rs.scope_spans.add().spans
        for i in range(k, min(n, k + batch)):
            item = interaction(i, rng, now_ns / 1e9)
            span = spans.add()
            span.trace_id = rng.getrandbits(128).to_bytes(16, "big")
            span.span_id = (i + 1).to_bytes(8, "big")
            span.name = f"chat {item['model']}"
            span.kind = 3
            span.start_time_unix_nano = now_ns - 3_600_000_000_000 + i * 100_000
            span.end_time_unix_nano = span.start_time_unix_nano + int(float(item["latency_ms"]) * 1e6)  # type: ignore[arg-type]
            messages = item["input"]
            attrs = {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": item["model"],
                "gen_ai.response.model": item["model"],
                "gen_ai.usage.input_tokens": item["input_tokens"],
                "gen_ai.usage.output_tokens": item["output_tokens"],
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.prompt.0.role": "system",
                "gen_ai.prompt.0.content": messages[0]["content"],  # type: ignore[index]
                "gen_ai.prompt.1.role": "user",
                "gen_ai.prompt.1.content": messages[1]["content"],  # type: ignore[index]
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": item["output"],
                "gen_ai.completion.0.finish_reason": "stop",
                "session.id": item["conversation_id"],
                "user.id": item["user_id"],
                "gen_ai.request.temperature": 0.2,
                "gen_ai.request.max_tokens": 512,
                "gen_ai.response.id": f"chatcmpl-{i}",
                "server.address": "api.openai.com",
            }
            for key, value in attrs.items():
                kv = span.attributes.add(key=key)
                if isinstance(value, str):
                    kv.value.string_value = value
                elif isinstance(value, bool):
                    kv.value.bool_value = value
                elif isinstance(value, int):
                    kv.value.int_value = value
                elif isinstance(value, float):
                    kv.value.double_value = value
                else:
                    kv.value.array_value.values.extend(AnyValue(string_value=v) for v in value)  # type: ignore[union-attr]
        bodies.append(gzip.compress(request.SerializeToString(), 1))
    return bodies


def run(path: str, bodies: list[bytes], n: int, content_type: str, clients: int) -> float:
    data = Path(tempfile.mkdtemp(prefix="heron-bench-"))
    server = start_server(data / "data")
    headers = {"Authorization": f"Bearer {WRITE_KEY}", "Content-Type": content_type, "Content-Encoding": "gzip"}
    try:
        with httpx.Client(timeout=120) as client:

            def send(body: bytes) -> None:
                while True:
                    response = client.post(server.url + path, content=body, headers=headers)
                    if response.status_code in (429, 503):
                        time.sleep(float(response.headers.get("retry-after", "1")))
                        continue
                    if response.status_code != 200:
                        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
                    return

            started = time.perf_counter()
            with cf.ThreadPoolExecutor(clients) as pool:
                list(pool.map(send, bodies))
            done = server.wait_stored(n)
        return n / (done - started)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    bodies = json_bodies(args.n, args.batch)
    rate = run("/v1/interactions", bodies, args.n, "application/json", args.clients)
    record("ingest_json_per_s", rate, "interactions/s", n=args.n, batch=args.batch, target=">= 20000")
    bodies = otlp_bodies(args.n, args.batch)
    rate = run("/v1/traces", bodies, args.n, "application/x-protobuf", args.clients)
    record("ingest_otlp_per_s", rate, "interactions/s", n=args.n, batch=args.batch, target=">= 20000")


if __name__ == "__main__":
    main()
