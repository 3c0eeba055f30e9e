"""From validated records to durable storage: group commit, then one store writer.

Request handlers call :meth:`IngestPipeline.submit`, which returns once the
records are fsynced in the write-ahead log (that is what a 2xx promises). The
committer thread coalesces concurrent requests into one fsync; the writer
thread folds committed frames into large store writes. Memory is bounded: past
``max_pending`` records not yet in the store, submit raises OverloadedError.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import msgspec

from heron.errors import OverloadedError, StoreError
from heron.schema.records import Feedback, Interaction, ResourceSample
from heron.server.ingest.wal import WriteAheadLog
from heron.store.base import Store

log = logging.getLogger("heron.server.ingest")


class WalFrame(msgspec.Struct, array_like=True):
    interactions: list[Interaction]
    feedback: list[Feedback]
    resources: list[ResourceSample] = []


_encode_frame = msgspec.msgpack.Encoder().encode
_decode_frame = msgspec.msgpack.Decoder(WalFrame).decode


def decode_frame(payload: bytes) -> WalFrame:
    return _decode_frame(payload)


def encode_frame(
    interactions: list[Interaction], feedback: list[Feedback], resources: list[ResourceSample] | None = None
) -> bytes:
    return _encode_frame(WalFrame(interactions, feedback, resources or []))


@dataclass
class _Pending:
    payload: bytes
    interactions: Sequence[Interaction]
    feedback: Sequence[Feedback]
    resources: Sequence[ResourceSample]
    done: Future[None] = field(default_factory=Future)
    lsn: int = 0
    """Set once the frame is in the log."""

    @property
    def size(self) -> int:
        return len(self.interactions) + len(self.feedback) + len(self.resources)


Committed = Callable[[Sequence[Interaction], Sequence[Feedback], Sequence[ResourceSample]], None]
"""Called in the commit thread with what was just made durable (metrics hook)."""
Stored = Callable[[float, int], None]
"""Called in the writer thread with a store write's duration (seconds) and record count."""
Pricer = Callable[[Sequence[Interaction]], None]
"""Sets ``cost_usd`` on interactions. Runs in the commit thread (so metrics see a cost) and again in
the writer thread right before storing, where price changes are serialised with writes."""


@dataclass
class PipelineStats:
    accepted_interactions: int = 0
    accepted_feedback: int = 0
    accepted_resources: int = 0
    stored_records: int = 0
    wal_commits: int = 0
    store_writes: int = 0
    store_errors: int = 0
    overloaded: int = 0
    last_write_seconds: float = 0.0


_STOP = object()


@dataclass
class _Task:
    call: Callable[[], Any]
    future: Future[Any]

    def run(self) -> None:
        try:
            self.future.set_result(self.call())
        except BaseException as exc:  # handed to the caller
            self.future.set_exception(exc)


