"""Drift through the server: two prompt versions with different latency, compared by API and by `heron drift`."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import numpy as np

from tests.conftest import RunningServer


def _items(now: float) -> list[dict[str, object]]:
    rng = np.random.default_rng(4)
    items = []
    for i in range(3000):
        v2 = i % 2 == 1
        items.append({"id": f"d{i}", "model": "gpt-4o", "start_time": now - rng.uniform(60, 2 * 86400),
                      "prompt_version": "v2" if v2 else "v1", "latency_ms": float(rng.normal(900 if v2 else 500, 60)),
                      "input_tokens": int(rng.integers(100, 300)), "output_tokens": int(rng.integers(50, 150)),
                      "input": [{"role": "user", "content": f"how do I reset my password {i % 50}"}], "output": "like this"})  # fmt: skip
    return items


def test_versions_compared_by_api_and_cli(server: RunningServer) -> None:
    now = time.time()
    items = _items(now)
    for k in range(0, len(items), 1000):
        assert httpx.post(f"{server.url}/v1/interactions", json={"interactions": items[k : k + 1000]}, headers=server.write_headers).status_code == 200
    server.wait_stored(len(items))
    query = {"current": "3d", "reference_start": str(now - 3 * 86400), "reference_end": str(now),
             "reference_prompt_version": "v1", "current_prompt_version": "v2", "embeddings": "0"}  # fmt: skip
    response = httpx.get(f"{server.url}/v1/drift", params=query, headers=server.read_headers, timeout=60)
    assert response.status_code == 200, response.text
    report = response.json()
    features = {f["feature"]: f for f in report["features"]}
    assert features["latency_ms"]["drifted"] and features["latency_ms"]["score"] > 0.5
    assert not features["input_tokens"]["drifted"] and not features["model"]["drifted"]
    assert report["reference"]["filters"] == {"prompt_version": "v1"} and features["latency_ms"]["n_current"] == 1500

    bad = httpx.get(f"{server.url}/v1/drift", params={"current": "soon"}, headers=server.read_headers)
    assert bad.status_code == 400 and "current" in bad.text
    bad = httpx.get(f"{server.url}/v1/drift", params={"current_colour": "red", "reference_start": "0", "reference_end": "-5"},
                    headers=server.read_headers)  # fmt: skip
    assert bad.status_code == 400 and "reference_end" in bad.text
    bad = httpx.get(f"{server.url}/v1/drift", params={"sample": "50"}, headers=server.read_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "sample" and "1,000 to 100,000" in bad.text
    small = httpx.get(f"{server.url}/v1/drift", params={"sample": "1000", "embeddings": "0"}, headers=server.read_headers).json()
    assert max(f["n_current"] for f in small["features"]) <= 1000
    assert httpx.get(f"{server.url}/v1/anomalies", headers=server.read_headers).json()["anomalies"] == []
    assert httpx.get(f"{server.url}/v1/drift/series", headers=server.read_headers).status_code == 200

    cli = subprocess.run(
        [sys.executable, "-m", "heron.cli", "drift", "--url", server.url, "--key", server.read_key, "--current", "3d",
         "--reference", "0s-ago", "--reference-filter", "prompt_version=v1", "--current-filter", "prompt_version=v2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert "latency_ms" in cli.stdout and "yes" in cli.stdout
    anomalies = subprocess.run([sys.executable, "-m", "heron.cli", "anomalies", "--url", server.url, "--key", server.read_key],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert anomalies.returncode == 0 and "Heron anomalies" in anomalies.stdout
