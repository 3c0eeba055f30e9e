"""Prometheus text exposition (format 0.0.4), written for fast scrapes of many series.

Each series keeps a ``%``-template of its lines (label strings escaped once, when
the series is created) and the bytes it rendered last; an update drops those
bytes, so a scrape formats only the series that changed since the previous one
and copies the rest. The callers hold one lock around updates and rendering.

Cardinality is bounded twice: a :class:`LabelCap` admits at most ``max_values``
distinct values of one label (later ones read ``__overflow__``), and a family
holds at most ``max_series`` label sets (later ones fold into one set whose
capped labels all read ``__overflow__``). Totals stay exact either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate

OVERFLOW = "__overflow__"
"""The label value that stands for every value past a cap."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape(value: str) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    if "\\" in value or '"' in value or "\n" in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def number(value: float) -> str:
    """A sample value in Go's spelling (``+Inf``, ``NaN``); ints stay exact."""
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value):
        return repr(value)
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def _bound(value: float) -> str:
    return repr(float(value)) if value != int(value) else f"{float(value):.1f}"


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """``a="x",b="y"``, without braces."""
    return ",".join(f'{name}="{escape(value)}"' for name, value in zip(names, values))


def header(name: str, kind: str, help: str) -> bytes:
    """The ``# HELP`` and ``# TYPE`` lines (HELP escapes backslash and newline)."""
    text = help.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {text}\n# TYPE {name} {kind}\n".encode()


def _template(text: str) -> bytes:
    """Bytes of a ``%``-template whose literal part is ``text``, with ``%`` escaped."""
    return text.replace("%", "%%").encode("utf-8", "replace")


class LabelCap:
    """At most ``max_values`` distinct values of one label; past that a value reads ``__overflow__``."""

    __slots__ = ("name", "max_values", "overflowed", "_seen")

    def __init__(self, name: str, max_values: int) -> None:
        self.name = name
        self.max_values = max_values
        self.overflowed = 0
        """How many times a value was replaced by ``__overflow__``."""
        self._seen: set[str] = set()

    def admit(self, value: str, weight: int = 1) -> str:
        """``value`` if admitted, else ``__overflow__`` (counting ``weight`` overflows)."""
        if value in self._seen:
            return value
        if len(self._seen) < self.max_values:
            self._seen.add(value)
            return value
        self.overflowed += weight
        return OVERFLOW


class Child:
    """One series of a counter or gauge: its value, its line's template, the line last rendered."""

    __slots__ = ("value", "template", "text")

    def __init__(self, value: float, template: bytes) -> None:
        self.value = value
        self.template = template
        self.text: bytes | None = None

    def inc(self, amount: float) -> None:
        self.value += amount
        self.text = None


class HistogramChild:
    """One histogram series: per-bucket (not cumulative) counts and the sum of observations."""

    __slots__ = ("counts", "total", "template", "text")

    def __init__(self, buckets: int, template: bytes) -> None:
        self.counts = [0] * buckets
        self.total = 0.0
        self.template = template
        self.text: bytes | None = None

    def add(self, counts: dict[int, int], total: float) -> None:
        """Merge observations already bucketed: ``counts[i]`` fell in bucket ``i`` (the last: above every bound)."""
        mine = self.counts
        for i, n in counts.items():
            mine[i] += n
        self.total += total
        self.text = None

    def observe(self, value: float, index: int) -> None:
        """One observation already placed in bucket ``index`` (``bisect_left(bounds, value)``)."""
        self.counts[index] += 1
        self.total += value
        self.text = None


