"""Heron's exceptions, one tree so callers can catch what they mean.

    HeronError
    ├── ConfigError            bad settings or arguments (names the setting)
    ├── ValidationError        a record or request broke a documented limit (names the field)
    │   └── PayloadError       the request as a whole is unreadable (JSON, protobuf, gzip, UTF-8)
    ├── AuthError              missing or wrong API key
    ├── OverloadedError        the server sheds load; retry after ``retry_after`` seconds
    │   ├── BusyError          too many requests in flight right now (429 rather than 503)
    │   └── InsufficientStorageError  the disk is (nearly) full: nothing is accepted until space is freed (507)
    └── StoreError             the storage backend failed
        ├── StoreUnusableError the backend is broken until reopened (DuckDB "invalidated" after a fatal error)
        └── UnknownKeyError    a registry lookup failed; the message lists the valid keys
"""

from __future__ import annotations


class HeronError(Exception):
    """Base of every error Heron raises on purpose."""


class ConfigError(HeronError):
    """A setting or argument is invalid."""


class ValidationError(HeronError):
    """A record broke a documented limit; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # picklable across the decode worker process
        return (type(self), (self.field, self.message))


class PayloadError(ValidationError):
    """The request body cannot be read at all."""


class AuthError(HeronError):
    """The API key is missing, unknown, or lacks the needed scope."""


class OverloadedError(HeronError):
    """The server is shedding load; the client should retry later."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (_overloaded, (type(self), str(self), self.retry_after))


class BusyError(OverloadedError):
    """Too many concurrent requests; unlike a full backlog, this clears in moments."""


class InsufficientStorageError(OverloadedError):
    """The data directory is below its free-space watermark or a write hit ENOSPC; reads keep working."""


class StoreError(HeronError):
    """The storage backend failed."""


class StoreUnusableError(StoreError):
    """The backend refuses every statement until it is reopened."""


class UnknownKeyError(StoreError, KeyError):
    """A registry lookup failed."""

    def __init__(self, kind: str, key: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {key!r}; valid: {', '.join(sorted(valid))}")
        self.kind = kind
        self.key = key
        self.valid = valid

    def __reduce__(self) -> tuple[type, tuple[str, str, list[str]]]:
        return (type(self), (self.kind, self.key, self.valid))

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _overloaded(cls: type[OverloadedError], message: str, retry_after: float) -> OverloadedError:
    return cls(message, retry_after=retry_after)
