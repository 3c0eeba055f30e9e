"""Server settings. Resolution: argument, then environment variable, then default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from heron.errors import ConfigError

ENVIRONMENT: dict[str, str] = {
    "HERON_DATA_DIR": "Directory of the store, the write-ahead log and keys.json (default: ./heron-data).",
    "HERON_HOST": "Interface to listen on (default: 127.0.0.1).",
    "HERON_PORT": "Port to listen on (default: 8787).",
    "HERON_MAX_PENDING": "Records accepted but not yet stored before ingest answers 503 (default: 500000).",
    "HERON_MAX_PENDING_MB": "MiB of accepted records (their size in the write-ahead log) not yet stored before ingest answers 503; bounds the backlog's memory, about 2.5 times this decoded (default: 48, some 20,000 calls of a few KB: a full store write and more).",
    "HERON_MAX_INFLIGHT": "Concurrent ingest requests before ingest answers 429 (default: 64).",
    "HERON_DECODE_THREADS": "Threads that decode and validate ingest bodies at once; the other ingest requests wait, so reads keep the rest of the machine under an ingest flood (default: the number of cores).",
    "HERON_DUCKDB_MEMORY": "DuckDB memory limit, e.g. '4GB' (default: 512MB; DuckDB's own default, 80% of RAM, lets its cache grow with the store: 2.4 GB under an ingest flood on a 24 GB machine).",
    "HERON_OTLP_WORKERS": "Helper processes that decode and map OTLP spans off the server's interpreter lock (default: 1 on a multi-core machine, else 0: decode in threads).",
    "HERON_ENRICH": "'0' turns off enrichment (sentiment, frustration, topics) after ingest (default: 1).",
    "HERON_MONITOR_INTERVAL": "Seconds between anomaly-detection passes over closed minutes; 0 turns drift and anomaly monitoring off (default: 30).",
    "HERON_DRIFT_EVERY": "Seconds between stored drift runs (last day vs the week before) per project (default: 3600).",
    "HERON_LATE_HORIZON": "How old (seconds) a minute may be for calls arriving late to re-open it for anomaly detection (default: 604800, a week).",
    "HERON_MIN_FREE_MB": "Free space (MiB) the data directory keeps: below it ingest answers 507 with Retry-After and /healthz says degraded, reads keep working; 0 turns the check off (default: 256).",
    "HERON_FSYNC": "'0' turns off fsync of the write-ahead log: faster, loses acknowledged data on power loss (default: 1).",
    "HERON_METRICS_MAX_VALUES": "Distinct values of one label on /metrics (model, app_version, ...) before new ones are reported as '__overflow__' (default: 200).",
    "HERON_ATTRIBUTE_MAPPING": "A TOML or JSON file of per-project attribute mappings ({project: {dimension: [attribute keys]}}), applied at start (default: unset; PUT /v1/mapping sets them too).",
    "HERON_METRICS_TOKEN": "Admin token for GET /metrics: 'Authorization: Bearer <token>' shows every project (a project's read key shows that project only; default: unset).",
    "HERON_METRICS_PUBLIC": "'1' lets anyone read GET /metrics without a key, every project included (default: 0, a key is required).",
    "HERON_BODY_TIMEOUT": "Seconds a request body may take to arrive, plus one second per HERON_BODY_MIN_RATE bytes received; slower bodies get 408 (default: 30).",
    "HERON_READS_FIRST_WAIT": "Seconds (at most) ingest decoding, store writes and enrichment wait for API reads in flight while ingest is under pressure (its backlog a quarter full); 0 turns reads-first off (default: 0.25).",
    "HERON_BODY_MIN_RATE": "Bytes per second a request body must keep up past HERON_BODY_TIMEOUT (default: 16384).",
}
"""Every environment variable the server reads, with its meaning (docs/configuration.md lists the same)."""


def _env(name: str, default: str) -> str:
    assert name in ENVIRONMENT, name
    return os.environ.get(name, default)


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _positive(name: str, default: float, *, zero: bool = False) -> float:
    """A finite number above 0 (or 0 too, with ``zero``)."""
    raw = _env(name, str(default))
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not (0 <= value if zero else 0 < value) or value == float("inf"):
        raise ConfigError(f"{name} must be a {'non-negative' if zero else 'positive'} number, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8787
    max_pending: int = 500_000
    max_pending_mb: int = 48
    max_inflight: int = 64
    decode_threads: int = 2
    duckdb_memory: str | None = None
    fsync: bool = True
    min_free_mb: int = 256
    body_timeout: float = 30.0
    body_min_rate: float = 16384.0
    otlp_workers: int = 0
    enrich: bool = True
    monitor_interval: float = 30.0
    drift_every: float = 3600.0
    late_horizon: float = 7 * 86400.0
    mapping_file: Path | None = None
    reads_first_wait: float = 0.25

    @classmethod
    def resolve(
        cls,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> Settings:
        return cls(
            data_dir=Path(data_dir or _env("HERON_DATA_DIR", "heron-data")).resolve(),
            host=host or _env("HERON_HOST", "127.0.0.1"),
            port=port if port is not None else _int("HERON_PORT", 8787),
            max_pending=_int("HERON_MAX_PENDING", 500_000),
            max_pending_mb=max(1, _int("HERON_MAX_PENDING_MB", 48)),
            max_inflight=_int("HERON_MAX_INFLIGHT", 64),
            decode_threads=max(1, _int("HERON_DECODE_THREADS", os.cpu_count() or 1)),
            duckdb_memory=_env("HERON_DUCKDB_MEMORY", "512MB") or None,
            fsync=_env("HERON_FSYNC", "1") != "0",
            min_free_mb=_int("HERON_MIN_FREE_MB", 256),
            body_timeout=_positive("HERON_BODY_TIMEOUT", 30.0),
            body_min_rate=_positive("HERON_BODY_MIN_RATE", 16384.0),
            enrich=_env("HERON_ENRICH", "1") != "0",
            monitor_interval=float(_env("HERON_MONITOR_INTERVAL", "30")),
            drift_every=float(_env("HERON_DRIFT_EVERY", "3600")),
            late_horizon=_positive("HERON_LATE_HORIZON", 7 * 86400.0),
            otlp_workers=_int("HERON_OTLP_WORKERS", 1 if (os.cpu_count() or 1) >= 2 else 0),
            mapping_file=Path(mapping) if (mapping := _env("HERON_ATTRIBUTE_MAPPING", "")) else None,
            reads_first_wait=_positive("HERON_READS_FIRST_WAIT", 0.25, zero=True),
        )
