"""End-to-end ingest throughput: batches in over HTTP → durable and queryable.

The traffic is built to look like production, once, before the clock starts
(so the figure is the server's cost, with the clients' sending on the same
2 cores), and the same calls feed both endpoints:

- conversations of 1–8 turns (turn k sends the system prompt and the k-1 earlier
  exchanges again, as chat apps do) from a few thousand users of a few hundred
  tenants, spread over the last hour: turns follow each other by the reply's
  latency plus a think time, and requests carry the calls that *ended* in the
  same few seconds, as an exporter sends them;
- texts composed per call from the demo corpus (``heron.demo._corpus``: topic
  paraphrases with slot values, answer sentences, openers, closers) plus order
  numbers and names, so no two calls repeat one sentence pair;
- random ids: uuid4 hex for JSON ids and conversations, random 128/64-bit trace and
  span ids;
- ``/v1/interactions``: the Heron SDK's shape and batch size (1,000 per request),
  each with 15–20 tags; ``/v1/traces``: OpenTelemetry's BatchSpanProcessor batch
  (512 spans per request, one service's resource per request), each LLM span with
  OpenLLMetry-style ``gen_ai.prompt.N.*`` input, request and response model, token
  counts, 15–20 custom attributes (``app.*``, tenant and customer ids, feature
  flags, ``http.*``...) and its reply as ``gen_ai.completion.0.*`` attributes, as
  a flat ``gen_ai.choice`` event, or both (one form per service).

The clock stops when ``/v1/status`` reports every interaction stored and
queryable. ``detail`` in bench/results.json is computed from the bodies sent.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gzip
import itertools
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bench._common import WRITE_KEY, record, start_server
from heron.demo._corpus import CLOSERS, OPENERS, TOPICS, Topic

JSON_BATCH = 1_000
"""The Heron SDK's ``max_batch_items`` default."""
OTLP_BATCH = 512
"""OpenTelemetry's BatchSpanProcessor ``max_export_batch_size`` default."""

