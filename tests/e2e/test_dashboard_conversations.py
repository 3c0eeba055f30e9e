"""The Conversations explorer in a real browser (Debian's Chromium driven by Playwright) against a server
with demo traffic and feedback: every filter changes the list and the URL, "more" pages, and opening a
conversation shows its turns with their signals and feedback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import RunningServer
from tests.e2e.test_dashboard import CHROMIUM, browser_page
from tests.e2e.test_dashboard_pages import _load_demo_with_feedback
from tests.e2e.test_dashboard_topics import _get, wait_for_topics

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "conversations.png"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _ready(page: Page) -> None:
    page.wait_for_selector("body[data-page=conversations][data-state=ready]")


def _changed(page: Page, name: str, value: str | None) -> None:
    """Wait until the URL holds ``name=value`` (absent for None) and the page has reloaded."""
    page.wait_for_function(
        "([n, v]) => new URLSearchParams(location.search).get(n) === v && document.body.dataset.state === 'ready'", arg=[name, value]
    )
    page.wait_for_load_state("networkidle")
    _ready(page)


def _rows(page: Page) -> Any:
    return page.locator("#conv-table tbody tr[data-conversation]")


def test_conversations_explorer(server: RunningServer) -> None:
    _load_demo_with_feedback(server)
    topics = wait_for_topics(server)
    listed = _get(server, "/v1/conversations", since="7d", limit=200)["items"]
    with_feedback = next(r for r in listed if r["thumbs_up"] + r["thumbs_down"] and r["turns"] >= 2)
    word = max(re.findall(r"[a-z]{5,}", listed[0]["first_message"].lower()), key=len)

    with browser_page() as (page, errors):
        page.goto(f"{server.url}/?key={server.read_key}&page=conversations&since=7d")
        _ready(page)
        assert "Conversations" in page.locator("#nav a").all_inner_texts()

        # One row per conversation, newest first, each opening link named by its first message; "more" appends a page.
        assert page.get_attribute("#conv-table", "data-rows") == "50" and page.get_attribute("#conv-table", "data-more") == "1"
        assert _rows(page).first.get_attribute("data-conversation") == listed[0]["conversation_id"]
        assert all(t.strip() for t in page.locator("#conv-table td.first a").all_inner_texts())
        assert page.locator("#conv-table [data-badge]").count() > 0
        page.click("#conv-more")
        page.wait_for_selector("#conv-table[data-rows='100']")
        assert [r.get_attribute("data-conversation") for r in _rows(page).all()] == [r["conversation_id"] for r in listed[:100]]
        assert "cursor" not in page.url

        # Each filter lives in the URL and narrows the list.
        page.check("#conv-errors")
        _changed(page, "errors", "1")
        errored = [int(r.get_attribute("data-errors") or 0) for r in _rows(page).all()]
        assert errored and all(n > 0 for n in errored)
        page.select_option("#conv-sentiment", "negative")
        _changed(page, "sentiment", "negative")
        assert "errors=1" in page.url  # filters combine
        page.click("#conv-clear")
        _changed(page, "errors", None)
        assert not {"sentiment", "errors"} & set(_query(page))

        page.check("#conv-frustrated")
        _changed(page, "frustrated", "1")
        frustrated = [int(r.get_attribute("data-frustrated") or 0) for r in _rows(page).all()]
        assert frustrated and all(n > 0 for n in frustrated)
        page.uncheck("#conv-frustrated")
        _changed(page, "frustrated", None)

        page.select_option("#conv-sentiment", "negative")
        _changed(page, "sentiment", "negative")
        assert _rows(page).count() > 0 and _rows(page).count() == page.locator("#conv-table [data-badge=negative]").count()
        page.select_option("#conv-sentiment", "")
        _changed(page, "sentiment", None)

        topic = topics[0]
        page.select_option("#conv-topic", str(topic["topic_id"]))
        _changed(page, "topic", str(topic["topic_id"]))
        labels = page.locator("#conv-table td.topics").all_inner_texts()
        assert labels and all(topic["label"] in text for text in labels), (topic, labels)
        page.select_option("#conv-topic", "")
        _changed(page, "topic", None)

        page.fill("#conv-q", word)
        page.press("#conv-q", "Enter")
        _changed(page, "q", word)
        assert _rows(page).count() > 0 and word in page.inner_text("#conv-note")
        page.fill("#conv-q", "")
        page.press("#conv-q", "Enter")
        _changed(page, "q", None)

        user = _rows(page).first.locator("a[data-user]").get_attribute("data-user") or ""
        _rows(page).first.locator("a[data-user]").click()
        _changed(page, "user", user)
        assert set(page.locator("#conv-table a[data-user]").all_inner_texts()) == {user}
        page.click("#conv-clear")
        _changed(page, "user", None)

        # The model filter is the dashboard's segment: it shows in the header picker and follows to other pages.
        model = listed[0]["models"][0]
        page.select_option("#conv-model", model)
        _changed(page, "model", model)
        assert page.get_attribute("body", "data-segment") == f"model={model}"
        assert all(model in text for text in page.locator("#conv-table td.models").all_inner_texts())
        assert f"model={model}" in (page.get_attribute("#nav a[data-page=overview]", "href") or "")
        page.click("#conv-clear")
        _changed(page, "model", None)

        # Opening a conversation shows its turns, each with what was said, the reply and its signals.
        first = _rows(page).first
        ident, turns = first.get_attribute("data-conversation") or "", first.get_attribute("data-turns") or ""
        first.locator("td.first a").click()
        _changed(page, "conversation", ident)
        page.wait_for_selector(f"#conv-detail[data-conversation='{ident}']")
        assert page.is_visible("#conv-detail") and page.get_attribute("#conv-detail", "data-turns") == turns
        shown = page.locator("#conv-detail .turn")
        assert shown.count() == int(turns) > 0
        for k in range(shown.count()):
            turn = shown.nth(k)
            assert turn.locator(".msg.user .text").inner_text().strip() and turn.locator(".msg.reply .text").inner_text().strip()
            assert turn.locator("[data-figure=latency]").inner_text() != "latency –"
            assert turn.get_attribute("data-signals") == "1"
            assert turn.locator("[data-signal=sentiment]").count() == 1 and turn.locator("[data-signal=frustration]").count() == 1
            assert turn.locator("[data-signal=topic]").count() == 1 and turn.locator("[data-signal=satisfaction]").count() == 1
        assert page.get_attribute(f"#conv-table tr[data-conversation='{ident}']", "class") == "selected"

        # Back closes it; a shared link opens one directly, feedback included.
        page.go_back()
        _changed(page, "conversation", None)
        assert page.is_hidden("#conv-detail")
        page.goto(f"{server.url}/?page=conversations&since=7d&conversation={with_feedback['conversation_id']}")
        _ready(page)
        page.wait_for_selector(f"#conv-detail[data-conversation='{with_feedback['conversation_id']}']")
        assert page.locator("#conv-detail [data-feedback=up], #conv-detail [data-feedback=down]").count() == with_feedback["thumbs_up"] + with_feedback["thumbs_down"]
        assert "(explicit)" in page.inner_text("#conv-detail")
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        page.wait_for_load_state("networkidle")
        assert errors == [], errors
