from __future__ import annotations

from pathlib import Path

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