class Family:
    """One metric name: HELP, TYPE and its series keyed by a tuple of label values."""

    kind = "untyped"

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        *,
        max_series: int = 10_000,
        fixed: Iterable[str] = (),
    ) -> None:
        """``fixed`` labels keep their value in the overflow label set (e.g. ``kind``)."""
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self.max_series = max_series
        self.overflowed = 0
        """How many updates went to the overflow label set because the family was full."""
        fixed_names = set(fixed)
        self._fixed = tuple(i for i, label in enumerate(self.labels) if label in fixed_names)
        self._header = header(name, self.kind, help)
        self.series: dict[tuple[str, ...], Child | HistogramChild] = {}

    def _key(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """``key`` itself, or its overflow label set when the family is full."""
        if key in self.series or len(self.series) < self.max_series:
            return key
        self.overflowed += 1
        return tuple(value if i in self._fixed else OVERFLOW for i, value in enumerate(key))

    def remove(self, key: tuple[str, ...]) -> None:
        self.series.pop(key, None)

    def render(self, out: list[bytes]) -> None:
        out.append(self._header)
        for series in self.series.values():
            text = series.text
            if text is None:
                text = series.text = self._format(series)
            out.append(text)

    def _format(self, series: Child | HistogramChild) -> bytes:
        raise NotImplementedError


class Counter(Family):
    """Monotonic totals; ``integer`` families format exactly with ``%d``."""

    kind = "counter"

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        *,
        integer: bool = True,
        max_series: int = 10_000,
        fixed: Iterable[str] = (),
    ) -> None:
        super().__init__(name, help, labels, max_series=max_series, fixed=fixed)
        self._spec = " %d\n" if integer else " %a\n"

    def child(self, key: tuple[str, ...]) -> Child:
        """The series of ``key`` (created at 0; the overflow series when the family is full)."""
        series = self.series.get(key)
        if series is None:
            key = self._key(key)
            series = self.series.get(key)
            if series is None:
                text = f"{self.name}{{{label_text(self.labels, key)}}}" if key else self.name
                series = self.series[key] = Child(0, _template(text) + self._spec.encode())
        return series  # type: ignore[return-value]

    def inc(self, key: tuple[str, ...], amount: float = 1) -> None:
        series = self.child(key)
        series.value += amount
        series.text = None

    def set_total(self, key: tuple[str, ...], value: float) -> None:
        """Mirror a total that is counted elsewhere (it must never decrease)."""
        series = self.child(key)
        if series.value != value:
            series.value = value
            series.text = None

    def _format(self, series: Child | HistogramChild) -> bytes:
        return series.template % series.value  # type: ignore[union-attr]


class Gauge(Family):
    """Values that go up and down; any float, ``+Inf`` and ``NaN`` included."""

    kind = "gauge"

    def set(self, key: tuple[str, ...], value: float) -> tuple[str, ...]:
        """Set the series' value; returns the label set it went to (the overflow set when full)."""
        series = self.series.get(key)
        if series is None:
            key = self._key(key)
            series = self.series.get(key)
            if series is None:
                text = f"{self.name}{{{label_text(self.labels, key)}}}" if key else self.name
                series = self.series[key] = Child(0.0, _template(text) + b" %s\n")
        series.value = value  # type: ignore[union-attr]
        series.text = None
        return key

    def _format(self, series: Child | HistogramChild) -> bytes:
        return series.template % number(series.value).encode()  # type: ignore[union-attr]


class Histogram(Family):
    """Cumulative buckets (``le``), ``_sum`` and ``_count``; ``bounds`` are upper bounds, ascending."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str],
        bounds: Sequence[float],
        *,
        max_series: int = 10_000,
        fixed: Iterable[str] = (),
    ) -> None:
        super().__init__(name, help, labels, max_series=max_series, fixed=fixed)
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError(f"{name}: bucket bounds must be ascending and distinct")
        self.bounds = tuple(float(b) for b in bounds)
        self._le = [_bound(b) for b in self.bounds] + ["+Inf"]

    def child(self, key: tuple[str, ...]) -> HistogramChild:
        """The series of ``key`` (created empty; the overflow series when the family is full)."""
        series = self.series.get(key)
        if series is None:
            key = self._key(key)
            series = self.series.get(key)
            if series is None:
                labels = label_text(self.labels, key)
                sep = "," if labels else ""
                braced = f"{{{labels}}}" if labels else ""
                parts = [_template(f'{self.name}_bucket{{{labels}{sep}le="{le}"}}') + b" %d\n" for le in self._le]
                parts.append(_template(f"{self.name}_sum{braced}") + b" %a\n")
                parts.append(_template(f"{self.name}_count{braced}") + b" %d\n")
                series = self.series[key] = HistogramChild(len(self._le), b"".join(parts))
        return series  # type: ignore[return-value]

    def observe(self, key: tuple[str, ...], value: float, index: int) -> None:
        self.child(key).observe(value, index)

    def _format(self, series: Child | HistogramChild) -> bytes:
        values: list[float] = list(accumulate(series.counts))  # type: ignore[union-attr]
        values.append(float(series.total))  # type: ignore[union-attr]
        values.append(values[-2])
        return series.template % tuple(values)


class Scalar:
    """A value read at scrape time (queue depth, uptime): a zero-label counter or gauge."""

    __slots__ = ("name", "kind", "read", "_header")

    def __init__(self, name: str, kind: str, help: str, read: Callable[[], float]) -> None:
        self.name = name
        self.kind = kind
        self.read = read
        self._header = header(name, kind, help)

    def render(self, out: list[bytes]) -> None:
        out.append(self._header)
        out.append(f"{self.name} {number(self.read())}\n".encode())


def render(families: Iterable[Family | Scalar]) -> bytes:
    out: list[bytes] = []
    for family in families:
        family.render(out)
    return b"".join(out)