_TURN_WEIGHTS = (34, 20, 14, 10, 8, 6, 5, 3)  # conversations of 1..8 turns
_MODELS = {  # request model -> the dated snapshot the provider answers with
    "openai": {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4.1": "gpt-4.1-2025-04-14"},
    "anthropic": {"claude-3-5-sonnet": "claude-3-5-sonnet-20241022", "claude-3-5-haiku": "claude-3-5-haiku-20241022"},
}
_FIRST = ("Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena", "Maya", "Noor", "Omar", "Priya")
_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell", "Soylent", "Cyberdyne")
_DETAILS = (
    " My order number is #{order}.", " (ticket {ticket})", " I'm on the {plan} plan.", " This is for {company}.",
    " I tried twice already.", " Thanks in advance!", " It's urgent, we have a launch on {day}.", "", "", "", "",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_PLANS = ("free", "starter", "pro", "team", "enterprise")
_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
_LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "pt-BR", "ja-JP")
_CHANNELS = ("web", "ios", "android", "slack", "api")
_TEAMS = ("support", "growth", "platform", "search", "payments")
_RAG = ("help-center", "product-docs", "policies", "web", "release-notes")
_ROUTES = ("/api/chat", "/api/assist", "/api/search", "/api/summarize", "/v2/conversations/{id}/messages")


@dataclass(frozen=True, slots=True)
class Service:
    """One instrumented process (one OTLP resource) and the reply form its instrumentation writes."""

    name: str
    version: str
    provider: str
    reply: str  # "attributes", "event" or "both"
    share: float
    resource: dict[str, str] = field(default_factory=dict)


SERVICES = (
    Service("support-bot", "2.14.1", "openai", "attributes", 0.45),
    Service("assistant-api", "1.9.0", "anthropic", "event", 0.35),
    Service("docs-search", "0.31.4", "openai", "both", 0.20),
)


@dataclass(slots=True)
class Call:
    """One LLM call, in neutral form: both body builders read it."""

    service: Service
    id: str
    trace_id: bytes
    span_id: bytes
    start: float
    latency_s: float
    ttft_s: float
    model: str
    response_model: str
    messages: list[dict[str, str]]
    output: str
    input_tokens: int
    output_tokens: int
    status: str
    error_type: str | None
    finish_reason: str
    user_id: str
    conversation_id: str
    custom: dict[str, Any]
    """15–20 application attributes (OTLP span attributes; JSON tags, as text)."""


@dataclass(slots=True)
class _User:
    id: str
    tenant: str
    customer: str
    company: str
    name: str
    plan: str
    region: str
    locale: str
    channel: str


def _fmt(text: str, slots: dict[str, str]) -> str:
    return text.format_map(slots)


def _slots(topic: Topic, rng: random.Random) -> dict[str, str]:
    return {name: rng.choice(values) for name, values in topic.slots.items()}


def _question(topic: Topic, slots: dict[str, str], user: _User, rng: random.Random, first: bool) -> tuple[str, int]:
    intent = rng.randrange(len(topic.intents))
    if first or rng.random() < 0.4:
        text = _fmt(rng.choice(topic.intents[intent]), slots)
    else:
        text = _fmt(rng.choice(topic.follow_ups), slots)
    extra = rng.choice(_DETAILS)
    if extra:
        text += extra.format(
            order=rng.randint(100_000, 999_999), ticket=f"T-{rng.randint(1000, 99999)}", plan=user.plan,
            company=user.company, day=rng.choice(_DAYS),
        )
    if rng.random() < 0.15:
        text = text[0].lower() + text[1:]
    return text, intent


def _answer(topic: Topic, slots: dict[str, str], intent: int, user: _User, rng: random.Random) -> str:
    sentences = [_fmt(topic.direct[intent], slots)] if rng.random() < 0.8 else []
    sentences += [_fmt(s, slots) for s in rng.sample(topic.answers, k=min(len(topic.answers), rng.randint(1, 5)))]
    if rng.random() < 0.3:
        sentences.insert(0, f"Hi {user.name},")
    return rng.choice(OPENERS) + " ".join(sentences) + rng.choice(CLOSERS)


def _system(service: Service, user: _User, version: str, rag: str) -> str:
    return (
        f"You are {user.company}'s assistant in {service.name} (prompt {version}). The customer is {user.name}, "
        f"on the {user.plan} plan, writing from {user.region} in {user.locale}. Answer briefly and specifically; "
        f"use only the {rag} context; never invent order, billing or account details."
    )


def _custom(
    rng: random.Random, user: _User, service: Service, conversation: str, version: str, experiment: str, variant: str, rag: str
) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "app.prompt_version": version,
        "app.rag_source": rag,
        "app.experiment": experiment,
        "app.variant": variant,
        "app.team": _TEAMS[SERVICES.index(service) % len(_TEAMS)],
        "app.feature": rng.choice(("chat", "chat", "search", "summarize", "classify")),
        "tenant.id": user.tenant,
        "customer.id": user.customer,
        "user.id": user.id,
        "session.id": conversation,
        "app.user_plan": user.plan,
        "app.region": user.region,
        "app.locale": user.locale,
        "app.channel": user.channel,
        "app.request_id": uuid.UUID(int=rng.getrandbits(128), version=4).hex,
        "feature_flag.new_retriever": rng.random() < 0.3,
        "feature_flag.streaming": rng.random() < 0.7,
        "feature_flag.tool_use": rng.random() < 0.2,
        "http.route": rng.choice(_ROUTES),
        "http.request.method": "POST",
        "app.retrieved_docs": rng.randint(0, 8),
        "app.cache_hit": rng.random() < 0.1,
    }
    keys = list(pool)
    keep = set(rng.sample(keys[10:], k=rng.randint(15, 20) - 10))
    return {k: v for i, (k, v) in enumerate(pool.items()) if i < 10 or k in keep}


