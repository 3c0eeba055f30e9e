"""A tag as the dashboard's segment, in a real browser (Debian Chromium via Playwright): the picker offers the
project's tag keys (GET /v1/tags), the chosen ``tag.<key>=value`` lives in the URL, and every page that can slice
by it does (figures equal to the API's for that slice); the Users page says it cannot."""

from __future__ import annotations

import shutil
import time
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.e2e.test_dashboard import CHROMIUM, browser_page
from tests.e2e.test_dashboard_pages import _ready

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

HOUR = 3600.0
TEAMS = {"support": 120, "sales": 40}
"""Calls per team over the last 60 hours, two per conversation; sales replies are slow."""


def _traffic(now: float) -> list[dict[str, Any]]:
    items = []
    for team, n in TEAMS.items():
        for k in range(n):
            t = now - 60 * HOUR + (k + 0.5) * 60 * HOUR / n
            if abs((now - t) % (24 * HOUR)) < 900 or abs((now - t) % (24 * HOUR)) > 24 * HOUR - 900:
                t += 1800  # none near the 24h and 48h boundaries: a window read a few seconds later counts the same calls
            items.append({
                "id": f"{team}-{k}", "conversation_id": f"{team}-c{k // 2}", "user_id": f"{team}-u{k % 9}",
                "model": "gpt-4o" if k % 3 else "gpt-4o-mini", "start_time": t, "latency_ms": (1800.0 if team == "sales" else 300.0) + k,
                "input_tokens": 100, "output_tokens": 50, "input": [{"role": "user", "content": f"{team} question {k}: how does this work?"}],
                "output": "Like this.", "tags": {"app.team": team, "deployment.region": "eu" if k % 2 else "us"},
            })  # fmt: skip
    return items


def _api(server: RunningServer, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.url}{path}", params=params, headers=server.read_headers, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _load(server: RunningServer) -> None:
    items = _traffic(time.time())
    response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": items}, headers=server.write_headers, timeout=60)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the UX figures need enrichment to have caught up
        enrichment = _api(server, "/v1/status")["enrichment"]
        if enrichment and enrichment["enriched"] >= len(items) and enrichment["backlog"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError("enrichment did not catch up")


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def test_tag_segment_slices_every_page(server: RunningServer) -> None:
    _load(server)
    sales = {"tag.app.team": "sales"}
    count = _api(server, "/v1/metrics", bucket="all", metrics="count", since="7d", **sales)["series"][0]["count"]
    assert count == TEAMS["sales"]
    ux = _api(server, "/v1/ux/summary", since="7d", **sales)["series"][0]
    assert ux["interactions"] == TEAMS["sales"] and ux["satisfaction_avg"] is not None
    with browser_page() as (page, errors):
        page.goto(f"{server.url}/?key={server.read_key}&since=7d")
        _ready(page, "overview", "7d")
        everyone = _int(page.inner_text("#chart-volume .value"))
        assert everyone == sum(TEAMS.values())

        # The picker offers the range's tag keys, busiest first, then the chosen key's values.
        page.wait_for_selector("#seg-tags option[value='tag.app.team']", state="attached")
        assert page.locator("#seg-tags option").evaluate_all("os => os.map(o => o.value)") == ["tag.app.team", "tag.deployment.region"]
        assert page.locator("#seg-dim option[value=response_model]").count() == 1 and page.locator("#seg-dim option[value=environment]").count() == 1
        page.select_option("#seg-dim", "tag.app.team")
        page.wait_for_selector("#seg-value[data-dim='tag.app.team'] option[value='sales']", state="attached")
        assert page.locator("#seg-value option").evaluate_all("os => os.map(o => o.value)") == ["", "support", "sales"]
        page.select_option("#seg-value", "sales")
        page.wait_for_selector("body[data-segment='tag.app.team=sales'][data-state=ready]")
        _ready(page, "overview", "7d")
        assert "tag.app.team=sales" in page.url and "since=7d" in page.url

        # Overview: every figure is the slice's, operational (GET /v1/metrics) and UX (GET /v1/ux/summary, raw turns).
        assert _int(page.inner_text("#chart-volume .value")) == count
        assert page.inner_text("#chart-satisfaction .value") == f"{ux['satisfaction_avg']:.2f}"
        assert int(page.get_attribute("#chart-satisfaction", "data-points") or 0) > 0

        # Models: the slice compared by model, UX columns included.
        page.click("#nav a[data-page=models]")
        _ready(page, "models", "7d")
        assert "tag.app.team=sales" in page.url
        counts = [_int(v) for v in page.locator("#models-table tbody td[data-metric=count]").all_inner_texts()]
        assert sorted(counts) == sorted([TEAMS["sales"] // 3 + 1, TEAMS["sales"] - TEAMS["sales"] // 3 - 1])
        assert all(v != "–" for v in page.locator("#models-table tbody td[data-metric=satisfaction_avg]").all_inner_texts())
        assert "tag app.team sales only" in page.inner_text("#models-note")

        # Conversations: those with a sales turn.
        page.click("#nav a[data-page=conversations]")
        _ready(page, "conversations", "7d")
        page.wait_for_selector(f"#conv-table[data-rows='{TEAMS['sales'] // 2}']")
        ids = page.locator("#conv-table tbody tr[data-conversation]").evaluate_all("rs => rs.map(r => r.dataset.conversation)")
        assert ids and all(i.startswith("sales-") for i in ids)
        assert "tag app.team sales" in page.inner_text("#conv-note")

        # Users: counted per rollup dimension, not per tag; the page says the segment is not applied.
        page.click("#nav a[data-page=users]")
        _ready(page, "users", "7d")
        assert page.locator("#users-segment").is_visible() and "not applied" in page.inner_text("#users-segment")
        assert page.get_attribute("section[data-page=users]", "data-segment") == ""

        # Topics: applied (the notice names the segment).
        page.click("#nav a[data-page=topics]")
        _ready(page, "topics", "7d")
        assert "tag.app.team=sales" in page.inner_text("#topics-segment")

        # Drift: both windows narrowed to the tag (the last day against the one before it).
        page.goto(f"{server.url}/?page=drift&since=24h&ref=prev&tag.app.team=sales")
        _ready(page, "drift", "24h")
        assert "tag.app.team = sales only" in page.inner_text("#drift-windows")
        now = time.time()
        expected = [_api(server, "/v1/metrics", bucket="all", metrics="count", start=str(now - k * 86400), end=str(now - (k - 1) * 86400),
                         **sales)["series"][0]["count"] for k in (2, 1)]  # fmt: skip
        assert page.inner_text("#drift-table tr[data-feature=latency_ms] td[data-col=n]") == f"{expected[0]} / {expected[1]}"

        # Back to all traffic: the tag leaves the URL.
        page.select_option("#seg-dim", "")
        page.wait_for_selector("body[data-segment=''][data-state=ready]")
        assert "tag." not in page.url
    assert errors == []
