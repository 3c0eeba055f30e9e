"""Incidents on the Drift & anomalies page in a real browser (Debian's Chromium, Playwright): the stored
anomaly rows of an error burst and a latency rise show as two incidents; a click on one narrows the
anomaly table to its evidence, a second click shows every row again."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron.store.duckdb import DuckDBStore
from tests.conftest import RunningServer, start_server
from tests.e2e.test_dashboard import CHROMIUM, browser_page

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def _row(t: float, metric: str, dim: str, value: str, observed: float, expected: float, score: float) -> dict[str, object]:
    return {"t": t, "bucket_s": 60, "metric": metric, "dim": dim, "value": value, "observed": observed, "expected": expected,
            "low": 0.0, "high": expected * 2, "score": score, "kind": "spike", "detected_at": t + 180}  # fmt: skip


@pytest.fixture
def with_incidents(tmp_path: Path) -> Iterator[RunningServer]:
    data = tmp_path / "data"
    now = time.time()
    burst, rise = now - 5 * 3600, now - 15 * 60
    rows = [_row(burst + 60 * m, "error_rate", "model", "gpt-4o", 0.25, 0.004, 1.5 + m / 20) for m in range(20)]
    rows += [_row(burst + 60 * m, "error_rate", "", "", 0.07, 0.004, 1.2) for m in range(2, 18)]
    rows += [_row(rise + 60 * m, "latency_p50", "prompt_version", "v3", 1900.0, 1000.0, 1.1) for m in range(10)]
    store = DuckDBStore(data / "heron.duckdb")
    store.write_anomalies("test", rows)
    store.close()
    running = start_server(data, env={"HERON_MONITOR_INTERVAL": "0"})
    yield running
    running.stop()


def test_incidents_list_and_their_evidence(with_incidents: RunningServer) -> None:
    server = with_incidents
    with browser_page() as (page, errors):
        page.goto(f"{server.url}/?key={server.read_key}&since=24h&page=drift")
        page.wait_for_selector("body[data-page='drift'][data-range='24h'][data-state=ready]")
        assert page.get_attribute("#drift-incidents", "data-rows") == "2"
        incidents = page.locator("#drift-incidents tbody tr.incident")
        latest, burst = incidents.nth(0), incidents.nth(1)
        assert latest.get_attribute("data-status") == "open" and burst.get_attribute("data-status") == "resolved"
        assert burst.get_attribute("data-severity") == "critical"
        assert burst.locator("td[data-col=segment] a").get_attribute("href") == "?since=24h&model=gpt-4o"
        assert "error_rate" in burst.locator("td[data-col=title]").inner_text()
        assert burst.locator("td[data-col=duration]").inner_text() == "20 min"
        assert burst.locator("td[data-col=evidence]").inner_text() == "36"
        assert page.get_attribute("#drift-anomalies", "data-rows") == "46"

        burst.locator("td[data-col=title]").click()  # its evidence: the model's rows and the total's it explains
        page.wait_for_selector("#drift-anomalies[data-filtered=true]")
        assert page.get_attribute("#drift-anomalies", "data-rows") == "36"
        assert {m.inner_text() for m in page.locator("#drift-anomalies td[data-col=metric]").all()} == {"error_rate"}
        assert "evidence of:" in page.inner_text("#drift-anomalies-note")
        assert "picked" in (burst.get_attribute("class") or "")

        burst.locator("td[data-col=title]").click()  # again: every row
        page.wait_for_selector("#drift-anomalies[data-filtered=false]")
        assert page.get_attribute("#drift-anomalies", "data-rows") == "46"
    assert errors == []


def test_heron_incidents_prints_them(with_incidents: RunningServer) -> None:
    server = with_incidents
    command = [sys.executable, "-m", "heron.cli", "incidents", "--url", server.url, "--key", server.read_key]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 open, 1 resolved" in done.stdout and "model=gpt-4o" in done.stdout and "critical" in done.stdout
    only = subprocess.run([*command, "--status", "open"], capture_output=True, text=True, timeout=60)
    assert "prompt_version=v3" in only.stdout and "model=gpt-4o" not in only.stdout