def calls(n: int, *, seed: int = 7, now: float | None = None, users: int = 4_000, tenants: int = 300) -> list[Call]:
    """``n`` calls from conversations over the last hour, sorted by the time they ended."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    people = []
    for i in range(users):
        tenant = rng.randrange(tenants)
        people.append(
            _User(
                id=f"u_{uuid.UUID(int=rng.getrandbits(128), version=4).hex[:16]}",
                tenant=f"tn_{tenant:05d}",
                customer=f"cus_{rng.getrandbits(48):012x}",
                company=_COMPANIES[tenant % len(_COMPANIES)] + (f" {tenant}" if tenant >= len(_COMPANIES) else ""),
                name=rng.choice(_FIRST),
                plan=rng.choice(_PLANS),
                region=rng.choice(_REGIONS),
                locale=rng.choice(_LOCALES),
                channel=rng.choice(_CHANNELS),
            )
        )
    weights = list(itertools.accumulate(1.0 / (i + 1) ** 0.8 for i in range(users)))  # a few heavy users, a long tail
    topics = list(TOPICS.values())
    shares = [s.share for s in SERVICES]
    out: list[Call] = []
    while len(out) < n:
        user = rng.choices(people, cum_weights=weights)[0]
        service = rng.choices(SERVICES, shares)[0]
        topic = rng.choice(topics)
        slots = _slots(topic, rng)
        conversation = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        version = rng.choice(("v3", "v4", "v4", "v5"))
        experiment = rng.choice(("rerank-2025q3", "short-answers", "none"))
        variant = rng.choice(("control", "treatment"))
        rag = rng.choice(_RAG)
        model = rng.choice(list(_MODELS[service.provider]))
        system = _system(service, user, version, rag)
        history: list[dict[str, str]] = []
        t = now - 3600 + rng.random() * 3540
        for turn in range(rng.choices(range(1, 9), _TURN_WEIGHTS)[0]):
            question, intent = _question(topic, slots, user, rng, turn == 0)
            answer = _answer(topic, slots, intent, user, rng)
            messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": question}]
            latency = rng.lognormvariate(0.2, 0.5) + 0.15
            failed = rng.random() < 0.02
            in_tokens = sum(len(m["content"]) for m in messages) // 4 + rng.randint(0, 12)
            out.append(
                Call(
                    service=service,
                    id=uuid.UUID(int=rng.getrandbits(128), version=4).hex,
                    trace_id=rng.getrandbits(128).to_bytes(16, "big"),
                    span_id=rng.getrandbits(64).to_bytes(8, "big"),
                    start=t,
                    latency_s=latency,
                    ttft_s=min(latency * 0.9, rng.lognormvariate(-1.3, 0.3)),
                    model=model,
                    response_model=_MODELS[service.provider][model],
                    messages=messages,
                    output="" if failed else answer,
                    input_tokens=in_tokens,
                    output_tokens=0 if failed else len(answer) // 4 + rng.randint(0, 8),
                    status="error" if failed else "ok",
                    error_type=rng.choice(("RateLimitError", "APITimeoutError", "InternalServerError")) if failed else None,
                    finish_reason="error" if failed else rng.choice(("stop",) * 19 + ("length",)),
                    user_id=user.id,
                    conversation_id=conversation,
                    custom=_custom(rng, user, service, conversation, version, experiment, variant, rag),
                )
            )
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            t += latency + rng.lognormvariate(3.0, 0.8)  # think time, ~20 s median
            if t > now - 1:
                break
    out = out[:n]
    out.sort(key=lambda c: c.start + c.latency_s)
    return out


def _tag_text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def interaction(call: Call) -> dict[str, Any]:
    """What the Heron SDK sends for one call: fields, plus the application's tags as text."""
    tags = {k: _tag_text(v) for k, v in call.custom.items()}
    item: dict[str, Any] = {
        "id": call.id,
        "model": call.model,
        "provider": call.service.provider,
        "start_time": call.start,
        "latency_ms": call.latency_s * 1000,
        "ttft_ms": call.ttft_s * 1000 if call.status == "ok" else None,
        "user_id": call.user_id,
        "conversation_id": call.conversation_id,
        "app_version": call.service.version,
        "prompt_version": tags.pop("app.prompt_version"),
        "input": call.messages,
        "output": call.output or None,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "status": call.status,
        "finish_reason": call.finish_reason,
        "tags": {"service": call.service.name, "environment": "production", **tags},
    }
    if call.error_type:
        item["error_type"] = call.error_type
    return {k: v for k, v in item.items() if v is not None}


def json_bodies(items: list[Call], batch: int) -> list[bytes]:
    encode = msgspec.json.Encoder().encode
    return [gzip.compress(encode({"interactions": [interaction(c) for c in items[k : k + batch]]}), 1) for k in range(0, len(items), batch)]


