"""Helpers shared by the SDK tests (``tests`` is a package)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec

from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction
from heron.sdk.transport import MockTransport, Request, Response


def decode(request: Request) -> dict[str, Any]:
    """The JSON body of a request the SDK sent (always gzip)."""
    assert request.headers["Content-Encoding"] == "gzip"
    return json.loads(gzip.decompress(request.body))  # type: ignore[no-any-return]


class Recorder(MockTransport):
    """A MockTransport that can also tell what was sent, decoded, per endpoint."""

    def interactions(self) -> list[dict[str, Any]]:
        return [item for r in self.requests if r.path == "/v1/interactions" for item in decode(r)["interactions"]]

    def feedback(self) -> list[dict[str, Any]]:
        return [item for r in self.requests if r.path == "/v1/feedback" for item in decode(r)["feedback"]]


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def ok(request: Request) -> Response:
    return Response(200, {}, b"{}")


def validate(item: dict[str, Any]) -> Interaction:
    """What the server will do with an item: decode with the schema's limits, then normalize."""
    record = msgspec.convert(item, Interaction)
    return normalize_interaction(record, project="test", now=time.time())
