"""The worker: batching by count, bytes and age; the wire format; retries, drops and their counters."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest

import heron
from heron.schema import limits as L
from heron.sdk.transport import MockTransport, Request, Response
from heron.sdk.worker import retry_after
from tests.sdk.conftest import Receiver
from tests.sdk.sdk_helpers import Recorder, decode, validate, wait_until


def test_the_body_is_gzipped_json_that_the_schema_accepts(receiver: Receiver) -> None:
    heron.init(endpoint=receiver.url + "/", api_key="secret", flush_interval=60.0)
    ids = [heron.log(model="gpt-4o", input="hi", output=f"answer {i}", latency_ms=5.0) for i in range(3)]
    heron.feedback(ids[0], rating=9.5)
    assert heron.flush(5.0)
    interactions, feedback = receiver.requests
    assert interactions.path == "/v1/interactions" and feedback.path == "/v1/feedback"
    headers = {k.lower(): v for k, v in interactions.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["content-encoding"] == "gzip"
    assert headers["authorization"] == "Bearer secret"
    assert [i["id"] for i in interactions.body["interactions"]] == ids
    for item in interactions.body["interactions"]:
        assert isinstance(item["start_time"], float) and isinstance(item["end_time"], float)
        validate(item)
    assert feedback.body == {"feedback": [{**feedback.body["feedback"][0], "interaction_id": ids[0], "rating": 9.5}]}


def test_the_connection_is_kept_alive_and_reopened_when_the_server_dropped_it(receiver: Receiver) -> None:
    heron.init(endpoint=receiver.url, flush_interval=60.0)
    for _ in range(2):
        heron.log(model="m")
        assert heron.flush(5.0)
    assert receiver.requests[0].client_port == receiver.requests[1].client_port
    receiver.drop_idle_connections = True
    for _ in range(3):
        heron.log(model="m")
        assert heron.flush(5.0)
        time.sleep(0.05)  # let the server close the idle connection
    assert len(receiver.requests) == 5 and heron.counters()["retries"] == 0


def test_a_batch_closes_on_count(recorder: Recorder) -> None:
    heron.init(transport=recorder, max_batch_items=5, flush_interval=60.0)
    for i in range(12):
        heron.log(model="m", output=str(i))
    assert wait_until(lambda: len(recorder.requests) >= 2)
    time.sleep(0.1)
    assert [len(decode(r)["interactions"]) for r in recorder.requests] == [5, 5]  # the rest waits for age
    assert heron.flush(5.0)
    assert [len(decode(r)["interactions"]) for r in recorder.requests] == [5, 5, 2]
    assert [i["output"] for i in recorder.interactions()] == [str(i) for i in range(12)]


def test_a_batch_closes_on_bytes(recorder: Recorder) -> None:
    limit = 64 * 1024
    heron.init(transport=recorder, max_batch_bytes=limit, flush_interval=60.0)
    for i in range(10):
        heron.log(model="m", output=str(i) * 20_000)
    assert heron.flush(5.0)
    sizes = [len(json.dumps(decode(r), separators=(",", ":")).encode()) for r in recorder.requests]
    assert len(sizes) >= 4 and all(size <= limit for size in sizes)
    assert len(recorder.interactions()) == 10


def test_one_record_larger_than_a_request_is_cut_to_fit(recorder: Recorder) -> None:
    heron.init(transport=recorder, max_batch_bytes=64 * 1024, flush_interval=60.0)
    heron.log(model="m", input="q" * 100_000, output="a" * 100_000)
    assert heron.flush(5.0)
    (item,) = recorder.interactions()
    assert len(json.dumps(item)) < 64 * 1024
    assert item["output"].startswith("aaa") and heron.counters()["truncated"] >= 2
    validate(item)


def test_a_batch_closes_on_age_without_flush(recorder: Recorder) -> None:
    heron.init(transport=recorder, flush_interval=0.2)
    logged = time.monotonic()
    heron.log(model="m")
    time.sleep(0.05)
    assert recorder.requests == []
    assert wait_until(lambda: len(recorder.requests) == 1, timeout=3.0)
    assert 0.1 < time.monotonic() - logged < 3.0


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    entered, release = threading.Event(), threading.Event()

    def stuck(request: Request) -> Response:
        entered.set()
        release.wait(10)
        return Response(200)

    heron.init(transport=MockTransport(stuck), max_queue=10, max_batch_items=1, flush_interval=60.0)
    heron.log(model="first")
    assert entered.wait(5)  # the worker is now blocked sending "first"
    started = time.perf_counter()
    for _ in range(100):
        heron.log(model="m")
    assert time.perf_counter() - started < 0.5
    stats = heron.counters()
    assert stats["dropped_queue_full"] == 90 and stats["queued"] == 10
    release.set()
    assert heron.flush(5.0)
    assert heron.counters()["sent"] == 11 and heron.counters()["enqueued"] == 11


@pytest.mark.parametrize("status", [503, 507])
def test_busy_or_full_is_retried_after_the_retry_after_delay(receiver: Receiver, status: int) -> None:
    receiver.script.append((status, {"Retry-After": "0.3"}, b"busy"))
    # A backoff of 5-10 s would show if Retry-After were ignored.
    heron.init(endpoint=receiver.url, flush_interval=60.0, backoff_base=10.0, backoff_max=30.0)
    heron.log(model="m")
    assert heron.flush(10.0)
    first, second = receiver.requests
    assert 0.25 < second.at - first.at < 3.0
    assert first.body == second.body  # same ids: the retry is idempotent
    stats = heron.counters()
    assert stats["retries"] == 1 and stats["sent"] == 1 and stats["dropped_send_failed"] == 0


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_client_errors_are_not_retried(receiver: Receiver, status: int) -> None:
    receiver.script.append((status, {}, b'{"error": "no"}'))
    heron.init(endpoint=receiver.url, flush_interval=60.0, backoff_base=0.01)
    heron.log(model="a")
    heron.log(model="b")
    assert heron.flush(5.0) is False
    assert len(receiver.requests) == 1
    stats = heron.counters()
    assert stats["dropped_send_failed"] == 2 and stats["retries"] == 0 and stats["sent"] == 0


def test_207_counts_rejected_items_and_does_not_retry(receiver: Receiver) -> None:
    answer = {"accepted": 2, "rejected": [{"index": 1, "field": "model", "error": "must not be empty"}]}
    receiver.script.append((207, {}, json.dumps(answer).encode()))
    heron.init(endpoint=receiver.url, flush_interval=60.0)
    for model in ("a", "b", "c"):
        heron.log(model=model)
    assert heron.flush(5.0) is False
    assert len(receiver.requests) == 1
    stats = heron.counters()
    assert stats["rejected"] == 1 and stats["sent"] == 2 and stats["retries"] == 0


def test_retries_are_bounded_then_the_batch_is_dropped() -> None:
    attempts: list[float] = []

    def overloaded(request: Request) -> Response:
        attempts.append(time.monotonic())
        return Response(503)

    heron.init(transport=MockTransport(overloaded), flush_interval=60.0, max_retries=3, backoff_base=0.02)
    heron.log(model="m")
    assert heron.flush(5.0) is False
    assert len(attempts) == 4
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[-1] > gaps[0]  # exponential, even with jitter (each step is at least half its nominal)
    stats = heron.counters()
    assert stats["retries"] == 3 and stats["dropped_send_failed"] == 1


def test_server_down_never_slows_or_breaks_the_application(dead_endpoint: str) -> None:
    heron.init(endpoint=dead_endpoint, flush_interval=0.05, max_retries=1, backoff_base=0.01, timeout=0.5)
    started = time.perf_counter()
    for i in range(1_000):
        heron.log(model="m", input="hi", output=str(i))
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    assert heron.flush(2.0) is False
    assert time.perf_counter() - started < 2.5
    assert wait_until(lambda: heron.counters()["dropped_send_failed"] == 1_000)
    assert heron.counters()["sent"] == 0 and heron.counters()["retries"] >= 1
    assert heron.shutdown(1.0) is True  # nothing left to deliver


def test_a_hanging_server_bounds_flush_and_shutdown(hanging_endpoint: str) -> None:
    heron.init(endpoint=hanging_endpoint, flush_interval=0.05, timeout=0.3, max_retries=5, backoff_base=0.05)
    started = time.perf_counter()
    for _ in range(1_000):
        heron.log(model="m")
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    assert heron.flush(0.5) is False
    assert time.perf_counter() - started < 1.0
    started = time.perf_counter()
    assert heron.shutdown(0.8) is False
    assert time.perf_counter() - started < 1.5
    assert wait_until(lambda: heron.counters()["dropped_send_failed"] == 1_000, timeout=3.0)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({}) is None and retry_after({"retry-after": "soon"}) is None
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 < (retry_after({"retry-after": in_a_minute}) or 0) <= 60


def test_limits_are_the_schema_limits() -> None:
    from heron.sdk.settings import SETTINGS

    assert SETTINGS["max_batch_items"].check(L.MAX_BATCH_ITEMS)
    assert not SETTINGS["max_batch_items"].check(L.MAX_BATCH_ITEMS + 1)
    assert not SETTINGS["max_batch_bytes"].check(L.MAX_BODY_BYTES + 1)
