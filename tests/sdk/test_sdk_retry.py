"""``retry_of`` from ``heron.log``, ``heron.context``, ``observe`` and ``wrap(openai)``, to a real server and back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import openai

import heron
from heron.demo.fake_llm import FakeLLMServer
from heron.schema import limits as L
from tests.conftest import RunningServer
from tests.sdk.sdk_helpers import validate

Recorded = Callable[[], list[dict[str, Any]]]


def test_explicit_retry_of_wins_over_the_context_and_nested_blocks_inherit(recorded: Recorded) -> None:
    with heron.context(retry_of="ctx", user_id="u"):
        with heron.context(conversation_id="c"):
            inherited = heron.log(model="m")
        explicit = heron.log(model="m", retry_of="own")
    outside = heron.log(model="m")
    by_id = {item["id"]: item for item in recorded()}
    assert by_id[inherited]["retry_of"] == "ctx" and by_id[inherited]["conversation_id"] == "c"
    assert by_id[explicit]["retry_of"] == "own"
    assert "retry_of" not in by_id[outside]
    for item in by_id.values():
        validate(item)


def test_an_overlong_retry_of_is_cut_to_the_limit_not_lost(recorded: Recorded) -> None:
    heron.log(model="m", retry_of="r" * (L.MAX_ID_CHARS + 10))
    (item,) = recorded()
    assert len(item["retry_of"]) == L.MAX_ID_CHARS
    validate(item)
    assert heron.counters()["truncated"] == 1


def _stored(server: RunningServer, ident: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = httpx.get(f"{server.url}/v1/interactions/{ident}", headers=server.read_headers)
        if response.status_code == 200:
            return response.json()  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"interaction {ident} never stored")


def test_retry_links_round_trip_through_the_server(server: RunningServer, fake_llm: FakeLLMServer) -> None:
    heron.init(endpoint=server.url, api_key=server.write_key, flush_interval=0.05)
    messages = [{"role": "user", "content": "Explain DNS caching."}]
    client = heron.wrap(openai.OpenAI(base_url=fake_llm.base_url, api_key="fake", max_retries=0))

    @heron.observe(model="local-model")
    def answer(prompt: str) -> str:
        return "observed answer"

    first = heron.log(model="gpt-4o", input=messages, output="a bad answer")
    logged = heron.log(model="gpt-4o", input=messages, output="a better one", retry_of=first)
    with heron.context(retry_of=first):
        answer("Explain DNS caching.")
        observed = heron.last_interaction_id()
        client.chat.completions.create(model="gpt-4o", messages=messages)
        wrapped = heron.last_interaction_id()
    client.chat.completions.create(model="gpt-4o", messages=messages, heron={"retry_of": wrapped})
    per_call = heron.last_interaction_id()
    assert observed and wrapped and per_call and len({first, logged, observed, wrapped, per_call}) == 5
    client.close()
    assert heron.flush(10)

    assert _stored(server, first)["retry_of"] is None
    for ident in (logged, observed, wrapped):
        assert _stored(server, ident)["retry_of"] == first
    assert _stored(server, per_call)["retry_of"] == wrapped
    listed = httpx.get(f"{server.url}/v1/interactions", params={"retry_of": first}, headers=server.read_headers)
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()["items"]} == {logged, observed, wrapped}


def test_an_overlong_retry_of_sent_as_json_is_a_400_naming_the_field(server: RunningServer) -> None:
    item = {"model": "gpt-4o", "start_time": time.time() - 5, "retry_of": "x" * (L.MAX_ID_CHARS + 1)}
    response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": [item]}, headers=server.write_headers)
    assert response.status_code == 400
    (rejected,) = response.json()["rejected"]
    assert rejected["field"] == "retry_of" and str(L.MAX_ID_CHARS) in rejected["error"]
    itself = {"id": "same", "model": "gpt-4o", "start_time": time.time() - 5, "retry_of": "same"}
    response = httpx.post(f"{server.url}/v1/interactions", json={"interactions": [itself]}, headers=server.write_headers)
    assert response.status_code == 400 and response.json()["rejected"][0]["field"] == "retry_of"
