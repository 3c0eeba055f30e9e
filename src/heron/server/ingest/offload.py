"""Decoding work that may run in a helper process, off the server's GIL.

Mapping OTLP spans costs ~25 µs each in Python; in the server process that
time competes with HTTP handling and the store writer for one interpreter
lock. A worker process does decompress + decode + map and returns the
write-ahead-log frame (msgpack bytes), which the server decodes ~10× faster
than it could map. Functions here are module-level so they pickle.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

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


def _warm() -> None:
    """Import everything in the worker up front, so the first request is not slow."""


def start_pool(workers: int) -> Executor | None:
    """A pool of ``workers`` processes (forkserver: the server has threads), or None for in-thread work."""
    if workers <= 0:
        return None
    context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    pool.submit(_warm).result(timeout=60)
    return pool
