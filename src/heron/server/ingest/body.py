"""Reading request bodies within the documented limits, compressed or not."""

from __future__ import annotations

import zlib

from starlette.requests import Request

from heron.errors import PayloadError, ValidationError
from heron.schema.limits import MAX_BODY_BYTES


class TooLarge(ValidationError):
    """The body exceeds MAX_BODY_BYTES (answered with 413)."""


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refusing to buffer more than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge("body", f"is {int(declared)} bytes; the limit is {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge("body", f"exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decompress(body: bytes, encoding: str | None, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """Undo Content-Encoding gzip/deflate without ever inflating past ``limit`` bytes."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise PayloadError("Content-Encoding", f"unsupported encoding {encoding!r}; use gzip, deflate or identity")
    wbits = 31 if encoding in ("gzip", "x-gzip") else 15
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError("body", f"is not valid {encoding} data: {exc}") from exc
    if len(data) > limit:
        raise TooLarge("body", f"decompresses to more than the limit of {limit} bytes")
    if not inflater.eof:
        raise PayloadError("body", f"{encoding} stream is truncated")
    return data
