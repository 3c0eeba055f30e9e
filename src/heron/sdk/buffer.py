"""The bounded queue between application threads and the worker.

``queue.Queue.put_nowait`` takes a lock and notifies a condition on every
call (~1 µs). A ``deque`` append is atomic under the GIL and costs ~50 ns, so
the producer side here is a length check and an append; the worker is woken
only when a batch's worth is waiting (otherwise it wakes on its own timer).
The length check and the append are not one atomic step, so concurrent
producers may overshoot ``maxsize`` by a few items: the bound is there to
cap memory, not to be exact.

Items are tuples whose first element renders the rest (see ``worker.py``): the
smallest slotted record Python has, built in one bytecode.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from heron.sdk._diagnostics import Stats

Item = tuple[Any, ...]
"""``(render, *references)``; ``render(item)`` runs in the worker."""


class Buffer:
    """Bounded, non-blocking on the producer side; one consumer (the worker)."""

    __slots__ = ("_items", "_maxsize", "_wake_at", "_wake", "_stats", "_lock", "put")

    def __init__(self, *, maxsize: int, wake_at: int, stats: Stats) -> None:
        self._items: deque[Item] = deque()
        self._maxsize = maxsize
        self._wake_at = max(1, min(wake_at, maxsize))
        self._wake = threading.Event()
        self._stats = stats
        self._lock = threading.Lock()
        """Makes ``take`` and ``mark`` agree, so a flush knows exactly which items precede it."""
        self.put = self._make_put()

    def _make_put(self) -> Any:
        # Closure over locals: no attribute lookups on the hot path.
        items = self._items
        append = items.append
        maxsize = self._maxsize
        wake_at = self._wake_at
        wake = self._wake
        is_set = wake.is_set
        stats = self._stats

        def put(item: Item) -> None:
            """Append without blocking; a full queue drops the item and counts it."""
            if len(items) >= maxsize:
                stats.add("dropped_queue_full")
                return
            append(item)
            if len(items) >= wake_at and not is_set():
                wake.set()

        return put

    def __len__(self) -> int:
        return len(self._items)

    def wait(self, timeout: float | None) -> bool:
        """Worker: sleep until woken or ``timeout``; True when woken."""
        woken = self._wake.wait(timeout)
        self._wake.clear()
        return woken

    def wake(self) -> None:
        self._wake.set()

    def take(self, limit: int) -> list[Item]:
        """Worker: remove up to ``limit`` items, oldest first, and count them as taken."""
        items = self._items
        popleft = items.popleft
        with self._lock:
            n = min(limit, len(items))
            taken = [popleft() for _ in range(n)]
            self._stats.taken += n
        return taken

    def mark(self) -> int:
        """How many items have been put and not dropped so far: a flush waits until the worker is done with them."""
        with self._lock:
            return self._stats.taken + len(self._items)

    def clear(self) -> int:
        """Discard what is queued (at shutdown's deadline); returns how many."""
        with self._lock:
            n = len(self._items)
            self._items.clear()
            self._stats.taken += n
        return n
