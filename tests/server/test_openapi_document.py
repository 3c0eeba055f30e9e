"""The OpenAPI document says what the server reads, requires and refuses (issue 12, item 6); and what writing it found.

Each read endpoint names the parameters it takes when refusing an unknown one: the
document must list exactly those. Each operation's documented keys are the ones it
requires. The examples of the issue (``start_time: 0``, ``model: ""``) are invalid in
the document and refused by the server.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from heron.schema import limits as L
from heron.server.api.openapi import OPERATIONS, openapi_document
from heron.server.app import create_app
from heron.server.auth import KeyRing
from heron.server.settings import Settings

KEYS = {"read": "hn_r_openapi_doc_read_0123456789", "write": "hn_w_openapi_doc_write_0123456789"}


def _headers(kind: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[kind]}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("openapi-doc")
    keys = KeyRing(data / "keys.json")
    for kind, key in KEYS.items():
        keys.add("test", kind, key)  # type: ignore[arg-type]
    with TestClient(create_app(Settings(data_dir=data, fsync=False, monitor_interval=0, enrich=False, min_free_mb=1))) as running:
        yield running


def _concrete(path: str) -> str:
    for name, value in (("{interaction_id}", "i1"), ("{conversation_id}", "c1"), ("{topic_id}", "1"), ("{candidate_id}", "1")):
        path = path.replace(name, value)
    return path


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.keys], ids=lambda op: f"{op.method.upper()} {op.path}")
def test_the_documented_keys_are_the_ones_required(client: TestClient, op: Any) -> None:
    """No key: 401; a key of a kind the document does not list: 403; its own kind in X-Heron-Api-Key: past the check."""
    document = openapi_document()
    security = document["paths"][op.path][op.method]["security"]
    schemes = document["components"]["securitySchemes"]
    assert {schemes[name]["type"] for alternative in security for name in alternative} == {"http", "apiKey"}
    assert client.request(op.method.upper(), _concrete(op.path)).status_code == 401
    for kind in set(KEYS) - set(op.keys):
        assert client.request(op.method.upper(), _concrete(op.path), headers=_headers(kind)).status_code == 403
    own = client.request(op.method.upper(), _concrete(op.path), headers={"X-Heron-Api-Key": KEYS[op.keys[0]]})
    assert own.status_code not in (401, 403), own.text


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.query is not None], ids=lambda op: f"{op.method.upper()} {op.path}")
def test_the_documented_parameters_are_the_ones_the_server_reads(client: TestClient, op: Any) -> None:
    """The server's own list (in its 400 for an unknown parameter) against the document's, less what it always refuses."""
    response = client.request(op.method.upper(), _concrete(op.path) + "?zz_unknown=1", headers=_headers(op.keys[0]))
    assert response.status_code == 400 and response.json()["field"] == "zz_unknown", response.text
    listed = response.json()["error"].rpartition("valid: ")[2]
    served = set() if listed == "none" else set(listed.split(", "))
    document = openapi_document()["paths"][op.path][op.method]
    documented = {p["name"] for p in document.get("parameters", []) if p["in"] == "query"}
    assert documented == served - set(op.omit)


def test_the_issues_examples_are_invalid_in_the_document_and_refused(client: TestClient) -> None:
    interaction = openapi_document()["components"]["schemas"]["Interaction"]["properties"]
    number = next(choice for choice in interaction["start_time"]["anyOf"] if choice["type"] == "number")
    assert number["minimum"] == L.MIN_TIMESTAMP and interaction["model"]["minLength"] == 1
    items = [{"model": "m", "start_time": 0}, {"model": "", "start_time": time.time()}, {"model": "m", "start_time": L.MIN_TIMESTAMP}]
    response = client.post("/v1/interactions", json={"interactions": items}, headers=_headers("write"))
    assert response.status_code == 207
    assert [(r["index"], r["field"]) for r in response.json()["rejected"]] == [(0, "start_time"), (1, "model")]


def test_time_bounds_move_with_the_clock() -> None:
    now = 2_000_000_000.0
    interaction = openapi_document(now)["components"]["schemas"]["Interaction"]["properties"]
    number = next(choice for choice in interaction["start_time"]["anyOf"] if choice["type"] == "number")
    assert number["maximum"] == math.floor(now + L.MAX_FUTURE_SECONDS)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/interactions?limit=%C2%B2", "limit"),  # "²".isdigit() is true, int("²") raised: 500
        ("/v1/conversations?limit=%C2%B2", "limit"),
        ("/v1/tags?keys=%C2%B2", "keys"),
        ("/v1/resources?bucket=all", "bucket"),  # accepted, then the store raised ValueError: 500
        ("/v1/drift?embeddings=maybe", "embeddings"),  # with enrichment off it was never read: 200
    ],
)
def test_values_that_were_not_refused_are_400s_naming_the_parameter(client: TestClient, url: str, field: str) -> None:
    response = client.get(url, headers=_headers("read"))
    assert response.status_code == 400 and response.json()["field"] == field, response.text
