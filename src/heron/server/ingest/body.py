"""Reading request bodies within the documented limits, compressed or not.

Every endpoint that takes a body reads it through :func:`read_body`: at most
``limit`` bytes (413 past it, before reading more when Content-Length says so),
arriving within ``HERON_BODY_TIMEOUT`` seconds plus one second per
``HERON_BODY_MIN_RATE`` bytes received (408 otherwise, like Apache's
``mod_reqtimeout``), and counted against a budget of bytes being received by all
connections together (429 past it). Ingest takes its concurrency slot only once
the body is in, so slow senders cannot hold the slots.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import anyio
from starlette.requests import ClientDisconnect, Request

from heron.errors import BusyError, PayloadError, ValidationError
from heron.schema.limits import MAX_BODY_BYTES

SMALL_BODY_BYTES = 64 * 1024
"""Largest body of the small JSON endpoints (prices, topic edits, the attribute mapping)."""
BODY_TIMEOUT = 30.0
"""Seconds a body may take to arrive, before the allowance for its size (``HERON_BODY_TIMEOUT``)."""
BODY_MIN_RATE = 16 * 1024
"""Bytes per second a body must keep up past ``BODY_TIMEOUT`` (``HERON_BODY_MIN_RATE``)."""
_GZIP_MAGIC = b"\x1f\x8b"


class TooLarge(ValidationError):
    """The body exceeds its limit (answered with 413)."""


class TooSlow(ValidationError):
    """The body did not arrive in time (answered with 408)."""


@dataclass
class BodyBudget:
    """Bytes of request bodies being received right now, all connections together.

    Bodies are read before an ingest slot is taken; this keeps what they can buffer
    bounded (by default as much as the slots hold: ``max_inflight`` full bodies).
    Only bytes that arrived count, so a slow sender holds only what it sent.
    """

    limit: int
    used: int = 0

    def take(self, size: int) -> None:
        if self.used + size > self.limit:
            raise BusyError(f"too many request bodies being received at once (more than {self.limit} bytes); retry later")
        self.used += size


def _pace(request: Request) -> tuple[float, float, BodyBudget | None]:
    """(timeout, min rate, budget) of the app serving ``request``; the defaults outside one."""
    state = request.app.state if "app" in request.scope else None
    settings = getattr(getattr(state, "services", None), "settings", None)
    budget = getattr(state, "body_budget", None)
    if settings is None:
        return BODY_TIMEOUT, BODY_MIN_RATE, budget
    return settings.body_timeout, settings.body_min_rate, budget


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body: at most ``limit`` bytes, arriving at the minimum rate (see the module docstring)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge("body", f"is {int(declared)} bytes; the limit is {limit} bytes")
    timeout, min_rate, budget = _pace(request)
    chunks: list[bytes] = []
    size = 0
    started = anyio.current_time()
    try:
        with anyio.CancelScope(deadline=started + timeout) as scope:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge("body", f"exceeds the limit of {limit} bytes")
                if budget is not None and chunk:
                    budget.take(len(chunk))
                chunks.append(chunk)
                scope.deadline = started + timeout + size / min_rate
    except ClientDisconnect:
        raise PayloadError("body", "the client disconnected before sending all of it") from None
    finally:
        if budget is not None:
            budget.used -= sum(len(c) for c in chunks)
    if scope.cancelled_caught:
        raise TooSlow(
            "body",
            f"arrived too slowly ({size} bytes in {anyio.current_time() - started:.0f} s): a body must arrive within "
            f"{timeout:g} s plus 1 s per {min_rate:g} bytes",
        )
    return b"".join(chunks)


def decompress(body: bytes, encoding: str | None, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """Undo Content-Encoding gzip/deflate without ever inflating past ``limit`` bytes.

    Strict: a truncated stream, or anything after it but another gzip member, is a 400.
    """
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise PayloadError("Content-Encoding", f"unsupported encoding {encoding!r}; use gzip, deflate or identity")
    wbits = 31 if encoding in ("gzip", "x-gzip") else 15
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(rest, limit - size + 1)
        except zlib.error as exc:
            raise PayloadError("body", f"is not valid {encoding} data: {exc}") from exc
        size += len(data)
        if size > limit:
            raise TooLarge("body", f"decompresses to more than the limit of {limit} bytes")
        if not inflater.eof:
            raise PayloadError("body", f"{encoding} stream is truncated")
        parts.append(data)
        rest = inflater.unused_data
        if not rest:
            return parts[0] if len(parts) == 1 else b"".join(parts)
        if wbits != 31 or not rest.startswith(_GZIP_MAGIC):
            raise PayloadError("body", f"has {len(rest)} bytes of trailing data after the {encoding} stream")


def budget_for(max_inflight: int) -> BodyBudget:
    """The default budget: as many full bodies as there are ingest slots (at least four)."""
    return BodyBudget(max(4, max_inflight) * MAX_BODY_BYTES)

