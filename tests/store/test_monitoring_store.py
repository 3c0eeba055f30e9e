"""The store's side of drift and anomaly detection: samples, per-minute figures, results, state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heron.enrich.base import Signals, Turn
from heron.errors import ValidationError
from heron.schema.normalize import normalize_interaction
from heron.schema.records import Interaction, Message
from heron.store.duckdb import DuckDBStore

T0 = 1_763_596_800.0  # 2025-11-20T00:00:00Z, a minute boundary
NOW = T0 + 10 * 86400


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "h.duckdb")
    yield s  # type: ignore[misc]
    s.close()


def _items(n: int, *, minutes: int = 5) -> list[Interaction]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        item = Interaction(id=f"i{i}", model="a" if i % 3 else "b", start_time=T0 + (i % minutes) * 60 + rng.uniform(0, 59),
                           latency_ms=float(rng.lognormal(6, 0.5)), status="error" if i % 10 == 0 else "ok",
                           error_type="Boom" if i % 10 == 0 else None, output_tokens=10, prompt_version="v1" if i < n // 2 else "v2",
                           input=[Message(role="user", content=f"question {i}")], output="answer")  # type: ignore[arg-type]  # fmt: skip
        out.append(normalize_interaction(item, project="p", now=NOW))
    return out


def test_minute_metrics_match_numpy(store: DuckDBStore) -> None:
    items = _items(600)
    store.write(items, [], lsn=0)
    rows = store.minute_metrics("p", T0, T0 + 300)
    total = {(r["t"], r["metric"]): r["x"] for r in rows if r["dim"] == ""}
    for minute in range(5):
        t = T0 + minute * 60
        here = [i for i in items if t <= i.start_time < t + 60]
        assert total[(t, "count")] == len(here)
        assert total[(t, "error_rate")] == pytest.approx(np.mean([i.status == "error" for i in here]))
        latencies = np.array([i.latency_ms for i in here])
        assert total[(t, "latency_p95")] == pytest.approx(np.quantile(latencies, 0.95))
    models = {r["value"] for r in rows if r["dim"] == "model"}
    assert models == {"a", "b"}


def test_drift_sample_and_filters(store: DuckDBStore) -> None:
    store.write(_items(400), [], lsn=0)
    sample = store.drift_sample("p", T0, T0 + 3600)
    assert len(sample["latency_ms"]) == 400 and sample["latency_ms"].dtype == np.float64
    assert set(sample["model"].tolist()) == {"a", "b"} and np.isnan(sample["sentiment"]).all()  # not enriched yet
    small = store.drift_sample("p", T0, T0 + 3600, filters={"prompt_version": "v1"}, limit=50)
    assert len(small["model"]) == 50
    with pytest.raises(ValidationError, match="colour"):
        store.drift_sample("p", T0, T0 + 3600, filters={"colour": "red"})
    assert len(store.drift_texts("p", T0, T0 + 3600, limit=20)) == 20


def test_results_anomalies_and_state_round_trip(store: DuckDBStore) -> None:
    row = {"computed_at": T0, "reference_start": T0 - 86400, "reference_end": T0, "current_start": T0, "current_end": T0 + 60,
           "feature": "latency_ms", "kind": "numeric", "test": "ks", "statistic": 0.3, "p_value": 0.001, "threshold": 0.05,
           "score": 0.9, "drifted": True, "n_reference": 100, "n_current": 90}  # fmt: skip
    store.write_drift("p", [row])
    assert store.drift_results("p", T0 - 1, T0 + 1) == [row]
    anomaly = {"t": T0, "bucket_s": 60, "metric": "latency_p95", "dim": "model", "value": "a", "observed": 900.0,
               "expected": 300.0, "low": 200.0, "high": 400.0, "score": 6.0, "kind": "spike", "detected_at": T0 + 120}  # fmt: skip
    store.write_anomalies("p", [anomaly])
    assert store.anomalies("p", T0, T0 + 60) == [anomaly]
    assert store.load_state("x") is None
    store.save_state("x", b"\x00\x01")
    store.save_state("x", b"\x02")
    assert store.load_state("x") == b"\x02"


def test_drift_sample_draws_signal_features_from_the_signals(store: DuckDBStore) -> None:
    items = _items(100)
    store.write(items, [], lsn=0)
    turns = [Turn.from_interaction(x) for x in items[:40]]
    signals = [Signals(interaction_id=x.id or "", language="en", sentiment=0.5, reply_sentiment=0.0, cues=[], rephrase=False,
                       repeat=False, complaint=False, shouting=False, refusal=False, empty_reply=False, truncated=False, error=False,
                       frustration=0.25, topic_id=3, topic_similarity=0.9) for x in items[:40]]  # fmt: skip
    store.write_signals(turns, signals, 39)
    sample = store.drift_sample("p", T0, T0 + 3600)
    assert len(sample["latency_ms"]) == 100 and len(sample["sentiment"]) == 40  # enriched turns only
    assert set(sample["topic_id"].tolist()) == {"3"} and (sample["frustration"] == 0.25).all()
    v1 = store.drift_sample("p", T0, T0 + 3600, filters={"prompt_version": "v1"})  # a dimension both tables carry
    assert len(v1["model"]) == 50 and len(v1["sentiment"]) == 40
    ok = store.drift_sample("p", T0, T0 + 3600, filters={"status": "ok"})  # only the calls carry it: joined
    assert len(ok["sentiment"]) == len(ok["model"]) == 90
