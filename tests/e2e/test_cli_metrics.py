"""`heron metrics` prints the operational table from a running server."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import numpy as np

from tests.conftest import RunningServer


def _cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heron.cli", "metrics", "--url", server.url, "--key", server.read_key, *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_table_by_model(server: RunningServer) -> None:
    now = time.time()
    rng = np.random.default_rng(4)
    latencies = {"gpt-4o": rng.lognormal(6.5, 0.4, 60), "mystery-model": rng.lognormal(5.5, 0.3, 40)}
    items = [
        {"model": model, "start_time": now - 600 + i, "latency_ms": float(ms), "input_tokens": 100, "output_tokens": 50,
         "error_type": "RateLimitError" if i % 10 == 0 else None}
        for model, values in latencies.items() for i, ms in enumerate(values)
    ]  # fmt: skip
    assert httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers).status_code == 200
    server.wait_stored(len(items))

    result = _cli(server, "--since", "1h")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Heron metrics, last 1h, by model"
    assert "p95 ms" in lines[1] and "cost $" in lines[1]
    row = next(line for line in lines if line.startswith("gpt-4o "))
    cells = row.split()
    assert cells[1] == "60" and cells[3] == "10.0%"
    assert abs(float(cells[5].replace(",", "")) - np.percentile(latencies["gpt-4o"], 95)) <= 0.03 * np.percentile(latencies["gpt-4o"], 95)
    mystery = next(line for line in lines if line.startswith("mystery-model"))
    assert mystery.rstrip().endswith("—")  # unknown cost, not 0
    assert "Cost unknown (no price) for: mystery-model (40 calls)" in result.stdout

    hourly = _cli(server, "--since", "1h", "--bucket", "hour", "--by", "none")
    assert hourly.returncode == 0 and "per hour" in hourly.stdout.splitlines()[0]


def test_errors_are_reported_plainly(server: RunningServer) -> None:
    wrong = subprocess.run(
        [sys.executable, "-m", "heron.cli", "metrics", "--url", server.url, "--key", "nope"], capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode == 1 and "401" in wrong.stderr
    down = subprocess.run(
        [sys.executable, "-m", "heron.cli", "metrics", "--url", "http://127.0.0.1:9", "--key", "x"], capture_output=True, text=True, timeout=60
    )
    assert down.returncode == 1 and "cannot reach" in down.stderr
