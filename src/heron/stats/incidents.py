"""Anomaly rows to incidents: one thing went wrong, once, in the segment that explains it.

Detectors emit one row per anomalous bucket and series: a 40-minute error burst on one model is
forty rows for ``error_rate`` of that model, forty more for the project total, some for its
latency. A person wants one line: *errors on model X, 14:02-14:41, peak 25% against 0.4%*.

Grouping, deterministic over the rows in hand (so a late row re-opens or extends its incident the
next time it is asked, and nothing is stored but the evidence):

1. rows of one segment (``dim``, ``value``) whose buckets follow each other within ``quiet``
   seconds are one incident, whatever the metric: latency p95 and TTFT p95 of one model rising
   together are one incident with two metrics;
2. an incident of the project total that overlaps in time an incident of a segment sharing one of
   its metrics is folded into the segment's (the most specific segment that explains it); the
   total is kept as ``also``;
3. an incident is ``open`` until ``quiet`` seconds pass without a row, then ``resolved`` at its last
   bucket's end.

Severity is ``critical`` when the peak is twice past its alarm threshold (score >= 2) or the effect
doubles (or halves) the expected value, or moves a rate by 10 points; ``warning`` otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from heron.stats.support import FAMILY, relative

QUIET = 15 * 60.0
"""Seconds without an anomaly after which an incident is resolved (and a new one would open)."""


@dataclass
class Incident:
    dim: str
    value: str
    opened: float
    last: float
    """End of the last anomalous bucket."""
    peak: dict[str, Any]
    metrics: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    evidence: int = 0
    also: list[dict[str, Any]] = field(default_factory=list)
    """Wider scopes (the project total) whose anomalies this segment explains."""

    @property
    def id(self) -> str:
        return hashlib.blake2b(f"{self.dim}\0{self.value}\0{self.opened:.0f}".encode(), digest_size=8).hexdigest()

    def severity(self) -> str:
        peak = self.peak
        score = peak.get("score") or 0.0
        observed, expected = peak.get("observed"), peak.get("expected")
        if score >= 2.0:
            return "critical"
        if observed is None or expected is None:
            return "warning"
        if FAMILY.get(peak["metric"]) in ("rate", "mean", "outcome"):
            return "critical" if abs(observed - expected) >= 0.1 else "warning"
        change = relative(observed, expected)
        return "critical" if change >= 1.0 or change <= -0.5 else "warning"

    def as_dict(self, now: float, quiet: float = QUIET) -> dict[str, Any]:
        resolved = self.last + quiet <= now
        return {
            "id": self.id,
            "status": "resolved" if resolved else "open",
            "severity": self.severity(),
            "segment": {"dim": self.dim, "value": self.value},
            "metrics": self.metrics,
            "kinds": self.kinds,
            "opened": self.opened,
            "last_seen": self.last,
            "resolved_at": self.last if resolved else None,
            "duration_s": self.last - self.opened,
            "peak": self.peak,
            "evidence": self.evidence,
            "also": self.also,
            "title": title(self),
        }


def title(incident: Incident) -> str:
    peak = incident.peak
    where = "the whole project" if not incident.dim else f"{incident.dim}={incident.value}"
    observed, expected = peak.get("observed"), peak.get("expected")
    figure = "" if observed is None or expected is None else f": {_fmt(observed)} against {_fmt(expected)} expected"
    others = [m for m in incident.metrics if m != peak["metric"]]
    more = f" (with {', '.join(others)})" if others else ""
    return f"{peak['metric']} {peak.get('kind', '')} on {where}{figure}{more}".replace("  ", " ")


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _end(row: Mapping[str, Any]) -> float:
    return float(row["t"]) + float(row.get("bucket_s") or 0)


def group(rows: Iterable[Mapping[str, Any]], *, quiet: float = QUIET) -> list[Incident]:
    """Incidents of anomaly ``rows`` (t, bucket_s, metric, dim, value, observed, expected, score, kind), newest first."""
    by_segment: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: float(r["t"])):
        by_segment.setdefault((row.get("dim") or "", row.get("value") or ""), []).append(row)
    incidents: list[Incident] = []
    for (dim, value), seg_rows in by_segment.items():
        current: Incident | None = None
        for row in seg_rows:
            if current is None or float(row["t"]) > current.last + quiet:
                current = Incident(dim, value, float(row["t"]), _end(row), _peak(row))
                incidents.append(current)
            current.last = max(current.last, _end(row))
            current.evidence += 1
            if row["metric"] not in current.metrics:
                current.metrics.append(row["metric"])
            if row.get("kind") and row["kind"] not in current.kinds:
                current.kinds.append(row["kind"])
            if (row.get("score") or 0.0) > (current.peak.get("score") or 0.0):
                current.peak = _peak(row)
    return sorted(_fold_totals(incidents), key=lambda i: i.opened, reverse=True)


def _peak(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("t", "metric", "observed", "expected", "score", "kind")}


def _fold_totals(incidents: list[Incident]) -> list[Incident]:
    """Fold each project-total incident into the overlapping segment incident with a metric in common
    and the highest peak (the segment explains the total); a total nothing explains stays."""
    segments = [i for i in incidents if i.dim]
    kept = list(segments)
    for total in (i for i in incidents if not i.dim):
        overlapping = [
            s for s in segments
            if s.opened <= total.last and total.opened <= s.last and set(s.metrics) & set(total.metrics)
        ]  # fmt: skip
        if not overlapping:
            kept.append(total)
            continue
        best = max(overlapping, key=lambda s: s.peak.get("score") or 0.0)
        best.also.append({"dim": "", "value": "", "metrics": total.metrics, "opened": total.opened, "last_seen": total.last})
        best.evidence += total.evidence
    return kept
