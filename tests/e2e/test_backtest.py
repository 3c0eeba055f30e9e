"""`GET /v1/backtest` and `heron backtest` against a real server holding three days of traffic with a
latency spike on one model: the replay streams a line per day, finds the spike as one incident on
that model, stores nothing, and refuses a bad threshold naming the field."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from heron.store.duckdb import DuckDBStore
from tests.conftest import RunningServer, start_server
from tests.server.test_monitor import DAYS, SPIKE, T0, _traffic


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, float]]:
    data = tmp_path_factory.mktemp("backtest") / "data"
    shift = time.time() - (T0 + DAYS * 86400)  # the traffic's last minute is now
    items = _traffic(np.random.default_rng(1))
    for item in items:
        item.project = "test"
        item.start_time = float(item.start_time) + shift  # type: ignore[arg-type]
        item.end_time = None if item.end_time is None else float(item.end_time) + shift  # type: ignore[arg-type]
    store = DuckDBStore(data / "heron.duckdb")
    for k in range(0, len(items), 20_000):
        store.write(items[k : k + 20_000], [], lsn=0)
    store.close()
    running = start_server(data, env={"HERON_MONITOR_INTERVAL": "0"})
    yield running, shift
    running.stop()


def test_the_api_streams_a_line_per_day_then_the_incidents(history: tuple[RunningServer, float]) -> None:
    server, shift = history
    window = {"start": str(T0 + shift), "end": str(T0 + shift + DAYS * 86400)}  # exactly the stored traffic
    with httpx.stream("GET", f"{server.url}/v1/backtest", params=window, headers=server.read_headers, timeout=120) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    progress, result = lines[:-1], lines[-1]
    assert [p["done"] for p in progress] == list(range(1, len(progress) + 1)) and progress[-1]["total"] == len(progress)
    assert result["threshold"] == 6.0 and result["anomalies"] > 0
    # the spike, on model "a"; the replayed days fall on other hours of the day than in
    # tests/server/test_monitor.py, and a short after-shift of the same model can join it
    titles = [i["title"] for i in result["incidents"]]
    assert {i["segment"]["value"] for i in result["incidents"]} == {"a"} and len(titles) <= 2, titles
    spike = next(i for i in result["incidents"] if abs(i["opened"] - (SPIKE + shift)) <= 600)
    assert spike["segment"] == {"dim": "model", "value": "a"} and spike["severity"] == "critical"
    assert httpx.get(f"{server.url}/v1/anomalies", params={"since": "3d"}, headers=server.read_headers).json()["anomalies"] == []
    bad = httpx.get(f"{server.url}/v1/backtest", params={"threshold": "0.5"}, headers=server.read_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "threshold" and "2 to 20" in bad.json()["error"]
    too_long = httpx.get(f"{server.url}/v1/backtest", params={"since": "60d"}, headers=server.read_headers)
    assert too_long.status_code == 400 and too_long.json()["field"] == "since"


def test_heron_backtest_shows_progress_and_the_incidents(history: tuple[RunningServer, float]) -> None:
    server, _ = history
    command = [sys.executable, "-m", "heron.cli", "backtest", "--url", server.url, "--key", server.read_key, "--since", "3d"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "replaying" in done.stderr and "days" in done.stderr  # the progress bar
    assert "model=a" in done.stdout and "latency_" in done.stdout and "threshold 6" in done.stdout, done.stdout
    keen = subprocess.run([*command, "--threshold", "3", "--json"], capture_output=True, text=True, timeout=180)
    assert keen.returncode == 0 and json.loads(keen.stdout)["threshold"] == 3.0
