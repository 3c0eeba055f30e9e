"""JSON responses and the mapping from Heron's errors to HTTP status codes."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

from heron.errors import (
    AuthError,
    BusyError,
    HeronError,
    InsufficientStorageError,
    OverloadedError,
    PayloadError,
    ValidationError,
)
from heron.server.ingest.body import TooLarge, TooSlow

_encode = msgspec.json.Encoder().encode


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(content), status_code=status, media_type="application/json", headers=headers)


def error_response(exc: HeronError) -> Response:
    """One place decides status codes: 400 bad input, 401/403 auth, 408 slow body, 413 size, 429/503 load, 507 disk full."""
    if isinstance(exc, (TooLarge, TooSlow)):  # the rest of the body is not read: close the connection
        return json_response({"error": str(exc), "field": exc.field}, 413 if isinstance(exc, TooLarge) else 408, {"Connection": "close"})
    if isinstance(exc, (PayloadError, ValidationError)):
        return json_response({"error": str(exc), "field": exc.field}, 400)
    if isinstance(exc, AuthError):
        status = 403 if "needs a" in str(exc) else 401
        return json_response({"error": str(exc)}, status, {"WWW-Authenticate": "Bearer"} if status == 401 else None)
    if isinstance(exc, OverloadedError):
        status = 429 if isinstance(exc, BusyError) else 507 if isinstance(exc, InsufficientStorageError) else 503
        return json_response({"error": str(exc)}, status, {"Retry-After": f"{max(1, round(exc.retry_after))}"})
    return json_response({"error": str(exc)}, 500)
