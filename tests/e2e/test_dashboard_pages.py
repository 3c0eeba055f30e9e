"""Dashboard pages beyond the Overview (Models & versions, Resources) in a real browser: Debian's
Chromium driven by Playwright against a server with demo traffic and host resource samples."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest

from tests.conftest import RunningServer
from heron.demo.generator import Scenario, generate
from tests.e2e.test_dashboard import CHROMIUM, _load_demo, browser_page

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UX_COLUMNS = ["satisfaction_avg", "frustration_rate", "thumbs_up_rate"]
OPS_COLUMNS = ["count", "error_rate", "latency_p50", "latency_p95", "ttft_p95", "output_tokens_per_s", "cost_usd"]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def _load_demo_with_feedback(server: RunningServer) -> None:
    """The Overview's demo traffic, plus the same scenario's feedback (thumbs) for the UX columns."""
    _load_demo(server)
    now = time.time()
    scenario = Scenario(seed=5, start=now - 2 * 86400, end=now - 60, users=150, interactions_per_hour=60)
    feedback = [msgspec.to_builtins(f) for t in generate(scenario) for f in t.feedback]
    assert feedback
    for k in range(0, len(feedback), 1000):
        response = httpx.post(f"{server.url}/v1/feedback", json={"feedback": feedback[k : k + 1000]}, headers=server.write_headers)
        assert response.status_code in (200, 207), response.text
    deadline = time.monotonic() + 90  # feedback is applied with the next enrichment batch; a loaded machine is slow
    while time.monotonic() < deadline:
        rows = httpx.get(f"{server.url}/v1/ux/summary", params={"bucket": "all", "since": "24h"}, headers=server.read_headers).json()["series"]
        if rows and rows[0].get("thumbs_up_rate") is not None:
            return
        time.sleep(0.2)
    raise AssertionError("feedback did not reach the UX summary")


def _post_resources(server: RunningServer, host: str, gpu: bool, minutes: int = 30) -> int:
    now = time.time()
    samples: list[dict[str, Any]] = []
    busy = 30.0 if gpu else 0.0  # the hosts' lines differ, so the screenshot shows both
    for k in range(minutes):
        t = now - (minutes - k) * 60
        samples += [{"time": t, "host": host, "service": "vllm", "metric": "cpu_percent", "value": 10.0 + busy + k % 7 * 3},
                    {"time": t, "host": host, "service": "vllm", "metric": "memory_used_bytes", "value": 8e9 + busy * 4e8 + k * 1e7},
                    {"time": t, "host": host, "service": "vllm", "metric": "process_cpu_percent", "value": 80.0 + busy * 5 + k % 5 * 10},
                    {"time": t, "host": host, "service": "vllm", "metric": "memory_total_bytes", "value": 64e9},
                    {"time": t, "host": host, "service": "vllm", "metric": "process_rss_bytes", "value": 2e9 + busy * 1e8 + k * 5e6}]  # fmt: skip
        if gpu:
            for d, device in enumerate(("0", "1")):
                samples += [{"time": t, "host": host, "service": "vllm", "device": device, "metric": m, "value": v}
                            for m, v in [("gpu_utilization_percent", 40.0 + 30 * d + k % 6 * 4), ("gpu_memory_used_bytes", 40e9 + d * 25e9),
                                         ("gpu_memory_total_bytes", 80e9), ("gpu_temperature_celsius", 55.0 + 10 * d + k % 4),
                                         ("gpu_power_watts", 250.0 + 120 * d + k % 3 * 15)]]  # fmt: skip
    response = httpx.post(f"{server.url}/v1/resources", json={"samples": samples}, headers=server.write_headers)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 20  # storage trails the acknowledgement
    while time.monotonic() < deadline:
        query = {"host": host, "since": "2h"}
        series = httpx.get(f"{server.url}/v1/resources", params=query, headers=server.read_headers).json()["series"]
        if series and sum(p["count"] for s in series for p in s["points"]) >= len(samples):
            return len(samples)
        time.sleep(0.1)
    raise AssertionError("resource samples were not stored")


def _ready(page: Page, name: str, since: str) -> None:
    page.wait_for_selector(f"body[data-page='{name}'][data-range='{since}'][data-state=ready]")


def _table(page: Page) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for tr in page.locator("#models-table tbody tr[data-group]").all():
        rows[tr.get_attribute("data-group") or ""] = {
            td.get_attribute("data-metric") or "": td.inner_text() for td in tr.locator("td[data-metric]").all()
        }
    return rows


def test_models_and_resources_pages(server: RunningServer) -> None:
    _load_demo_with_feedback(server)
    _post_resources(server, "web-1", gpu=False)
    with browser_page() as (page, errors):

        # Overview on 24h; the navigation carries the range to the other pages.
        page.goto(f"{server.url}/?key={server.read_key}&since=24h")
        _ready(page, "overview", "24h")
        nav = page.locator("#nav a")
        assert nav.all_inner_texts() == ["Overview", "Models & versions", "Users", "Topics", "Conversations", "Drift & anomalies", "Resources"]
        assert page.get_attribute("#nav a[data-page=models]", "href") == "/?since=24h&page=models"
        page.click("#nav a[data-page=models]")
        _ready(page, "models", "24h")
        assert page.url.endswith("/?since=24h&page=models")
        assert page.get_attribute("#nav a[data-page=models]", "aria-current") == "page"
        assert page.locator("section[data-page=overview]").is_hidden()

        # Models: one row per model with operational and UX figures, and a chart of p95 per model.
        by_model = _table(page)
        assert len(by_model) >= 2, by_model
        assert all(row["count"] != "–" and row["latency_p95"] != "–" for row in by_model.values()), by_model
        empty = [c for c in OPS_COLUMNS + UX_COLUMNS if all(row[c] == "–" for row in by_model.values())]
        assert empty == [], (empty, by_model)
        assert int(page.get_attribute("#models-latency", "data-points") or 0) > len(by_model)
        assert int(page.get_attribute("#models-latency", "data-series") or 0) == min(len(by_model), 8)
        assert page.locator("#models-latency canvas").count() == 1

        # The dimension selector changes the table, the chart and the URL (range kept).
        page.select_option("#dim", "prompt_version")
        page.wait_for_selector("#models-table[data-dim=prompt_version]")
        _ready(page, "models", "24h")
        assert "dim=prompt_version" in page.url and "since=24h" in page.url
        by_prompt = _table(page)
        assert by_prompt and set(by_prompt) != set(by_model), by_prompt
        assert all(row["count"] != "–" for row in by_prompt.values())
        assert page.inner_text("#models-dim") == "prompt version"
        page.select_option("#dim", "app_version")
        page.wait_for_selector("#models-table[data-dim=app_version]")
        assert _table(page) and set(_table(page)) != set(by_prompt)

        # The range picker on this page keeps the page and the dimension.
        page.click(".range button[data-since='7d']")
        _ready(page, "models", "7d")
        assert "page=models" in page.url and "dim=app_version" in page.url and "since=7d" in page.url
        page.select_option("#dim", "model")
        page.wait_for_selector("#models-table[data-dim=model]")
        _ready(page, "models", "7d")
        page.screenshot(path=str(SCREENSHOTS / "models.png"), full_page=True)

        # Back returns to the previous state of the URL.
        page.go_back()
        page.wait_for_selector("#models-table[data-dim=app_version]")

        # Resources: a host without GPU shows its CPU and memory, and says there is no GPU.
        page.click("#nav a[data-page=resources]")
        _ready(page, "resources", "7d")
        assert "page=resources" in page.url and "since=7d" in page.url
        page.click(".range button[data-since='24h']")
        _ready(page, "resources", "24h")
        assert page.get_attribute("#resource-charts", "data-bucket") == "minute"
        for chart in ["cpu", "memory", "process_cpu", "process_rss"]:
            assert int(page.get_attribute(f"#res-{chart}", "data-points") or 0) >= 25, chart
        assert page.locator("#res-cpu canvas").count() == 1
        assert page.locator("#res-gpu_util").is_hidden()
        assert page.get_attribute("#no-gpu", "data-gpu") == "none"
        assert page.inner_text("#no-gpu").startswith("no GPU (")
        assert "web-1\tvllm\tno GPU" in page.inner_text("#resources-hosts")
        assert "of 59.6 GiB" in page.inner_text("#res-memory .figure")  # latest used, of the installed total

        # A GPU host: its GPU charts appear, and the note names the host without one.
        _post_resources(server, "gpu-1", gpu=True)
        page.reload()
        _ready(page, "resources", "24h")
        assert page.locator("#res-gpu_util").is_visible()
        assert int(page.get_attribute("#res-gpu_util", "data-series") or 0) == 2  # one line per GPU
        assert int(page.get_attribute("#res-gpu_util", "data-points") or 0) >= 50
        assert int(page.get_attribute("#res-cpu", "data-series") or 0) == 2  # one line per host
        assert page.get_attribute("#no-gpu", "data-gpu") == "partial"
        assert "web-1" in page.inner_text("#no-gpu") and "gpu-1" not in page.inner_text("#no-gpu")
        page.screenshot(path=str(SCREENSHOTS / "resources.png"), full_page=True)

        # And back to the Overview with the range kept.
        page.click("#nav a[data-page=overview]")
        _ready(page, "overview", "24h")
        assert page.url.endswith("/?since=24h&dim=app_version")  # every parameter but page carries over
        assert int(page.get_attribute("#chart-volume", "data-points") or 0) > 0
    assert errors == []
