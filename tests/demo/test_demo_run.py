"""`heron demo`'s traffic driver against a real server: backfill, then live traffic via the SDK and openai."""

from __future__ import annotations

import threading
import time

import httpx

from heron.demo.run import drive
from tests.conftest import RunningServer


def test_backfill_then_live_traffic(server: RunningServer) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=drive,
        kwargs=dict(url=server.url, days=0.05, users=50, rate=20.0, seed=3, stop=stop, api_key=server.write_key, live_openai_every=2),
    )
    thread.start()
    try:
        deadline = time.monotonic() + 60
        wrapped: list[dict[str, object]] = []
        while time.monotonic() < deadline and not wrapped:
            time.sleep(0.5)
            items = httpx.get(f"{server.url}/v1/interactions?limit=200&since=1m", headers=server.read_headers).json()["items"]
            # turns sent through the wrapped openai client carry the fake LLM's reply and real usage
            wrapped = [x for x in items if x["tags"].get("via") == "openai-sdk"]
    finally:
        stop.set()
        thread.join(30)
    assert wrapped, "no live turn came through the wrapped openai client"
    assert all(x["output"] and x["input_tokens"] and x["latency_ms"] for x in wrapped)
    status = httpx.get(f"{server.url}/v1/status", headers=server.read_headers).json()
    assert status["stored_interactions"] > 1000  # 0.05 days at about 20/s: a few thousand backfilled
    assert status["ingest"]["accepted_feedback"] > 0
    assert status["ingest"]["rejected_items"] == 0
    metrics = httpx.get(f"{server.url}/v1/metrics?since=2h&bucket=hour&group_by=model&metrics=count,latency_p95", headers=server.read_headers).json()
    assert {row["group"] for row in metrics["series"]} >= {"gpt-4o", "gpt-4o-mini"}
