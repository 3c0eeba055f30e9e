"""From validated records to durable storage: group commit, then one store writer.

Request handlers call :meth:`IngestPipeline.submit`, which returns once the
records are fsynced in the write-ahead log (that is what a 2xx promises). The
committer thread coalesces concurrent requests into one fsync; the writer
thread folds committed frames into large store writes. Memory is bounded: past
``max_pending`` records or ``max_pending_bytes`` of frames not yet in the store,
submit raises OverloadedError.

Nothing is acknowledged that cannot be written: while the store writer fails
(or has died), :attr:`IngestPipeline.failure` says why, submissions are refused
with a 503, and ``/healthz`` turns unhealthy. The writer keeps retrying its
batch (the frames are safe in the log); a store that must be reopened (DuckDB
invalidates itself after a fatal error such as ENOSPC during a checkpoint) is
reopened, and whatever it lost since its last durable commit is replayed from
the log before the batch is retried.
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

from heron.errors import HeronError, InsufficientStorageError, OverloadedError, StoreError, StoreUnusableError
from heron.schema.records import Feedback, Interaction, ResourceSample
from heron.server.ingest.wal import DISK_FULL_RETRY_S, Damage, WriteAheadLog, no_space
from heron.server.priority import ReadPriority
from heron.store.base import Store

log = logging.getLogger("heron.server.ingest")

READING_BATCH_RECORDS = 4_000
"""Largest store write while reads are in flight: a read waits behind one short write, not a 20k-row one."""


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
    nbytes: int = 0
    """The frame's size, what it counts against ``max_pending_bytes`` (the payload is let go once logged)."""

    def __post_init__(self) -> None:
        self.nbytes = len(self.payload)

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
    refused_failing: int = 0
    """Submissions refused because the store writer was failing."""
    wal_failures: int = 0
    """Commits the write-ahead log could not make durable (disk full, I/O error); none acknowledged."""
    store_reopens: int = 0
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
        max_pending_bytes: int = 48 << 20,
        batch_records: int = 20_000,
        batch_age: float = 0.05,
        on_committed: Committed | None = None,
        on_stored: Stored | None = None,
        pricer: Pricer | None = None,
        priority: ReadPriority | None = None,
    ) -> None:
        self.store = store
        self.wal = wal
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.batch_records = batch_records
        self.batch_age = batch_age
        self.on_committed = on_committed
        self.on_stored = on_stored
        self.pricer = pricer
        self.priority = priority
        """Reads being answered go first: each store write waits for them (briefly), and is smaller while they run."""
        self.stats = PipelineStats()
        self._commit_q: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._write_q: queue.SimpleQueue[_Pending | object] = queue.SimpleQueue()
        self._pending = 0
        self._pending_bytes = 0
        self._pending_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self._failure: str | None = None
        """Set while store writes fail, cleared by the next that succeeds."""
        self._failure_no_space = False
        """The failing writes ran out of disk: refused with 507 (free space), not 503 (wait)."""
        self._dead: str | None = None
        """Set for good when an ingest thread dies."""
        self.wal_damage: list[Damage] = []
        """Damage in the log that hid frames the store had not applied (acknowledged, unrecoverable)."""

    # -- lifecycle -----------------------------------------------------------------

    def recover(self) -> int:
        """Number new frames after what the store applied, then replay what it has not; returns
        records replayed."""
        self.wal_damage = self.wal.reconcile(self.store.applied_lsn())
        for item in self.wal_damage:
            log.error("acknowledged records may be lost: %s", item.describe())
        return self._replay()

    def _replay(self, upto: int | None = None) -> int:
        replayed = 0
        interactions: list[Interaction] = []
        feedback: list[Feedback] = []
        resources: list[ResourceSample] = []
        last = 0
        for lsn, payload in self.wal.read(self.store.applied_lsn(), upto):
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
            thread = threading.Thread(target=self._supervised, args=(target, name), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, store everything committed, stop the threads."""
        self._commit_q.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self.wal.close()

    def _supervised(self, loop: Callable[[], None], name: str) -> None:
        """Run a thread's loop; if it dies, say so, so nothing more is acknowledged."""
        try:
            loop()
        except BaseException as exc:
            self._dead = f"the {name} thread stopped: {exc!r}"
            log.exception("ingest thread %s died; ingest is refused until restart (the log replays)", name)
            if loop == self._commit_loop:  # nothing else will answer what waits for it
                self._fail_queued(StoreError(self._dead))
            raise

    def _fail_queued(self, exc: HeronError) -> None:
        while True:
            try:
                item = self._commit_q.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Pending):
                self._release(item.size, item.nbytes)
                item.done.set_exception(exc)

    @property
    def failure(self) -> str | None:
        """Why records cannot be stored right now (None when they can)."""
        return self._dead or self._failure

    def disk_low(self) -> str | None:
        """Why ingest is refused for lack of space (None when there is room)."""
        short = self.wal.short_of_space()
        return None if short is None else f"{short}; ingest answers 507"

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

    def check_storing(self) -> None:
        """Refuse while the store cannot be written (nothing is acknowledged that could not be stored):
        507 when it ran out of disk (the operator must free space), 503 otherwise."""
        failure = self.failure
        if failure is None:
            return
        self.stats.refused_failing += 1
        message = f"storage is failing, nothing is accepted until it recovers: {failure}"
        if self._failure_no_space and not self._dead:
            raise InsufficientStorageError(f"{message}; free space on the data disk", retry_after=DISK_FULL_RETRY_S)
        raise OverloadedError(message, retry_after=5.0)

    def backlog_full(self) -> str | None:
        """Why a new frame would be refused now (None while there is room): checked before a request's
        body is read, so an overloaded server does not read and decode what it will refuse."""
        if self._pending >= self.max_pending or self._pending_bytes >= self.max_pending_bytes:
            return self._full()
        return None

    def under_pressure(self) -> bool:
        """The backlog holds a quarter of what it may: ingest is outrunning the store (reads go first then)."""
        return self._pending >= self.max_pending // 4 or self._pending_bytes >= self.max_pending_bytes // 4

    def _full(self) -> str:
        return f"ingest backlog is full ({self._pending} records, {self._pending_bytes >> 20} MiB waiting for storage); retry later"

    def _reserve(self, n: int, nbytes: int) -> None:
        """Count a frame against the backlog: at most ``max_pending`` records and ``max_pending_bytes``
        (records differ in size a hundredfold; the bytes bound the memory the backlog holds)."""
        with self._pending_lock:
            full = self._pending + n > self.max_pending or self._pending_bytes + nbytes > self.max_pending_bytes
            if full and self._pending:
                self.stats.overloaded += 1
                raise OverloadedError(self._full(), retry_after=1.0)
            self._pending += n
            self._pending_bytes += nbytes

    def submit_nowait(
        self,
        payload: bytes,
        interactions: Sequence[Interaction],
        feedback: Sequence[Feedback] = (),
        resources: Sequence[ResourceSample] = (),
    ) -> Future[None]:
        """Queue an encoded frame; the future resolves when it is durable."""
        self.check_storing()
        item = _Pending(payload, interactions, feedback, resources)
        self._reserve(item.size, item.nbytes)
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
                except (OSError, InsufficientStorageError) as exc:
                    self.stats.wal_failures += 1
                    log.error("write-ahead log append failed: %s", exc)
                    error = exc if isinstance(exc, InsufficientStorageError) else OverloadedError(
                        f"the write-ahead log could not be written ({exc}); nothing was stored, retry later", retry_after=5.0
                    )
                    for item in items:
                        self._release(item.size, item.nbytes)
                        item.done.set_exception(error)
                else:
                    self.stats.wal_commits += 1
                    for lsn, item in zip(lsns, items):
                        item.lsn = lsn
                        item.payload = b""  # in the log now; the records are kept decoded for the store
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
            limit = READING_BATCH_RECORDS if self.priority is not None and self.priority.waiting() else self.batch_records
            while size < limit:
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
        if self.priority is not None:
            self.priority.yield_to_reads()
        delay = 0.1
        while True:
            started = time.perf_counter()
            try:
                self.store.write(interactions, feedback, lsn=lsn, resources=resources)
                break
            except Exception as exc:  # keep the data: it is in the WAL; refuse new data, retry with backoff
                self.stats.store_errors += 1
                self._failure = f"store write failed: {exc}"
                self._failure_no_space = no_space(exc)
                log.error("store write failed, retrying in %.1fs: %s", delay, exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                if isinstance(exc, StoreUnusableError):
                    self._reopen(before=frames[0].lsn)
        self._failure = None
        self.stats.last_write_seconds = time.perf_counter() - started
        self.stats.store_writes += 1
        self.stats.stored_records += records
        if self.on_stored is not None:
            try:
                self.on_stored(self.stats.last_write_seconds, records)
            except Exception:
                log.exception("on_stored hook failed")
        self._release(records, sum(frame.nbytes for frame in frames))
        if self.stats.store_writes % 50 == 0:
            self.wal.prune(lsn)

    def _reopen(self, before: int) -> None:
        """Reopen a store that refuses every statement, and replay from the log what it lost
        (frames up to ``before`` - 1; the batch in hand is retried by the caller)."""
        reopen = getattr(self.store, "reopen", None)
        if reopen is None:
            return
        try:
            reopen()
            self.stats.store_reopens += 1
            replayed = self._replay(upto=before - 1)
            log.warning("store reopened; %d records replayed from the write-ahead log", replayed)
        except Exception as exc:
            log.error("reopening the store failed, retrying: %s", exc)

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

    def _release(self, n: int, nbytes: int) -> None:
        with self._pending_lock:
            self._pending -= n
            self._pending_bytes -= nbytes
        if self._pending == 0:
            with self._idle:
                self._idle.notify_all()
