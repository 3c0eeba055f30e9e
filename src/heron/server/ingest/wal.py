"""Write-ahead log: a request is acknowledged only after its records are fsynced here.

Frames are ``<length:u32><crc32:u32><lsn:u64>`` followed by a msgpack payload,
appended to numbered segment files. On start-up every frame newer than the
store's applied LSN is replayed; segments whose frames are all applied are deleted.

What the log promises, and how it keeps the promise when the disk does not:

- A failed append (ENOSPC, EIO) is cut back off the file before the error is
  raised, and its sequence numbers are handed out again: a later frame never
  sits behind a partial one. Where even the cut fails, the next append starts a
  new segment, and the partial frame becomes that segment's torn tail.
- Below ``min_free_bytes`` of free space nothing is appended
  (:class:`InsufficientStorageError`, a 507): the store needs room to checkpoint,
  and reads keep working.
- Sequence numbers never go backwards: :meth:`reconcile` lifts them past what
  the store has applied, even when the log lost its tail.
- A damaged frame in the middle of a segment is skipped, recorded in
  :attr:`damage` with the sequence numbers it hid, and the frames after it are
  recovered. Only a damaged tail (a crash mid-write, never acknowledged) is cut.
"""

from __future__ import annotations

import errno
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heron.errors import InsufficientStorageError

log = logging.getLogger("heron.server.ingest")

_HEADER = struct.Struct("<IIQ")
SEGMENT_BYTES = 64 * 1024 * 1024
MIN_FREE_BYTES = 256 * 1024 * 1024
"""Default free-space watermark: room for DuckDB to checkpoint its own log (128 MB) and more."""
_RESYNC_LSNS = 1 << 32
"""How far past the last good frame a frame found after damage may be numbered (anything
further is taken for garbage that happens to pass the checks)."""
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
DISK_FULL_RETRY_S = 30.0


