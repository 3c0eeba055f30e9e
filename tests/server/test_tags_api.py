"""Tags as slices through the API (the real app in process, enrichment on): ``GET /v1/tags``, and ``tag.<key>`` in the
UX summary, topics, drift and conversations; user figures refuse a tag by name."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

WRITE_KEY = "hn_w_tags_test_key_0123456789"
READ_KEY = "hn_r_tags_test_key_0123456789"
READ = {"Authorization": f"Bearer {READ_KEY}"}
SUPPORT, SALES = 90, 30


def _turns(now: float) -> list[dict[str, Any]]:
    """Support: 90 calls in 30 conversations, fast; sales: 30 in 10, slow, half of them in staging."""
    turns = []
    for team, n, latency in (("support", SUPPORT, 200.0), ("sales", SALES, 1500.0)):
        for k in range(n):
            tags = {"app.team": team, **({"tenant": "acme"} if k % 3 == 0 else {})}
            turns.append({
                "id": f"{team}-{k}", "conversation_id": f"{team}-c{k // 3}", "model": "gpt-4o" if k % 2 else "claude",
                "start_time": now - 7200 + 40 * k + (k % 3) * 5, "latency_ms": latency + k, "user_id": f"{team}-u{k % 7}",
                "environment": "staging" if team == "sales" and k % 2 else "prod",
                "input": [{"role": "user", "content": f"{team} question number {k}: is this working?"}],
                "output": "Yes, here is how.", "tags": tags,
            })  # fmt: skip
    return turns


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp_path: Path = tmp_path_factory.mktemp("tags-api")
    keys = KeyRing(tmp_path / "keys.json")
    keys.add("test", "write", WRITE_KEY)
    keys.add("test", "read", READ_KEY)
    turns = _turns(time.time())
    with TestClient(create_app(Settings(data_dir=tmp_path, fsync=False, monitor_interval=0))) as running:
        response = running.post("/v1/interactions", json={"interactions": turns}, headers={"Authorization": f"Bearer {WRITE_KEY}"})
        assert response.status_code == 200, response.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            enrichment = running.get("/v1/status", headers=READ).json()["enrichment"]
            if enrichment["enriched"] >= len(turns) and enrichment["backlog"] == 0:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("enrichment did not catch up")
        yield running


def _get(client: TestClient, path: str, **query: Any) -> Any:
    response = client.get(path, params=query, headers=READ)
    assert response.status_code == 200, response.text
    return response.json()


def _error(client: TestClient, path: str, **query: Any) -> dict[str, Any]:
    response = client.get(path, params=query, headers=READ)
    assert response.status_code == 400, response.text
    return response.json()  # type: ignore[no-any-return]


def test_tags_lists_keys_and_values_by_calls(client: TestClient) -> None:
    keys = _get(client, "/v1/tags", since="1d")["keys"]
    assert [k["key"] for k in keys] == ["app.team", "tenant"]
    team = keys[0]
    assert team["count"] == SUPPORT + SALES and team["distinct"] == 2
    assert team["values"] == [{"value": "support", "count": SUPPORT}, {"value": "sales", "count": SALES}]
    assert keys[1]["values"] == [{"value": "acme", "count": SUPPORT // 3 + SALES // 3}]
    top = _get(client, "/v1/tags", since="1d", keys="1", values="1")["keys"]
    assert top == [{"key": "app.team", "count": SUPPORT + SALES, "distinct": 2, "values": [{"value": "support", "count": SUPPORT}]}]
    assert _get(client, "/v1/tags", start="1h", end="30m")["keys"] == []
    assert _error(client, "/v1/tags", keys="0")["field"] == "keys"


def test_ux_summary_by_tag(client: TestClient) -> None:
    assert _get(client, "/v1/ux/summary", since="1d", **{"tag.app.team": "support"})["series"][0]["interactions"] == SUPPORT
    grouped = _get(client, "/v1/ux/summary", since="1d", group_by="tag.app.team")["series"]
    assert {r["group"]: r["interactions"] for r in grouped} == {"support": SUPPORT, "sales": SALES}
    assert {r["group"]: r["conversations"] for r in grouped} == {"support": SUPPORT // 3, "sales": SALES // 3}
    by_model = _get(client, "/v1/ux/summary", since="1d", group_by="model", **{"tag.app.team": "sales"})
    assert by_model["dim"] == "tag.app.team" and by_model["value"] == "sales"
    assert {r["group"]: r["interactions"] for r in by_model["series"]} == {"gpt-4o": SALES // 2, "claude": SALES // 2}
    assert _get(client, "/v1/ux/summary", since="1d", environment="staging")["series"][0]["interactions"] == SALES // 2
    latency = {r["group"]: r["latency_avg"] for r in grouped}
    assert latency["sales"] > 1000 > latency["support"]
    error = _error(client, "/v1/ux/summary", since="1d", model="claude", **{"tag.app.team": "sales"})
    assert error["field"] == "tag.app.team" and "one dimension or tag" in error["error"]
    assert _error(client, "/v1/ux/summary", group_by="rag_source")["field"] == "group_by"


def test_users_refuse_a_tag_by_name(client: TestClient) -> None:
    for path in ("/v1/users/active", "/v1/users/engagement", "/v1/users/retention"):
        assert _error(client, path, **{"tag.app.team": "sales"})["field"] == "tag.app.team"


def test_topics_by_tag(client: TestClient) -> None:
    # Too few messages for a topic model: every turn is unassigned, so "unassigned" counts the slice.
    table = _get(client, "/v1/topics", since="1d", **{"tag.app.team": "sales"})
    assert table["dim"] == "tag.app.team" and table["value"] == "sales" and table["unassigned"] == SALES
    assert _get(client, "/v1/topics", since="1d")["unassigned"] == SUPPORT + SALES
    flow = _get(client, "/v1/topics/flow", since="1d", **{"tag.app.team": "sales"})
    steps = sum(link["value"] for link in flow["links"] if link["target"] != -3)
    ends = sum(link["value"] for link in flow["links"] if link["target"] == -3)
    assert steps == SALES and ends == SALES // 3  # each conversation is one session


def test_drift_between_tag_values(client: TestClient) -> None:
    report = _get(client, "/v1/drift", current="1d", reference="0s-ago", embeddings="0",
                  **{"reference_tag.app.team": "support", "current_tag.app.team": "sales"})  # fmt: skip
    assert report["reference"]["filters"] == {"tag.app.team": "support"} and report["current"]["filters"] == {"tag.app.team": "sales"}
    features = {f["feature"]: f for f in report["features"]}
    assert features["latency_ms"]["n_reference"] == SUPPORT and features["latency_ms"]["n_current"] == SALES
    # 90 and 30 calls: too few a side for a verdict, however far apart (issue 13: small references flip-flopped)
    assert not features["latency_ms"]["drifted"]
    assert features["latency_ms"]["reason"] == f"not enough reference data (n = {SUPPORT}; a verdict needs 100 a side)"
    assert features["sentiment"]["n_current"] == SALES  # the signal features go through the call's tags too
    same = _get(client, "/v1/drift", current="1d", reference="0s-ago", embeddings="0",
                **{"reference_tag.tenant": "acme", "current_tag.tenant": "acme"})  # fmt: skip
    assert {f["feature"]: f for f in same["features"]}["latency_ms"]["n_current"] == SUPPORT // 3 + SALES // 3
    assert _error(client, "/v1/drift", **{"current_tag.": "x"})["field"] == "current_tag."


def _conversations(client: TestClient, **query: Any) -> set[str]:
    return {row["conversation_id"] for row in _get(client, "/v1/conversations", since="1d", limit="200", **query)["items"]}


def test_conversations_by_tag(client: TestClient) -> None:
    assert _conversations(client, **{"tag.app.team": "sales"}) == {f"sales-c{k}" for k in range(SALES // 3)}
    # One turn must match every filter: acme is the first turn of each conversation, staging an odd one.
    acme = _conversations(client, **{"tag.tenant": "acme"})
    assert acme == {f"{team}-c{k}" for team, n in (("support", SUPPORT), ("sales", SALES)) for k in range(n // 3)}
    assert _conversations(client, environment="staging", **{"tag.tenant": "acme"}) == {f"sales-c{k}" for k in range(SALES // 3) if k % 2}
    # With a signal filter the search reads signals; the tag still belongs to the same turn.
    by_sentiment = [_conversations(client, sentiment=s, **{"tag.app.team": "sales"}) for s in ("negative", "neutral", "positive")]
    assert set().union(*by_sentiment) == {f"sales-c{k}" for k in range(SALES // 3)}
    assert _conversations(client, frustrated="0", errors="0", model="claude", **{"tag.app.team": "nobody"}) == set()
    assert _error(client, "/v1/conversations", **{"tag.": "x"})["field"] == "tag."
