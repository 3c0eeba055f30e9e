"""Decoding work that may run in a helper process, off the server's GIL.

Mapping OTLP spans costs ~25 µs each in Python, validating a JSON interaction
~50 µs; in the server process that time competes with reads, HTTP handling and
the store writer for one interpreter lock (under an ingest flood it held the
lock 86% of the time and dashboard reads took a second). A worker process does
decompress + decode + validate (+ map) and returns the write-ahead-log frame
(msgpack bytes), which the server decodes ~10× faster than it could itself.
Workers run at a lower CPU priority (``WORKER_NICE``), so when the machine is
saturated the server's reads come first. Functions here are module-level so
they pickle.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from heron.schema import otlp
from heron.schema.mapping import DEFAULT_MAPPING, AttributeMapping
from heron.server.ingest.body import decompress
from heron.server.ingest.pipeline import encode_frame


@dataclass(frozen=True, slots=True)
class MappedTraces:
    payload: bytes
    """A WAL frame holding the accepted interactions and feedback (empty when none)."""
    accepted: int
    """Interactions and feedback."""
    skipped: int
    rejected: list[tuple[int, str]]
    counts: otlp.OtlpCounts


def map_traces(
    body: bytes,
    encoding: str | None,
    content_type: str,
    project: str,
    now: float,
    mapping: AttributeMapping = DEFAULT_MAPPING,
) -> MappedTraces:
    data = decompress(body, encoding)
    request = otlp.decode_request(data, content_type)
    result = otlp.spans_to_interactions(request, project=project, now=now, mapping=mapping)
    accepted = len(result.interactions) + len(result.feedback)
    payload = encode_frame(result.interactions, result.feedback) if accepted else b""
    return MappedTraces(payload, accepted, result.skipped, list(result.rejected), result.counts)


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    payload: bytes
    """A WAL frame holding the accepted records (empty when none)."""
    accepted: int
    rejected: list[dict[str, Any]]
    records: dict[str, list[Any]] | None = None
    """The frame's lists (interactions, feedback, resources) when decoded in the server's own process."""


def decode_batch(
    decode: Callable[..., Any],
    body: bytes,
    encoding: str | None,
    kind: str,
    project: str,
    now: float,
    mapping: AttributeMapping,
    keep_records: bool = False,
) -> DecodedBatch:
    """A JSON ingest body (interactions, feedback or resources: ``kind``) to a WAL frame; in a worker
    process the records go back as the frame alone (pickling them would cost more than decoding it)."""
    decoded = decode(decompress(body, encoding), project=project, now=now, mapping=mapping)
    lists: dict[str, list[Any]] = {"interactions": [], "feedback": [], "resources": []}
    lists[kind] = decoded.items
    payload = encode_frame(**lists) if decoded.items else b""
    return DecodedBatch(payload, len(decoded.items), decoded.rejected, lists if keep_records else None)


WORKER_NICE = 5
"""How much less CPU priority workers take than the server (each nice step is ~1.25× less weight)."""


def _lower_priority() -> None:
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass


def _warm() -> None:
    """Import everything in the worker up front, so the first request is not slow."""


def start_pool(workers: int) -> Executor | None:
    """A pool of ``workers`` processes (forkserver: the server has threads), or None for in-thread work."""
    if workers <= 0:
        return None
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_lower_priority)
    pool.submit(_warm).result(timeout=60)
    return pool
