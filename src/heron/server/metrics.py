"""Prometheus exposition of Heron's SLIs at ``/metrics`` (being written: issue 3)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import Route

from heron.schema.records import Feedback, Interaction, ResourceSample


class Metrics:
    """Counters, histograms and gauges fed by the ingest pipeline's hooks."""

    def committed(
        self, interactions: Sequence[Interaction], feedback: Sequence[Feedback], resources: Sequence[ResourceSample]
    ) -> None:
        """Called in the commit thread with what was just made durable."""

    def stored(self, seconds: float, records: int) -> None:
        """Called in the writer thread after each store write."""


routes: list[Route] = []
