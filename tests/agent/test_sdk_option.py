"""``heron.monitor_resources()``: the SDK's way to run the agent in-process, to the SDK's server."""

from __future__ import annotations

import time

import httpx

import heron
from tests.conftest import RunningServer


def test_monitor_resources_sends_to_the_sdk_endpoint(server: RunningServer) -> None:
    heron.init(endpoint=server.url, api_key=server.write_key)
    agent = heron.monitor_resources(interval=0.2, service="sdk-app", gpu=False)
    try:
        deadline = time.monotonic() + 20
        series: list[dict[str, object]] = []
        while time.monotonic() < deadline and not series:
            time.sleep(0.3)
            data = httpx.get(f"{server.url}/v1/resources?since=5m&metric=cpu_percent&service=sdk-app", headers=server.read_headers).json()
            series = data["series"]
    finally:
        agent.stop()
        heron.shutdown(5)
    assert series and series[0]["points"]