def _resource(service: Service, instance: int) -> dict[str, str]:
    return {
        "service.name": service.name,
        "service.version": service.version,
        "service.namespace": "acme-ai",
        "service.instance.id": f"{service.name}-{instance}",
        "deployment.environment": "production",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": "1.37.0",
        "host.name": f"ip-10-0-{instance}-{17 + instance}",
        "cloud.region": "us-east-1",
    }


def _set(av: Any, value: Any) -> None:
    if isinstance(value, str):
        av.string_value = value
    elif isinstance(value, bool):
        av.bool_value = value
    elif isinstance(value, int):
        av.int_value = value
    elif isinstance(value, float):
        av.double_value = value
    else:
        for v in value:
            _set(av.array_value.values.add(), v)


def _put(target: Any, attrs: dict[str, Any]) -> None:
    """Append ``attrs`` to a repeated KeyValue field in place (building messages apart and copying them is ~5x slower)."""
    add = target.add
    for key, v in attrs.items():
        _set(add(key=key).value, v)


def span_attributes(call: Call) -> dict[str, Any]:
    """An OpenLLMetry-instrumented chat call's attributes, the application's own included."""
    attrs: dict[str, Any] = {
        "llm.request.type": "chat",
        "gen_ai.system": call.service.provider,
        "gen_ai.request.model": call.model,
        "gen_ai.response.model": call.response_model,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 1024,
        "llm.is_streaming": bool(call.custom.get("feature_flag.streaming", False)),
        "gen_ai.usage.input_tokens": call.input_tokens,
        "gen_ai.usage.output_tokens": call.output_tokens,
        "llm.usage.total_tokens": call.input_tokens + call.output_tokens,
        "gen_ai.response.id": f"chatcmpl-{call.span_id.hex()}",
        "gen_ai.response.finish_reasons": [call.finish_reason],
    }
    for i, message in enumerate(call.messages):
        attrs[f"gen_ai.prompt.{i}.role"] = message["role"]
        attrs[f"gen_ai.prompt.{i}.content"] = message["content"]
    if call.service.reply in ("attributes", "both") and call.status == "ok":
        attrs["gen_ai.completion.0.role"] = "assistant"
        attrs["gen_ai.completion.0.content"] = call.output
        attrs["gen_ai.completion.0.finish_reason"] = call.finish_reason
    if call.error_type:
        attrs["error.type"] = call.error_type
    attrs.update(call.custom)
    return attrs


