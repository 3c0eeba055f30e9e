"""Delivery with an injected transport and clock: batching, gzip, retries, drops, and the counter invariant."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from heron.agent.runner import Agent
from heron.agent.sampler import Sampler
from heron.agent.sender import Sender
from heron.agent.settings import AgentSettings
from heron.schema.records import ResourceSample
from heron.sdk.transport import MockTransport, Request, Response


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


def _samples(n: int, start: int = 0) -> list[ResourceSample]:
    return [ResourceSample(time=1.76e9 + i, host="h", metric="cpu_percent", value=float(i % 100)) for i in range(start, start + n)]


def _body(request: Request) -> dict[str, Any]:
    assert request.headers["Content-Encoding"] == "gzip"
    return json.loads(gzip.decompress(request.body))  # type: ignore[no-any-return]


def _invariant(sender: Sender) -> None:
    c = sender.counters()
    assert c["sampled"] == c["sent"] + c["rejected"] + c["dropped_buffer_full"] + c["dropped_send_failed"] + c["queued"], c


def _sender(handler: Callable[[Request], Response], clock: Clock, **options: Any) -> tuple[Sender, MockTransport]:
    transport = MockTransport(handler)
    options.setdefault("seed", 1)
    return Sender(transport, api_key="hn_w_k", clock=clock, sleep=clock.sleep, **options), transport


def _ok(request: Request) -> Response:
    return Response(200, {}, json.dumps({"accepted": len(_body(request)["samples"]), "rejected": []}).encode())


def test_one_gzipped_request_per_flush_with_the_key() -> None:
    clock = Clock()
    sender, transport = _sender(_ok, clock)
    sender.add(_samples(7))
    sender.flush()
    assert len(transport.requests) == 1
    request = transport.requests[0]
    assert request.method == "POST" and request.path == "/v1/resources"
    assert request.headers["Authorization"] == "Bearer hn_w_k"
    samples = _body(request)["samples"]
    assert [s["value"] for s in samples] == [float(i) for i in range(7)]
    assert set(samples[0]) == {"time", "host", "metric", "value"}  # None fields are left out
    assert sender.counters() == {**sender.counters(), "sampled": 7, "sent": 7, "batches": 1, "queued": 0}
    _invariant(sender)


def test_backlog_goes_in_batches_of_max_batch() -> None:
    clock = Clock()
    sender, transport = _sender(_ok, clock, max_batch=4)
    sender.add(_samples(10))
    sender.flush()
    assert [len(_body(r)["samples"]) for r in transport.requests] == [4, 4, 2]
    _invariant(sender)


def test_a_dead_server_costs_retries_then_drops_never_raises() -> None:
    clock = Clock()

    def refused(request: Request) -> Response:
        raise ConnectionRefusedError(111, "Connection refused")

    sender, transport = _sender(refused, clock, max_retries=2, backoff_base=1.0, backoff_max=4.0)
    sender.add(_samples(5))
    sender.flush()
    assert len(transport.requests) == 1 and sender.counters()["queued"] == 5
    sender.flush()  # still in backoff: no request
    assert len(transport.requests) == 1
    for _ in range(20):
        clock.now += 5.0
        sender.flush()
    c = sender.counters()
    assert c["dropped_send_failed"] == 5 and c["retries"] == 2 and c["sent"] == 0
    assert "ConnectionRefusedError" in (sender.last_error or "")
    _invariant(sender)


def test_the_buffer_is_bounded_and_drops_the_oldest() -> None:
    clock = Clock()
    answers = iter([Response(503, {"retry-after": "1"}), Response(503, {"retry-after": "1"})])

    def flaky(request: Request) -> Response:
        return next(answers, None) or _ok(request)

    sender, transport = _sender(flaky, clock, max_buffer=8, max_retries=10)
    for k in range(4):
        sender.add(_samples(5, start=5 * k))
        sender.flush()
        clock.now += 0.5
    assert sender.counters()["dropped_buffer_full"] > 0
    clock.now += 2
    sender.flush()
    delivered = [s["value"] for r in transport.requests[2:] for s in _body(r)["samples"]]
    assert delivered == [float(v) for v in range(12, 20)]  # the newest 8 survive
    assert sender.counters()["queued"] == 0
    _invariant(sender)


def test_retry_after_is_honoured() -> None:
    clock = Clock()
    answers = iter([Response(429, {"retry-after": "3"})])
    sender, transport = _sender(lambda r: next(answers, None) or _ok(r), clock)
    sender.add(_samples(2))
    sender.flush()
    clock.now += 2.9
    sender.flush()
    assert len(transport.requests) == 1
    clock.now += 0.2
    sender.flush()
    assert len(transport.requests) == 2 and sender.counters()["sent"] == 2


@pytest.mark.parametrize("status", [401, 403, 404, 413])
def test_a_refusal_drops_the_batch_without_retrying(status: int) -> None:
    clock = Clock()
    sender, transport = _sender(lambda r: Response(status, {}, b'{"error": "no"}'), clock)
    sender.add(_samples(3))
    sender.flush()
    sender.add(_samples(2))
    sender.flush()
    assert len(transport.requests) == 2
    assert sender.counters()["dropped_send_failed"] == 5 and sender.counters()["retries"] == 0
    _invariant(sender)


def test_rejected_samples_are_counted_from_207_and_400() -> None:
    clock = Clock()
    answers = iter(
        [
            Response(207, {}, b'{"accepted": 2, "rejected": [{"index": 1, "field": "value", "error": "value: out of range"}]}'),
            Response(400, {}, b'{"accepted": 0, "rejected": [{"index": 0, "field": "time", "error": "time: x"}]}'),
        ]
    )
    sender, _ = _sender(lambda r: next(answers), clock)
    sender.add(_samples(3))
    sender.flush()
    sender.add(_samples(1))
    sender.flush()
    c = sender.counters()
    assert (c["sent"], c["rejected"], c["batches"]) == (2, 2, 1)
    _invariant(sender)


def test_shutdown_tries_until_the_deadline_then_drops_what_is_left() -> None:
    clock = Clock()

    def refused(request: Request) -> Response:
        raise OSError("down")

    sender, transport = _sender(refused, clock, backoff_base=0.5, backoff_max=0.5, max_retries=100)
    sender.add(_samples(4))
    sender.flush(deadline=clock.now + 3.0)
    assert 3 <= len(transport.requests) <= 12
    assert sender.counters()["dropped_send_failed"] == 4 and sender.counters()["queued"] == 0
    _invariant(sender)


def test_agent_loop_counts_ticks_and_survives_a_broken_probe() -> None:
    settings = AgentSettings.resolve(env={}, endpoint="http://127.0.0.1:9", api_key="k", interval=0.05, host="h", gpu=False)
    transport = MockTransport(_ok)
    sampler = Sampler(host="h", gpu=False)
    calls = {"n": 0}
    real = sampler.sample

    def sometimes_broken() -> list[ResourceSample]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("probe bug")
        return real()

    sampler.sample = sometimes_broken  # type: ignore[method-assign]
    lines: list[str] = []
    agent = Agent(settings, sampler=sampler, transport=transport, announce=lines.append)
    counters = agent.run(count=4)
    assert counters["ticks"] == 4 and counters["sample_errors"] == 1
    assert counters["sent"] == counters["sampled"] > 0 and counters["queued"] == 0
    assert len(transport.requests) == 3  # one request per interval that had samples
    assert transport.closed
    assert lines[0] == "heron agent: sampling host='h' every 0.05s to http://127.0.0.1:9/v1/resources"
    assert lines[-1] == "heron agent: GPU metrics off: turned off (--no-gpu / HERON_AGENT_GPU=false)"


def test_in_process_start_runs_in_a_daemon_thread_and_stops() -> None:
    from heron.agent import start

    agent = start(endpoint="http://127.0.0.1:9", api_key="k", interval=0.05, host="h", gpu=False, shutdown_timeout=0.2)
    try:
        assert agent._thread is not None and agent._thread.daemon and agent._thread.is_alive()
        time.sleep(0.3)
    finally:
        counters = agent.stop()
    assert not agent._thread.is_alive()
    assert counters["sampled"] > 0 and counters["sent"] == 0  # nothing listens on port 9 ("discard"): dropped and counted
    assert counters["sampled"] == counters["dropped_send_failed"] + counters["dropped_buffer_full"]