class IngestPipeline:
    def __init__(
        self,
        store: Store,
        wal: WriteAheadLog,
        *,
        max_pending: int = 500_000,
        batch_records: int = 20_000,
        batch_age: float = 0.05,
        on_committed: Committed | None = None,
        on_stored: Stored | None = None,
        pricer: Pricer | None = None,
    ) -> None:
        self.store = store
        self.wal = wal
        self.max_pending = max_pending
        self.batch_records = batch_records
        self.batch_age = batch_age
        self.on_committed = on_committed
        self.on_stored = on_stored
        self.pricer = pricer
        self.stats = PipelineStats()
        self._commit_q: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._write_q: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()

    # -- lifecycle -----------------------------------------------------------------

    def recover(self) -> int:
        """Replay committed frames the store has not applied; returns records replayed."""
        replayed = 0
        interactions: list[Interaction] = []
        feedback: list[Feedback] = []
        resources: list[ResourceSample] = []
        last = 0
        for lsn, payload in self.wal.read(self.store.applied_lsn()):
            frame = _decode_frame(payload)
            interactions.extend(frame.interactions)
            feedback.extend(frame.feedback)
            resources.extend(frame.resources)
            last = lsn
            if len(interactions) + len(feedback) + len(resources) >= self.batch_records:
                self._price(interactions)
                self.store.write(interactions, feedback, lsn=last, resources=resources)
                replayed += len(interactions) + len(feedback) + len(resources)
                interactions, feedback, resources = [], [], []
        if last and (interactions or feedback or resources or self.store.applied_lsn() < last):
            self._price(interactions)
            self.store.write(interactions, feedback, lsn=last, resources=resources)
            replayed += len(interactions) + len(feedback) + len(resources)
        if replayed:
            log.info("replayed %d records from the write-ahead log", replayed)
        self.wal.prune(self.store.applied_lsn())
        return replayed

    def start(self) -> None:
        self.recover()
        for target, name in ((self._commit_loop, "heron-wal"), (self._write_loop, "heron-writer")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, store everything committed, stop the threads."""
        self._commit_q.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self.wal.close()

    @property
    def pending(self) -> int:
        """Records accepted or in flight but not yet in the store."""
        return self._pending

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until everything submitted so far is in the store (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # -- submission ----------------------------------------------------------------

    def _reserve(self, n: int) -> None:
        with self._pending_lock:
            if self._pending + n > self.max_pending and self._pending:
                self.stats.overloaded += 1
                raise OverloadedError(
                    f"ingest backlog is full ({self._pending} records waiting for storage); retry later",
                    retry_after=1.0,
                )
            self._pending += n

    def submit_nowait(
        self,
        payload: bytes,
        interactions: Sequence[Interaction],
        feedback: Sequence[Feedback] = (),
        resources: Sequence[ResourceSample] = (),
    ) -> Future[None]:
        """Queue an encoded frame; the future resolves when it is durable."""
        item = _Pending(payload, interactions, feedback, resources)
        self._reserve(item.size)
        self._commit_q.put(item)
        return item.done

    async def submit(
        self,
        payload: bytes,
        interactions: Sequence[Interaction],
        feedback: Sequence[Feedback] = (),
        resources: Sequence[ResourceSample] = (),
    ) -> None:
        await asyncio.wrap_future(self.submit_nowait(payload, interactions, feedback, resources))

    # -- threads -------------------------------------------------------------------

    def _commit_loop(self) -> None:
        while True:
            first = self._commit_q.get()
            batch = [first]
            while True:
                try:
                    batch.append(self._commit_q.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            items = [item for item in batch if isinstance(item, _Pending)]
            if items:
                try:
                    lsns = self.wal.append([item.payload for item in items])
                except OSError as exc:
                    log.error("write-ahead log append failed: %s", exc)
                    for item in items:
                        self._release(item.size)
                        item.done.set_exception(StoreError(f"write-ahead log failed: {exc}"))
                else:
                    self.stats.wal_commits += 1
                    for lsn, item in zip(lsns, items):
                        item.lsn = lsn
                        self._write_q.put(item)
                        self.stats.accepted_interactions += len(item.interactions)
                        self.stats.accepted_feedback += len(item.feedback)
                        self.stats.accepted_resources += len(item.resources)
                        self._price(item.interactions)
                        if self.on_committed is not None:
                            try:
                                self.on_committed(item.interactions, item.feedback, item.resources)
                            except Exception:  # a metrics bug must never fail ingest
                                log.exception("on_committed hook failed")
                        item.done.set_result(None)
            if stop:
                self._write_q.put(_STOP)
                return

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            first = self._write_q.get()
            if first is _STOP:
                return
            if isinstance(first, _Task):
                first.run()
                continue
            frames = [first]
            size = first.size  # type: ignore[attr-defined]
            deadline = time.monotonic() + self.batch_age
            while size < self.batch_records:
                left = deadline - time.monotonic()
                try:
                    item = self._write_q.get(timeout=max(left, 0)) if left > 0 else self._write_q.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                if isinstance(item, _Task):  # keep order: what came before the task is stored first
                    if frames:
                        self._store(frames)  # type: ignore[arg-type]
                    frames, size = [], 0
                    item.run()
                    continue
                frames.append(item)
                size += item.size  # type: ignore[attr-defined]
            if frames:
                self._store(frames)  # type: ignore[arg-type]

    def _store(self, frames: list[_Pending]) -> None:
        interactions: list[Interaction] = []
        feedback: list[Feedback] = []
        resources: list[ResourceSample] = []
        for frame in frames:
            interactions.extend(frame.interactions)
            feedback.extend(frame.feedback)
            resources.extend(frame.resources)
        lsn = frames[-1].lsn
        records = len(interactions) + len(feedback) + len(resources)
        self._price(interactions)
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                self.store.write(interactions, feedback, lsn=lsn, resources=resources)
                break
            except StoreError as exc:  # keep the data: it is in the WAL; retry with backoff
                self.stats.store_errors += 1
                log.error("store write failed, retrying in %.1fs: %s", delay, exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.stats.last_write_seconds = time.perf_counter() - started
        self.stats.store_writes += 1
        self.stats.stored_records += records
        if self.on_stored is not None:
            try:
                self.on_stored(self.stats.last_write_seconds, records)
            except Exception:
                log.exception("on_stored hook failed")
        self._release(records)
        if self.stats.store_writes % 50 == 0:
            self.wal.prune(lsn)

    def _price(self, interactions: Sequence[Interaction]) -> None:
        if self.pricer is not None and interactions:
            try:
                self.pricer(interactions)
            except Exception:  # a pricing bug leaves cost unknown; it must not lose data
                log.exception("pricing failed")

    def run_in_writer(self, task: Callable[[], Any]) -> Future[Any]:
        """Run ``task`` in the writer thread between store writes (price changes, maintenance)."""
        future: Future[Any] = Future()
        self._write_q.put(_Task(task, future))
        return future

    def _release(self, n: int) -> None:
        with self._pending_lock:
            self._pending -= n
        if self._pending == 0:
            with self._idle:
                self._idle.notify_all()
