from __future__ import annotations

import errno
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from heron.errors import InsufficientStorageError
from heron.server.ingest import wal as wal_module
from heron.server.ingest.wal import WriteAheadLog


def test_append_read_and_reopen(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    assert wal.append([b"a", b"bb"]) == [1, 2]
    assert wal.append([b"ccc"]) == [3]
    wal.close()
    again = WriteAheadLog(tmp_path)
    assert again.last_lsn == 3
    assert list(again.read(1)) == [(2, b"bb"), (3, b"ccc")]
    assert again.append([b"d"]) == [4]


def test_torn_tail_is_cut_and_never_replayed(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append([b"good"])
    wal.close()
    segment = wal.segments()[-1]
    with open(segment, "ab") as f:
        f.write(b"\x10\x00\x00\x00garbage")  # a frame header cut short by a crash
    again = WriteAheadLog(tmp_path)
    assert list(again.read(0)) == [(1, b"good")]
    assert again.append([b"next"]) == [2]
    assert [p for _, p in WriteAheadLog(tmp_path).read(0)] == [b"good", b"next"]


def test_corrupt_frame_stops_replay(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append([b"one", b"two"])
    wal.close()
    segment = wal.segments()[-1]
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert list(WriteAheadLog(tmp_path).read(0)) == [(1, b"one")]


def test_prune_keeps_unapplied_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, segment_bytes=10)
    for i in range(5):
        wal.append([b"x" * 20])  # every append rolls a new segment
    assert len(wal.segments()) == 5
    assert wal.prune(applied_lsn=3) == 3
    assert [lsn for lsn, _ in wal.read(0)] == [4, 5]



_os_write, _os_ftruncate = os.write, os.ftruncate


class _FailingWrites:
    """os.write for the log's file descriptor writes part of the buffer, then fails (ENOSPC)."""

    def __init__(self, wal: WriteAheadLog, *, cut_fails: bool = False) -> None:
        self.wal, self.cut_fails, self.armed = wal, cut_fails, True

    def write(self, fd: int, data: memoryview) -> int:
        if self.armed and fd == self.wal._fd:
            _os_write(fd, bytes(data[: max(1, len(data) // 2)]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return _os_write(fd, data)

    def ftruncate(self, fd: int, size: int) -> None:
        if self.cut_fails:
            raise OSError(errno.EIO, "Input/output error")
        _os_ftruncate(fd, size)


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> Callable[..., _FailingWrites]:
    def arm(wal: WriteAheadLog, *, cut_fails: bool = False) -> _FailingWrites:
        fault = _FailingWrites(wal, cut_fails=cut_fails)
        monkeypatch.setattr(wal_module.os, "write", fault.write)
        monkeypatch.setattr(wal_module.os, "ftruncate", fault.ftruncate)
        return fault

    return arm


@pytest.mark.parametrize("cut_fails", [False, True], ids=["cut", "cut-fails"])
def test_a_failed_append_leaves_nothing_behind(tmp_path: Path, failing: Callable[..., _FailingWrites], cut_fails: bool) -> None:
    """The disk-full episode of issue 12 (F1): a partial frame, then acknowledged frames behind it."""
    wal = WriteAheadLog(tmp_path, min_free_bytes=0)
    assert wal.append([b"one", b"two"]) == [1, 2]
    fault = failing(wal, cut_fails=cut_fails)
    with pytest.raises(InsufficientStorageError) as info:
        wal.append([b"lost" * 100])
    assert info.value.retry_after > 0 and "disk is full" in str(info.value)
    fault.armed = fault.cut_fails = False
    acknowledged = [wal.append([f"after-{i}".encode()])[0] for i in range(60)]
    assert acknowledged == list(range(3, 63))  # the failed append's number is handed out again
    wal.close()
    again = WriteAheadLog(tmp_path)
    assert again.damage == [] and again.last_lsn == 62
    assert [p for _, p in again.read(0)] == [b"one", b"two", *(f"after-{i}".encode() for i in range(60))]


def test_numbers_never_go_backwards(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append([b"x"] * 20)
    wal.close()
    again = WriteAheadLog(tmp_path)
    assert again.reconcile(applied_lsn=81) == []  # the store applied more than the log holds
    assert again.append([b"new"]) == [82]
    again.close()
    assert list(WriteAheadLog(tmp_path).read(81)) == [(82, b"new")]


def test_damage_in_the_middle_is_reported_and_the_frames_after_it_recovered(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.append([b"one", b"two", b"three", b"four"])
    wal.close()
    segment = wal.segments()[-1]
    data = bytearray(segment.read_bytes())
    second = 16 + 3  # header + b"one"
    data[second + 16] ^= 0xFF  # flip a byte of "two"'s payload: its checksum fails
    segment.write_bytes(bytes(data))
    again = WriteAheadLog(tmp_path)
    assert [p for _, p in again.read(0)] == [b"one", b"three", b"four"]
    (damage,) = again.damage
    assert (damage.offset, damage.lost_first, damage.lost_last) == (second, 2, 2)
    assert "frames 2..2 unreadable" in damage.describe()
    assert again.reconcile(applied_lsn=1) == [damage]  # hid a frame the store has not applied
    assert again.reconcile(applied_lsn=2) == []
    assert again.append([b"five"]) == [5]


def test_garbage_between_frames_hides_nothing(tmp_path: Path) -> None:
    """What the old append left after ENOSPC: a partial frame with acknowledged frames behind it."""
    wal = WriteAheadLog(tmp_path)
    wal.append([b"one"])
    wal.close()
    segment = wal.segments()[-1]
    with open(segment, "ab") as f:
        f.write(b"\x40\x00\x00\x00partial-frame")
    with open(segment, "ab") as f:
        for lsn, payload in ((2, b"two"), (3, b"three")):
            f.write(wal_module._HEADER.pack(len(payload), zlib.crc32(payload), lsn) + payload)
    again = WriteAheadLog(tmp_path)
    assert [lsn for lsn, _ in again.read(0)] == [1, 2, 3]
    assert len(again.damage) == 1 and again.damage[0].lost_last < again.damage[0].lost_first


def test_below_the_watermark_nothing_is_appended(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, min_free_bytes=1 << 62)
    with pytest.raises(InsufficientStorageError) as info:
        wal.append([b"x"])
    assert "MiB free" in str(info.value) and info.value.retry_after > 0
    assert wal.last_lsn == 0 and all(p.stat().st_size == 0 for p in wal.segments())