def otlp_bodies(items: list[Call], batch: int) -> list[bytes]:
    """One request per ``batch`` spans of one service instance, in the order the batches fill up."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    by_service: dict[str, list[Call]] = {}
    for call in items:
        by_service.setdefault(call.service.name, []).append(call)
    chunks = [(c[k : k + batch], n) for n, c in enumerate(by_service.values()) for k in range(0, len(c), batch)]
    chunks.sort(key=lambda chunk: chunk[0][-1].start + chunk[0][-1].latency_s)  # sent when full
    bodies = []
    for chunk, instance in chunks:
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        _put(resource_spans.resource.attributes, _resource(chunk[0].service, instance))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "opentelemetry.instrumentation.openai.v1"
        scope_spans.scope.version = "0.40.14"
        for call in chunk:
            start_ns = int(call.start * 1e9)
            end_ns = start_ns + int(call.latency_s * 1e9)
            span = scope_spans.spans.add(
                trace_id=call.trace_id,
                span_id=call.span_id,
                name=f"{call.service.provider}.chat",
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=start_ns,
                end_time_unix_nano=end_ns,
            )
            span.status.code = Status.STATUS_CODE_ERROR if call.error_type else Status.STATUS_CODE_OK
            _put(span.attributes, span_attributes(call))
            if call.service.reply in ("event", "both") and call.status == "ok":
                event = span.events.add(name="gen_ai.choice", time_unix_nano=end_ns)
                _put(event.attributes, {"index": 0, "finish_reason": call.finish_reason, "role": "assistant", "content": call.output})
        bodies.append(gzip.compress(request.SerializeToString(), 1))
    return bodies


def describe(items: list[Call], json_batch: int, otlp_batch: int) -> dict[str, Any]:
    """What the bodies hold, computed from them (recorded as ``detail``)."""
    custom = [len(c.custom) for c in items]
    attrs = [len(span_attributes(c)) for c in items[:5_000]]
    forms: dict[str, int] = {}
    for c in items:
        forms[c.service.reply] = forms.get(c.service.reply, 0) + 1
    turns: dict[str, int] = {}
    for c in items:
        turns[c.conversation_id] = turns.get(c.conversation_id, 0) + 1
    span = max(c.start + c.latency_s for c in items) - min(c.start for c in items)
    return {
        "json_batch": json_batch,
        "otlp_batch": otlp_batch,
        "custom_attributes_per_call": f"{min(custom)}-{max(custom)} (mean {statistics.fmean(custom):.1f})",
        "span_attributes_mean": round(statistics.fmean(attrs), 1),
        "otlp_reply_forms": forms,
        "users": len({c.user_id for c in items}),
        "conversations": len(turns),
        "turns_per_conversation_mean": round(len(items) / len(turns), 2),
        "input_chars_mean": round(statistics.fmean(sum(len(m["content"]) for m in c.messages) for c in items)),
        "output_chars_mean": round(statistics.fmean(len(c.output) for c in items)),
        "time_span_s": round(span),
    }


@dataclass(frozen=True, slots=True)
class Run:
    rate: float
    """Interactions per second, first request to all stored and queryable."""
    server_cpu_us: float | None
    """CPU time the server and its helper processes (OTLP decoding, enrichment) used per interaction."""
    client_cpu_us: float
    """CPU time this process (the clients) used per interaction."""


def run(path: str, bodies: list[bytes], n: int, content_type: str, clients: int, env: dict[str, str] | None = None) -> Run:
    data = Path(tempfile.mkdtemp(prefix="heron-bench-"))
    server = start_server(data / "data", env)
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

            server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
            started = time.perf_counter()
            with cf.ThreadPoolExecutor(clients) as pool:
                list(pool.map(send, bodies))
            done = server.wait_stored(n)
            server_used = server.cpu_seconds()
            client_used = time.process_time() - client_cpu
        busy = None if server_cpu is None or server_used is None else (server_used - server_cpu) / n * 1e6
        return Run(n / (done - started), busy, client_used / n * 1e6)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=JSON_BATCH, help="interactions per JSON request (Heron SDK default)")
    parser.add_argument("--otlp-batch", type=int, default=OTLP_BATCH, help="spans per OTLP request (BatchSpanProcessor default)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--runs", type=int, default=1, help="runs per endpoint, alternating; the median is recorded")
    args = parser.parse_args()
    items = calls(args.n)
    detail = describe(items, args.batch, args.otlp_batch)
    targets = {
        "ingest_json_per_s": ("/v1/interactions", json_bodies(items, args.batch), "application/json"),
        "ingest_otlp_per_s": ("/v1/traces", otlp_bodies(items, args.otlp_batch), "application/x-protobuf"),
    }
    del items
    runs: dict[str, list[Run]] = {name: [] for name in targets}
    load: list[float] = []
    for _ in range(args.runs):
        for name, (path, bodies, content_type) in targets.items():
            load.append(os.getloadavg()[0])
            runs[name].append(run(path, bodies, args.n, content_type, args.clients))
    load.append(os.getloadavg()[0])
    for name, (path, bodies, _) in targets.items():
        cpu = [r.server_cpu_us for r in runs[name] if r.server_cpu_us is not None]
        record(
            name,
            statistics.median(r.rate for r in runs[name]),
            "interactions/s",
            n=args.n,
            batch=args.batch if path == "/v1/interactions" else args.otlp_batch,
            clients=args.clients,
            target=">= 20000",
            detail={
                **detail,
                "requests": len(bodies),
                "body_kib_mean": round(statistics.fmean(len(b) for b in bodies) / 1024, 1),
                "runs": [round(r.rate) for r in runs[name]],
                "server_cpu_us_per_interaction": round(statistics.median(cpu)) if cpu else None,
                "client_cpu_us_per_interaction": round(statistics.median(r.client_cpu_us for r in runs[name])),
                "load_1m": [round(x, 2) for x in load],
            },
        )


if __name__ == "__main__":
    main()
