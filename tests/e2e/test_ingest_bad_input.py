"""Every class of bad input gets a 4xx naming the field and the limit; good items survive."""

from __future__ import annotations

import gzip
import time
import zlib

import httpx
import pytest

from heron.schema import limits as L
from tests.conftest import RunningServer


def _item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {"model": "gpt-4o", "start_time": time.time() - 5, "latency_ms": 120.0}
    item.update(overrides)
    return item


def _post(server: RunningServer, body: bytes | dict[str, object], path: str = "/v1/interactions", **headers: str) -> httpx.Response:
    hdrs = {**server.write_headers, "Content-Type": "application/json", **headers}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return httpx.post(server.url + path, content=content, headers=hdrs, timeout=30)


def test_auth(shared_server: RunningServer) -> None:
    body = {"interactions": [_item()]}
    assert httpx.post(shared_server.url + "/v1/interactions", json=body).status_code == 401
    wrong = httpx.post(shared_server.url + "/v1/interactions", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "unknown API key" in wrong.json()["error"]
    read_key = httpx.post(shared_server.url + "/v1/interactions", json=body, headers=shared_server.read_headers)
    assert read_key.status_code == 403
    assert httpx.get(shared_server.url + "/v1/interactions", headers=shared_server.write_headers).status_code == 403
    assert httpx.get(shared_server.url + "/v1/interactions").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b'{"interactions": 5}', "interactions"),
        (b'{"items": []}', "interactions"),
        (b'{"interactions": [{"model": "m", "start_time": 1763800000, "output": "\xff\xfe"}]}', "item"),
    ],
)
def test_malformed_bodies(shared_server: RunningServer, body: bytes, field: str) -> None:
    response = _post(shared_server, body)
    assert response.status_code == 400
    payload = response.json()
    named = payload.get("field") or payload["rejected"][0]["field"]
    assert named == field


def test_partial_batch_keeps_good_items(shared_server: RunningServer) -> None:
    marker = f"partial-{time.time_ns()}"
    good = [_item(conversation_id=marker, id=f"{marker}-{i}") for i in range(3)]
    bad = [
        _item(input_tokens="many"),  # wrong type
        {"start_time": time.time()},  # missing model
        _item(model="x" * (L.MAX_ID_CHARS + 1)),  # overlong id-like string
        _item(output="y" * (L.MAX_TEXT_CHARS + 1)),  # overlong text
        _item(start_time=time.time() + 86400),  # far future
        _item(start_time=1_700_000_000_000),  # milliseconds by mistake: far future too
        _item(start_time=12.0),  # before 2000
        _item(latency_ms=-1),
        _item(status="meh"),
        _item(tags={f"k{i}": "v" for i in range(L.MAX_TAGS + 1)}),
        _item(project="someone-else"),
        "not an object",
    ]
    items = good[:1] + bad + good[1:]
    response = _post(shared_server, {"interactions": items})
    assert response.status_code == 207
    result = response.json()
    assert result["accepted"] == 3
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == list(range(1, 1 + len(bad)))
    expect = {
        1: ("input_tokens", "int"),
        2: ("item", "model"),
        3: ("model", str(L.MAX_ID_CHARS)),
        4: ("output", str(L.MAX_TEXT_CHARS)),
        5: ("start_time", "future"),
        6: ("start_time", "future"),
        7: ("start_time", "2000"),
        8: ("latency_ms", ">= 0"),
        9: ("status", "ok"),
        10: ("tags", str(L.MAX_TAGS)),
        11: ("project", "unknown project"),
        12: ("item", "object"),
    }
    for index, (field, words) in expect.items():
        assert rejected[index]["field"] == field, rejected[index]
        assert words in rejected[index]["error"], rejected[index]
    shared_server.wait_stored(1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stored = httpx.get(f"{shared_server.url}/v1/conversations/{marker}", headers=shared_server.read_headers)
        if stored.status_code == 200 and len(stored.json()["interactions"]) == 3:
            break
        time.sleep(0.05)
    assert [x["id"] for x in stored.json()["interactions"]] == [g["id"] for g in good]


def test_all_bad_is_400_and_empty_is_200(shared_server: RunningServer) -> None:
    response = _post(shared_server, {"interactions": [_item(model=5)]})
    assert response.status_code == 400 and response.json()["accepted"] == 0
    empty = _post(shared_server, {"interactions": []})
    assert empty.status_code == 200 and empty.json() == {"accepted": 0, "rejected": []}


def test_too_many_items(shared_server: RunningServer) -> None:
    response = _post(shared_server, b'{"interactions": [' + b",".join([b"{}"] * (L.MAX_BATCH_ITEMS + 1)) + b"]}")
    assert response.status_code == 400
    assert response.json()["field"] == "interactions" and str(L.MAX_BATCH_ITEMS) in response.json()["error"]


def test_oversized_bodies(shared_server: RunningServer) -> None:
    big = b'{"interactions": [], "pad": "' + b"a" * L.MAX_BODY_BYTES + b'"}'
    response = _post(shared_server, big)
    assert response.status_code == 413 and str(L.MAX_BODY_BYTES) in response.json()["error"]
    bomb = gzip.compress(big)
    assert len(bomb) < L.MAX_BODY_BYTES
    response = _post(shared_server, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "decompresses" in response.json()["error"]


def test_bad_compression(shared_server: RunningServer) -> None:
    response = _post(shared_server, b"not gzip at all", **{"Content-Encoding": "gzip"})
    assert response.status_code == 400 and response.json()["field"] == "body"
    response = _post(shared_server, b"{}", **{"Content-Encoding": "br"})
    assert response.status_code == 400 and response.json()["field"] == "Content-Encoding"
    ok = _post(shared_server, zlib.compress(b'{"interactions": []}'), **{"Content-Encoding": "deflate"})
    assert ok.status_code == 200


def test_feedback_validation(shared_server: RunningServer) -> None:
    response = _post(
        shared_server,
        {"feedback": [{"interaction_id": "abc", "thumbs": "up"}, {"interaction_id": "abc"}, {"interaction_id": "a", "rating": 99}]},
        path="/v1/feedback",
    )
    assert response.status_code == 207
    result = response.json()
    assert result["accepted"] == 1
    fields = {r["index"]: r["field"] for r in result["rejected"]}
    assert fields == {1: "feedback", 2: "rating"}


def test_query_parameter_errors(shared_server: RunningServer) -> None:
    get = lambda path: httpx.get(shared_server.url + path, headers=shared_server.read_headers)  # noqa: E731
    for path, field in [
        ("/v1/interactions?limit=0", "limit"),
        ("/v1/interactions?limit=5000", "limit"),
        ("/v1/interactions?start=yesterday", "start"),
        ("/v1/interactions?cursor=garbage", "cursor"),
        ("/v1/metrics?bucket=week", "bucket"),
        ("/v1/metrics?group_by=colour", "group_by"),
        ("/v1/metrics?metrics=latency_p42", "metrics"),
        ("/v1/metrics?bucket=minute&since=30d", "bucket"),
        ("/v1/metrics?start=2026-01-02&end=2026-01-01", "end"),
    ]:
        response = get(path)
        assert response.status_code == 400, path
        assert response.json()["field"] == field, (path, response.json())
    assert get("/v1/interactions/nope").status_code == 404
    assert get("/v1/conversations/nope").status_code == 404