def no_space(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) is the disk being full; DuckDB reports it
    only in its message, without an errno."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain, not a cycle
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno in _NO_SPACE:
            return True
        if any(os.strerror(code) in str(seen) for code in _NO_SPACE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes of a segment that hold no valid frame, and the sequence numbers missing across them."""

    segment: str
    offset: int
    length: int
    lost_first: int
    """First sequence number missing across the damage (``lost_last`` < ``lost_first``: none)."""
    lost_last: int

    def describe(self) -> str:
        lost = f"frames {self.lost_first}..{self.lost_last} unreadable" if self.lost_last >= self.lost_first else "no frame lost"
        return f"{self.segment}: {self.length} damaged bytes at offset {self.offset}; {lost}"


@dataclass(frozen=True, slots=True)
class _Frame:
    lsn: int
    start: int
    end: int


def _frame_at(data: bytes, pos: int) -> _Frame | None:
    if pos + _HEADER.size > len(data):
        return None
    length, crc, lsn = _HEADER.unpack_from(data, pos)
    end = pos + _HEADER.size + length
    if end > len(data) or zlib.crc32(memoryview(data)[pos + _HEADER.size : end]) != crc:
        return None
    return _Frame(lsn, pos, end)


def _resync(data: bytes, pos: int, after_lsn: int) -> _Frame | None:
    """The first valid frame past ``pos`` numbered after ``after_lsn`` (vectorised: a damaged
    64 MB segment is searched in well under a second)."""
    if len(data) - pos < _HEADER.size:
        return None
    # The lsn field of a header at offset q sits at q + 8: read a u64 at every byte offset.
    numbers = np.ndarray(shape=(len(data) - pos - 15,), dtype="<u8", buffer=data, offset=pos + 8, strides=(1,))
    plausible = (numbers > after_lsn) & (numbers <= after_lsn + _RESYNC_LSNS)
    for index in np.flatnonzero(plausible):
        frame = _frame_at(data, pos + int(index))
        if frame is not None:
            return frame
    return None


def _parse(data: bytes, after_lsn: int) -> tuple[list[_Frame], list[tuple[int, int, int, int]]]:
    """Frames in order, and the damaged spans between them as ``(start, end, lsn before, lsn after)``
    (``lsn after`` is 0 for a damaged tail: no valid frame follows in this segment)."""
    frames: list[_Frame] = []
    damaged: list[tuple[int, int, int, int]] = []
    pos, last = 0, after_lsn
    while pos < len(data):
        frame = _frame_at(data, pos)
        if frame is None or frame.lsn <= last:
            frame = _resync(data, pos + 1, last)
            damaged.append((pos, frame.start if frame else len(data), last, frame.lsn if frame else 0))
            if frame is None:
                break
        frames.append(frame)
        pos, last = frame.end, frame.lsn
    return frames, damaged


class WriteAheadLog:
    """Not thread-safe for writers: one committer thread appends; recovery runs before it starts.
    :meth:`read` may run beside appends (it never changes the files)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        segment_bytes: int = SEGMENT_BYTES,
        fsync: bool = True,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self.min_free_bytes = min_free_bytes
        self._fd = -1
        self._size = 0
        self.last_lsn = 0
        self.damage: list[Damage] = []
        """What the last open found damaged (see :meth:`reconcile` for what it cost)."""
        self.failed_appends = 0
        self._open()

    # -- opening -------------------------------------------------------------------

    def _open(self) -> None:
        """Find the last sequence number, cut a torn tail, record damage in the middle."""
        last = 0
        for path in self.segments():
            data = path.read_bytes()
            frames, damaged = _parse(data, last)
            if frames and frames[0].start == 0 and last and frames[0].lsn > last + 1:
                self.damage.append(Damage(path.name, 0, 0, last + 1, frames[0].lsn - 1))  # between segments
            for start, end, before, after in damaged:
                if after:
                    self.damage.append(Damage(path.name, start, end - start, before + 1, after - 1))
                else:  # a torn tail: frames it hid show up as a gap before the next segment
                    self._cut(path, start, size=len(data))
            if frames:
                last = frames[-1].lsn
        self.last_lsn = last
        for item in self.damage:
            log.error("write-ahead log damage: %s", item.describe())

    def _cut(self, path: Path, at: int, *, size: int) -> None:
        log.warning("write-ahead log: %s ends in %d bytes of an unfinished frame; cut", path.name, size - at)
        with open(path, "r+b") as f:
            f.truncate(at)  # written but never acknowledged: a crash or a failed append mid-frame

    def reconcile(self, applied_lsn: int) -> list[Damage]:
        """Number new frames after ``applied_lsn`` too; returns the damage that hid frames the
        store has not applied (acknowledged records that cannot be replayed)."""
        if applied_lsn > self.last_lsn:
            log.warning("write-ahead log ends at %d but the store applied %d; numbering continues after %d",
                        self.last_lsn, applied_lsn, applied_lsn)  # fmt: skip
            self.last_lsn = applied_lsn
            self.close()  # the next append opens a segment named after the new numbers
        return [d for d in self.damage if d.lost_last > applied_lsn]

    # -- reading -----------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("*.wal"))

    def read(self, after_lsn: int, upto_lsn: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield (lsn, payload) for every intact frame with after_lsn < lsn <= upto_lsn, oldest first."""
        last = 0
        for path in self.segments():
            data = path.read_bytes()
            frames, _ = _parse(data, last)
            for frame in frames:
                if upto_lsn is not None and frame.lsn > upto_lsn:
                    return
                if frame.lsn > after_lsn:
                    yield frame.lsn, data[frame.start + _HEADER.size : frame.end]
            if frames:
                last = frames[-1].lsn

    # -- writing -----------------------------------------------------------------

    def free_bytes(self) -> int:
        stat = os.statvfs(self.dir)
        return stat.f_bavail * stat.f_frsize

    def short_of_space(self, extra: int = 0) -> str | None:
        """Why ``extra`` more bytes would take the data directory below the free-space watermark
        (None while there is room, or with no watermark)."""
        if self.min_free_bytes and self.free_bytes() < self.min_free_bytes + extra:
            return f"the data directory has less than {self.min_free_bytes // (1024 * 1024)} MiB free (HERON_MIN_FREE_MB)"
        return None

    def append(self, payloads: list[bytes]) -> list[int]:
        """Append frames and make them durable with one fsync; returns their LSNs.

        Raises :class:`InsufficientStorageError` below the free-space watermark or on ENOSPC,
        ``OSError`` on other failures; either way nothing of this call stays in the log."""
        chunks = []
        first = self.last_lsn + 1
        for lsn, payload in enumerate(payloads, first):
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload), lsn))
            chunks.append(payload)
        data = b"".join(chunks)
        short = self.short_of_space(len(data))
        if short is not None:
            self.failed_appends += 1
            raise InsufficientStorageError(
                f"{short}; nothing is accepted until space is freed, reads keep working", retry_after=DISK_FULL_RETRY_S
            )
        try:
            if self._fd < 0 or self._size >= self.segment_bytes:
                self._roll()
            self._write(data)
        except OSError as exc:
            self.failed_appends += 1
            if no_space(exc):
                raise InsufficientStorageError(
                    f"the disk is full ({exc.strerror}); nothing was stored from this request, retry later",
                    retry_after=DISK_FULL_RETRY_S,
                ) from exc
            raise
        self.last_lsn = first + len(payloads) - 1
        return list(range(first, self.last_lsn + 1))

    def _write(self, data: bytes) -> None:
        start = self._size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if self.fsync:
                os.fdatasync(self._fd)
        except OSError:
            self._undo(start)
            raise
        self._size += len(data)

    def _undo(self, size: int) -> None:
        """Cut a failed append off the segment; where that fails too, leave it as a torn tail."""
        try:
            os.ftruncate(self._fd, size)
            if self.fsync:
                os.fdatasync(self._fd)
        except OSError as exc:
            log.error("write-ahead log: cannot cut a failed append (%s); continuing in a new segment", exc)
            self.close()

    def _roll(self) -> None:
        self.close()
        path = self.dir / f"{self.last_lsn + 1:020d}.wal"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(fd).st_size
        self._fd = fd
        if self.fsync:
            dir_fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)  # the new file's name is durable too
            finally:
                os.close(dir_fd)

    def prune(self, applied_lsn: int) -> int:
        """Delete segments whose frames are all applied; returns how many."""
        segments = self.segments()
        removed = 0
        for path, following in zip(segments, segments[1:]):
            # A segment holds LSNs from its name up to the next segment's first LSN - 1.
            if int(following.stem) - 1 <= applied_lsn:
                path.unlink()
                removed += 1
        return removed

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
