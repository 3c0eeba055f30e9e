"""Host resources from ``heron agent`` as gauges: the latest value per series, dropped when stale.

A :class:`~heron.schema.records.ResourceSample` named ``gpu_*`` becomes ``heron_gpu_*``,
any other ``heron_host_<metric>``; labels are project, host, service and device. A series
not updated for ``ttl`` seconds (server clock) disappears from the scrape, as Prometheus
expects of a target that stopped reporting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from heron.schema.records import RESOURCE_METRICS, ResourceSample
from heron.server._metrics_text import OVERFLOW, Gauge, LabelCap

LABELS = ("project", "host", "service", "device")


def gauge_name(metric: str) -> str:
    """``gpu_utilization_percent`` → ``heron_gpu_utilization_percent``, ``cpu_percent`` → ``heron_host_cpu_percent``."""
    return f"heron_{metric}" if metric.startswith("gpu_") else f"heron_host_{metric}"


def _epoch(value: datetime | float) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


class ResourceGauges:
    """One :class:`Gauge` family per resource metric; callers hold the metrics lock."""

    def __init__(
        self,
        caps: Callable[[str], LabelCap],
        *,
        max_values: int,
        max_series: int,
        ttl: float,
        clock: Callable[[], float],
    ) -> None:
        self._caps = [caps(label) for label in LABELS]
        self._metric_cap = LabelCap("metric", max_values)
        self._max_series = max_series
        self.ttl = ttl
        self._clock = clock
        self.families: dict[str, Gauge] = {}
        self._seen: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = {}
        """(family, labels) → (sample time, server time of the update)."""

    @property
    def metric_overflows(self) -> int:
        return self._metric_cap.overflowed

    def update(self, samples: Sequence[ResourceSample]) -> None:
        latest: dict[tuple[str | None, str, str | None, str, str | None], ResourceSample] = {}
        for sample in samples:
            raw = (sample.project, sample.host, sample.service, sample.metric, sample.device)
            held = latest.get(raw)
            if held is None or _epoch(held.time) <= _epoch(sample.time):
                latest[raw] = sample
        now = self._clock()
        for (project, host, service, metric, device), sample in latest.items():
            family = self._family(metric)
            if family is None:
                continue
            key = tuple(cap.admit(value or "") for cap, value in zip(self._caps, (project, host, service, device)))
            when = _epoch(sample.time)
            seen = self._seen.get((family.name, key))
            if seen is not None and seen[0] > when and OVERFLOW not in key:
                continue  # a late, older reading: keep the newer value
            stored = family.set(key, float(sample.value))
            self._seen[(family.name, stored)] = (when, now)

    def _family(self, metric: str) -> Gauge | None:
        name = gauge_name(metric)
        family = self.families.get(name)
        if family is None:
            if metric not in RESOURCE_METRICS and self._metric_cap.admit(metric) == OVERFLOW:
                return None  # a family cannot be called __overflow__: the sample is only stored
            help = RESOURCE_METRICS.get(metric, f"Resource metric {metric!r} reported by heron agent.")
            family = self.families[name] = Gauge(name, help + " Latest sample.", LABELS, max_series=self._max_series)
        return family

    def prune(self) -> None:
        """Forget series not updated for ``ttl`` seconds, and families left empty."""
        cutoff = self._clock() - self.ttl
        stale = [entry for entry, (_, updated) in self._seen.items() if updated < cutoff]
        for name, key in stale:
            del self._seen[(name, key)]
            family = self.families.get(name)
            if family is not None:
                family.remove(key)
                if not family.series:
                    del self.families[name]
