"""The agent's settings: argument, then environment variable, then default.

Where the agent means what the SDK means (server address, key, request
timeout, retries, backoff, exit wait) it reads the SDK's own setting, so one
set of ``HERON_*`` variables configures both in an application that runs the
SDK and the in-process agent. The rest are declared here, once.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from heron.errors import ConfigError
from heron.schema import limits as L
from heron.sdk.settings import SETTINGS as SDK_SETTINGS
from heron.sdk.settings import Setting, _bool, _optional_str, resolve_values

SHARED = ("endpoint", "api_key", "timeout", "max_retries", "backoff_base", "backoff_max", "shutdown_timeout")
"""Settings taken from the SDK, with the SDK's variable and default."""

AGENT_SETTINGS: dict[str, Setting[Any]] = {
    "host": Setting(
        "HERON_AGENT_HOST",
        None,
        _optional_str,
        "Host label on every sample (default: this machine's hostname).",
        lambda v: 0 < len(v) <= L.MAX_ID_CHARS,
        f"1 to {L.MAX_ID_CHARS} characters",
    ),
    "service": Setting(
        "HERON_AGENT_SERVICE",
        None,
        _optional_str,
        "Service label on every sample, e.g. the model server's name (default: none).",
        lambda v: 0 < len(v) <= L.MAX_ID_CHARS,
        f"1 to {L.MAX_ID_CHARS} characters",
    ),
    "interval": Setting(
        "HERON_AGENT_INTERVAL",
        10.0,
        float,
        "Seconds between samples; each interval's samples go to the server as one request.",
        lambda v: 0.05 <= v <= 3600.0,
        "seconds, from 0.05 to 3600",
    ),
    "max_buffer": Setting(
        "HERON_AGENT_MAX_BUFFER",
        10_000,
        int,
        "Samples held while the server is slow or down; past it the oldest are dropped and counted.",
        lambda v: v >= 1,
        "a positive integer",
    ),
    "gpu": Setting(
        "HERON_AGENT_GPU",
        True,
        _bool,
        "Set to false to skip NVIDIA GPU metrics (NVML) even where a GPU is present.",
    ),
}

SETTINGS: dict[str, Setting[Any]] = {**{name: SDK_SETTINGS[name] for name in SHARED}, **AGENT_SETTINGS}
"""Every setting the agent reads (docs/resources.md lists them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSettings:
    """Resolved agent configuration; see :data:`SETTINGS` for what each field means."""

    endpoint: str
    api_key: str | None
    timeout: float
    max_retries: int
    backoff_base: float
    backoff_max: float
    shutdown_timeout: float
    host: str
    service: str | None
    interval: float
    max_buffer: int
    gpu: bool
    pid: int | None = None
    """The process whose RSS and CPU are sampled; None means the process running the agent."""

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, *, pid: int | None = None, **arguments: Any) -> AgentSettings:
        """Argument (when not None), then environment, then default; every value checked."""
        values = resolve_values(SETTINGS, env, arguments, also_valid=", pid")
        values["endpoint"] = values["endpoint"].rstrip("/")
        if values["host"] is None:
            values["host"] = socket.gethostname()[: L.MAX_ID_CHARS] or "localhost"
        if pid is not None and pid <= 0:
            raise ConfigError(f"pid={pid!r}: expected a positive process id")
        return cls(pid=pid, **values)
