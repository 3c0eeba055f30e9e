"""Enrichment after ingest: never on the acknowledgement path, yielding to ingest, lag visible.

A thread reads not-yet-enriched interactions from the store in insertion order,
has a helper process (at lower CPU priority, so ingest wins the cores when both
want them) run the enrichers over the batch, and writes the signals back with
the watermark. It pauses while the ingest backlog is high and catches up after.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from heron.enrich.base import Signals, Turn
from heron.server.ingest.pipeline import IngestPipeline
from heron.store.base import Store

log = logging.getLogger("heron.server.enrichment")

_enrichers: Any = None
_topic_version: int = -1


def _init_worker(nice: int) -> None:
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass


def enrich_batch(turns: list[Turn], topic_version: int, topic_model: dict[str, Any] | None) -> list[Signals]:
    """Runs in the helper process; rebuilds the enrichers only when the topic model changes."""
    global _enrichers, _topic_version
    from heron.enrich import pipeline

    if _enrichers is None or topic_version != _topic_version:
        _enrichers = pipeline.default_enrichers(topic_model)
        _topic_version = topic_version
    return pipeline.run(_enrichers, turns)


@dataclass
class EnrichmentStats:
    enriched: int = 0
    batches: int = 0
    errors: int = 0
    last_batch_seconds: float = 0.0
    paused: int = 0


class EnrichmentRunner:
    def __init__(
        self,
        store: Store,
        pipeline: IngestPipeline,
        *,
        batch: int = 2_000,
        pause_pending: int = 20_000,
        idle_sleep: float = 0.5,
        nice: int = 10,
        in_process: bool = False,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.batch = batch
        self.pause_pending = pause_pending
        self.idle_sleep = idle_sleep
        self.stats = EnrichmentStats()
        self.topic_version = 0
        self.topic_model: dict[str, Any] | None = None
        self._nice = nice
        self._in_process = in_process
        self._pool: Executor | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.backlog_count = 0
        self.lag_seconds = 0.0
        """Refreshed every loop: interactions waiting, and how long the oldest has waited."""

    def start(self) -> None:
        if not self._in_process:
            context = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_init_worker, initargs=(self._nice,))
        self._thread = threading.Thread(target=self._loop, name="heron-enrich", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def backlog(self) -> tuple[int, float]:
        """(interactions waiting for enrichment, seconds the oldest has waited)."""
        count, oldest = self.store.enrich_backlog()  # type: ignore[attr-defined]
        return count, (max(0.0, time.time() - oldest) if oldest is not None else 0.0)

    def _enrich(self, turns: list[Turn]) -> list[Signals]:
        if self._pool is None:
            return enrich_batch(turns, self.topic_version, self.topic_model)
        return self._pool.submit(enrich_batch, turns, self.topic_version, self.topic_model).result()

    def run_once(self) -> int:
        """Enrich one batch; returns how many interactions it covered."""
        turns, watermark = self.store.pending_turns(self.batch)  # type: ignore[attr-defined]
        if not turns:
            return 0
        started = time.perf_counter()
        signals = self._enrich(turns)
        self.store.write_signals(turns, signals, watermark)  # type: ignore[attr-defined]
        self.stats.last_batch_seconds = time.perf_counter() - started
        self.stats.batches += 1
        self.stats.enriched += len(turns)
        return len(turns)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.backlog_count, self.lag_seconds = self.backlog()
            except Exception:
                log.exception("reading the enrichment backlog failed")
            if self.pipeline.pending > self.pause_pending:
                self.stats.paused += 1  # ingest first: its backlog is what clients wait on
                self._stop.wait(0.2)
                continue
            try:
                done = self.run_once()
            except Exception:  # keep running: the batch stays pending and is retried
                self.stats.errors += 1
                log.exception("enrichment batch failed")
                self._stop.wait(5.0)
                continue
            if not done:
                self._stop.wait(self.idle_sleep)
