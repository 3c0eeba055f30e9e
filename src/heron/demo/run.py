"""``heron demo``: a server plus realistic traffic, so a new user sees data at once.

The server runs in the foreground; a background thread backfills the chosen
number of days through the real SDK (``heron.log``), then keeps producing live
traffic in real time: most turns via ``heron.log``, every fifth healthy turn as
a real ``openai`` SDK call, wrapped by ``heron.wrap``, against the bundled fake
LLM server. Feedback follows its interaction through ``heron.feedback``.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
from typing import Any

import httpx

DEMO_WRITE_KEY = "hn_w_demo_write_key"
DEMO_READ_KEY = "hn_r_demo_read_key"
"""Fixed so the README's example commands work; a demo server listens on 127.0.0.1 only."""

log = logging.getLogger("heron.demo")

_LOG_FIELDS = (
    "id", "model", "conversation_id", "user_id", "start_time", "end_time", "latency_ms", "ttft_ms", "provider",
    "operation", "app_version", "prompt_version", "input_tokens", "output_tokens", "cached_tokens",
    "reasoning_tokens", "status", "error_type", "error_message", "finish_reason", "experiment", "variant",
    "output",
)  # fmt: skip


def _wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server at {url} did not become healthy")


def _messages(interaction: Any) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content or ""} for m in interaction.input]


def drive(
    url: str,
    *,
    days: float,
    users: int,
    rate: float,
    seed: int,
    stop: threading.Event,
    api_key: str = DEMO_WRITE_KEY,
    live_openai_every: int = 5,
) -> None:
    """Send the scenario's records to ``url`` until ``stop`` is set (or forever)."""
    import openai
    from tqdm import tqdm

    import heron
    from heron.demo import fake_llm
    from heron.demo.generator import Scenario, live
    from heron.schema.records import Feedback

    heron.init(endpoint=url, api_key=api_key, max_queue=200_000)
    llm = fake_llm.start()
    client = heron.wrap(openai.OpenAI(base_url=llm.base_url, api_key="demo", max_retries=0))
    now = time.time()
    scenario = Scenario(seed=seed, start=now - days * 86400, end=None, users=users, interactions_per_hour=rate * 3600)
    expected = int(days * 24 * scenario.interactions_per_hour)
    renamed: dict[str, str] = {}
    backfill = tqdm(total=expected, desc="backfill", unit="interactions", mininterval=0.5)
    backfilling = True
    live_count = 0
    try:
        for record in live(scenario):
            if stop.is_set():
                break
            if backfilling and heron.counters()["queued"] > 50_000:
                time.sleep(0.05)  # the backfill outruns the sender; never let the SDK drop it
            if isinstance(record, Feedback):
                heron.feedback(
                    renamed.pop(record.interaction_id, record.interaction_id), thumbs=record.thumbs, rating=record.rating,
                    comment=record.comment, label=record.label, source=record.source, user_id=record.user_id,
                    conversation_id=record.conversation_id, id=record.id,
                )  # fmt: skip
                continue
            end = float(record.end_time or record.start_time)  # type: ignore[arg-type]
            if end <= now:
                backfill.update(1)
            elif backfilling:
                backfilling = False
                backfill.close()
                heron.flush(30)
                print(f"Backfill sent. Live traffic now, about {rate:g} interactions/s. Ctrl-C stops.", flush=True)
            if end > now and record.status == "ok":
                live_count += 1
                if live_count % live_openai_every == 0:
                    _call_openai(client, record, renamed)
                    continue
            fields = {name: getattr(record, name) for name in _LOG_FIELDS}
            heron.log(input=_messages(record), rag_sources=list(record.rag_sources), tags=dict(record.tags), **fields)
    finally:
        backfill.close()
        heron.shutdown(10)
        llm.stop()


def _call_openai(client: Any, record: Any, renamed: dict[str, str]) -> None:
    """The same turn as a real chat completion through the wrapped ``openai`` client."""
    import heron

    extra = {
        "user_id": record.user_id, "conversation_id": record.conversation_id, "prompt_version": record.prompt_version,
        "app_version": record.app_version, "experiment": record.experiment, "variant": record.variant,
        "tags": {**record.tags, "via": "openai-sdk"},
    }  # fmt: skip
    streaming = record.ttft_ms is not None
    try:
        response = client.chat.completions.create(
            model=record.model, messages=_messages(record), stream=streaming,
            stream_options={"include_usage": True} if streaming else None,
            heron={k: v for k, v in extra.items() if v is not None},
        )  # fmt: skip
        if streaming:
            for _chunk in response:
                pass
    except Exception as exc:  # the fake LLM failing is part of the show, not a crash
        log.debug("fake LLM call failed: %s", exc)
    new_id = heron.last_interaction_id()
    if new_id:
        renamed[str(record.id)] = new_id


def run_demo(args: argparse.Namespace) -> int:
    from heron.server.app import create_app
    from heron.server.auth import KeyRing
    from heron.server.security import serve
    from heron.server.settings import Settings

    os.umask(0o077)  # as heron serve: the store, the log and the keys are the owner's alone
    settings = Settings.resolve(data_dir=args.data_dir or "heron-demo-data", host=args.host, port=args.port)
    keys = KeyRing(settings.data_dir / "keys.json")
    keys.add("demo", "write", DEMO_WRITE_KEY)
    keys.add("demo", "read", DEMO_READ_KEY)
    url = f"http://{settings.host}:{settings.port}"
    print(f"Heron demo on {url}  (data: {settings.data_dir})")
    print(f"  read key:  {DEMO_READ_KEY}\n  write key: {DEMO_WRITE_KEY}")
    print(f'  try: curl -H "Authorization: Bearer {DEMO_READ_KEY}" "{url}/v1/metrics?since=24h&group_by=model&metrics=count,error_rate,latency_p95"', flush=True)
    stop = threading.Event()

    def traffic() -> None:
        try:
            _wait_healthy(url)
            drive(url, days=args.days, users=args.users, rate=args.rate, seed=args.seed, stop=stop)
        except Exception:
            log.exception("demo traffic stopped")

    thread = threading.Thread(target=traffic, name="heron-demo-traffic", daemon=True)
    thread.start()
    try:
        serve(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level)
    finally:
        stop.set()
        thread.join(15)
    return 0
