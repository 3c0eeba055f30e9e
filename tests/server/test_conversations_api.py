"""``GET /v1/conversations`` on the real app (in process, enrichment on): filters, paging, errors
naming the parameter, and ``/v1/conversations/{id}`` beside it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import QueryParams
from starlette.testclient import TestClient

from heron.server.api import conversations as api
from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

WRITE_KEY = "hn_w_conversations_test_key_0123"
READ_KEY = "hn_r_conversations_test_key_0123"
READ = {"Authorization": f"Bearer {READ_KEY}"}


def _turn(ident: str, conversation: str, ago: float, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": ident, "conversation_id": conversation, "model": extra.pop("model", "gpt-4o"), "start_time": time.time() - ago,
            "latency_ms": 120.0, "input": [{"role": "user", "content": text}], "output": extra.pop("output", "Here you go."), **extra}  # fmt: skip


TURNS = [
    _turn("a1", "ca", 7200, "How do I reset my password?", user_id="ann", prompt_version="v1"),
    _turn("a2", "ca", 7100, "That is not what I asked. This is useless and terrible!!", user_id="ann", prompt_version="v1"),
    _turn("b1", "cb", 3600, "Can I get a refund for my order?", user_id="bob", model="claude", prompt_version="v2"),
    _turn("b2", "cb", 3500, "thanks, great help", user_id="bob", model="claude", prompt_version="v2", status="error", error_type="Timeout"),
    _turn("c1", "cc", 600, "What are your opening hours?", user_id="cy", prompt_version="v2"),
    _turn("old", "cd", 10 * 86400, "something from long ago", user_id="ann"),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    keys = KeyRing(tmp_path / "keys.json")
    keys.add("test", "write", WRITE_KEY)
    keys.add("test", "read", READ_KEY)
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, monitor_interval=0))) as running:
        response = running.post("/v1/interactions", json={"interactions": TURNS}, headers={"Authorization": f"Bearer {WRITE_KEY}"})
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            enrichment = running.get("/v1/status", headers=READ).json()["enrichment"]
            if enrichment["enriched"] >= len(TURNS) and enrichment["backlog"] == 0:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("enrichment did not catch up")
        yield running


def _ids(client: TestClient, **query: Any) -> list[str]:
    response = client.get("/v1/conversations", params=query, headers=READ)
    assert response.status_code == 200, response.text
    return [row["conversation_id"] for row in response.json()["items"]]


def test_list_filters_and_rows(client: TestClient) -> None:
    body = client.get("/v1/conversations", headers=READ).json()
    assert [r["conversation_id"] for r in body["items"]] == ["cc", "cb", "ca"]  # newest first; cd is older than 7 days
    assert body["next_cursor"] is None and body["end"] - body["start"] == pytest.approx(7 * 86400)
    cb = body["items"][1]
    assert cb["turns"] == 2 and cb["user_id"] == "bob" and cb["models"] == ["claude"] and cb["errors"] == 1
    assert cb["first_message"] == "Can I get a refund for my order?" and cb["enriched"] == 2 and cb["topics"] == []
    assert _ids(client, since="30d") == ["cc", "cb", "ca", "cd"]
    assert _ids(client, model="claude") == ["cb"]
    assert _ids(client, prompt_version="v2") == ["cc", "cb"]
    assert _ids(client, user="ann") == ["ca"] and _ids(client, user_id="ann", since="30d") == ["ca", "cd"]
    assert _ids(client, errors="1") == ["cb"] and _ids(client, errors="0") == ["cc", "cb", "ca"]
    assert _ids(client, q="REFUND") == ["cb"]
    assert _ids(client, sentiment="negative") == ["ca"]  # "useless and terrible" reads negative
    assert _ids(client, frustrated="true") == ["ca"]
    assert _ids(client, frustrated=1, model="claude") == []


def test_paging_with_the_cursor(client: TestClient) -> None:
    first = client.get("/v1/conversations", params={"limit": 2}, headers=READ).json()
    assert [r["conversation_id"] for r in first["items"]] == ["cc", "cb"] and first["next_cursor"]
    second = client.get("/v1/conversations", params={"limit": 2, "cursor": first["next_cursor"]}, headers=READ).json()
    assert [r["conversation_id"] for r in second["items"]] == ["ca"] and second["next_cursor"] is None


def test_one_conversation_still_reads_turn_by_turn(client: TestClient) -> None:
    body = client.get("/v1/conversations/ca", headers=READ).json()
    assert [t["id"] for t in body["interactions"]] == ["a1", "a2"]
    assert body["interactions"][1]["signals"]["complaint"] is True
    assert client.get("/v1/conversations/nope", headers=READ).status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"topic": "billing"}, "topic"), ({"sentiment": "angry"}, "sentiment"),
     ({"frustrated": "maybe"}, "frustrated"), ({"errors": "2"}, "errors"), ({"cursor": "%%%"}, "cursor"),
     ({"start": "2025-01-02", "end": "2025-01-01"}, "end"), ({"since": "a week"}, "since"), ({"q": "x" * 1001}, "q")],  # fmt: skip
)
def test_bad_parameters_are_named(client: TestClient, query: dict[str, str], field: str) -> None:
    response = client.get("/v1/conversations", params=query, headers=READ)
    assert response.status_code == 400 and response.json()["field"] == field, response.text
    if field == "limit":
        assert "1 to 200" in response.json()["error"]


def test_the_read_key_is_needed(client: TestClient) -> None:
    assert client.get("/v1/conversations").status_code == 401
    assert client.get("/v1/conversations", headers={"Authorization": f"Bearer {WRITE_KEY}"}).status_code == 403


def test_a_merged_topic_matches_the_topics_merged_into_it() -> None:
    merged = {7: 3, 9: 3, 4: 5}
    query = api.parse(QueryParams("topic=3&user=ann"), "p", merged)
    assert query.topics == (3, 7, 9) and query.equals == (("user_id", "ann"),)
    assert api.parse(QueryParams(""), "p", merged).topics == ()
    items: list[dict[str, Any]] = [{"topics": [7, 3, 4, -1]}]
    api.label_topics(items, merged, {3: {"label": "billing"}, 5: {"label": "login"}})
    assert items[0]["topics"] == [{"id": -1, "label": "other"}, {"id": 3, "label": "billing"}, {"id": 5, "label": "login"}]
