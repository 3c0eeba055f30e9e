"""Hostile request bodies against a real server (issue 12, F5–F7 and strict gzip): each gets a 4xx
naming the limit, never a 500, and none of them can take the ingest slots from legitimate clients."""

from __future__ import annotations

import gzip
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from heron.schema import limits as L
from heron.server.ingest.body import SMALL_BODY_BYTES
from tests.conftest import RunningServer, start_server

BODY_TIMEOUT = 3.0
"""HERON_BODY_TIMEOUT of the slow-body server: short, so the test waits seconds, not half a minute."""


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _item() -> dict[str, object]:
    return {"model": "gpt-4o", "start_time": time.time() - 5, "latency_ms": 100.0}


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def _otlp_json_with_nested_array(depth: int) -> bytes:
    value = '{"arrayValue": {"values": [' * depth + '{"stringValue": "x"}' + "]}}" * depth  # text: json.dumps would recurse
    now = time.time_ns()
    span = {
        "traceId": "01" * 16, "spanId": "02" * 8, "name": "chat", "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000),
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}, {"key": "deep", "value": "VALUE"}],
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).replace('"VALUE"', value).encode()


# -- F5: deep JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/interactions", '{"interactions": ' + _deep(1000) + "}"),
        ("POST", "/v1/interactions", '{"interactions": [{"model": "m", "start_time": 1, "x": ' + _deep(1000) + "}]}"),
        ("POST", "/v1/feedback", '{"feedback": ' + _deep(1000) + "}"),
        ("POST", "/v1/resources", '{"samples": ' + _deep(1000) + "}"),
        ("POST", "/v1/prices", '{"model": "m", "input": 1, "output": 2, "x": ' + _deep(1000) + "}"),
        ("POST", "/v1/topics/merge", '{"ids": ' + _deep(1000) + "}"),
        ("PUT", "/v1/mapping", '{"mapping": {"x": ' + _deep(1000) + "}}"),
    ],
)
def test_json_nested_1000_deep_is_a_400_naming_the_limit(shared_server: RunningServer, method: str, path: str, body: str) -> None:
    assert len(body) < 2100
    response = httpx.request(method, shared_server.url + path, content=body, headers=shared_server.write_headers, timeout=30)
    assert response.status_code == 400, response.text
    error = response.json().get("error") or response.json()["rejected"][0]["error"]
    if path != "/v1/topics/merge":  # its strict schema refuses the first nested array before any recursion
        assert f"at most {L.MAX_NESTING} levels" in error, error


