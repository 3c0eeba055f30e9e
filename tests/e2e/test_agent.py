"""``heron agent`` against a real server: samples become queryable series; bad input gets 4xx; a dead server costs counters."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from heron.schema import limits as L
from tests.conftest import RunningServer, free_port, start_server

HOST_METRICS = {"cpu_percent", "memory_used_bytes", "memory_total_bytes", "process_rss_bytes", "process_cpu_percent"}
COUNTERS = "heron agent counters: "


def _agent_command() -> list[str]:
    """``heron agent`` once the main CLI has it, else the agent's own entry point (same options)."""
    import contextlib
    import io

    from heron.cli import build_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(["agent", "--dry-run"])
    except SystemExit:
        return [sys.executable, "-m", "heron.agent.cli"]
    return [sys.executable, "-m", "heron.cli", "agent"]


def _run_agent(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, dict[str, int], str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    result = subprocess.run([*_agent_command(), *args], capture_output=True, text=True, timeout=timeout, env={**environ, **(env or {})})
    lines = [line for line in result.stdout.splitlines() if line.startswith(COUNTERS)]
    counters = json.loads(lines[-1][len(COUNTERS) :]) if lines else {}
    return result.returncode, counters, result.stderr


def _series(server: RunningServer, **query: Any) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/v1/resources", params=query, headers=server.read_headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["series"]  # type: ignore[no-any-return]


def _wait_points(server: RunningServer, expected: int, **query: Any) -> list[dict[str, Any]]:
    """Storage trails the acknowledgement by milliseconds: poll until ``expected`` samples per series are there."""
    deadline = time.monotonic() + 20
    while True:
        series = _series(server, **query)
        if series and all(sum(p["count"] for p in s["points"]) >= expected for s in series) or time.monotonic() > deadline:
            return series
        time.sleep(0.05)


def test_agent_series_are_queryable(shared_server: RunningServer) -> None:
    server = shared_server
    code, counters, stderr = _run_agent(
        "--endpoint", server.url, "--api-key", server.write_key, "--host", "e2e-host", "--service", "vllm",
        "--interval", "0.2", "--count", "5", "--pid", str(server.proc.pid),
    )
    assert code == 0, stderr
    assert counters["ticks"] == 5 and counters["sampled"] >= 5 * len(HOST_METRICS) - 1  # the first CPU delta may be empty
    assert counters["sent"] == counters["sampled"] and counters["queued"] == 0
    assert counters["dropped_send_failed"] == counters["dropped_buffer_full"] == counters["rejected"] == 0
    assert f"process metrics on: pid {server.proc.pid}" in stderr
    assert stderr.count("GPU metrics") == 1  # said once, on or off

    cpu = _wait_points(server, 4, since="1h", bucket="minute", metric="cpu_percent", host="e2e-host", service="vllm")
    assert len(cpu) == 1
    assert (cpu[0]["host"], cpu[0]["service"], cpu[0]["metric"], cpu[0]["device"]) == ("e2e-host", "vllm", "cpu_percent", None)
    for point in cpu[0]["points"]:
        assert 0 <= point["min"] <= point["avg"] <= point["max"] <= 100 and point["min"] <= point["last"] <= point["max"]
        assert point["t"].endswith("Z") or point["t"].endswith("+00:00")

    series = _wait_points(server, 5, since="1h", host="e2e-host", metric="memory_used_bytes,memory_total_bytes,process_rss_bytes")
    by_metric = {s["metric"]: s for s in series}
    assert set(by_metric) == {"memory_used_bytes", "memory_total_bytes", "process_rss_bytes"}
    used, total = by_metric["memory_used_bytes"]["points"][-1], by_metric["memory_total_bytes"]["points"][-1]
    assert 0 < used["max"] <= total["min"]
    assert 10 << 20 < by_metric["process_rss_bytes"]["points"][-1]["last"] < total["min"]  # the server's RSS

    everything = _series(server, since="1h", host="e2e-host")
    metrics = {s["metric"] for s in everything}
    assert metrics >= HOST_METRICS
    if "GPU metrics off" in stderr:  # no GPU: the series are absent, not zeros
        assert not {m for m in metrics if m.startswith("gpu_")} and all(s["device"] is None for s in everything)

    hosts = httpx.get(f"{server.url}/v1/resources/hosts", headers=server.read_headers).json()["hosts"]
    (mine,) = [h for h in hosts if h["host"] == "e2e-host"]
    assert mine["service"] == "vllm" and set(mine["metrics"]) == metrics and mine["samples"] == counters["sent"]
    assert abs(time.time() - _epoch(mine["last_seen"])) < 60


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_in_process_agent(shared_server: RunningServer) -> None:
    import heron.agent

    agent = heron.agent.start(endpoint=shared_server.url, api_key=shared_server.write_key, interval=0.1, host="in-process", gpu=False)
    time.sleep(0.6)
    counters = agent.stop()
    assert counters["sent"] == counters["sampled"] > 0
    assert agent.gpu_status.startswith("GPU metrics off")
    assert {s["metric"] for s in _wait_points(shared_server, 1, since="1h", host="in-process")} >= HOST_METRICS - {"cpu_percent"}


def _post(server: RunningServer, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = {**server.write_headers, "Content-Type": "application/json", **(headers or {})}
    return httpx.post(f"{server.url}/v1/resources", content=content, headers=hdrs, timeout=30)


def test_bad_input_gets_4xx_naming_the_field(shared_server: RunningServer) -> None:
    server = shared_server
    now = time.time()
    good = {"time": now - 1, "host": "bad-input-host", "metric": "cpu_percent", "value": 5}
    sample = lambda **o: {**good, **o}  # noqa: E731

    assert httpx.post(f"{server.url}/v1/resources", json={"samples": [good]}).status_code == 401
    assert _post(server, {"samples": [good]}, server.read_headers).status_code == 403
    assert httpx.get(f"{server.url}/v1/resources", headers=server.write_headers).status_code == 403

    for body, field in [(b"{oops", "body"), (b'{"rows": []}', "samples"), (b'{"samples": {}}', "samples")]:
        response = _post(server, body)
        assert response.status_code == 400 and response.json()["field"] == field, response.text
    too_many = _post(server, {"samples": [good] * (L.MAX_BATCH_ITEMS + 1)})
    assert too_many.status_code == 400 and too_many.json()["field"] == "samples"
    huge = _post(server, b" " * (L.MAX_BODY_BYTES + 1))
    assert huge.status_code == 413 and huge.json()["field"] == "body"

    response = _post(server, {"samples": [good, sample(metric="CPU"), sample(value=250), sample(time=now * 1000), sample(host=""), sample(time=now - 2)]})
    assert response.status_code == 207
    result = response.json()
    assert result["accepted"] == 2
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [(1, "metric"), (2, "value"), (3, "time"), (4, "host")]
    all_bad = _post(server, {"samples": [sample(value=-3, metric="memory_used_bytes")]})
    assert all_bad.status_code == 400 and all_bad.json()["rejected"][0]["field"] == "value"

    compressed = _post(server, gzip.compress(json.dumps({"samples": [sample(time=now - 3), good]}).encode()), {"Content-Encoding": "gzip"})
    assert compressed.status_code == 200 and compressed.json() == {"accepted": 2, "rejected": []}
    (stored,) = _wait_points(server, 3, since="1h", host="bad-input-host")
    assert sum(p["count"] for p in stored["points"]) == 3  # the good sample sent twice counts once

    for query, field in [
        ({"bucket": "fortnight"}, "bucket"),
        ({"metric": "Not-A-Metric"}, "metric"),
        ({"since": "soon"}, "since"),
        ({"start": "2025-11-20", "end": "2025-11-19"}, "end"),
        ({"since": "30d", "bucket": "minute"}, "bucket"),  # 43,200 buckets: over the limit
        ({"host": "x" * (L.MAX_ID_CHARS + 1)}, "host"),
    ]:
        response = httpx.get(f"{server.url}/v1/resources", params=query, headers=server.read_headers)
        assert response.status_code == 400 and response.json()["field"] == field, (query, response.text)
    hosts = httpx.get(f"{server.url}/v1/resources/hosts", params={"since": "forever"}, headers=server.read_headers)
    assert hosts.status_code == 400 and hosts.json()["field"] == "since"


def test_openapi_lists_the_resource_endpoints(shared_server: RunningServer) -> None:
    paths = httpx.get(f"{shared_server.url}/openapi.json").json()["paths"]
    assert {"post", "get"} <= set(paths["/v1/resources"]) and "get" in paths["/v1/resources/hosts"]
    sample = paths["/v1/resources"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["samples"]["items"]
    assert set(sample["required"]) == {"time", "host", "metric", "value"}


def test_a_dead_server_makes_the_agent_drop_and_count_not_crash() -> None:
    port = free_port()  # nothing listens here
    code, counters, stderr = _run_agent(
        "--endpoint", f"http://127.0.0.1:{port}", "--api-key", "hn_w_whatever", "--interval", "0.2", "--count", "8",
        "--max-buffer", "12", "--no-gpu",
        env={"HERON_MAX_RETRIES": "100", "HERON_BACKOFF_BASE": "0.1", "HERON_BACKOFF_MAX": "0.2", "HERON_SHUTDOWN_TIMEOUT": "0.5"},
    )
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert counters["sent"] == 0 and counters["sampled"] >= 30 and counters["queued"] == 0
    dropped = counters["dropped_buffer_full"] + counters["dropped_send_failed"]
    assert dropped == counters["sampled"]
    assert counters["dropped_buffer_full"] > 0  # the 12-sample buffer overflowed while the server was away
    assert counters["dropped_send_failed"] > 0  # what was left at exit
    assert counters["retries"] > 0


def test_agent_without_a_key_refuses_to_start() -> None:
    code, counters, stderr = _run_agent("--endpoint", "http://127.0.0.1:1", "--count", "1", timeout=30)
    assert code == 2 and counters == {}
    assert "no API key: pass --api-key or set HERON_API_KEY" in stderr


@pytest.mark.parametrize(("args", "message"), [(["--interval", "0"], "interval=0.0"), (["--pid", "-4"], "pid=-4"), (["--endpoint", "ftp://x"], "endpoint='ftp://x'")])
def test_agent_bad_settings_name_the_setting(args: list[str], message: str) -> None:
    code, _, stderr = _run_agent("--api-key", "k", "--count", "1", *args, timeout=30)
    assert code == 2 and message in stderr, stderr


def test_sigterm_stops_the_agent_after_a_last_send(shared_server: RunningServer) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    proc = subprocess.Popen(
        [*_agent_command(), "--endpoint", shared_server.url, "--api-key", shared_server.write_key, "--host", "sigterm-host", "--interval", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    )
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    counters = json.loads(out.strip().splitlines()[-1][len(COUNTERS) :])
    assert counters["sent"] == counters["sampled"] > 0 and counters["queued"] == 0


def test_acknowledged_samples_survive_a_crash(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        now = time.time()
        samples = [{"time": now - i, "host": "crash-host", "metric": "gpu_memory_used_bytes", "device": "0", "value": 1e9 + i} for i in range(50)]
        assert _post(server, {"samples": samples}).status_code == 200
        server.stop(signal.SIGKILL)  # acknowledged means in the write-ahead log, stored or not
        server = start_server(tmp_path / "data")
        (series,) = _wait_points(server, 50, since="1h", host="crash-host")
        assert sum(p["count"] for p in series["points"]) == 50 and series["device"] == "0"
    finally:
        server.stop()
