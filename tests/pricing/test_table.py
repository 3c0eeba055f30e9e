from __future__ import annotations

import duckdb
import pytest

from heron.errors import ValidationError
from heron.pricing import Price, PriceOverride, canonical_model, interaction_cost, shipped_table
from heron.pricing.table import CANONICAL_SQL, priced_model
from heron.schema.records import Interaction

T0 = 1_767_225_600.0  # 2026-01-01


def call(model: str = "gpt-4o", **fields: object) -> Interaction:
    values: dict[str, object] = {"model": model, "start_time": T0, "status": "ok", "input_tokens": 1000, "output_tokens": 500}
    values.update(fields)
    return Interaction(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("openai/GPT-4o-mini", "gpt-4o-mini"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("meta-llama/llama-3.1-70b-instruct", "llama-3.1-70b-instruct"),
        ("o3-mini", "o3-mini"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),  # provider version suffixes match their base price
        ("gpt-4-0613", "gpt-4"),
    ],
)
def test_canonical_names_in_python_and_sql(name: str, canonical: str) -> None:
    assert canonical_model(name) == canonical
    sql = f"SELECT {CANONICAL_SQL} FROM (SELECT ? AS model, CAST(NULL AS VARCHAR) AS response_model)"
    assert duckdb.sql(sql, params=[name]).fetchall()[0][0] == canonical  # type: ignore[call-arg]
    answered = f"SELECT {CANONICAL_SQL} FROM (SELECT 'requested' AS model, ? AS response_model)"
    assert duckdb.sql(answered, params=[name]).fetchall()[0][0] == canonical  # type: ignore[call-arg]


def test_a_call_is_priced_by_the_model_that_answered() -> None:
    table = shipped_table()
    item = call("gemini-2.0-flash", input_tokens=1000, output_tokens=1000)
    item.response_model = "gemini-2.0-flash-001"
    assert table.price(priced_model(item), item.start_time) == table.price("gemini-2.0-flash", item.start_time) is not None  # type: ignore[arg-type]
    item = call("my-router-alias", input_tokens=1000, output_tokens=1000)
    item.response_model = "gpt-4o-2024-08-06"
    assert priced_model(item) == "gpt-4o" + "-2024-08-06"
    assert table.price(priced_model(item), 0.0) == table.price("gpt-4o", 0.0)


def test_known_models_are_priced_exactly() -> None:
    table = shipped_table()
    # gpt-4o: $2.50 in, $1.25 cached, $10 out per million
    item = call("gpt-4o-2024-08-06", input_tokens=1000, cached_tokens=400, output_tokens=500, reasoning_tokens=100)
    assert interaction_cost(item, table.price(item.model, T0)) == pytest.approx((600 * 2.5 + 400 * 1.25 + 500 * 10.0) / 1e6, rel=1e-12)
    # claude-3-5-sonnet: $3 in, $15 out
    item = call("claude-3-5-sonnet-20241022", input_tokens=2000, output_tokens=300)
    assert interaction_cost(item, table.price(item.model, T0)) == pytest.approx((2000 * 3 + 300 * 15) / 1e6, rel=1e-12)


def test_unknown_model_cost_is_unknown_not_zero() -> None:
    table = shipped_table()
    item = call("my-finetune-v7")
    assert table.price(item.model, T0) is None
    assert interaction_cost(item, None) is None


def test_missing_usage() -> None:
    price = shipped_table().price("gpt-4o", T0)
    assert interaction_cost(call(input_tokens=None, output_tokens=None), price) is None
    assert interaction_cost(call(input_tokens=None, output_tokens=None, status="error"), price) == 0.0


def test_a_dated_override_applies_only_from_its_date() -> None:
    new = Price(input=1.0, output=2.0)
    table = shipped_table().with_overrides([PriceOverride("gpt-4o", T0 + 86400, new)])
    assert table.price("gpt-4o", T0 + 86399) == shipped_table().price("gpt-4o", T0)
    assert table.price("gpt-4o-2024-08-06", T0 + 86400) == new
    later = table.with_overrides([PriceOverride("gpt-4o", T0 + 86400, new), PriceOverride("gpt-4o", T0 + 2 * 86400, Price(0.5, 1.0))])
    assert later.price("gpt-4o", T0 + 1.5 * 86400) == new and later.price("gpt-4o", T0 + 3 * 86400) == Price(0.5, 1.0)
    unknown = shipped_table().with_overrides([PriceOverride("my-finetune", T0, Price(1.0, 1.0))])
    assert unknown.price("my-finetune", T0 - 1) is None and unknown.price("my-finetune", T0) == Price(1.0, 1.0)


def test_prices_are_validated() -> None:
    with pytest.raises(ValidationError, match="input"):
        Price(input=-1, output=1)
