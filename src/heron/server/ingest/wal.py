"""Write-ahead log: a request is acknowledged only after its records are fsynced here.

Frames are ``<length:u32><crc32:u32><lsn:u64>`` followed by a msgpack payload,
appended to numbered segment files. On start-up every frame newer than the
store's applied LSN is replayed; a torn last frame (a crash mid-write, never
acknowledged) is cut off. Segments whose frames are all applied are deleted.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

_HEADER = struct.Struct("<IIQ")
SEGMENT_BYTES = 64 * 1024 * 1024


class WriteAheadLog:
    """Not thread-safe: one committer thread appends; recovery runs before it starts."""

    def __init__(self, directory: str | os.PathLike[str], *, segment_bytes: int = SEGMENT_BYTES, fsync: bool = True) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        self._file: object | None = None
        self._fd = -1
        self._size = 0
        self.last_lsn = 0
        for _lsn, _payload in self.read(0):
            pass  # sets last_lsn and truncates a torn tail

    # -- reading -----------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("*.wal"))

    def read(self, after_lsn: int) -> Iterator[tuple[int, bytes]]:
        """Yield (lsn, payload) for every intact frame with lsn > after_lsn, oldest first."""
        for path in self.segments():
            with open(path, "r+b") as f:
                data = f.read()
                pos = 0
                while pos + _HEADER.size <= len(data):
                    length, crc, lsn = _HEADER.unpack_from(data, pos)
                    end = pos + _HEADER.size + length
                    payload = data[pos + _HEADER.size : end]
                    if end > len(data) or zlib.crc32(payload) != crc:
                        break
                    self.last_lsn = max(self.last_lsn, lsn)
                    if lsn > after_lsn:
                        yield lsn, payload
                    pos = end
                if pos < len(data):
                    f.truncate(pos)  # torn tail: written but never acknowledged

    # -- writing -----------------------------------------------------------------

    def append(self, payloads: list[bytes]) -> list[int]:
        """Append frames and make them durable with one fsync; returns their LSNs."""
        if self._fd < 0 or self._size >= self.segment_bytes:
            self._roll()
        lsns = []
        chunks = []
        for payload in payloads:
            self.last_lsn += 1
            lsns.append(self.last_lsn)
            chunks.append(_HEADER.pack(len(payload), zlib.crc32(payload), self.last_lsn))
            chunks.append(payload)
        data = b"".join(chunks)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fdatasync(self._fd)
        self._size += len(data)
        return lsns

    def _roll(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        path = self.dir / f"{self.last_lsn + 1:020d}.wal"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
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
