"""Anomaly rows to incidents: one per segment and episode, the total folded into the segment that explains it."""

from __future__ import annotations

from typing import Any

from heron.stats.incidents import QUIET, group

T0 = 1_800_000_000.0


def _row(minute: int, metric: str, dim: str = "", value: str = "", *, observed: float = 0.25, expected: float = 0.004,
         score: float = 1.5, kind: str = "spike") -> dict[str, Any]:  # fmt: skip
    return {"t": T0 + 60 * minute, "bucket_s": 60, "metric": metric, "dim": dim, "value": value, "observed": observed,
            "expected": expected, "score": score, "kind": kind}  # fmt: skip


def test_a_burst_on_one_model_is_one_incident_named_after_the_model() -> None:
    rows = [_row(m, "error_rate", "model", "gpt-4o", score=1.0 + m / 10) for m in range(40)]
    rows += [_row(m, "error_rate") for m in range(2, 38)]  # the project total moves with it
    rows += [_row(m, "latency_p95", "model", "gpt-4o", observed=3000, expected=900, score=1.2) for m in range(5, 9)]
    rows += [_row(m, "count", "model", "claude", observed=0, expected=30, score=1.1, kind="dip") for m in (100, 101)]
    found = group(rows)
    assert len(found) == 2
    burst = next(i for i in found if i.value == "gpt-4o")
    assert (burst.dim, burst.metrics, burst.opened) == ("model", ["error_rate", "latency_p95"], T0)
    assert burst.last == T0 + 40 * 60 and burst.evidence == len(rows) - 2
    assert burst.peak["score"] == 1.0 + 39 / 10 and burst.severity() == "critical"
    assert burst.also and burst.also[0]["metrics"] == ["error_rate"]
    view = burst.as_dict(now=T0 + 45 * 60)
    assert view["status"] == "open" and view["resolved_at"] is None and "model=gpt-4o" in view["title"]
    done = burst.as_dict(now=burst.last + QUIET)
    assert done["status"] == "resolved" and done["resolved_at"] == burst.last and done["id"] == view["id"]
    assert found[0].value == "claude"  # newest first


def test_a_quiet_gap_splits_and_an_unexplained_total_stays() -> None:
    rows = [_row(m, "latency_p95", "model", "a", observed=1300, expected=1000, score=1.1) for m in (0, 1, 2)]
    rows += [_row(m, "latency_p95", "model", "a", observed=1300, expected=1000, score=1.1) for m in (40, 41)]
    rows += [_row(m, "count", observed=900, expected=300) for m in (60, 61)]  # a surge of the whole project
    found = group(rows)
    assert [(i.dim, i.value, i.opened) for i in found] == [("", "", T0 + 3600), ("model", "a", T0 + 2400), ("model", "a", T0)]
    assert found[0].severity() == "critical"  # tripled
    assert found[1].severity() == "warning"  # +30%, just past its threshold
    assert "the whole project" in found[0].as_dict(now=T0).get("title", "")


def test_late_rows_extend_the_incident_they_belong_to() -> None:
    rows = [_row(m, "error_rate", "model", "a") for m in (0, 1, 2)]
    first = group(rows)[0].as_dict(now=T0 + 3 * 60)
    late = group([*rows, _row(10, "error_rate", "model", "a")])[0].as_dict(now=T0 + 11 * 60)
    assert late["id"] == first["id"] and late["last_seen"] == T0 + 11 * 60 and late["evidence"] == 4
