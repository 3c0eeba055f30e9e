"""The SDK's settings: each declared once, with the environment variable that sets it.

Resolution is argument, then environment, then default, and happens once, in
:func:`heron.init` (or on the first record when ``init`` was never called), so
the hot path never reads the environment. A malformed value raises
:class:`~heron.errors.ConfigError` naming the variable, because a typo in
configuration should fail loudly at start-up rather than silently disable
monitoring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from heron.errors import ConfigError
from heron.schema import limits as L

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE - {''})}")


def _optional_str(text: str) -> str | None:
    return text or None


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One setting: its environment variable, default, parser and documentation."""

    env: str
    default: T
    parse: Callable[[str], T]
    doc: str
    check: Callable[[T], bool] = lambda value: True
    requirement: str = ""


SETTINGS: dict[str, Setting[Any]] = {
    "endpoint": Setting(
        "HERON_ENDPOINT",
        "http://127.0.0.1:8787",
        str,
        "Base URL of the Heron server; the SDK posts to ``{endpoint}/v1/interactions`` and ``/v1/feedback``.",
        lambda v: v.startswith(("http://", "https://")),
        "an http:// or https:// URL",
    ),
    "api_key": Setting(
        "HERON_API_KEY",
        None,
        _optional_str,
        "Sent as ``Authorization: Bearer <key>``; the server derives the project from it.",
    ),
    "enabled": Setting(
        "HERON_ENABLED",
        True,
        _bool,
        "Set to false to turn every SDK call into a no-op (tests, local runs) without code changes.",
    ),
    "sample_rate": Setting(
        "HERON_SAMPLE_RATE",
        1.0,
        float,
        "Fraction of interactions kept (0..1). Feedback is never sampled, so it may name a dropped interaction.",
        lambda v: 0.0 <= v <= 1.0,
        "a number between 0 and 1",
    ),
    "app_version": Setting(
        "HERON_APP_VERSION",
        None,
        _optional_str,
        "Default ``app_version`` for every interaction, so releases can be compared without touching call sites.",
    ),
    "capture_content": Setting(
        "HERON_CAPTURE_CONTENT",
        True,
        _bool,
        "Set to false to send metadata only (no prompts, outputs or error messages) when content is sensitive.",
    ),
    "flush_interval": Setting(
        "HERON_FLUSH_INTERVAL",
        1.0,
        float,
        "Seconds a record may wait in a partly filled batch; bounds how stale the dashboard can be.",
        lambda v: 0.0 < v <= 3600.0,
        "seconds, above 0 and at most 3600",
    ),
    "max_batch_items": Setting(
        "HERON_MAX_BATCH_ITEMS",
        1_000,
        int,
        f"Records per request; the server accepts at most {L.MAX_BATCH_ITEMS}.",
        lambda v: 1 <= v <= L.MAX_BATCH_ITEMS,
        f"an integer from 1 to {L.MAX_BATCH_ITEMS}",
    ),
    "max_batch_bytes": Setting(
        "HERON_MAX_BATCH_BYTES",
        4 * 1024 * 1024,
        int,
        f"Uncompressed bytes per request; the server accepts at most {L.MAX_BODY_BYTES}.",
        lambda v: 64 * 1024 <= v <= L.MAX_BODY_BYTES,
        f"an integer from 65536 to {L.MAX_BODY_BYTES}",
    ),
    "max_queue": Setting(
        "HERON_MAX_QUEUE",
        10_000,
        int,
        "Records held in memory while the server is slow or down; beyond it new records are dropped and counted.",
        lambda v: v >= 1,
        "a positive integer",
    ),
    "timeout": Setting(
        "HERON_TIMEOUT",
        10.0,
        float,
        "Seconds one HTTP request to the server may take (connect plus response).",
        lambda v: v > 0.0,
        "seconds, above 0",
    ),
    "max_retries": Setting(
        "HERON_MAX_RETRIES",
        5,
        int,
        "Retries of one batch after 429, 5xx or a network error, before it is dropped and counted.",
        lambda v: v >= 0,
        "a non-negative integer",
    ),
    "backoff_base": Setting(
        "HERON_BACKOFF_BASE",
        0.5,
        float,
        "First retry delay in seconds; it doubles per attempt, with jitter, unless the server sends Retry-After.",
        lambda v: v >= 0.0,
        "seconds, at least 0",
    ),
    "backoff_max": Setting(
        "HERON_BACKOFF_MAX",
        30.0,
        float,
        "Longest single retry delay in seconds, Retry-After included; also caps one batch's total retry time at 4x.",
        lambda v: v >= 0.0,
        "seconds, at least 0",
    ),
    "shutdown_timeout": Setting(
        "HERON_SHUTDOWN_TIMEOUT",
        5.0,
        float,
        "Seconds the exit hook waits to deliver what is queued; a dead server never holds the process longer.",
        lambda v: v >= 0.0,
        "seconds, at least 0",
    ),
}


def _passes(setting: Setting[Any], value: Any) -> bool:
    try:
        return bool(setting.check(value))
    except TypeError:  # e.g. sample_rate="0.5" passed as an argument
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Resolved SDK configuration; see :data:`SETTINGS` for what each field means."""

    endpoint: str
    api_key: str | None
    enabled: bool
    sample_rate: float
    app_version: str | None
    capture_content: bool
    flush_interval: float
    max_batch_items: int
    max_batch_bytes: int
    max_queue: int
    timeout: float
    max_retries: int
    backoff_base: float
    backoff_max: float
    shutdown_timeout: float

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **arguments: Any) -> Settings:
        """Argument (when not None), then environment, then default; every value checked."""
        values = resolve_values(SETTINGS, env, arguments)
        values["endpoint"] = values["endpoint"].rstrip("/")
        return cls(**values)


def resolve_values(
    settings: Mapping[str, Setting[Any]], env: Mapping[str, str] | None, arguments: Mapping[str, Any], *, also_valid: str = ""
) -> dict[str, Any]:
    """Argument (when not None), then environment, then default, each checked; shared by the SDK and the agent."""
    environ = os.environ if env is None else env
    unknown = set(arguments) - set(settings)
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}; valid: {', '.join(settings)}{also_valid}")
    values: dict[str, Any] = {}
    for name, setting in settings.items():
        value = arguments.get(name)
        source = name
        if value is None and setting.env in environ:
            source = setting.env
            try:
                value = setting.parse(environ[setting.env])
            except ValueError as exc:
                raise ConfigError(f"{setting.env}={environ[setting.env]!r}: {exc}") from exc
        if value is None:
            value = setting.default
        elif not _passes(setting, value):
            raise ConfigError(f"{source}={value!r}: expected {setting.requirement}")
        values[name] = value
    return values
