"""Enrichment after ingest: never on the acknowledgement path, yielding to ingest, lag visible.

A thread reads not-yet-enriched interactions from the store in insertion order,
with the stored calls of their conversations that turns without history in
their input take as history (one query per batch, :mod:`heron.enrich.history`),
has a helper process (at lower CPU priority, so ingest wins the cores when both
want them) run the enrichers over the batch, and writes the signals back with
the watermark. Turns enriched before that a late earlier turn of the batch is
history for are enriched again with it, and their signals replaced. It pauses
while the ingest backlog is high and catches up after.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from heron.enrich.base import Signals, Turn
from heron.enrich.history import Said, to_revisit, with_history
from heron.errors import HeronError
from heron.server.ingest.pipeline import IngestPipeline
from heron.server.topics import MIN_MESSAGES, SAMPLE, Topics
from heron.store.base import Store

log = logging.getLogger("heron.server.enrichment")

_worker: Any = None


def _init_worker(nice: int) -> None:
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass


def _batch_enricher() -> Any:
    global _worker
    if _worker is None:
        from heron.enrich.pipeline import BatchEnricher

        _worker = BatchEnricher()
    return _worker


def enrich_batch(turns: list[Turn], models: dict[str, dict[str, Any]] | None, dropped: list[tuple[str, int, str]],
                 history: list[Said] | None = None, revisit: list[Turn] | None = None,
                 ) -> tuple[list[Signals], dict[str, list[dict[str, Any]]], list[Signals]]:
    """Runs in the helper process: (signals, emerging topics per project, signals of ``revisit``).

    ``models`` only when they changed; ``dropped``: emerging candidates accepted ("forget") or dismissed
    ("dismiss") since the last batch; ``history``: stored calls of the batch's conversations, given to
    turns without history of their own, ``revisit`` included (enriched again without topics).
    """
    worker = _batch_enricher()
    if models is not None:
        worker.set_topic_models(models)
    for project, candidate, how in dropped:
        (worker.dismiss if how == "dismiss" else worker.forget)(project, candidate)
    revisit = revisit or []
    if history is not None:
        both = with_history([*turns, *revisit], history)
        turns, revisit = both[: len(turns)], both[len(turns) :]
    return worker.run(turns), worker.emerging(), worker.revise(revisit) if revisit else []


def embed_texts(texts: list[str]) -> Any:
    from heron.enrich.embeddings import embed

    return embed(texts)


def fit_topics(texts: list[str]) -> dict[str, Any]:
    from heron.enrich.pipeline import fit_topic_model

    return fit_topic_model(texts)  # type: ignore[no-any-return]


def assign_topics(model: dict[str, Any], texts: list[str], previous: list[str | None]) -> list[tuple[int, float | None]]:
    from heron.enrich.pipeline import assign_topics as assign

    return assign(model, texts, previous)  # type: ignore[no-any-return]


@dataclass
class _Batch:
    turns: list[Turn]
    watermark: int
    future: Future[Any]
    started: float
    revisit: list[Turn]


@dataclass
class EnrichmentStats:
    enriched: int = 0
    batches: int = 0
    errors: int = 0
    last_batch_seconds: float = 0.0
    paused: int = 0
    feedback_applied: int = 0
    topics_backfilled: int = 0
    topic_fits: int = 0
    revised: int = 0
    """Turns enriched again because an earlier turn of their conversation arrived after them."""


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
        topics: Topics | None = None,
        fit_every: float = 60.0,
        yield_to_reads: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.topics = topics if topics is not None else Topics(store)
        self.fit_every = fit_every
        self.yield_to_reads = yield_to_reads
        self._sent_versions: dict[str, int] | None = None
        self._next_fit_check = 0.0
        self._in_flight: _Batch | None = None
        self._backfill_done: dict[str, int] = {}
        """project -> model version whose backfill found nothing left to do."""
        self.batch = batch
        self.pause_pending = pause_pending
        self.idle_sleep = idle_sleep
        self.stats = EnrichmentStats()
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

    def _call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` in the helper process (where the embedding model is loaded), or here in tests."""
        if self._pool is None:
            return fn(*args)
        return self._pool.submit(fn, *args).result()

    def _submit(self, turns: list[Turn], watermark: int) -> _Batch:
        """Find the batch's history and start enriching it in the helper process (or right here, in tests)."""
        started = time.perf_counter()
        found = self.store.conversation_history(turns)
        # The batch in flight is enriched but not stored yet: its turns are candidates too.
        in_flight = self._in_flight.turns if self._in_flight is not None else []
        revisit = to_revisit(turns, [*found.enriched, *in_flight])
        versions = self.topics.versions()
        models = self.topics.models() if versions != self._sent_versions else None
        self._sent_versions = versions
        args = (turns, models, self.topics.take_dropped(), found.messages, revisit)
        if self._pool is not None:
            return _Batch(turns, watermark, self._pool.submit(enrich_batch, *args), started, revisit)
        done: Future[Any] = Future()
        done.set_result(enrich_batch(*args))
        return _Batch(turns, watermark, done, started, revisit)

    def _store(self, batch: _Batch) -> None:
        signals, emerging, revised = batch.future.result()
        self.topics.report_emerging(emerging)
        self.store.write_signals(batch.turns, signals, batch.watermark,  # type: ignore[attr-defined]
                                 revised=list(zip(batch.revisit, revised, strict=True)))
        self.stats.last_batch_seconds = time.perf_counter() - batch.started
        self.stats.batches += 1
        self.stats.enriched += len(batch.turns)
        self.stats.revised += len(batch.revisit)

    def run_once(self) -> int:
        """Enrich one batch; returns how many interactions it covered. (The loop overlaps batches: :meth:`_step`.)"""
        turns, watermark = self.store.pending_turns(self.batch)  # type: ignore[attr-defined]
        if not turns:
            return 0
        self._store(self._submit(turns, watermark))
        return len(turns)

    def _step(self) -> int:
        """Read and submit the next batch, then store the one before it while the helper works on this one."""
        after = self._in_flight.watermark if self._in_flight is not None else None
        turns, watermark = self.store.pending_turns(self.batch, after)  # type: ignore[attr-defined]
        current = self._submit(turns, watermark) if turns else None
        previous, self._in_flight = self._in_flight, current
        if previous is not None:
            try:
                self._store(previous)
            except BaseException:
                self._in_flight = None  # re-read from the stored watermark; the helper's result is dropped
                raise
        return len(turns) + (len(previous.turns) if previous is not None else 0)

    def embed(self, texts: Sequence[str]) -> Any:
        """Sentence embeddings, computed in the helper process (where the model is loaded)."""
        return self._call(embed_texts, list(texts))

    def apply_feedback(self) -> int:
        """Fold feedback on already-enriched turns into their satisfaction and the rollups."""
        applied = int(self.store.apply_feedback())  # type: ignore[attr-defined]
        self.stats.feedback_applied += applied
        return applied

    def fit(self, project: str, *, force: bool = False) -> int | None:
        """Fit (or, with ``force``, refit) the project's topic model from its recent messages; returns the version."""
        texts = self.store.topic_sample(project, SAMPLE)  # type: ignore[attr-defined]
        if len(texts) < MIN_MESSAGES and not force:
            return None
        model = self._call(fit_topics, texts)
        self.stats.topic_fits += 1
        return self.topics.refit(project, model)

    def backfill_topics(self, limit: int = 2_000) -> int:
        """Give topics to turns enriched before their project had a model; returns turns assigned."""
        done = 0
        for project, version in self.topics.versions().items():
            if self._backfill_done.get(project) == version:
                continue
            rows = self.store.untopiced_turns(project, limit)  # type: ignore[attr-defined]
            if not rows:
                self._backfill_done[project] = version
                continue
            model = self.topics.models()[project]
            found = self._call(assign_topics, model, [r[1] for r in rows], [r[2] for r in rows])
            self.store.set_topics(project, [(r[0], topic, sim) for r, (topic, sim) in zip(rows, found, strict=True)])  # type: ignore[attr-defined]
            done += len(rows)
        self.stats.topics_backfilled += done
        return done

    def _fit_missing(self) -> bool:
        """First topic model for projects with enough enriched messages (checked every ``fit_every`` seconds)."""
        if time.monotonic() < self._next_fit_check:
            return False
        self._next_fit_check = time.monotonic() + self.fit_every
        have = self.topics.versions()
        fitted = False
        for project in self.store.ux_projects():  # type: ignore[attr-defined]
            if project not in have:
                try:
                    fitted |= self.fit(project) is not None
                except HeronError as exc:
                    log.info("no topic model for %s yet: %s", project, exc)
        return fitted

    def _idle_work(self) -> bool:
        """Work to do when no turn waits: feedback, first fits, topic backfill. True when something was done."""
        return bool(self.apply_feedback()) | self._fit_missing() | bool(self.backfill_topics())

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
            if self.yield_to_reads is not None:
                self.yield_to_reads()
            try:
                done = self._step()
                done += self.apply_feedback() if done else 0
                if not done:
                    done = self._idle_work()
            except Exception:  # keep running: the batch stays pending and is retried
                self.stats.errors += 1
                log.exception("enrichment batch failed")
                self._stop.wait(5.0)
                continue
            if not done:
                self._stop.wait(self.idle_sleep)
