from __future__ import annotations

import duckdb
import pytest

from heron.enrich.satisfaction import FEATURES, explicit, shipped_weights


def test_shipped_weights_come_from_a_fit() -> None:
    weights = shipped_weights()
    assert weights.auc is not None and weights.auc > 0.7
    assert "thumbs" in weights.trained_on
    assert weights.coefficients["next_complaint"] < 0 and weights.coefficients["unexpected"] < 0


@pytest.mark.parametrize("features", [dict.fromkeys(FEATURES, 0.0), {**dict.fromkeys(FEATURES, 1.0), "next_sentiment": -0.6}])
def test_sql_and_python_agree(features: dict[str, float]) -> None:
    weights = shipped_weights()
    columns = {name: f"{value!r}" for name, value in features.items()}
    (value,) = duckdb.sql(f"SELECT {weights.sql(columns)}").fetchall()[0]
    assert value == pytest.approx(weights.score(features), rel=1e-12)
    assert 0 <= value <= 1


def test_explicit_feedback() -> None:
    assert explicit("up", None) == 1.0 and explicit("down", 5) == 0.0
    assert explicit(None, 5) == 1.0 and explicit(None, 1) == 0.0 and explicit(None, 3) == 0.5
    assert explicit(None, 8) == 0.8 and explicit(None, None) is None