def test_otlp_json_array_value_nested_400_deep_is_an_otlp_400(shared_server: RunningServer) -> None:
    headers = {**shared_server.write_headers, "Content-Type": "application/json"}
    response = httpx.post(shared_server.url + "/v1/traces", content=_otlp_json_with_nested_array(400), headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 400 and str(L.MAX_NESTING) in response.json()["message"]


def test_otlp_json_nesting_is_capped_at_the_documented_limit(shared_server: RunningServer) -> None:
    headers = {**shared_server.write_headers, "Content-Type": "application/json"}
    url = shared_server.url + "/v1/traces"
    assert httpx.post(url, content=_otlp_json_with_nested_array(L.MAX_NESTING), headers=headers, timeout=30).status_code == 200
    deeper = httpx.post(url, content=_otlp_json_with_nested_array(L.MAX_NESTING + 1), headers=headers, timeout=30)
    assert deeper.status_code == 400 and "attributes[1]" in deeper.json()["message"]


def test_otlp_protobuf_nested_deeper_than_its_decoder_allows_is_a_400(shared_server: RunningServer) -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    value = span.attributes.add().value
    for _ in range(200):
        value = value.array_value.values.add()
    value.string_value = "x"
    headers = {**shared_server.write_headers, "Content-Type": "application/x-protobuf"}
    response = httpx.post(shared_server.url + "/v1/traces", content=request.SerializeToString(), headers=headers, timeout=30)
    assert response.status_code == 400


# -- strict gzip -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/interactions", "/v1/traces"])
def test_gzip_with_trailing_garbage_is_a_400(shared_server: RunningServer, path: str) -> None:
    raw = json.dumps({"interactions": [_item()]}).encode() if path == "/v1/interactions" else _otlp_json_with_nested_array(1)
    headers = {**shared_server.write_headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = httpx.post(shared_server.url + path, content=gzip.compress(raw) + b"garbage", headers=headers, timeout=30)
    assert response.status_code == 400
    assert "trailing data" in response.text
    two_members = gzip.compress(raw[:10]) + gzip.compress(raw[10:])  # RFC 1952: a gzip file may hold several members
    assert httpx.post(shared_server.url + path, content=two_members, headers=headers, timeout=30).status_code == 200


# -- F7: bodies of every endpoint are bounded ----------------------------------------------------------


def _send_until_answered(server: RunningServer, method: str, path: str, declared: int | None, total: int) -> tuple[bytes, int]:
    """Send a body of ``total`` bytes (declared or chunked) until the server answers; (answer, bytes sent)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.write_key}\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {declared}\r\n\r\n" if declared is not None else "Transfer-Encoding: chunked\r\n\r\n"
    chunk = b"[" * (1 << 20)
    piece = chunk if declared is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk)
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode())
        try:
            while sent < total and not select.select([sock], [], [], 0.05)[0]:
                sock.sendall(piece)
                sent += len(chunk)
            while data := sock.recv(65536):  # the answer closes the connection
                answer += data
        except (BrokenPipeError, ConnectionResetError):
            pass
    return answer, sent


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/prices"), ("POST", "/v1/topics/merge"), ("PUT", "/v1/mapping")])
def test_a_300_mib_body_is_a_413_without_being_read(shared_server: RunningServer, method: str, path: str) -> None:
    before = _rss_kb(shared_server.proc.pid)
    answer, sent = _send_until_answered(shared_server, method, path, 300 << 20, 300 << 20)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert str(SMALL_BODY_BYTES).encode() in answer
    assert sent < 300 << 20
    answer, sent = _send_until_answered(shared_server, method, path, None, 300 << 20)  # no Content-Length to trust
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 300 << 20
    assert _rss_kb(shared_server.proc.pid) - before < 100_000


def test_ingest_bodies_over_the_limit_are_a_413_without_being_read(shared_server: RunningServer) -> None:
    answer, sent = _send_until_answered(shared_server, "POST", "/v1/interactions", None, 300 << 20)
    assert answer.startswith(b"HTTP/1.1 413") and str(L.MAX_BODY_BYTES).encode() in answer, answer[:200]
    assert sent < 100 << 20


# -- F6: slow bodies --------------------------------------------------------------------------------


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data", env={"HERON_BODY_TIMEOUT": str(BODY_TIMEOUT), "HERON_FSYNC": "0"})
    yield running
    running.stop()


class SlowSenders:
    """``count`` connections sending a valid-key ingest body at one byte per second."""

    def __init__(self, server: RunningServer, count: int, size: int = 1000) -> None:
        head = (f"POST /v1/interactions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.write_key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n").encode()  # fmt: skip
        self.socks = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(head)
        self.answers: dict[int, bytes] = {}
        self.answered_at: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _drip(self) -> None:
        while not self._stop.is_set():
            for n, sock in enumerate(self.socks):
                if n in self.answers:
                    continue
                try:
                    if not select.select([sock], [], [], 0)[0]:  # read first: a byte sent after the answer resets it
                        sock.sendall(b"{")
                        continue
                    data = sock.recv(4096)
                except OSError as exc:
                    data = f"({exc})".encode()
                self.answers[n], self.answered_at[n] = data, time.monotonic()
            self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()


def test_slow_bodies_take_no_ingest_slot_and_get_408(slow_server: RunningServer) -> None:
    senders = SlowSenders(slow_server, 70)
    try:
        time.sleep(1.0)  # every slow connection has sent its head and started its body

        def legit(i: int) -> int:
            body = {"interactions": [{**_item(), "id": f"legit-{i}"}]}
            return httpx.post(slow_server.url + "/v1/interactions", json=body, headers=slow_server.write_headers, timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(legit, range(72)))
        assert codes == [200] * 72
        deadline = time.monotonic() + BODY_TIMEOUT + 15
        while len(senders.answers) < 70 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(senders.answers) == 70
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in senders.answers.values()), set(senders.answers.values())
        assert b"arrived too slowly" in next(iter(senders.answers.values()))
        assert max(senders.answered_at.values()) - senders.started < BODY_TIMEOUT + 10
    finally:
        senders.close()
    assert slow_server.wait_stored(72) == 72


def test_a_body_that_keeps_the_minimum_rate_is_read(slow_server: RunningServer) -> None:
    """A body may take longer than HERON_BODY_TIMEOUT while it keeps HERON_BODY_MIN_RATE (16 KiB/s)."""
    body = json.dumps({"interactions": [{**_item(), "output": "x" * 200_000}]}).encode()

    def paced() -> Iterator[bytes]:
        for k in range(0, len(body), 8192):
            yield body[k : k + 8192]
            time.sleep(0.2)  # 40 KiB/s: ~5 s in all

    started = time.monotonic()
    response = httpx.post(slow_server.url + "/v1/interactions", content=paced(), headers=slow_server.write_headers, timeout=30)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started > BODY_TIMEOUT
