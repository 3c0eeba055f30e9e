"""The Users page and the global segment picker in a real browser (Debian Chromium via Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer
from tests.e2e.test_dashboard import CHROMIUM, browser_page
from tests.e2e.test_dashboard_pages import _load_demo_with_feedback, _ready

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "users.png"

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def _figure(page: object, name: str) -> str:
    return page.inner_text(f"[data-figure={name}] .value")  # type: ignore[attr-defined,no-any-return]


def test_users_page_and_segment(server: RunningServer) -> None:
    _load_demo_with_feedback(server)
    busiest = httpx.get(f"{server.url}/v1/metrics", params={"bucket": "all", "metrics": "count", "group_by": "model", "since": "7d"},
                        headers=server.read_headers).json()["series"]  # fmt: skip
    model = max(busiest, key=lambda r: r["count"])["group"]
    with browser_page() as (page, errors):
        page.goto(f"{server.url}/?key={server.read_key}&page=users&since=7d")
        _ready(page, "users", "7d")
        assert "Users" in page.locator("#nav a").all_inner_texts()
        for chart in ["users-active", "users-new", "users-engagement", "users-interactions"]:
            assert int(page.get_attribute(f"#{chart}", "data-points") or 0) > 0, chart
            assert page.locator(f"#{chart} canvas").count() == 1, chart
        assert int(_figure(page, "mau").replace(",", "")) > 0
        everyone_mau = int(_figure(page, "mau").replace(",", ""))
        assert _figure(page, "engagement") != "–" and _figure(page, "active_days") != "–"
        assert page.get_attribute("#users-retention table", "data-period") == "day"
        assert int(page.get_attribute("#users-retention table", "data-cells") or 0) >= 2  # day 0 and day +1 of the first cohort
        assert int(page.get_attribute("#users-active-days", "data-rows") or 0) >= 1
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # The 30d range groups cohorts by week.
        page.click(".range button[data-since='30d']")
        _ready(page, "users", "30d")
        assert page.get_attribute("#users-retention table", "data-period") == "week"

        # A segment (one model) slices the page, lives in the URL and carries to the other pages.
        page.select_option("#seg-dim", "model")
        page.wait_for_selector(f"#seg-value option[value='{model}']", state="attached")
        page.select_option("#seg-value", model)
        page.wait_for_selector(f"body[data-segment='model={model}'][data-state=ready]")
        _ready(page, "users", "30d")
        assert f"model={model}" in page.url and "page=users" in page.url
        assert page.get_attribute("section[data-page=users]", "data-segment") == f"model={model}"
        assert 0 < int(_figure(page, "mau").replace(",", "")) <= everyone_mau
        page.click("#nav a[data-page=overview]")
        _ready(page, "overview", "30d")
        assert f"model={model}" in page.url
        sliced = int(page.get_attribute("#chart-volume", "data-points") or 0)
        assert sliced > 0
        calls = int(page.inner_text("#chart-volume .value").replace(",", ""))
        assert calls == next(r["count"] for r in busiest if r["group"] == model)  # all the demo traffic is within 2 days

        # Back to all traffic: the segment leaves the URL.
        page.select_option("#seg-dim", "")
        page.wait_for_selector("body[data-segment=''][data-state=ready]")
        _ready(page, "overview", "30d")
        assert "model=" not in page.url
        assert int(page.inner_text("#chart-volume .value").replace(",", "")) > calls
    assert errors == []
