"""Enrichment end to end: demo traffic in, signals stored off the ack path, UX summary and report out."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import msgspec

from heron.demo.generator import Scenario, generate
from tests.conftest import RunningServer


def _wait_enriched(server: RunningServer, n: int, timeout: float = 90.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/v1/status", headers=server.read_headers).json()
        enrichment = status["enrichment"]
        if enrichment and enrichment["enriched"] >= n and enrichment["backlog"] == 0:  # type: ignore[index]
            return status
        time.sleep(0.2)
    raise AssertionError(f"enrichment did not catch up: {status}")


def test_demo_traffic_is_enriched_and_summarised(server: RunningServer) -> None:
    now = time.time()
    scenario = Scenario(seed=11, start=now - 2 * 86400, end=now - 60, users=150, interactions_per_hour=40)
    turns = list(generate(scenario))
    items = [msgspec.to_builtins(t.interaction) for t in turns]
    for k in range(0, len(items), 1000):
        response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items[k : k + 1000]}, headers=server.write_headers)
        assert response.status_code == 200, response.text
    status = _wait_enriched(server, len(items))
    assert status["enrichment"]["errors"] == 0  # type: ignore[index]

    # Signals agree with the generator's ground truth where it is unambiguous.
    complaints = [t for t in turns if t.truth.complaint][:15]
    thanks = [t for t in turns if t.truth.intent == "thanks"][:15]
    checked = 0
    for turn in complaints + thanks:
        conversation = httpx.get(f"{server.url}/v1/conversations/{turn.interaction.conversation_id}", headers=server.read_headers).json()
        signals = next(i["signals"] for i in conversation["interactions"] if i["id"] == turn.interaction.id)
        assert signals is not None
        if turn.truth.complaint:
            checked += bool(signals["complaint"] or (signals["frustration"] or 0) >= 0.5)
        else:
            checked += "gratitude" in signals["cues"]
    assert checked >= 0.7 * len(complaints + thanks)

    summary = httpx.get(f"{server.url}/v1/ux/summary?since=3d&group_by=model", headers=server.read_headers).json()["series"]
    assert sum(row["interactions"] for row in summary) == len(items)
    assert all(0 <= row["frustration_rate"] <= 1 for row in summary)

    report = subprocess.run(
        [sys.executable, "-m", "heron.cli", "ux", "report", "--url", server.url, "--key", server.read_key, "--since", "3d"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "Heron user experience, last 3d" in report.stdout and "prompt_version" in report.stdout and "gpt-4o" in report.stdout


def test_bad_input_is_enriched_without_crashing(server: RunningServer) -> None:
    now = time.time()
    texts = ["", "   ", "🙂🔥🙂", "¿Dónde está mi pedido? No llegó nada.", "这个答案不对", "x" * 200_000, "NOTHING WORKS!!!"]
    items = [{"model": "m", "start_time": now - 30, "latency_ms": 5.0, "conversation_id": f"bad-{i}",
              "input": [{"role": "user", "content": text}], "output": "ok"} for i, text in enumerate(texts)]  # fmt: skip
    assert httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers).status_code == 200
    _wait_enriched(server, len(items))
    huge = httpx.get(f"{server.url}/v1/conversations/bad-5", headers=server.read_headers).json()["interactions"][0]
    assert len(huge["input"][0]["content"]) == 200_000  # stored intact; only enrichment truncates
    assert huge["signals"] is not None
    empty = httpx.get(f"{server.url}/v1/conversations/bad-0", headers=server.read_headers).json()["interactions"][0]["signals"]
    assert empty["language"] == "und"
    spanish = httpx.get(f"{server.url}/v1/conversations/bad-3", headers=server.read_headers).json()["interactions"][0]["signals"]
    assert spanish["language"] == "es"
